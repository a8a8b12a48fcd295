"""The console's two languages and the reader's time zone.

Texts are written in English in the templates and the pages (``_("...")``); :data:`FRENCH`
gives each its French form (``tests/unit/test_console_i18n.py`` checks that every text has
one). The language comes from the ``lang`` cookie the page's switch sets, else from the
browser's ``Accept-Language``; the time zone from the ``tz`` cookie the console's script sets
from the browser (UTC until then, and for a zone this machine does not know).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("en", "fr")

FRENCH: dict[str, str] = {
    # layout
    "douane console": "console douane",
    "Overview": "Vue d'ensemble",
    "Search": "Recherche",
    "Integrity": "Intégrité",
    "Evidence": "Preuves",
    "People": "Personnes",
    "Policies": "Politiques",
    "Sign out": "Se déconnecter",
    "Signed in as": "Connecté en tant que",
    "role": "rôle",
    "Skip to content": "Aller au contenu",
    "Times in": "Heures en",
    # sign in
    "Sign in": "Se connecter",
    "Account": "Compte",
    "Password": "Mot de passe",
    "Wrong account or password.": "Compte ou mot de passe incorrect.",
    "Too many failed attempts: this account is locked until":
        "Trop d'échecs : ce compte est verrouillé jusqu'à",
    # refusals
    "Refused": "Refusé",
    "This form was not sent by a page of this console (its security token is missing or "
    "out of date). Nothing was done. Reload the page and try again.":
        "Ce formulaire n'a pas été envoyé par une page de cette console (son jeton de sécurité "
        "manque ou a expiré). Rien n'a été fait. Rechargez la page et recommencez.",
    "Your role does not allow this page.": "Votre rôle ne permet pas d'accéder à cette page.",
    "Not found": "Introuvable",
    "export format: csv or json": "format d'export : csv ou json",
    "Back to the overview": "Retour à la vue d'ensemble",
    # overview
    "Requests by day and status": "Requêtes par jour et par statut",
    "Redacted entity types": "Types de données personnelles masquées",
    "Where the data went: by provider": "Où sont allées les données : par fournisseur",
    "Where the data went: by jurisdiction": "Où sont allées les données : par juridiction",
    "Top reasons for no answer": "Principales raisons de non-réponse",
    "Requests by tenant": "Requêtes par administration",
    "requests": "requêtes",
    "No request in this period yet.": "Aucune requête sur cette période.",
    "Period": "Période",
    "Tenant": "Administration",
    "all": "toutes",
    "Show": "Afficher",
    "last 24 hours": "dernières 24 heures",
    "last 7 days": "7 derniers jours",
    "last 30 days": "30 derniers jours",
    "all time": "depuis le début",
    "answered": "répondu",
    "blocked": "bloqué",
    "rejected": "rejeté",
    "failed": "échoué",
    "Count": "Nombre",
    # search
    "From": "Du",
    "Until": "Jusqu'au",
    "Kind": "Type",
    "Decision": "Décision",
    "Entity type": "Type de donnée",
    "Provider": "Fournisseur",
    "Jurisdiction": "Juridiction",
    "Policy hash": "Empreinte de politique",
    "Request id": "Identifiant de requête",
    "Time": "Heure",
    "Reasons": "Raisons",
    "Entities": "Données",
    "records match": "enregistrements correspondent",
    "No record matches these filters.": "Aucun enregistrement ne correspond à ces filtres.",
    "Next page": "Page suivante",
    "First page": "Première page",
    "Export CSV": "Exporter en CSV",
    "Export JSON": "Exporter en JSON",
    "any": "tous",
    # record
    "Record": "Enregistrement",
    "Signature": "Signature",
    "valid": "valide",
    "INVALID": "INVALIDE",
    "Inclusion proof": "Preuve d'inclusion",
    "verified against checkpoint of": "vérifiée contre le point de contrôle de",
    "records": "enregistrements",
    "Policy": "Politique",
    "Rules applied": "Règles appliquées",
    "Fields": "Champs",
    "Other records of this request": "Autres enregistrements de cette requête",
    "signed by key": "signé par la clé",
    "not known": "inconnue",
    "checking...": "vérification...",
    # integrity
    "Latest checkpoint": "Dernier point de contrôle",
    "No checkpoint has been signed yet.": "Aucun point de contrôle n'a encore été signé.",
    "covers": "couvre",
    "signed": "signé",
    "newer records not yet covered": "enregistrements plus récents pas encore couverts",
    "Witness cosignatures": "Cosignatures des témoins",
    "none": "aucune",
    "Full verification": "Vérification complète",
    "Verify the whole log now": "Vérifier tout le journal maintenant",
    "Verification running": "Vérification en cours",
    "checked": "vérifiés",
    "Last verification": "Dernière vérification",
    "started by": "lancée par",
    "passed": "réussie",
    "FAILED": "ÉCHEC",
    "No verification has been run from the console yet.":
        "Aucune vérification n'a encore été lancée depuis la console.",
    # evidence
    "Evidence bundle": "Dossier de preuves",
    "Download the evidence bundle": "Télécharger le dossier de preuves",
    "The same bundle the standalone verifier checks: records with their inclusion proofs, "
    "checkpoints and the keyring.":
        "Le même dossier que vérifie le vérificateur autonome : les enregistrements avec leurs "
        "preuves d'inclusion, les points de contrôle et le trousseau de clés.",
    "Exports": "Exports",
    "Records of the period as CSV or JSON lines (codes and counts only, no personal data).":
        "Les enregistrements de la période en CSV ou en lignes JSON (codes et nombres seulement, "
        "aucune donnée personnelle).",
    # people
    "Subject access": "Droit d'accès",
    "Identifying value (name, e-mail, NIR...)": "Valeur identifiante (nom, courriel, NIR...)",
    "Look up": "Rechercher",
    "Values held": "Valeurs détenues",
    "Kind of value": "Nature",
    "Value": "Valeur",
    "Stored": "Enregistrée",
    "Deleted from": "Supprimée à partir du",
    "Decisions": "Décisions",
    "Erasures": "Effacements",
    "douane holds nothing about this person.": "douane ne détient rien sur cette personne.",
    "Erase this person": "Effacer cette personne",
    "Erasure": "Effacement",
    "Confirm the erasure": "Confirmer l'effacement",
    "This will destroy": "Ceci détruira",
    "data keys": "clés de données",
    "and prune": "et supprimera",
    "vault entries": "entrées du coffre",
    "identifiers of the person": "identifiants de la personne",
    "This cannot be undone.": "C'est irréversible.",
    "Reason": "Motif",
    "Case reference": "Référence du dossier",
    "Erase": "Effacer",
    "Cancel": "Annuler",
    "Erasure refused": "Effacement refusé",
    "Erased": "Effacé",
    "douane cannot erase": "douane ne peut pas effacer",
    "Legal holds": "Gels juridiques",
    "Place a hold": "Poser un gel",
    "Release": "Lever",
    "No hold in force.": "Aucun gel en vigueur.",
    "on": "sur",
    "since": "depuis",
    "every subject of the tenant": "toutes les personnes de l'administration",
    "Retention status": "État de la conservation",
    "Retention period": "Durée de conservation",
    "Keys": "Clés",
    "Subjects": "Personnes",
    "Under hold": "Sous gel",
    "Destroyed from": "Détruites à partir du",
    "Nothing is kept under retention yet.": "Rien n'est encore conservé.",
    "audit record": "enregistrement d'audit",
    "would proceed": "serait effectué",
    "the person is under hold": "la personne est sous gel",
    "the person is ambiguous: links must be confirmed or split first":
        "la personne est ambiguë : les liens doivent d'abord être confirmés ou séparés",
    # policies
    "Policy in force": "Politique en vigueur",
    "Name": "Nom",
    "Version": "Version",
    "Hash": "Empreinte",
    "In force since": "En vigueur depuis",
    "History": "Historique",
    "Event": "Événement",
    "Files": "Fichiers",
    "Compare": "Comparer",
    "No policy change has been recorded yet.":
        "Aucun changement de politique n'a encore été enregistré.",
    "Differences": "Différences",
    "changed": "modifié",
    "added": "ajouté",
    "removed": "supprimé",
    "The two versions have the same files.": "Les deux versions ont les mêmes fichiers.",
    # cost and dependence
    "Cost and dependence": "Coûts et dépendance",
    "Compute the cost and dependence figures": "Calculer les chiffres de coûts et de dépendance",
    "What each provider cost, where the data went, how dependent this use is on each provider "
    "and what could move elsewhere if one disappeared: the figures of douane report for this "
    "period and tenant, read from every record of the period.":
        "Ce qu'a coûté chaque fournisseur, où sont allées les données, la dépendance envers "
        "chacun et ce qui pourrait aller ailleurs si l'un disparaissait : les chiffres de douane "
        "report pour cette période et cette administration, lus dans chaque enregistrement de "
        "la période.",
    "from": "du",
    "until": "au",
    "from the beginning": "depuis le début",
    "until now": "jusqu'à maintenant",
    "answers record a cost that differs from their own usage and price: run douane audit "
    "verify.":
        "réponses enregistrent un coût qui diffère de leur propre consommation et de leur prix : "
        "lancer douane audit verify.",
    "What each provider cost": "Ce qu'a coûté chaque fournisseur",
    "Cost as recorded in each signed answer, from the prices of the policy; currencies are "
    "never added together. Estimated: tokens counted by douane because the provider reported "
    "none.":
        "Coût tel qu'enregistré dans chaque réponse signée, selon les prix de la politique ; les "
        "devises ne sont jamais additionnées. Estimés : jetons comptés par douane faute de "
        "décompte du fournisseur.",
    "Model": "Modèle",
    "Hosting": "Hébergement",
    "Answers": "Réponses",
    "answers": "réponses",
    "Tokens in": "Jetons en entrée",
    "Tokens out": "Jetons en sortie",
    "tokens in / out": "jetons en entrée / sortie",
    "Estimated": "Estimés",
    "Without price": "Sans prix",
    "Cost": "Coût",
    "Total": "Total",
    "no spend recorded": "aucune dépense enregistrée",
    "No answer in this period.": "Aucune réponse sur cette période.",
    "Where the data went": "Où sont allées les données",
    "Requests sent to each provider (a request that failed over to another provider counts for "
    "both).":
        "Requêtes envoyées à chaque fournisseur (une requête reportée sur un autre fournisseur "
        "compte pour les deux).",
    "Requests sent": "Requêtes envoyées",
    "Nothing was sent to a provider in this period.":
        "Rien n'a été envoyé à un fournisseur sur cette période.",
    "Personal and sensitive requests: classified personal, sensitive or secret, or in which "
    "personal data was found. One stays home if it was sent nowhere or only to providers of "
    "the home jurisdiction.":
        "Requêtes personnelles et sensibles : classées personnelles, sensibles ou secrètes, ou "
        "contenant des données personnelles. Une requête reste sous le droit national si elle "
        "n'a été envoyée nulle part ou seulement à des fournisseurs de la juridiction de "
        "référence.",
    "No personal or sensitive request in this period.":
        "Aucune requête personnelle ou sensible sur cette période.",
    "The policy set used names no home jurisdiction: not computed.":
        "La politique utilisée ne nomme pas de juridiction de référence : non calculé.",
    "Home jurisdiction": "Juridiction de référence",
    "Personal requests": "Requêtes personnelles",
    "Not sent": "Non envoyées",
    "Sent home only": "Envoyées seulement dans la juridiction",
    "Sent elsewhere": "Envoyées ailleurs",
    "Stayed home": "Restées dans la juridiction",
    "Dependence on each provider": "Dépendance envers chaque fournisseur",
    "Each provider's share of the answers (traffic) and of the spend. The concentration index "
    "(Herfindahl-Hirschman) adds up the squared shares in percent, from 0 to 10 000: 10 000 "
    "when one provider does everything, 5 000 for two equal ones; above 1 800 the "
    "concentration is high, from 1 000 to 1 800 moderate, below low.":
        "Part des réponses (trafic) et des dépenses de chaque fournisseur. L'indice de "
        "concentration (Herfindahl-Hirschman) additionne les carrés des parts en pourcentage, "
        "de 0 à 10 000 : 10 000 quand un seul fournisseur fait tout, 5 000 pour deux à parts "
        "égales ; au-dessus de 1 800 la concentration est forte, de 1 000 à 1 800 modérée, "
        "faible en dessous.",
    "Share of traffic": "Part du trafic",
    "Spend": "Dépenses",
    "Share of spend": "Part des dépenses",
    "Concentration index": "Indice de concentration",
    "traffic": "trafic",
    "spend": "dépenses",
    "high": "forte",
    "moderate": "modérée",
    "low": "faible",
    "Exit readiness: if a provider disappeared tomorrow":
        "Capacité de sortie : si un fournisseur disparaissait demain",
    "For each provider, the requests the policy sent to it in this period, decided again under "
    "the policy in force without it: the share that could still go to another allowed "
    "provider. The rest would be blocked until the policy allows another one.":
        "Pour chaque fournisseur, les requêtes que la politique lui a envoyées sur la période, "
        "décidées à nouveau selon la politique en vigueur sans lui : la part qui pourrait encore "
        "aller à un autre fournisseur autorisé. Le reste serait bloqué jusqu'à ce que la "
        "politique en autorise un autre.",
    "No request was routed to a provider in this period.":
        "Aucune requête n'a été dirigée vers un fournisseur sur cette période.",
    "Not computed: no policy set was available to replay the decisions.":
        "Non calculé : aucune politique n'était disponible pour rejouer les décisions.",
    "Requests routed to it": "Requêtes qui lui ont été envoyées",
    "Could go elsewhere": "Pourraient aller ailleurs",
    "Share": "Part",
    "Where they would go": "Où elles iraient",
    "Where these figures come from": "D'où viennent ces chiffres",
    "Signed checkpoint": "Point de contrôle signé",
    "root hash": "empreinte racine",
    "signed now": "signé maintenant",
    "none could be signed": "aucun n'a pu être signé",
    "Policy set": "Politique appliquée",
    "Audit records read": "Enregistrements d'audit lus",
    "The report of this period": "Le rapport de cette période",
    "the same as douane report; no personal data":
        "le même que douane report ; aucune donnée personnelle",
    "report format: html, csv or json": "format du rapport : html, csv ou json",
    "computing: every record of the period is read...":
        "calcul : chaque enregistrement de la période est lu...",
}


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translate(language: str, text: str) -> str:
    return FRENCH.get(text, text) if language == "fr" else text


def zone(cookie: str | None) -> tzinfo:
    """The zone the browser named (its script writes it URL-encoded: Europe%2FParis)."""
    name = unquote(cookie or "")
    if not name or len(name) > 64:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_time(moment: str | float | None, where: tzinfo) -> str:
    """An RFC 3339 UTC time (or seconds since the epoch) in the reader's zone, to the second."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, int | float):
        parsed = datetime.fromtimestamp(moment, UTC)
    else:
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    return parsed.astimezone(where).strftime("%Y-%m-%d %H:%M:%S %Z")
