"""Cleaning up PERSON spans from a statistical NER model.

Known false positives of the small spaCy models on prompts:
- the instruction verb that opens a prompt ("Traduis", "Prépare", "Rédige", "Redacta") taken
  for a name, because it is capitalised and comes first;
- greetings and civility titles glued to a name ("Bonjour", "Madame Sophie Dubois");
- numbers and codes taken for names.

Titles are trimmed so the prompt stays readable ("Madame <PERSON_1>"); an opening instruction
word or greeting is trimmed, and a span left empty is dropped.
"""

from __future__ import annotations

import regex

from streams.adapters.recognizers.base import fold

TITLES = frozenset(fold(w) for w in (
    "monsieur", "madame", "mademoiselle", "mme", "mlle", "m.", "mr", "mrs", "ms", "dr", "mr.",
    "mrs.", "ms.", "dr.", "docteur", "maître", "professeur", "sir", "madam",
    "señor", "señora", "señorita", "sr", "sra", "sr.", "sra.", "srta.", "doña", "dña.", "herr",
    "frau", "mx", "mx.",
))
# Words that open an instruction or a letter, in the languages that have an NER model. The
# imperative and infinitive forms an administration uses to ask a model for something.
OPENERS = frozenset(fold(w) for w in (
    # English
    "write", "draft", "translate", "summarise", "summarize", "prepare", "explain", "reply",
    "answer", "rewrite", "correct", "check", "list", "give", "make", "help", "find", "compose",
    "send", "analyse", "analyze", "compare", "suggest", "propose", "create", "generate",
    "describe", "please", "kindly", "dear", "hello", "hi", "thanks", "regards", "tell", "let",
    "remind", "inform", "notify", "contact", "call", "email", "update", "review", "confirm",
    # French
    "traduis", "traduisez", "traduire", "prépare", "préparez", "préparer", "rédige", "rédigez",
    "rédiger", "écris", "écrivez", "écrire", "résume", "résumez", "résumer", "explique",
    "expliquez", "expliquer", "propose", "proposez", "proposer", "corrige", "corrigez",
    "corriger", "reformule", "reformulez", "reformuler", "réponds", "répondez", "répondre",
    "vérifie", "vérifiez", "vérifier", "analyse", "analysez", "analyser", "liste", "listez",
    "donne", "donnez", "fais", "faites", "aide", "aidez", "indique", "indiquez", "rappelle",
    "rappelez", "envoie", "envoyez", "informe", "informez", "compose", "composez", "complète",
    "complétez", "relis", "relisez", "simplifie", "simplifiez", "transmets", "transmettez",
    "confirme", "confirmez", "bonjour", "bonsoir", "salut", "merci", "cordialement", "cher",
    "chère", "objet", "peux-tu", "pouvez-vous", "pourrais-tu", "pourriez-vous", "contacte",
    "contactez", "appelle", "appelez", "écris-lui", "écrivez-lui", "réponds-lui",
    # Spanish
    "redacta", "redacte", "redactar", "traduce", "traduzca", "traducir", "prepara", "prepare",
    "preparar", "escribe", "escriba", "escribir", "resume", "resuma", "resumir", "explica",
    "explique", "explicar", "propón", "proponga", "corrige", "corrija", "reformula",
    "reformule", "responde", "responda", "responder", "revisa", "revise", "enumera", "da",
    "dame", "haz", "haga", "ayuda", "ayúdame", "indica", "indique", "envía", "envíe",
    "informa", "informe", "confirma", "confirme", "hola", "buenos", "buenas", "estimado",
    "estimada", "gracias", "saludos", "atentamente", "contacta", "contacte", "llama", "llame",
    "notifica", "notifique", "elabora", "elabore", "genera", "genere", "crea", "cree",
))
# After an opening verb come its object or complement: an article, a pronoun, a preposition
# ("Remercie le lecteur", "Agradece al lector", "Escribió desde..."). After a first name that
# opens a sentence comes a verb ("Marie a appelé"). These words never follow a name there.
AFTER_VERB = frozenset(w.casefold() for w in (  # accents kept: "à" is not "a" (has)
    "le", "la", "les", "l'", "un", "une", "des", "du", "au", "aux", "à", "en", "ce", "cet",
    "cette", "ces", "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "leur", "leurs",
    "notre", "nos", "votre", "vos", "moi", "lui", "nous", "vous", "simplement", "rapidement",
    "brièvement", "pour", "avec", "sur", "dans", "quel", "quelle", "comment", "pourquoi",
    "el", "los", "las", "una", "unos", "unas", "al", "del", "este", "esta", "estos",
    "estas", "mi", "mis", "tu", "tus", "su", "sus", "me", "te", "lo", "nos", "desde",
    "para", "por", "con", "sobre", "de", "que", "cómo",
    "the", "an", "this", "that", "these", "those", "my", "your", "his", "her", "their",
    "our", "me", "him", "them", "us", "to", "for", "with", "about", "from", "in", "on",
))
# An infinitive after a sentence-initial word ("Necesito reformular", "Veuillez trouver").
INFINITIVE = regex.compile(r"\p{Ll}+(?:er|ir|re|ar)$")
NEXT_WORD = regex.compile(r"[ \u00a0]+([\p{L}']+)")
DIGIT = regex.compile(r"\d")
POSSESSIVE = regex.compile(r"\p{L}['’]s$")
SENTENCE_START = regex.compile(r"(?:^|[.!?:;\n])[\s\"'«“(\-–—]*$")


def clean_person(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without leading titles and opening words; None when nothing name-like is left."""
    span = text[start:end]
    if DIGIT.search(span) or not any(c.isupper() for c in span):
        return None
    while True:
        word, _, rest = text[start:end].partition(" ")
        if not rest:
            break
        folded = fold(word.rstrip(",:"))
        at_start = SENTENCE_START.search(text[max(0, start - 40) : start]) is not None
        if folded in TITLES or (folded in OPENERS and at_start) or (
                folded in OPENERS and folded == fold(word) and word[:1].islower()):
            start += len(word) + 1
            while start < end and text[start] == " ":
                start += 1
            continue
        break
    word = text[start:end]
    folded = fold(word.rstrip(",:"))
    if folded in TITLES or folded in OPENERS:
        return None
    if " " not in word and "-" not in word and _opens_a_sentence(text, start) \
            and _followed_like_a_verb(text, end):
        return None
    while end > start and text[end - 1] in ".,;:!?'\"»”)":
        end -= 1
    if POSSESSIVE.search(text, start, end):  # "Waugh's file": the name, not the 's
        end -= 2
    return (start, end) if end > start else None


def _opens_a_sentence(text: str, start: int) -> bool:
    return SENTENCE_START.search(text[max(0, start - 40) : start]) is not None


def _followed_like_a_verb(text: str, end: int) -> bool:
    following = NEXT_WORD.match(text, end)
    if following is None:
        return False
    word = following.group(1)
    return word.casefold() in AFTER_VERB or (word.islower() and INFINITIVE.match(word) is not None)
