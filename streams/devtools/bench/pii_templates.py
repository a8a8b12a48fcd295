"""Prompt templates for the labelled benchmark, per language, in two independent sets.

``TRAIN`` is the set detection was developed against; ``HELDOUT`` was written separately,
with other phrasings, other openings and context words, and is drawn with other Faker locales
for names (see ``pii_data.LOCALES``). Slots are entity types in braces. ``FILLER`` sentences
carry no personal data; they pad prompts to 50-300 words.
"""

from __future__ import annotations

TRAIN: dict[str, list[str]] = {
    "en": [
        "Please write a polite reply to {PERSON} ({EMAIL_ADDRESS}, {PHONE_NUMBER}) confirming "
        "that the housing benefit renewal was received.",
        "Summarise the complaint from {PERSON}, who can be reached at {EMAIL_ADDRESS}, about a "
        "delayed refund to account {IBAN_CODE}.",
        "Draft an apology to {PERSON} for the missed appointment; the phone number on file is "
        "{PHONE_NUMBER}.",
        "The payment for the permit was made with card {CREDIT_CARD} by {PERSON}; explain why "
        "it was refused.",
        "Our logs show repeated logins from IP address {IP_ADDRESS} on the account of {PERSON}.",
        "Translate into plain English the letter sent to {PERSON} about the refund to "
        "{IBAN_CODE}.",
        "Prepare a short note for {PERSON}: the call back number is {PHONE_NUMBER} and the "
        "e-mail is {EMAIL_ADDRESS}.",
    ],
    "fr": [
        "Bonjour, rédige un courrier pour {PERSON}, numéro de sécurité sociale {FR_NIR}, pour "
        "lui confirmer le remboursement sur l'IBAN {IBAN_CODE}.",
        "Traduis en anglais ce message de {PERSON} : « appelez-moi au {PHONE_NUMBER} ou "
        "écrivez à {EMAIL_ADDRESS} ».",
        "Prépare une réponse à {PERSON} ({EMAIL_ADDRESS}) : son virement sur le compte "
        "{IBAN_CODE} a bien été reçu.",
        "Le contribuable {PERSON}, joignable au {PHONE_NUMBER}, conteste sa taxe foncière ; "
        "propose une réponse courtoise.",
        "L'entreprise de {PERSON} (SIREN {FR_SIREN}) demande un délai de paiement.",
        "Vérifie l'établissement SIRET {FR_SIRET} dont le gérant est {PERSON}.",
        "Rédige une relance pour {PERSON} : le paiement par carte {CREDIT_CARD} a échoué.",
    ],
    "es": [
        "Redacta una carta para {PERSON}, cédula de identidad {UY_CI}, sobre su solicitud de "
        "vivienda.",
        "Prepara una respuesta a {PERSON} ({EMAIL_ADDRESS}); su teléfono es {PHONE_NUMBER}.",
        "Resume la queja de {PERSON} sobre la transferencia a la cuenta {IBAN_CODE}.",
        "Traduce al inglés el mensaje de {PERSON}: «llámeme al {PHONE_NUMBER}».",
        "El ciudadano {PERSON}, C.I. {UY_CI}, pide una copia de su expediente; escribe a "
        "{EMAIL_ADDRESS}.",
    ],
    "uk": [
        "Напишіть лист для {PERSON} щодо субсидії; РНОКПП {UA_RNOKPP}, телефон {PHONE_NUMBER}.",
        "Підготуйте відповідь громадянину {PERSON}, паспорт {UA_PASSPORT}, електронна пошта "
        "{EMAIL_ADDRESS}.",
        "Перекладіть англійською звернення {PERSON}: запис № {UA_UNZR}, рахунок {IBAN_CODE}.",
        "Заявник {PERSON} просить повернути кошти на рахунок {IBAN_CODE}; податковий номер "
        "{UA_RNOKPP}.",
        "Складіть довідку для {PERSON}, УНЗР {UA_UNZR}, телефон {PHONE_NUMBER}.",
    ],
    "is": [
        "Skrifaðu bréf til {PERSON}, kt. {IS_KENNITALA}, um umsókn um húsnæðisbætur.",
        "Svaraðu {PERSON} kurteislega; netfang {EMAIL_ADDRESS}, sími {PHONE_NUMBER}.",
        "Þýddu á ensku erindi frá {PERSON} um endurgreiðslu á reikning {IBAN_CODE}.",
        "Umsækjandinn {PERSON}, kennitala {IS_KENNITALA}, óskar eftir afriti af málinu.",
        "Taktu saman kvörtun {PERSON} sem hægt er að ná í í síma {PHONE_NUMBER}.",
    ],
}

HELDOUT: dict[str, list[str]] = {
    "en": [
        "Hello, could you help me answer {PERSON}? She wrote from {EMAIL_ADDRESS} and asked us "
        "to call {PHONE_NUMBER} tomorrow.",
        "Case note: {PERSON} transferred the fee from {IBAN_CODE}; the card used before, "
        "{CREDIT_CARD}, had expired.",
        "I need a summary of the incident: the server at {IP_ADDRESS} was accessed with the "
        "credentials of {PERSON}.",
        "Can you rewrite this message for {PERSON} in simpler words? Contact: {PHONE_NUMBER}.",
        "Mr {PERSON} says the refund never reached {IBAN_CODE}. His address is "
        "{EMAIL_ADDRESS}.",
    ],
    "fr": [
        "Peux-tu m'aider à répondre à {PERSON} ? Elle a écrit depuis {EMAIL_ADDRESS} et "
        "demande à être rappelée au {PHONE_NUMBER}.",
        "Note de dossier : {PERSON} (n° de sécu {FR_NIR}) a signalé un prélèvement sur "
        "{IBAN_CODE}.",
        "Il faudrait une synthèse : la société n° {FR_SIRET}, représentée par {PERSON}, "
        "conteste la pénalité.",
        "Merci de reformuler ce courriel de {PERSON} pour le rendre plus clair ; tél. "
        "{PHONE_NUMBER}.",
        "Monsieur {PERSON} a payé avec la carte bancaire {CREDIT_CARD} ; le SIREN de sa "
        "micro-entreprise est {FR_SIREN}.",
    ],
    "es": [
        "Hola, ¿me ayudas a contestar a {PERSON}? Escribió desde {EMAIL_ADDRESS} y pide que la "
        "llamemos al {PHONE_NUMBER}.",
        "Nota del expediente: {PERSON}, documento {UY_CI}, reclama un cobro en la cuenta "
        "{IBAN_CODE}.",
        "Necesito reformular este correo de la señora {PERSON}; su número es {PHONE_NUMBER}.",
        "La solicitante {PERSON} (cédula {UY_CI}) no recibió la transferencia.",
    ],
    "uk": [
        "Допоможіть відповісти {PERSON}: лист надійшов з {EMAIL_ADDRESS}, просить "
        "зателефонувати на {PHONE_NUMBER}.",
        "Службова записка: {PERSON}, ідентифікаційний номер {UA_RNOKPP}, скаржиться на "
        "списання з рахунку {IBAN_CODE}.",
        "Потрібно переписати простішою мовою звернення від {PERSON} (ID-картка {UA_PASSPORT}).",
        "Громадянка {PERSON}, номер запису {UA_UNZR}, не отримала виплату.",
    ],
    "is": [
        "Geturðu hjálpað mér að svara {PERSON}? Hún skrifaði frá {EMAIL_ADDRESS} og biður um "
        "símtal í {PHONE_NUMBER}.",
        "Minnisblað: {PERSON} (kennitala {IS_KENNITALA}) kvartar yfir færslu af reikningi "
        "{IBAN_CODE}.",
        "Endurorðaðu tölvupóst frá {PERSON} á einfaldara mál; símanúmer {PHONE_NUMBER}.",
        "Frú {PERSON}, kt. {IS_KENNITALA}, hefur ekki fengið greiðsluna.",
    ],
}

FILLER: dict[str, list[str]] = {
    "en": [
        "The request was registered by the front office last week.",
        "Keep the tone courteous and avoid administrative jargon.",
        "The answer should fit on one page and mention the usual processing time.",
        "Remind the reader that supporting documents can be uploaded on the public portal.",
        "The department reviews such files in the order they are received.",
        "If anything is missing, the letter should list what is needed and by when.",
        "Use short sentences and explain any legal term in plain words.",
        "The file was forwarded to the regional office for a second opinion.",
        "Mention that the decision can be appealed within two months.",
        "Thank the reader for their patience during the migration of our systems.",
    ],
    "fr": [
        "La demande a été enregistrée par le guichet la semaine dernière.",
        "Garde un ton courtois et évite le jargon administratif.",
        "La réponse doit tenir sur une page et rappeler le délai habituel de traitement.",
        "Rappelle que les pièces justificatives peuvent être déposées sur le portail public.",
        "Le service traite ces dossiers dans l'ordre d'arrivée.",
        "S'il manque un document, le courrier doit préciser lequel et avant quelle date.",
        "Utilise des phrases courtes et explique chaque terme juridique simplement.",
        "Le dossier a été transmis à la direction régionale pour un second avis.",
        "Indique que la décision peut faire l'objet d'un recours dans un délai de deux mois.",
        "Remercie le lecteur pour sa patience pendant la migration de nos systèmes.",
    ],
    "es": [
        "La solicitud fue registrada por la ventanilla la semana pasada.",
        "Mantén un tono cortés y evita la jerga administrativa.",
        "La respuesta debe caber en una página y mencionar el plazo habitual de tramitación.",
        "Recuerda que los documentos pueden presentarse en el portal público.",
        "El servicio atiende estos expedientes por orden de llegada.",
        "Si falta algún documento, la carta debe indicar cuál y antes de qué fecha.",
        "Usa frases cortas y explica cada término jurídico con palabras sencillas.",
        "El expediente fue enviado a la oficina regional para una segunda opinión.",
        "Indica que la decisión puede recurrirse en un plazo de dos meses.",
        "Agradece al lector su paciencia durante la migración de nuestros sistemas.",
    ],
    "uk": [
        "Звернення зареєстрували у центрі надання послуг минулого тижня.",
        "Зберігайте ввічливий тон і уникайте канцеляризмів.",
        "Відповідь має вміститися на одній сторінці й згадати звичайний строк розгляду.",
        "Нагадайте, що підтвердні документи можна завантажити на державному порталі.",
        "Служба розглядає такі справи в порядку надходження.",
        "Якщо бракує документа, у листі слід зазначити якого саме і до якої дати.",
        "Пишіть короткими реченнями та пояснюйте юридичні терміни простими словами.",
        "Справу передано до обласного управління для додаткового висновку.",
        "Зазначте, що рішення можна оскаржити протягом двох місяців.",
        "Подякуйте за терпіння під час оновлення наших систем.",
    ],
    "is": [
        "Erindið var skráð í afgreiðslunni í síðustu viku.",
        "Hafðu tóninn kurteisan og forðastu stofnanamál.",
        "Svarið á að rúmast á einni síðu og nefna venjulegan afgreiðslutíma.",
        "Minntu á að hægt er að senda fylgigögn í gegnum þjónustugáttina.",
        "Stofnunin afgreiðir slík mál í þeirri röð sem þau berast.",
        "Ef gögn vantar þarf bréfið að tilgreina hvaða gögn og fyrir hvaða dag.",
        "Notaðu stuttar setningar og útskýrðu lagaleg hugtök á einföldu máli.",
        "Málið var sent til svæðisskrifstofunnar til frekari skoðunar.",
        "Taktu fram að kæra má ákvörðunina innan tveggja mánaða.",
        "Þakkaðu lesandanum fyrir þolinmæðina á meðan kerfin eru uppfærð.",
    ],
}
