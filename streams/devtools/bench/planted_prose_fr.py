"""The French load of ``douane bench planted --language fr``: French text in seven registers
written for it (not the French prose of the mixed load, ``planted_prose.py``, nor the templates
detection was tuned on), with the same slots: ``{A}``, ``{B}``, ``{C}`` a person, ``{email}``,
``{phone}``, ``{iban}`` a new value of that type.

Each register says which first and later mentions its persons take (``FORMS``): a courriel to
an administration is written like an e-mail, a signalement like a narrative, and so on.
"""

from __future__ import annotations

import random

from streams.devtools.bench.planted_prose import Pools

# register -> the register of ``planted.FIRST_FORMS`` whose forms of mention it takes
FORMS = {"courriel": "email", "compte-rendu": "minutes", "chat": "chat",
         "formulaire": "form", "signalement": "narrative", "note": "casenote",
         "lettre": "letter"}

REGISTERS_FR: dict[str, dict[str, Pools]] = {
    "courriel": {"fr": (
        ("Aide-moi à répondre à ce courriel reçu par le service état civil.\n\n"
         "De : {A} <{email}>\nÀ : etat-civil@ville.example\nObjet : acte de naissance",
         "Peux-tu résumer ce message envoyé à la CAF ?\n\nExpéditeur : {A} ({email})\n"
         "Objet : changement de situation",
         "Réécris ce courriel pour qu'il soit plus clair :\n\nBonjour,\n\nJe m'appelle {A}"
         " et je vous écris au sujet de mon dossier."),
        ("Je vous contacte de la part de {B}, qui ne parle pas bien français.",
         "Vous pouvez me rappeler au {phone}, de préférence le matin.",
         "Mon numéro a changé : c'est désormais le {phone}.",
         "Le prélèvement doit se faire sur le compte {iban} et non plus sur l'ancien.",
         "{B} m'a conseillé d'écrire directement à {email}.",
         "Votre collègue {C} m'avait promis un rappel la semaine dernière.",
         "J'ai déjà envoyé les pièces à {C} ({email}) en janvier.",
         "Ma fille, {B}, peut aussi être jointe au {phone}.",
         "Je vous remercie de verser l'allocation sur le compte {iban}.",
         "Pourriez-vous transmettre ce message à {C} ?",
         "D'après {C}, le dossier de {B} serait incomplet."),
        ("Je suis sans nouvelles depuis trois semaines.",
         "Je joins une copie de ma pièce d'identité.",
         "Je reste à votre disposition pour tout complément.",
         "Le site internet ne fonctionne pas depuis lundi.",
         "Je ne comprends pas pourquoi mon dossier a été suspendu.",
         "Merci de m'indiquer les démarches à suivre."),
        ("Cordialement,\n{A}", "Bien à vous,\n{A}\n{phone}",
         "Dans l'attente de votre retour,\n{A}"),
    )},
    "compte-rendu": {"fr": (
        ("Transforme ces notes en compte rendu officiel.\n\nRéunion du conseil de quartier."
         "\nÉtaient présents : {A}, {B} et {C}.",
         "Rédige le relevé de décisions.\n\nComité de suivi. Présents : {A} ; {B} ; {C}.",
         "Fais un résumé de cette réunion en cinq lignes.\n\nAnimatrice : {A}\n"
         "Participants : {B}, {C}"),
        ("{A} rappelle les décisions de la dernière séance.",
         "{B} fait le point sur les travaux de la crèche.",
         "Sur proposition de {C}, le calendrier est avancé d'une semaine.",
         "{A} se charge de contacter le bailleur au {phone}.",
         "Le devis sera envoyé par {B} à l'adresse {email}.",
         "{C} signale un impayé sur le compte {iban}.",
         "Après discussion, {B} accepte de piloter le groupe de travail.",
         "{A} et {C} rencontreront les riverains jeudi.",
         "Contact pour la suite : {C}, au {phone} ou à {email}.",
         "{B} remercie {A} pour la qualité du dossier."),
        ("Le budget prévisionnel est adopté à l'unanimité.",
         "Le point sur la sécurité routière est reporté à la prochaine séance.",
         "Un questionnaire sera distribué aux habitants.",
         "La salle polyvalente reste fermée jusqu'en mars.",
         "Aucune autre question n'est soulevée."),
        ("Prochaine réunion le 12 à 18 h.", "Compte rendu rédigé par {C}.", ""),
    )},
    "chat": {"fr": (
        ("tu peux m'aider à répondre à ce message ?",
         "corrige-moi ça vite fait stp",
         "c'est pour un usager, tu peux reformuler ?"),
        ("{A} a rappelé, elle attend toujours sa réponse",
         "tu peux joindre {B} au {phone}",
         "j'ai eu {C} au tel ce matin",
         "le RIB de {A} c'est {iban}",
         "{B} m'a filé son mail : {email}",
         "{C} passe demain avec {A}",
         "dis à {B} que c'est bon pour lundi",
         "{A} demande si on peut la rappeler au {phone}",
         "j'ai transféré à {email} du coup",
         "bref {C} gère, {B} est au courant"),
        ("bon courage", "je suis en réunion jusqu'à 15h", "le serveur rame encore",
         "pas urgent", "merci d'avance !"),
        ("merci", "bisous", "à plus"),
    )},
    "formulaire": {"fr": (
        ("Contrôle ce formulaire de demande de logement social :",
         "Mets ces renseignements en forme pour le dossier :",
         "Quelles pièces manquent dans cette demande ?"),
        ("Nom et prénom du demandeur : {A}\n", "Nom d'usage : {A}\n",
         "Conjoint(e) : {B}\n", "Téléphone fixe : {phone}\n", "Portable : {phone}\n",
         "Adresse mail : {email}\n", "RIB (IBAN) : {iban}\n", "Personne à contacter : {C}\n",
         "Travailleur social référent : {C}, {phone}\n", "Co-titulaire du bail : {B}\n"),
        ("Situation familiale : mariée, deux enfants\n", "Revenus mensuels : 1 450 €\n",
         "Logement actuel : hébergée chez un tiers\n", "Motif : logement trop petit\n",
         "Date de la demande : 3 février\n"),
        ("Fait pour servir et valoir ce que de droit.", "Signature du demandeur.", ""),
    )},
    "signalement": {"fr": (
        ("Rédige une note de signalement à partir de ces éléments.",
         "Résume ce signalement pour la cellule de recueil.",
         "Reformule ce récit de façon neutre."),
        ("Le 4 octobre, {A} s'est présentée à l'accueil avec son fils.",
         "Selon {B}, la situation dure depuis plusieurs mois.",
         "{C}, infirmière scolaire, a été informée le lendemain.",
         "La voisine, {B}, a appelé le 115 depuis le {phone}.",
         "{A} souhaite être recontactée au {phone} uniquement.",
         "Un courriel de {C} ({email}) confirme les faits.",
         "Les aides sont actuellement versées sur le compte {iban}.",
         "{B} indique que {A} n'a plus de ressources.",
         "Un rendez-vous avec {C} est fixé au 18.",
         "{A} a donné son accord pour que {B} soit informée."),
        ("Aucun élément de danger immédiat n'a été relevé.",
         "Les enfants sont scolarisés normalement.",
         "La famille est connue du service depuis 2021.",
         "Une évaluation est demandée sous quinze jours."),
        ("Rédigé par le service social.", "Transmis pour information.", ""),
    )},
    "note": {"fr": (
        ("Remets ces notes d'entretien au propre :",
         "Fais une synthèse de ces notes pour le dossier :",
         "Liste ce qu'il reste à faire d'après ces notes :"),
        ("- Entretien avec {A} ce jour, accompagnée de {B}.",
         "- {A} a perdu son emploi en septembre.",
         "- Nouveau numéro de {B} : {phone}.",
         "- IBAN fourni : {iban}.",
         "- {C} (mission locale) à recontacter au {phone}.",
         "- Courrier à renvoyer à {email}.",
         "- {B} se propose comme garant.",
         "- Rendez-vous pris avec {C} pour le 21.",
         "- {A} ne souhaite pas que {B} soit contacté."),
        ("- Dettes de loyer : 2 mois.", "- Demande de FSL à constituer.",
         "- Pas de mutuelle.", "- Dossier MDPH en cours."),
        ("Fin de l'entretien.", "À revoir dans quinze jours.", ""),
    )},
    "lettre": {"fr": (
        ("Rédige une réponse à ce courrier d'un usager.\n\n{A},",
         "Simplifie cette lettre.\n\nMadame, Monsieur,",
         "Corrige l'orthographe de ce courrier.\n\nBonjour {A},"),
        ("Par la présente, je vous informe que {B} a quitté le logement le 30 juin.",
         "Je vous prie de bien vouloir rembourser le trop-perçu sur le compte {iban}.",
         "Vous pouvez joindre ma tutrice, {C}, au {phone}.",
         "{B} se tient à votre disposition à l'adresse {email}.",
         "Comme convenu avec {C}, je vous adresse les justificatifs.",
         "Je sollicite un délai de paiement pour {A}.",
         "Merci de ne plus m'appeler au {phone}, ce numéro n'est plus attribué.",
         "Je conteste la décision concernant {B}."),
        ("Je vous remercie par avance de l'attention portée à ma demande.",
         "Je joins les trois derniers avis d'imposition.",
         "Ma situation s'est fortement dégradée depuis l'été."),
        ("Veuillez agréer mes salutations distinguées.\n{A}",
         "Respectueusement,\n{A}", "Cordialement,\n{C}\nCentre communal d'action sociale"),
    )},
}


def french_phone(rng: random.Random) -> tuple[str, str]:
    """A French number (mobile 06/07, landline 01-05, 09) in one of the ways it is written:
    (written, style)."""
    import phonenumbers

    # any nine digits after the prefix, redrawn until the plan allocates them (the numbers
    # people write are allocated ones: "07 00 ..." and "05 90 ..." are not French numbers)
    while True:
        prefix = rng.choice(("6", "7", "1", "2", "3", "4", "5", "9"))
        digits = prefix + "".join(str(rng.randrange(10)) for _ in range(8))
        if phonenumbers.is_valid_number(phonenumbers.parse("+33" + digits, None)):
            break
    pairs = [digits[i:i + 2] for i in range(1, 9, 2)]
    national = "0" + digits
    styles = {
        "fr-spaced": " ".join(["0" + prefix, *pairs]),  # 06 12 34 56 78
        "fr-dotted": ".".join(["0" + prefix, *pairs]),  # 06.12.34.56.78
        "fr-dashed": "-".join(["0" + prefix, *pairs]),  # 06-12-34-56-78
        "fr-plain": national,  # 0612345678
        "fr-international-spaced": " ".join(["+33", prefix, *pairs]),  # +33 6 12 34 56 78
        "fr-international-plain": "+33" + digits,  # +33612345678
        "fr-international-trunk": " ".join(["+33 (0)" + prefix, *pairs]),  # +33 (0)6 12 ...
        "fr-00": " ".join(["0033", prefix, *pairs]),  # 0033 6 12 34 56 78
        "fr-international-dotted": ".".join(["+33", prefix, *pairs]),  # +33.6.12.34.56.78
    }
    style = rng.choice(sorted(styles))
    return styles[style], style
