"""Names of every origin next to spaCy's NER: a given-name lexicon covering 105 countries.

The small spaCy models find "John Smith" but miss or mislabel names their training text rarely
held: "Yusuf Costa" or "Xenia Dubois" inside English text come out as nothing, as a place or
as an organisation. This pass is cheap and context-aware: a run of capitalised words (with the
particles of names, "de la", "van", "bin") is a person when its first word is a known given
name that is not also a common word ("Will", "Paris", "Grace" are left to NER), and the words
after it are surnames or other capitalised words - not a function word, an abbreviation or an
institution word ("Jordan Valley", "Victoria Station", "Sarah Lawrence College"); after a
particle only a known name follows ("Rio de Janeiro" is a place). A name of any origin is also
a person after a civility title ("Dr Yefremova"), after initials ("M. Waugh") or where a name
is asked for or given ("My name is...", "Name:"), and so is a known given name alone when it is
rare as a word ("ask Selma"). Its score sits just below
NER's: it adds the names NER did not see, and leaves NER's reading where NER saw a place or
an organisation (the words are replaced either way).

The lexicon (``data/given_names.tsv.gz``, ``data/surnames.tsv.gz``) holds the names that rank
among the 1,000 most frequent of at least one country in ``names-dataset`` (MIT licence) with
how common each is as a word in English, French and Spanish (``wordfreq``); it is rebuilt by
``python -m streams.devtools.names_lexicon``. It holds names only, linked to no one. Provenance,
for whoever decides whether to keep it: names-dataset says its v3 lists were extracted from
the 2021 dump of 533 million Facebook accounts; the packaged file keeps only the name strings
(no person, no count) that rank high in some country, but a deployment that must not build on
leaked data should rebuild the lexicon from another list of names (same file format).
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources

import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.person_filters import OPENERS
from streams.adapters.person_filters import TITLES as PERSON_TITLES
from streams.adapters.recognizers.base import (
    IS_SCORE_ENHANCED_BY_CONTEXT_KEY,
    RECOGNIZER_IDENTIFIER_KEY,
    RECOGNIZER_NAME_KEY,
    REGEX_TIMEOUT_S,
    PersonRecognizer,
    fold,
)
from streams.adapters.recognizers.batch_memos import per_batch

LANGUAGES = ("en", "fr", "es")
# Just below NER (0.85): where NER reads the same words as a place or an organisation, its
# reading stays (the words are replaced either way). Above it, names NER called places became
# persons again, but real places and clubs ("Aston Villa") became persons too and left more
# values uncovered on the dev corpora (docs/benchmarks.md, "Given names").
SCORE = 0.84
# A name that is this common as a word in English, French or Spanish (Zipf scale: 5 is once
# per 100,000 words) is left to NER: "Will", "Paris", "Marie" are words, places or names NER
# knows. 4.0 and 4.5 found fewer names on the dev corpora for the same precision.
GIVEN_NAME_MAX_WORD_FREQUENCY = 5.0

MAX_NAME_WORDS = 4
VOWELS = frozenset("ıaeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿāăąēĕėęěīĭįıōŏőœūŭůűų")
# A name with an apostrophe after its first letters, as Uzbek, Arabic and Hausa names are
# romanised ("E’zoza", "Ja’far", "Sa’diya", "Mu’min"): one to three letters before it, three
# or more after it. Not a French elision ("L’école", "D’abord", "J’attends", "Qu’elle", with
# the letters French elides), nor an English contraction (none has three letters after its
# apostrophe: "Don’t", "She’ll", "We’re"), nor "Y’all".
# (what follows the capital; the capital is shared with the other words' pattern: written as
# an alternative of its own, the whole pattern cost a fifth more)
APOSTROPHE_NAME_TAIL = (r"(?:(?<=[^CDJLMNSTY])|\p{Ll}{1,2}(?<!Qu))['’]"
                        r"\p{Ll}[\p{Ll}\p{M}]{2,}")
# Yusuf, O'Connor, McDonald, DiCaprio, Jean-Pierre; E’zoza
NAME_WORD = (rf"\p{{Lu}}(?:{APOSTROPHE_NAME_TAIL}|(?:['’]\p{{Lu}})?[\p{{Ll}}\p{{M}}]+"
             r"(?:\p{Lu}[\p{Ll}\p{M}]+)?(?:-\p{Lu}?[\p{Ll}\p{M}]+)*)")
PARTICLES = ("de", "da", "di", "do", "dos", "das", "del", "della", "der", "den", "du", "la",
             "le", "van", "von", "bin", "ibn", "al", "el", "y", "ben", "ter", "zu")
# (not after a letter and an apostrophe, an elision or "O'": "l'Abbaye Saint", "d'Artagnan";
# after an apostrophe that follows no letter, a quotation mark: "'Desmond Tutu'", and the
# wiki markup of pasted Wikipedia text, "''Desmond Tutu''"; and so before one that no letter
# follows, not before "'s")
NAME_RUN = regex.compile(
    rf"(?<![\w-])(?<!\w['’]){NAME_WORD}(?:[ \u00a0](?:(?:{'|'.join(PARTICLES)})[ \u00a0]){{0,2}}"
    rf"{NAME_WORD}){{1,4}}(?![\w-])(?!['’]\w)")
WORD = regex.compile(NAME_WORD)
# Beyond given names, three signs that whatever name follows is a person's, in any origin:
# a civility title ("Mr Okonkwo", "Dr. Yefremova", "Mme Ndiaye"), one or two initials
# ("M. Waugh", "J.R. Tolkien"), and a name asked or given ("My name is Magnusson",
# "Name: Sieda Batukayev", "je m'appelle...", "me llamo..."). The words after the sign must look
# like a name: capitalised, not a function word, abbreviation or institution word.
# the end of a name: not inside a word, or before a possessive ("M. Waugh's file")
NAME_END = r"(?:(?=['’]s\b)|(?![\w'’-]))"
TITLED_RUN = regex.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Professor|Sir|Dame|Madame|Mme|Mademoiselle|Mlle"
    r"|Monsieur|Docteur|Maître|Señor|Señora|Señorita|Sr|Sra|Srta|Doña|Herr|Frau)\.?[ \u00a0]+"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,3}}){NAME_END}")
# After a title, in a capitalised text, a word in lower case that no dictionary holds ("Mr.
# ribič thanked ...", a surname whose capital was lost): ``_titled_lower_case_names``
TITLED_LOWER_WORD = regex.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Madame|Mme|Mlle|Monsieur|Docteur"
    r"|Maître|Señor|Señora|Sr|Sra|Srta)\.?[ \u00a0]+"
    r"(?P<name>\p{Ll}[\p{Ll}\p{M}]+(?:-\p{Ll}[\p{Ll}\p{M}]+)?)(?![\w'’@-])")
# "Me" (maître, a lawyer's or notary's title) only in French: in English it is a pronoun; and
# "M." / "MM." (monsieur, messieurs), which the initials' pattern reads as an initial, so that
# a surname that is also a word is a name after it as after any title ("M. Pont")
FRENCH_TITLED_RUN = regex.compile(
    rf"(?<![\w.])(?:Me|MM?\.)[ \u00a0]+"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,3}}){NAME_END}")
INITIALS_RUN = regex.compile(
    r"(?<![\w.'’-])(?P<name>(?:\p{Lu}\.[ \u00a0]?){1,2}"
    rf"{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,2}}){NAME_END}")
# a surname in capitals, as French forms and lists write it ("COSTA", "O'BRIEN", "NI")
CAPS_WORD = r"\p{Lu}(?:['’]?\p{Lu})+(?:-\p{Lu}{2,})*"
ANY_NAME_WORD = rf"(?:{NAME_WORD}|{CAPS_WORD})"
NAMED_RUN = regex.compile(
    r"(?i:\bmy name is|\bmy name's|\bje m'appelle|\bje m’appelle|"
    r"\bmon nom est|\bme llamo|\bmi nombre es)[ \u00a0]*"
    rf"(?P<name>{ANY_NAME_WORD}(?:[ \u00a0]{ANY_NAME_WORD}){{0,3}}){NAME_END}")
# The labels of forms that hold a person's name, read back from each colon (searching the
# labels everywhere cost more than the rest of the pass)
NAME_LABEL = regex.compile(
    r"(?i:\b(?:name|nom|nombre|full name|surname|first name|given name|applicant|spouse"
    r"|nom et prénoms?|prénoms?|nom de naissance|nom d'usage|demandeur|demandeuse"
    r"|bénéficiaire|titulaire|conjointe?|apellidos?|solicitante|titular"
    # the other persons a form names
    r"|referred by|partner|next of kin|emergency contact|contact person|witness|guarantor"
    r"|interpreter|caseworker|case worker|garant|témoin|référente?|interlocut(?:eur|rice)"
    r"|orientée? par|adressée? par|derivad[oa] por"
    r"|testigo|avalista|tutora?|personne à (?:prévenir|contacter)|contact d'urgence"
    r"|persona de contacto|contacto de emergencia"
    # who shares a lease, an account or a household, or acts for a person
    r"|(?:co-?)?titulaires? du (?:bail|compte)|co-?titulaire|colocataire|époux|épouse"
    r"|concubine?|compagne|compagnon|tut(?:eur|rice)|curat(?:eur|rice)|mandataire)"
    # written inclusively ("Conjoint(e)", "Référent(e)", "Tuteur(rice)")
    r"(?:\((?:e|se|rice|ne)\))?)[ \u00a0]*$")
LABELLED_RUN = regex.compile(
    rf":[ \u00a0]*(?P<name>{ANY_NAME_WORD}(?:[ \u00a0]{ANY_NAME_WORD}){{0,3}}){NAME_END}")
# After such a label, a value that opens with a particle or a short family name that is a
# function word elsewhere ("Nom d'usage : De Sousa", "Personne à contacter : Le Trong",
# "Référent : Le, +33 ..."), which ``LABELLED_RUN`` stops at: the whole value, up to the end
# of the field (a comma, a parenthesis, the end of the line), is the name
LABELLED_PARTICLE_RUN = regex.compile(
    rf":[ \u00a0]*(?P<name>(?P<first>\p{{Lu}}\p{{Ll}}{{0,3}})(?P<rest>(?:[ \u00a0]{ANY_NAME_WORD})"
    r"{0,3}))[ \t\u00a0]*(?=[,;(\n]|$)")
# a word in capitals, without which neither run of CAPITALS_RUNS can match
HAS_CAPITALS = regex.compile(r"\p{Lu}['’]?\p{Lu}")
# the name an e-mail address is shown with: "Valentina Costa <v.costa@example.org>"
DISPLAY_NAME_RUN = regex.compile(
    rf"(?<![\w'’-])(?P<name>{ANY_NAME_WORD}(?:,?[ \u00a0]{ANY_NAME_WORD}){{0,3}})"
    r"[ \u00a0]*<[^<>@\s]+@")
# surname in capitals, then given names ("COSTA Valentina"), or the other way round
# ("Valentina COSTA"): a person when the surname is a known one or the given name is
SURNAME_FIRST_RUN = regex.compile(
    rf"(?<![\w'’-])(?P<name>{CAPS_WORD}(?:[ \u00a0]{NAME_WORD}){{1,3}}){NAME_END}")
SURNAME_LAST_RUN = regex.compile(
    rf"(?<![\w'’-])(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD})?[ \u00a0]{CAPS_WORD})"
    r"(?![\w'’-])")
# Where a match of ``SURNAME_LAST_RUN`` can start (``surname_last_starts``): the separators
# between a word ending in lower case and a word in capitals; the last separator before a
# place (searched backwards); the capital letters
# (the look-behind after the separator: the scan then looks for a space first, a fifth cheaper)
SURNAME_IN_CAPITALS_AFTER = regex.compile(r"[ \u00a0](?=\p{Lu}['’]?\p{Lu})(?<=[\p{Ll}\p{M}].)")
SEPARATOR_BEFORE = regex.compile(r"(?r)[ \u00a0]")
CAPITAL = regex.compile(r"\p{Lu}")
SIGNED_WORD = regex.compile(ANY_NAME_WORD)
CAPITALS_BESIDE = regex.compile(rf"({CAPS_WORD})[ \u00a0]$")
CAPITALS_AFTER = regex.compile(rf"[ \u00a0]{CAPS_WORD}")
# the line that signs a letter, after its closing line ("Regards,\nAlta Gracia Serna",
# "Cordialement,\nMai")
SIGNATURE_RUN = regex.compile(
    r"(?i:(?:^|\n)[ \t]*(?:(?:best |kind |warm )?regards|best wishes|best|cheers|thanks"
    r"|thank you|many thanks|(?:yours )?sincerely|yours faithfully|yours truly"
    r"|(?:bien )?cordialement|merci(?: beaucoup)?|bien à vous|salutations"
    r"|sincères salutations|bien amicalement|amitiés|saludos(?: cordiales)?|atentamente"
    r"|respectueusement|respectfully|en vous remerciant(?: par avance)?"
    r"|dans l'attente de votre (?:retour|réponse)"
    r"|un saludo|gracias)[ \t]*[,.!]?[ \t]*\n[ \t]*)"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{{1,2}}{NAME_WORD}){{0,3}})[ \t]*(?=\n|$)")
# the line after a formal French closing sentence, whatever opens that sentence ("Veuillez
# agréer, Madame, mes salutations distinguées.\nMituru"); read as the line that signs a
# letter, and searched only in a text that holds one of its words (a scan of every line for
# the end of such a sentence cost a quarter of a millisecond per prompt)
FORMAL_SIGNATURE_RUN = regex.compile(
    r"(?i:(?:salutations distinguées|sentiments distingués|considération distinguée"
    r"|salutations respectueuses|respectueuses salutations|meilleures salutations"
    r"|salutations les meilleures|mes respects)[ \t]*[,.!]?[ \t]*\n[ \t]*)"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{{1,2}}{NAME_WORD}){{0,3}})[ \t]*(?=\n|$)")
FORMAL_CLOSING_WORDS = ("salutations", "distingu", "respects")
# The lists of minutes that name persons ("Present: Zayyir, Ihtesham, Gronskis, Vitalija",
# "Présents : FIRAT Oruç, UĞURLU Ruqiyyə, R. Matos"): each item of names is a person, whatever
# each word is elsewhere ("S. Su", "SADO Daniel")
# (the label opens a line, or a sentence of its own: "Commission d'attribution. Présents :")
ATTENDANCE_LIST = regex.compile(
    r"(?im:(?:^|(?<=[.!?]))[ \t]*(?:present|presents|présents?|présentes?|participants?"
    r"|participantes?|attendees|attending|in attendance|absent|absents?|absentes?"
    r"|excused|excusée?s?"
    r"|apologies|asistentes|presentes|ausentes)[ \t\u00a0]*:[ \t\u00a0]*)(?P<items>[^\n]+)")
LIST_ITEM = regex.compile(r"[^,;]+")
ITEM_NAME = regex.compile(
    rf"^[ \u00a0]*(?P<name>(?:\p{{Lu}}\.[ \u00a0]?){{0,2}}{ANY_NAME_WORD}"
    rf"(?:[ \u00a0]{ANY_NAME_WORD}){{0,3}})[ \u00a0]*(?:\([^()]*\)[ \u00a0]*)?\.?[ \u00a0]*$")
# Who does what, in minutes: "Action: Andrés to send the draft", "Action : Vi envoie le projet"
ACTION_RUN = regex.compile(
    rf"(?i:\bactions?)[ \u00a0]*:[ \u00a0]*(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,2}})"
    r"[ \u00a0]+(?P<verb>\p{Ll}+)")
# who cannot be the one named by "Action:"
NOT_AN_ACTIONEE = frozenset("""all everyone everybody each we they i he she it you tous toutes
    chacun nous ils elles il elle on je vous todos cada nosotros ellos ellas él""".split())  # noqa: SIM905
SIGNED_RUNS = (TITLED_RUN, INITIALS_RUN, NAMED_RUN, DISPLAY_NAME_RUN, SIGNATURE_RUN)
# After a title, the first word is a name even when it is a function word somewhere ("Dr He",
# "Mr Le", "Prof. Mai"), unless it is one that joins or opens words ("Mr and Mrs Smith").
NOT_AFTER_A_TITLE = frozenset("""and or the of to in on at a an et ou le la les de du des un
    une y o e el los las del and""".split())  # noqa: SIM905
CAPITALS_RUNS = (SURNAME_FIRST_RUN, SURNAME_LAST_RUN)
# Vietnamese names, family name first: "Nguyễn Thị Mai", "Le The Vu", "MAI The Chi". Their
# syllables are written as separate words, often without diacritics, and many are words of
# English or French ("The", "Van", "Long", "Vu"), so the lexicon's frequencies say little; the
# shape of the run does: one of the common family names, then one to three capitalised words
# each a Vietnamese syllable. The family names: the most common ones, which Vietnamese
# demography credits to nine people in ten (Nguyễn alone about four), written with and
# without diacritics (compared folded).
VIETNAMESE_SURNAMES = frozenset("""nguyen tran le pham hoang huynh phan vu vo dang bui do ho
    ngo duong ly dinh truong trinh doan lam mai luong luu cao ta ha quach thai to chau kieu
    tang trieu phung dao dam ton than lac mac tu vuong chu nong diep luc la kim giang khuc
    lai tieu quan""".split())  # noqa: SIM905 - a word list reads better as text
# a syllable of Vietnamese, diacritics folded: an initial, a vowel nucleus and a final of the
# language's orthography ("nguyen", "thi", "huynh", "duong"; not "gogh", "point", "math")
VIETNAMESE_SYLLABLE = regex.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(?:uye|uya|ieu|yeu|uoi|uou|oai|oay|oeo|uay|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|ua|ue"
    r"|ui|uo|uu|uy|ye|[aeiouy])(?:ng|nh|ch|[cmnpt])?")
VIETNAMESE_RUN = regex.compile(
    rf"(?<![\w'’-])(?P<name>(?:{CAPS_WORD}|{NAME_WORD})(?:[ \u00a0]{NAME_WORD}){{1,3}})"
    r"(?![\w'’-])")
# letters only Vietnamese writes (precomposed vowels with a hook, a horn or a dot below; ă, đ)
VIETNAMESE_LETTERS = regex.compile(r"[ăĂđĐơƠưƯ\u1ea0-\u1ef9]")
CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY = 4.5
# In a text written without capitals ("so karina called again"), capitals say nothing: a known
# given name rare as a word opens a name there, and so does a title ("prof. duong").
LOWER_WORD = regex.compile(r"(?<![\w'’@./-])\p{Ll}[\p{Ll}\p{M}]*(?:['’-]\p{Ll}[\p{Ll}\p{M}]*)*"
                           r"(?![\w'’@/-]|\.\w)")
# what ``str.split`` leaves around a word
SPLIT_PUNCTUATION = ".,;:!?\"'’()[]«»“”…"


# what may not stand before and after a word as ``LOWER_WORD`` reads one
LOWER_WORD_BEFORE = regex.compile(r"(?<![\w'’@./-])")
LOWER_WORD_AFTER = regex.compile(r"(?![\w'’@/-]|\.\w)")


def lower_word_spans(word: str, text: str) -> Iterator[tuple[int, int]]:
    """Where ``text`` writes ``word`` as ``LOWER_WORD`` reads a word. A literal search and two
    fixed patterns: a pattern made of the word would be kept by ``regex``'s own cache of
    compiled patterns (500 of them), the names past requests wrote with it."""
    if not word:
        return
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if LOWER_WORD_BEFORE.match(text, at) and LOWER_WORD_AFTER.match(text, end):
            yield at, end
            at = text.find(word, end)
        else:
            at = text.find(word, at + 1)


# "my name is" before a name written in lower case (in a text otherwise capitalised)
LOWER_NAME_TOLD = regex.compile(r"(?i:\bmy name is|\bmy name's|\bi am called|\bje m'appelle"
                                r"|\bje m’appelle|\bme llamo)[ \u00a0]+"
                                r"(?P<name>\p{Ll}[\p{Ll}\p{M}]*(?:-\p{Ll}[\p{Ll}\p{M}]*)?)"
                                r"(?![\w'’@-])")
# ("m." is French "monsieur", with its dot only: "m" alone is a unit or a letter; "me", for
# "maître", stays out: in lower case it is the pronoun before a verb far more often)
LOWER_TITLE = regex.compile(r"(?<![\w.])(?:(?:mr|mrs|ms|dr|prof|mme|mlle|docteur|maître|madame"
                            r"|monsieur|sr|sra)\.?|m\.)[ \u00a0]+$")
# (the standard library's engine: several times faster than ``regex`` on this simple pattern)
LINE_START = re.compile(r"(?:^|[.!?][ \u00a0]+|\n)[\s\-–•*\"'«(]*([^\W\d_])")
# the share of sentences and lines opening in lower case that makes a text "without capitals"
UNCAPITALISED_SHARE = 0.6
# There a given name opens a name when it is rarer as a word than this: "ronald", "sergio",
# "virginie" (3.9-4.3) are names; "bill", "rose", "grace", "june", "will" (4.6-6.5) are words.
LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY = 4.5
# A given name alone ("ask Selma", "Jens said") is a person when it is rarer as a word than
# this: "Jordan", "Georgia", "Austin" (4.4-4.5) are places as often as people. 4.0 found a few
# more names on the dev corpora but reported a person in more prompts that hold none.
LONE_GIVEN_NAME_MAX_WORD_FREQUENCY = 3.5
# (of these, the verbs only a person does: "Sales reported", "Portugal called up" are not
# persons)
COMMON_NAME_VERBS = frozenset("""said says asked asks told tells thanked wants wanted will
    promised apologised apologized dit demande veut souhaite dijo pregunta quiere
    """.split())  # noqa: SIM905
# A state only a person is in, after a copula and an adverb or two: the subject is a person
# ("Na est vraiment contrariée", "le van is really upset"), as with a verb of a person
PERSON_STATE_AFTER = regex.compile(
    r"[ \u00a0]+(?:is|was|est|était|es|está|estaba|fue|sigue)[ \u00a0]+"
    r"(?:(?:really|very|so|quite|still|extremely|a bit|vraiment|très|si|toujours|encore"
    r"|assez|un peu|muy|tan|todavía|bastante|un poco)[ \u00a0]+)?"
    r"(?:upset|angry|annoyed|furious|worried|unhappy|anxious|distressed|sick|ill|pregnant"
    r"|contrariée?|fâchée?|inquiète?|inquiet|furieux|furieuse|malade|déçue?|mécontente?"
    r"|enceinte|bouleversée?|enfadad[oa]|molest[oa]|preocupad[oa]|enferm[oa]|embarazada"
    r"|disgustad[oa])(?![\w'’-])")
# ... and a name more common as a word ("Dan", "Mai", "Seven", "Price": 5.1-5.2), with the same
# words around it; "Will", "May", "Long" (5.8-6.5) are words first.
COMMON_NAME_MAX_WORD_FREQUENCY = 5.3
# ... and with any verb of a person when it is no more common than this as a word of the
# text's language ("Díaz proposed", "Han proposed" in English; not "Portugal called up": 4.1)
RARE_HERE_MAX_WORD_FREQUENCY = 4.0
# a capitalised word with no capitalised word next to it (a run is judged whole by ``_person``)
LONE_WORD = regex.compile(rf"(?<![\w'’-])(?<!\p{{Lu}}[\p{{L}}\p{{M}}'’-]*[ \u00a0])"
                          rf"{NAME_WORD}(?![\w'’-])(?![ \u00a0]\p{{Lu}})")
# A word no dictionary of English, French or Spanish holds ("Bunlerngsri", "Chumachenko",
# "kiburi") is read as a name: capitalised anywhere, and in lower case in a text written
# without capitals. Shorter words are initials and abbreviations ("Vi", "Ky"): left alone.
UNKNOWN_WORD_MIN_LETTERS = 3
UNKNOWN_WORD_PART = regex.compile(r"['’-]")
# one syllable: consonants, one run of vowels, consonants ("tsung", "hsuan", "chih", "te")
SYLLABLE = regex.compile(r"[^aeiouy\W\d_]{0,3}[aeiouy]{1,3}[^aeiouy\W\d_]{0,3}")
CAPITALISED_WORD = regex.compile(rf"(?<![\w'’@./-]){NAME_WORD}(?![\w'’@/-]|\.\w)")
# A known given name alone is a person, however common as a word, where the words around it
# say so: the subject of a verb of saying or doing ("Amanda proposed", "Sierra demande"), or
# after a word that introduces a person ("cc Luna", "my colleague Grace", "Bonjour Rose").
PERSON_VERBS = frozenset("""said says asked asks told tells thanked thanks proposed proposes
    suggested suggests replied replies wrote writes called calls phoned rang explained explains
    confirmed confirms agreed agrees disagreed disagrees mentioned mentions added adds noted
    reported complained complains insisted insists promised promises wants wanted needs needed
    will would should could can cannot can't won't didn't doesn't hasn't signed sent received
    brought attended chaired objected apologised apologized emailed opened admitted admits
    recalled recalls spoke answered visited
    dit dira demande demandait affirme affirmait explique confirme souhaite souhaitait veut
    admet reconnaît regrette souligne
    voulait appelle appellera appelait signale indique propose remercie écrit répond précise
    passe passera gère gérera attend rappelle rappellera
    ajoute estime pense sait viendra apportera enverra rappellera transmettra contestait conteste
    dijo dice pregunta preguntó explicó explica confirma confirmó quiere quería llamó llama
    escribió escribe propuso propone agradeció agradece pide pidió afirma afirmó traerá enviará
    admitió reconoció recordó
    """.split())  # noqa: SIM905 - a word list reads better as text
# (and, after "Action:", what a person will do: "Andrés to send", "Vi envoie")
ACTION_VERBS = PERSON_VERBS | frozenset("""to will shall must should sends circulates prepares
    drafts checks contacts writes calls follows envoie enverra prépare préparera diffuse
    diffusera contacte contactera rédige rédigera vérifie vérifiera relance relancera transmet
    transmettra va doit devra envía enviará prepara preparará contacta contactará redacta
    debe""".split())  # noqa: SIM905
PERSON_CUES = frozenset("""cc dear hi hello hey thanks thank ask tell told remind colleague
    caseworker worker officer adviser advisor counsellor counselor solicitor lawyer interpreter
    conseiller conseillère assistante avocat avocate interprète abogado abogada
    colleagues neighbour neighbor manager wife husband son daughter brother sister friend mother
    father partner cher chère bonjour salut merci coucou collègue voisin voisine mari épouse
    fils fille frère sœur ami amie querido querida estimado estimada hola gracias colega vecino
    vecina esposo esposa hijo hija hermano hermana amigo amiga call called ring rang phone
    phoned email emailed contact contacted appelle appelez appeler appelé contacte contactez
    contacter llama llame llamar contacta contactar avec chez joindre rappeler prévenir
    """.split())  # noqa: SIM905
# The words that introduce a person in a text without capitals (not a greeting: "hi all")
LOWER_CASE_CUES = frozenset("""ask asked tell told remind call called ring rang phone phoned
    email emailed contact contacted cc appelle appelez appeler appelé contacte contactez
    contacter llama llame llamar contacta contactar avec chez joindre rappeler prévenir
    """.split())  # noqa: SIM905
# the words that do not go on a name in a text without capitals, though a verb follows them
NOT_IN_A_NAME = frozenset("""today yesterday tomorrow tonight now later again really still
    aujourd'hui hier demain maintenant encore vraiment toujours hoy ayer mañana ahora todavía
    """.split())  # noqa: SIM905
COPULAS = frozenset(("is", "was", "est", "était", "es", "está", "estaba"))
# the start of a line or a sentence, or of one after a word that links what was said before
# a capitalised word opening a line (or a sentence), in a text written without capitals
CAPITALISED_OPENER = regex.compile(rf"(?:^|\n|[.!?][ \t]+)[ \t\-–•*]*(?P<name>{NAME_WORD})"
                                   r"(?=[ \u00a0])")
LINE_OPENING = regex.compile(r"(?:^|\n|[.!?][ \t]+)[ \t\-–•*]*(?:(?:so|anyway|and|but|then"
                             r"|also|ok|okay|donc|alors|bref|et|mais|sinon|entonces|pues|pero"
                             r"|y)[ ,]+)?$")
# Two words that introduce a person ("When I spoke to Julia", "le dossier de Nathan")
PERSON_CUE_PAIRS = frozenset(("spoke to", "speak to", "talked to", "talk to", "wrote to",
                              "met with", "meeting with", "follow-up with", "behalf of",
                              "dossier de", "courrier de", "courriel de", "parlé à", "écrit à",
                              "hablé con", "dit à", "demandé à", "dit que", "said that",
                              "dis à", "dites à", "j'ai eu", "j’ai eu",
                              "says that", "sent by", "given by", "provided by",
                              "donné par", "donnée par", "fourni par", "fournie par",
                              "dado por", "dada por", "facilitado por",
                              "written by", "signed by", "envoyé par", "envoyée par",
                              "envoyés par", "envoyées par", "écrit par", "signé par",
                              "enviado por", "enviada por", "firmado por"))
TWO_WORDS_BEFORE_LONE = regex.compile(r"(?<![\w'’-])([\p{L}'’-]+[ \u00a0]+[\p{L}'’]+)"
                                      r"[ \u00a0]+$")
# A line that holds only a name and a comma opens a letter ("Aykutalp Seven,")
SALUTATION_LINE = regex.compile(rf"(?:^|\n)[ \t]*{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,3}},"
                                r"[ \t]*(?:\n|$)")
WORD_BEFORE_LONE = regex.compile(r"(?<![\w'’-])([\p{L}'’]+)[,]?[ \u00a0]+$")
WORD_AFTER_LONE = regex.compile(r"[ \u00a0]+([\p{L}'’]+)")
SENTENCE_OPENING = regex.compile(r"(?:^|[.!?:;\n])[\s\"'«“(\-–—•*]*$")
# A verb of a person after an adverb, or a participle after an auxiliary ("Yaroslava later
# wrote", "X a encore appelé", "X has phoned")
DONE_AFTER_LONE = regex.compile(
    r"[ \u00a0]+(?i:(?P<auxiliary>has|had|a|avait|n'a|n’a|ha|había)[ \u00a0]+)?"
    r"(?i:(?:later|also|then|again|already|never|just|still|then|encore|aussi|déjà|jamais"
    r"|ensuite|alors|también|ya|luego|nunca|todavía)[ \u00a0]+)?(?P<verb>[\p{L}'’]+)")
PERSON_PARTICIPLES = frozenset("""called phoned rung written asked said replied emailed sent
    signed told promised appelé appelée téléphoné téléphonée écrit écrite dit demandé demandée
    répondu envoyé envoyée signé signée rappelé rappelée promis llamado llamada escrito escrita
    dicho preguntado preguntada respondido respondida enviado enviada firmado firmada
    """.split())  # noqa: SIM905
# a capitalised word after a day or month ("On Monday María will"), without another after it
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "lundi",
        "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "lunes", "martes",
        "miércoles", "jueves", "viernes", "sábado", "domingo")
DAY_THEN_WORD = regex.compile(
    rf"(?<![\w'’-])(?i:{'|'.join(DAYS)})[ \u00a0]+(?P<name>{NAME_WORD})(?![\w'’-])"
    r"(?![ \u00a0]\p{Lu})")


def may_name_a_day(text: str) -> bool:
    """False only when ``DAY_THEN_WORD`` cannot match ``text``: it names no day of ``DAYS``,
    case aside. Proof: a match holds a day's letters, each character of it one that ``regex``
    matches case-insensitively to that letter; for every such character but "İ" (U+0130,
    which ``regex`` matches to "i" and ``str.casefold`` turns into two characters),
    ``casefold`` gives that very letter, one character for one, so the day is a substring of
    the casefolded text (``test_given_names_cuts`` checks every code point). A text holding
    "İ" is always scanned. The scan it saves reads the whole text (~50-70 µs a prompt)."""
    if "\u0130" in text:
        return True
    folded = text.casefold()
    return any(day in folded for day in DAYS)


def surname_last_starts(text: str, timeout: float | None) -> list[int]:
    """Every place where a match of ``SURNAME_LAST_RUN`` can start, in order. Proof: a match is
    a name word, maybe a second one, then a word in capitals, one separator (a space or a
    no-break space) between each two, and none inside a word (``NAME_WORD`` and ``CAPS_WORD``
    read letters, marks, apostrophes and hyphens). Each branch of ``NAME_WORD`` ends with a
    lower-case letter or a mark, and ``CAPS_WORD`` opens with two capitals (an apostrophe
    between them or not): so the last separator of a match is one of
    ``SURNAME_IN_CAPITALS_AFTER`` (one character long: ``finditer`` yields every one). The
    match starts with a capital before that separator with at most one other separator
    between them: after the second separator before it, or anywhere before if there is none.
    Each separator found reads back two words of the text at most: linear in the text.
    On a text whose words in capitals stand after other words in capitals or after no word
    (headings, acronyms after a title) there is nothing to try; the scan tried the pattern at
    every capital."""
    starts: set[int] = set()
    for separator in SURNAME_IN_CAPITALS_AFTER.finditer(text, timeout=timeout, concurrent=False):
        low = 0
        before = SEPARATOR_BEFORE.search(text, 0, separator.start(), timeout=timeout,
                                         concurrent=False)
        if before is not None:
            earlier = SEPARATOR_BEFORE.search(text, 0, before.start(), timeout=timeout,
                                              concurrent=False)
            low = 0 if earlier is None else earlier.end()
        starts.update(capital.start() for capital in CAPITAL.finditer(
            text, low, separator.start(), timeout=timeout, concurrent=False))
    return sorted(starts)


def matches_from(pattern: regex.Pattern[str], text: str, starts: list[int],
                 timeout: float | None) -> list[regex.Match[str]]:
    """What ``pattern.finditer(text)`` yields, given every place where a match can start, in
    order: the first of those places where the pattern matches, then the first at or after
    that match's end, and so on (the matches are never empty). ``match`` at a place reads the
    text before it for the look-behinds, as the scan does."""
    found: list[regex.Match[str]] = []
    end = 0
    for at in starts:
        if at < end:
            continue
        match = pattern.match(text, at, timeout=timeout, concurrent=False)
        if match is not None:
            found.append(match)
            end = match.end()
    return found


# A Chinese name romanised with a hyphenated given name, as Taiwan, Hong Kong and the diaspora
# write it (Wade-Giles and its kin): "I-Hsiung Tsai", "Pi-Hsia Su", "Ching-I Chen", or surname
# first in capitals, "KAO I-Chun". No lexicon holds every such given name and NER reads many
# as places; their shape says a name: every part one syllable of the romanisation, an initial
# ("ch", "hs", "ts", ...) then vowels and a final n, ng, h, m or r.
ROMANISED_SYLLABLE = (r"(?:ch|hs|sh|ts|tz|zh|[bcdfghjklmnpqrstwxyz])?h?"
                      r"(?:[aeiou]{1,3}|ü|ü[ae]|y[aeiou]{0,2})(?:ng|n|h|m|rh|r)?")
HYPHENATED_GIVEN = r"(?P<given>\p{Lu}\p{Ll}{0,5}-\p{L}\p{Ll}{0,5})"
CHINESE_HYPHENATED_RUN = regex.compile(
    rf"(?<![\w'’.-])(?:{HYPHENATED_GIVEN}[ \u00a0](?P<surname>\p{{Lu}}\p{{Ll}}{{1,5}})"
    rf"|(?P<surname>\p{{Lu}}{{2,6}})[ \u00a0]{HYPHENATED_GIVEN})(?![\w'’-])")
SYLLABLE = regex.compile(ROMANISED_SYLLABLE)
# Initials that abbreviate a country or a city, not a given name ("U.S. Senate", "D.C. Metro")
NOT_INITIALS = frozenset(("U.S.", "U.K.", "U.N.", "E.U.", "D.C.", "N.Y.", "L.A.", "U.S.A."))

# Days and months: capitalised next to names without being part of them
CALENDAR = frozenset(fold(w) for w in """monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november december
    lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril juin juillet
    août septembre octobre novembre décembre lunes martes miércoles jueves viernes sábado
    domingo enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre
    diciembre""".split())  # noqa: SIM905 - a word list reads better as text
# Civility titles that are also given names somewhere ("Mr", "Don", "Lady"): the name follows.
TITLES = frozenset(("mr", "mrs", "ms", "miss", "dr", "sir", "lady", "lord", "don", "doña",
                    "dona", "dom", "madame", "mme", "mademoiselle", "mlle", "monsieur", "señor",
                    "señora", "señorita", "sr", "sra", "srta", "prof", "professor"))
# Words that make a capitalised run an institution, a place or an event, not a person.
NOT_A_SURNAME = frozenset(
    """street st road rd avenue ave boulevard lane drive square place court park gardens bridge
    river lake mountain mount valley island islands beach bay coast hill hills city county state
    province region district airport station port harbour harbor hall house tower building
    centre center church cathedral chapel temple mosque abbey castle palace museum gallery
    library theatre theater stadium arena school college university institute academy hospital
    clinic foundation trust fund association society club company corporation corp inc ltd llc
    group bank holdings records airlines airways motors press times post news journal herald
    party union council committee commission ministry department agency office court cup trophy
    apt suite unit floor box
    award prize open championship league festival day week year prix grand army navy police
    force government senate congress parliament
    rue boulevard chemin allée impasse quai pont rivière lac mont montagne vallée île plage
    gare aéroport hôpital lycée collège université école institut musée église cathédrale
    château palais stade théâtre bibliothèque mairie préfecture conseil ministère société
    fondation banque compagnie groupe parti
    calle avenida plaza paseo camino puente río lago monte sierra valle isla playa estación
    aeropuerto hospital colegio escuela universidad instituto museo iglesia catedral castillo
    palacio estadio teatro biblioteca ayuntamiento consejo ministerio sociedad fundación banco
    compañía grupo partido
    """.split()  # noqa: SIM905 - a word list reads better as text
)


@lru_cache(maxsize=2)
def lexicon(kind: str) -> dict[str, float]:
    """Name -> how common it is as a word (Zipf, the highest of English, French and
    Spanish), from the packaged lexicon."""
    names: dict[str, float] = {}
    for line in _lexicon_lines(kind):
        name, _, frequencies = line.partition("\t")
        names[name] = float(frequencies.partition("\t")[0])
    return names


@lru_cache(maxsize=8)
def lexicon_in(kind: str, language: str) -> dict[str, float]:
    """Name -> how common it is as a word in ``language`` (en, fr or es; any other: the
    highest of the three): "Han" is a word in Spanish (5.9), not in English (3.9). Read when
    first asked, for the languages a process detects in only."""
    if language not in LANGUAGES:
        return lexicon(kind)
    column = 2 + LANGUAGES.index(language)
    # the keys of ``lexicon(kind)``, in the file's order: the name strings are shared
    return dict(zip(lexicon(kind), (float(line.split("\t")[column])
                                    for line in _lexicon_lines(kind)), strict=True))


def _lexicon_lines(kind: str) -> list[str]:
    data = resources.files("streams.adapters.recognizers") / "data" / f"{kind}.tsv.gz"
    return gzip.decompress(data.read_bytes()).decode("utf-8").splitlines()


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The words at least once per 10 million words common in English, French or Spanish
    (``data/common_words.tsv.gz``, lower case; derived from wordfreq, CC BY-SA 4.0)."""
    data = resources.files("streams.adapters.recognizers") / "data" / "common_words.tsv.gz"
    return frozenset(gzip.decompress(data.read_bytes()).decode("utf-8").split())


def common_word(word: str) -> bool:
    """Whether ``word`` is one of ``common_words``."""
    return word.casefold() in common_words()


# asked for every capitalised word by several passes (given names, repeated names): the
# word alone decides the answer. Its keys are the words read, names among them: forgotten
# when the batch ends (``batch_memos``)
@per_batch(maxsize=16384)
def unknown_word(word: str) -> bool:
    """Whether ``word`` is unknown to the dictionaries of English, French and Spanish: not a
    common word, nor made only of common words ("e-mail", "qu'on"), and pronounceable."""
    folded = word.casefold()
    words = common_words()
    if len(folded) < UNKNOWN_WORD_MIN_LETTERS or folded in words or not _pronounceable(word):
        return False
    parts = [part for part in UNKNOWN_WORD_PART.split(folded)
             if len(part) >= UNKNOWN_WORD_MIN_LETTERS]
    return bool(parts) and not all(part in words for part in parts) \
        and folded not in function_words() and folded not in TITLES


class GivenNameRecognizer(PersonRecognizer):
    """PERSON: a known given name followed by surnames (see the module's docstring)."""

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.given = lexicon("given_names")
        self.surnames = lexicon("surnames")
        # how common each name is as a word in this recognizer's language: "Han" alone in
        # English text, "Man" in French, "Díaz" in English are names, not words
        self.given_here = lexicon_in("given_names", supported_language)
        self.surnames_here = lexicon_in("surnames", supported_language)
        self._lower_given_names: frozenset[str] | None = None
        function_words()  # loaded now, not during the first request
        common_words()
        super().__init__(supported_language, timeout_s)

    def find_persons(self, text: str) -> list[RecognizerResult]:
        # the time limit runs from the call: collect the matches before judging them
        runs: list[tuple[regex.Match[str], Callable[[regex.Match[str]], tuple[int, int] | None]]]
        runs = [(run, self._person)
                for run in NAME_RUN.finditer(text, **self.searching)]
        signed = (*SIGNED_RUNS, FRENCH_TITLED_RUN) if self.supported_language == "fr" \
            else SIGNED_RUNS
        for pattern in signed:
            if pattern is DISPLAY_NAME_RUN and "@" not in text:
                continue
            runs.extend((run, self._signed_person)
                        for run in pattern.finditer(text, **self.searching))
        if any(word in text for word in FORMAL_CLOSING_WORDS):
            runs.extend((run, self._signed_person) for run in
                        FORMAL_SIGNATURE_RUN.finditer(text, **self.searching))
        colon = text.find(":")
        while colon >= 0:
            if NAME_LABEL.search(text, max(0, colon - 30), colon, **self.searching):
                if run := LABELLED_RUN.match(text, colon, **self.searching):
                    runs.append((run, self._signed_person))
                if run := LABELLED_PARTICLE_RUN.match(text, colon, **self.searching):
                    runs.append((run, self._labelled_particle_name))
            colon = text.find(":", colon + 1)
        if HAS_CAPITALS.search(text, **self.searching):
            for pattern in CAPITALS_RUNS:
                # (the surname last: tried only where it can start, ``surname_last_starts``)
                runs.extend((run, self._capitals_person) for run in (
                    matches_from(pattern, text, surname_last_starts(
                        text, self.search_timeout_s), self.search_timeout_s)
                    if pattern is SURNAME_LAST_RUN
                    else pattern.finditer(text, **self.searching)))
        # (only the words ``_lone_given_name`` can take: ``_may_be_lone_name``)
        runs.extend((word, self._lone_given_name)
                    for word in LONE_WORD.finditer(text, **self.searching)
                    if self._may_be_lone_name(word.group()))
        runs.extend((run, self._vietnamese_person)
                    for run in VIETNAMESE_RUN.finditer(text, **self.searching)
                    if fold(run.group().partition(" ")[0]).casefold() in VIETNAMESE_SURNAMES)
        if "-" in text:
            runs.extend((run, self._chinese_hyphenated_person) for run in
                        CHINESE_HYPHENATED_RUN.finditer(text, **self.searching))
        if may_name_a_day(text):
            runs.extend((word, self._dated_name)
                        for word in DAY_THEN_WORD.finditer(text, **self.searching))
        spans = {span for run, judge in runs if (span := judge(run)) is not None}
        spans.update(self._unknown_names(text))
        if ":" in text:
            spans.update(self._listed_names(text))
        if uncapitalised(text):
            spans.update(self._lower_case_names(text))
        else:
            spans.update(self._lower_case_names_in_capitalised_text(text))
            spans.update(self._titled_lower_case_names(text))
        if "’" in text or "ʼ" in text or "'" in text:
            spans.update(self._apostrophe_names(text))
        # a name found inside a longer one ("Rashid" alone in "Fatima bin Rashid") is dropped
        kept, reach = [], -1
        for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
            if end > reach:
                kept.append((start, end))
                reach = end
        return [RecognizerResult(
                    "PERSON", start, end, SCORE,
                    recognition_metadata={RECOGNIZER_NAME_KEY: type(self).__name__,
                                          RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True})
                for start, end in kept]

    def _person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        words = [(run.start() + m.start(), run.start() + m.end(), m.group())
                 for m in WORD.finditer(run.group())]
        for first, (start, first_end, word) in enumerate(words):
            if fold(word) in CALENDAR:
                continue  # "On Monday María will...": a day opens no name
            if not self._given_name(word) and not unknown_word(word) \
                    and not self._given_name_parts(word):
                if word in self.given and word.casefold() not in TITLES:
                    return None  # "María García López": a common name first, NER's call
                continue
            end, count, after_particle = None, 1, False
            for word_start, word_end, later in words[first + 1 :]:
                if later.casefold() in NOT_A_SURNAME:
                    return None  # "Yusuf Costa Foundation": an organisation, NER's call
                between = run.string[end or words[first][1] : word_start].split()
                after_particle = after_particle or any(w in PARTICLES for w in between)
                if later.casefold() in PARTICLES:  # "Ahmed Al Mansouri", "Pedro De Souza"
                    after_particle = True
                    continue
                if not self._may_follow(later, after_particle):
                    break
                end, count, after_particle = word_end, count + 1, False
            if count > MAX_NAME_WORDS:
                return None  # a list or a title in capitals ("Oats Rye Flaxseed Canola Corn")
            if end is None:
                # one name beside capitalised words that are not names ("Called Lewis",
                # "On Monday María will"): a person where the words around it say so
                return self._said_span(run.string, start, first_end)
            return start, end
        return None

    def _chinese_hyphenated_person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        return _chinese_hyphenated_person(run, self.supported_language)

    def _vietnamese_person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        """A common Vietnamese family name, then one to three capitalised Vietnamese
        syllables (see ``VIETNAMESE_SURNAMES``): a person when a letter only Vietnamese writes
        is in it, or it has three words or more, or its second word is not a function word of
        the text's language ("Tran Anh"; not "Do Not", "Le The"); and never a heading's run of
        more capitalised words, nor a place ("Ho Chi Minh City", "Ha Long Bay")."""
        text = run.string
        words = run.group("name").split()
        after = WORD_AFTER_LONE.match(text, run.end())
        if (after is not None and after.group(1)[:1].isupper()) or any(
                w.casefold() in NOT_A_SURNAME or fold(w) in CALENDAR
                or fold(w).casefold() in TITLES
                or VIETNAMESE_SYLLABLE.fullmatch(fold(w).casefold()) is None
                for w in words[1:]):
            return None
        if any(w.isupper() for w in words[1:]):
            return None  # a run of capitals is a heading
        marked = any(VIETNAMESE_LETTERS.search(w) for w in words)
        opens = bool(SENTENCE_OPENING.search(text, max(0, run.start() - 10), run.start()))
        if len(words[0]) <= 2 and opens and not marked and not _said_of_a_person(
                text, run.start("name"), run.end("name"), done=True):
            # "Do The Math", "To The Top", "Le Van Gogh" open sentences; "Vu Hoang a
            # rappelé", the subject of a verb of a person, is a name
            return None
        if marked or len(words) >= 3 or words[1].casefold() not in function_words(
                self.supported_language):
            start, end = run.span("name")
            return start, end
        return None

    def _may_be_lone_name(self, word: str) -> bool:
        """False only when ``_lone_given_name`` finds no person in ``word``, whatever
        surrounds it: asked first of each lone word (most are not names: "The", "However";
        judged whole, each cost two lexicon tests, a split on hyphens and a fold). Proof:
        ``_lone_span`` gives a span only for a word of ``given_here`` (``_given_name``), one
        with a hyphen (``_given_name_parts`` needs two parts or more) or one of ``given_here``
        or ``surnames_here`` (``_common_name`` needs a frequency there), and these have the
        keys of ``given`` and ``surnames`` (``lexicon_in``: the same names, another column);
        ``_family_name_said_alone`` needs a folded Vietnamese family name."""
        return word in self.given or word in self.surnames or "-" in word \
            or fold(word).casefold() in VIETNAMESE_SURNAMES

    def _lone_given_name(self, word: regex.Match[str]) -> tuple[int, int] | None:
        """A known given name standing alone, rare as a word."""
        span = self._lone_span(word.string, word.start(), word.end())
        if span is None and _family_name_said_alone(word.string, word.start(), word.end()):
            return word.start(), word.end()
        return span

    def _dated_name(self, word: regex.Match[str]) -> tuple[int, int] | None:
        """A name after a day or a month ("On Monday María will be away")."""
        return self._said_span(word.string, word.start("name"), word.end("name"))

    def _lone_span(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        name = text[start:end]
        if not self._given_name(name, self.given_here) and not self._given_name_parts(name):
            # a name common as a word ("Dan", "Mai", "Seven", "Price") only where the words
            # around it say a person ("Dan will bring", "Mai says"); a name that is a word
            # only in another language ("Díaz", "Han" in English) with any verb of a person
            rare_here = self._frequency_here(name) <= RARE_HERE_MAX_WORD_FREQUENCY
            return (start, end) if self._common_name(name) and _said_of_a_person(
                text, start, end, PERSON_VERBS if rare_here else COMMON_NAME_VERBS) else None
        frequency = self._given_frequency_here(name)
        if frequency > LONE_GIVEN_NAME_MAX_WORD_FREQUENCY and (
                fold(name) in CALENDAR  # "Sunday would..."
                or not (_said_of_a_person(
                    text, start, end, adverb=True,
                    # an auxiliary and a participle of a person too, for a name no more
                    # common as a word than a capitalised given name may be ("Nicole a
                    # rappelé"; not "le Maire a signé": 4.9 in French)
                    done=frequency <= CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY)
                    # and, for such a name, what a person gives the writer ("Sara m'a filé
                    # son mail")
                    or (frequency <= CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY
                        and GIVEN_TO_ME_AFTER.match(text, end) is not None))):
            return None
        return start, end

    def _given_frequency_here(self, name: str) -> float:
        """How common a known given name is as a word of this language; a hyphenated one
        ("Heinz-Jürgen", "Tsung-Han") as common as its most common part."""
        if name in self.given_here or "-" not in name:
            return self.given_here.get(name, 99.0)
        return max(self.given_here.get(part[:1].upper() + part[1:], 0.0)
                   for part in name.split("-"))

    def _said_span(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        return self._lone_span(text, start, end) if _said_of_a_person(text, start, end) \
            else None

    def _common_name(self, word: str) -> bool:
        """A given name or surname more common as a word than a given name alone may be, but
        not a function word, a title, a day, an institution word or a word of everyday prose
        ("Will", "May", "Long")."""
        folded = word.casefold()
        return self._frequency_here(word) <= COMMON_NAME_MAX_WORD_FREQUENCY \
            and _pronounceable(word) \
            and folded not in function_words(self.supported_language) \
            and folded not in TITLES and fold(word) not in CALENDAR \
            and folded not in NOT_A_SURNAME

    def _frequency_here(self, word: str) -> float:
        """How common a known name is as a word in this language (99 when not a name)."""
        return min(self.given_here.get(word, 99.0), self.surnames_here.get(word, 99.0))

    def _given_name_parts(self, word: str,
                          limit: float = GIVEN_NAME_MAX_WORD_FREQUENCY) -> bool:
        """"Shu-Ling", "Kim-Ly", "Mei-Yun" (and "shu-mei" in lower case): each part a known
        given name no more common as a word than ``limit``."""
        if "-" not in word:
            return False  # one part: the test below needs two (its lists cost a lexicon test)
        parts = [part[:1].upper() + part[1:] for part in word.split("-")]
        known = [self._given_name(part, self.given_here) and self.given_here[part] <= limit
                 for part in parts]
        # one part a known given name, the others too, or words no dictionary holds or
        # syllables, as romanised Chinese and Korean given names are written ("Tsung-Han",
        # "Ming-Hsuan")
        return len(parts) > 1 and any(known) and all(
            k or unknown_word(part) or SYLLABLE.fullmatch(fold(part).casefold()) is not None
            for k, part in zip(known, parts, strict=True))

    def _unknown_names(self, text: str) -> list[tuple[int, int]]:
        """Capitalised words no dictionary holds, neighbours as one name ("Teetat
        Bunlerngsri"), where the words around them say a person: a verb of saying or doing
        after them, a word introducing a person before them, or a line of its own opening a
        letter. Elsewhere such a word is as often a town, a club or a firm ("Glentoran",
        "Norilsk"): left to NER."""
        spans: list[tuple[int, int]] = []
        for word in CAPITALISED_WORD.finditer(text, **self.searching):
            if not unknown_word(word.group()) or word.group().casefold() in NOT_A_SURNAME:
                continue
            if spans and text[spans[-1][1]:word.start()] in (" ", "\u00a0"):
                spans[-1] = (spans[-1][0], word.end())
            else:
                spans.append(word.span())
        if not spans:
            return []
        salutations = [m.span() for m in
                       SALUTATION_LINE.finditer(text, **self.searching)]
        said = []
        for start, end in spans:
            pair = _pair_before(text, start)  # both tests read it: searched once
            if _said_of_a_person(text, start, end, done=True, pair=pair) \
                    or _done_to_a_person(text, start, end, pair=pair) \
                    or any(s <= start and end <= e for s, e in salutations):
                said.append((start, end))
        return said

    def _apostrophe_words(self, text: str) -> list[regex.Match[str]]:
        """The words ``APOSTROPHE_WORD`` reads, found from their apostrophe (scanning every
        letter of the text for a word's start cost a tenth of a millisecond per prompt)."""
        words = []
        for mark in APOSTROPHE_MARK.finditer(text, **self.searching):
            start = mark.start()
            while start > 0 and (text[start - 1].isalpha()
                                 or unicodedata.category(text[start - 1]) == "Mn"):
                start -= 1
            word = APOSTROPHE_WORD.match(text, start, **self.searching)
            if word is not None:
                words.append(word)
        return words

    def _apostrophe_names(self, text: str) -> list[tuple[int, int]]:
        """A name with an apostrophe inside, as Hausa, Arabic and Ukrainian names are
        romanised ("Asma’u", "Sa’adatu", "Demʼian", in chat "demʼian"), which no other pattern
        reads as one word: a person where the words around it say so, as for a word no
        dictionary holds (``_said_of_a_person``, ``_done_to_a_person``); in lower case only in
        a text written without capitals. Not an English contraction or a French elision
        ("Nicole’s", "aujourd’hui", "qu’il")."""
        lower = uncapitalised(text)
        spans = []
        for word in self._apostrophe_words(text):
            head, mark, tail = word.group("head"), word.group("mark"), word.group("tail")
            if not (head[0].isupper() or lower) or head.casefold() in ELIDED_HEADS or (
                    mark != "ʼ" and tail in CONTRACTION_TAILS):
                continue
            # (ʼ is written by romanisations only: "demʼian" is a name though "demian" is in
            # the dictionaries)
            joined = (head + tail).casefold()
            if (mark != "ʼ" and joined in common_words()) or head.casefold() in function_words():
                continue
            start, end = word.span()
            pair = _pair_before(text, start)  # both tests read it: searched once
            if _said_of_a_person(text, start, end, done=True, pair=pair) \
                    or _done_to_a_person(text, start, end, pair=pair):
                spans.append((start, end))
        return spans

    def _listed_names(self, text: str) -> list[tuple[int, int]]:
        """The items of a list of those present ("Present: Zayyir, Ihtesham, S. Su.") that
        are names, and who an action of the minutes falls to ("Action: Andrés to send")."""
        spans = []
        for listed in ATTENDANCE_LIST.finditer(text, **self.searching):
            for item in LIST_ITEM.finditer(text, listed.start("items"), listed.end("items")):
                name = ITEM_NAME.match(item.group())
                if name is None:
                    continue
                end = item.start() + name.end("name")
                # a title before the name stays ("Docteur Takuma Shimizu")
                words = [w for w in SIGNED_WORD.finditer(text, item.start() + name.start(
                    "name"), end) if w.group().casefold() not in TITLES
                    and fold(w.group()) not in PERSON_TITLES]
                if words and not any(w.group().casefold() in NOT_A_SURNAME
                                     or fold(w.group()) in CALENDAR
                                     or not _pronounceable(w.group()) for w in words):
                    first = item.start() + name.start("name")
                    # from the initials ("S. Su"), else from the first word after titles
                    spans.append((first if text[first + 1:first + 2] == "." else
                                  words[0].start(), end))
        for action in ACTION_RUN.finditer(text, **self.searching):
            words = action.group("name").split()
            if action.group("verb") in ACTION_VERBS and all(
                    _pronounceable(w) and w.casefold() not in NOT_AN_ACTIONEE
                    and w.casefold() not in NOT_A_SURNAME for w in words):
                spans.append(action.span("name"))
        return spans

    def _signed_person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        """The name after a title, initials or "my name is": its words up to the first that
        cannot be part of a name ("Dr Smith and", "Mr Brown Street" is a street)."""
        start, end = run.span("name")
        if run.re is INITIALS_RUN and run.group("name").split()[0].startswith(
                tuple(NOT_INITIALS)):
            return None
        last = None
        for word in SIGNED_WORD.finditer(text := run.string, start, end):
            folded = word.group().casefold()
            if folded in NOT_A_SURNAME and not (
                    last is None and run.re in (TITLED_RUN, FRENCH_TITLED_RUN)
                    and word.end() == end):
                # after a title, one word alone is the name though it is also such a word
                # ("M. Pont", "Mrs Hall", "Dr Park"; not "Mr Brown Street")
                return None
            # after a title (or before an e-mail address), the first word is a name even when
            # it is also a word ("Mrs. Salvo", "Me Seven", "María Belmar <...>"); elsewhere a
            # common word ends the name ("Dr Smith Will")
            # (and even when it is a function word of another language: "Mrs. Salvo")
            # (a form's label too: "Demandeur : Han")
            titled = last is None and run.re in (TITLED_RUN, FRENCH_TITLED_RUN,
                                                 DISPLAY_NAME_RUN, SIGNATURE_RUN, LABELLED_RUN,
                                                 FORMAL_SIGNATURE_RUN)
            common = self.given.get(word.group(), self.surnames.get(word.group(), 0.0)) \
                > GIVEN_NAME_MAX_WORD_FREQUENCY and not titled \
                and not _initial_then_word_said(run, word)
            known = word.group() in self.surnames or word.group() in self.given
            # a known name that is a function word, alone after a title or alone on the line
            # that signs a letter: "Docteur Le, votre conseillère", "Cordialement,\nLe"
            alone = titled and known and start == word.start() and end == word.end() and (
                run.re is not LABELLED_RUN)
            function = folded in (function_words(self.supported_language) if titled
                                  else function_words()) and not (
                titled and run.re not in (SIGNATURE_RUN, LABELLED_RUN, FORMAL_SIGNATURE_RUN)
                and folded not in NOT_AFTER_A_TITLE and known) and not alone
            if (function or common) and _closes_labelled_field(run, word, last):
                function = common = False
            if function or not _pronounceable(word.group()) or common:
                break
            last = word.end()
        if last is None:
            return None
        first = start if text[start + 1 : start + 2] == "." else run.start("name")
        return first, last

    def _labelled_particle_name(self, run: regex.Match[str]) -> tuple[int, int] | None:
        """A run of ``LABELLED_PARTICLE_RUN``: its first word a particle ("De", "Van", "Le")
        or a Vietnamese family name ("Le", "Vu"), alone only if it is such a family name, and
        each later word a known name or a word no dictionary holds ("De Sousa", "Le Trong";
        not "La Mission Locale", "Le demandeur")."""
        first = run.group("first").casefold()
        rest = run.group("rest").split()
        if first not in PARTICLES and first not in VIETNAMESE_SURNAMES:
            return None
        if not rest and first not in VIETNAMESE_SURNAMES:
            return None
        if any(w.casefold() in NOT_A_SURNAME or fold(w) in CALENDAR or not (
                self._known_name_word(w) or unknown_word(w)) for w in rest):
            return None
        start, end = run.span("name")
        return start, end

    def _capitals_person(self, run: regex.Match[str]) -> tuple[int, int] | None:
        """"COSTA Valentina", "Valentina COSTA": a known surname in capitals, or a known given
        name, beside the other part; none of the words a function or institution word."""
        words = [w.group() for w in SIGNED_WORD.finditer(run.group("name"))]
        # (a function word of the text's language only: "SU Chao" in French, where "su" is
        # Spanish)
        if any(w.casefold() in NOT_A_SURNAME or w.casefold() in function_words(
                self.supported_language)
               or fold(w) in CALENDAR or not _pronounceable(w) for w in words):
            return None
        text = run.string
        before = CAPITALS_BESIDE.search(text, max(0, run.start() - 30), run.start())
        if (before is not None and before.group(1).casefold() not in PARTICLES) or \
                CAPITALS_AFTER.match(text, run.end()):
            return None  # a heading or a table in capitals ("Contact VALENTINA COSTA")
        capitals = [w for w in words if w.isupper()]
        others = [w for w in words if not w.isupper()]
        if run.re is SURNAME_LAST_RUN and (fold(others[0]) in OPENERS or not self._given_name(
                others[0])):
            return None  # "Contact VALENTINA": the given name must be a known one
        # one surname in capitals, with a vowel other than y ("NYC Jan" is an abbreviation)
        if len(capitals) != 1 or not others or not any(c in "aeiou" for c in fold(
                capitals[0])):
            return None
        surname = capitals[0].title()
        # a given name that is also a place or a word ("CHARLEROI Victoria") is not enough
        if self.surnames.get(surname, 99.0) <= GIVEN_NAME_MAX_WORD_FREQUENCY or any(
                self._given_name(w) and self.given.get(w, 99.0)
                <= CAPITALS_GIVEN_NAME_MAX_WORD_FREQUENCY for w in others) \
                or _unknown_capitals_then_unknown(capitals[0], others):
            start, end = run.span("name")
            return start, end
        return None

    def _lower_case_names(self, text: str) -> list[tuple[int, int]]:
        """Names in a text written without capitals: a known given name rare as a word, or
        any word after a title, then the known names that follow it."""
        words = list(LOWER_WORD.finditer(text, **self.searching))
        spans: list[tuple[int, int]] = []
        # names found only by the words around them, then wherever the text writes them
        said = {words[i].group() for i in range(len(words))
                if self._said_in_lower_case(text, words, i)}
        i = 0
        while i < len(words):
            word = words[i].group()
            titled = LOWER_TITLE.search(text, max(0, words[i].start() - 12), words[i].start())
            name = word[:1].upper() + word[1:]
            if not (self.given.get(name, 99.0) <= LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY
                    and self._given_name(name)) and not self._given_name_parts(
                    word, LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY) and not (
                    # after a title, a function word of another language is a name: "ring
                    # prof. le on ..." in English
                    titled and _pronounceable(word)
                    and word not in function_words(self.supported_language)) \
                    and not unknown_word(word) and word not in said:
                i += 1
                continue
            last = i
            if i > 0 and text[words[i - 1].end():words[i].start()] in (" ", "\u00a0") \
                    and (not spans or spans[-1][1] <= words[i - 1].start()) \
                    and (self._known_name_word(words[i - 1].group())
                         or (self._cued(text, words, i - 1)
                             and self._may_be_a_name_word(words[i - 1].group()))) \
                    and words[i - 1].group() not in PERSON_CUES:
                # "so pedro lucas cunha called": a known name before the one found; "said
                # ituri kipkirui never", "ring ituri kipkirui on": any word between a word that
                # introduces a person and the name
                i -= 1
            while last + 1 < len(words) and last - i < MAX_NAME_WORDS - 1 \
                    and self._next_in_name(text, words, last):
                last += 1
            if last == i and self._cued(text, words, i) and self._last_word_of_a_name(
                    text, words, i + 1):
                # "ring corinne montandon on ...": after a word that introduces a person, a
                # given name and the word after it, before a function word or the end of the
                # line (a surname a dictionary holds as a word)
                last += 1
            spans.append((words[i].start(), words[last].end()))
            i = last + 1
        # a capitalised word opening a line of such a text, the subject of a verb of a person
        # ("Yada veut le virement", "Na est vraiment contrariée"): the writer capitalised it
        for opener in CAPITALISED_OPENER.finditer(text, **self.searching):
            word = opener.group("name")
            folded = word.casefold()
            if folded in function_words(self.supported_language) or folded in PERSON_CUES \
                    or folded in PERSON_VERBS or folded in TITLES or fold(word) in CALENDAR \
                    or folded in NOT_A_SURNAME or not _pronounceable(word):
                continue
            after = WORD_AFTER_LONE.match(text, opener.end("name"))
            if (after is not None and after.group(1) in COMMON_NAME_VERBS) \
                    or PERSON_STATE_AFTER.match(text, opener.end("name")):
                spans.append(opener.span("name"))
        return spans

    def _lower_case_names_in_capitalised_text(self, text: str) -> list[tuple[int, int]]:
        """Names written in lower case in a text otherwise capitalised, as web comments mix
        them: a known given name no more common as a word than a lower-case name may be
        (``LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY``) where the words around it say a person
        (a verb of a person after it, itself in lower case: "oriana should", "leopold wants"; a
        word introducing a person before it: "hey ignatius", "tell oriana"), and a known given
        name or a word no dictionary holds after "my name is" ("my name is kaveesha"). Alone,
        such a word is more often a word than a name in comments (WNUT-17 dev: 74 names, 213
        words). Texts written without capitals have their own rules (``_lower_case_names``).
        """
        spans: list[tuple[int, int]] = []
        if "y name" in text or "appelle" in text or "llamo" in text or "am called" in text:
            for told in LOWER_NAME_TOLD.finditer(text, **self.searching):
                found = told.group("name")
                if (self._given_name(found[:1].upper() + found[1:], self.given_here)
                        or unknown_word(found)) and found not in function_words():
                    spans.append(told.span("name"))
        # the text's words that are such names, found by a set intersection first: a pattern
        # run over every word of every capitalised text cost 0.3 ms per prompt
        candidates = self._lower_given().intersection(
            token.strip(SPLIT_PUNCTUATION) for token in text.split())
        words = [span for name in candidates for span in lower_word_spans(name, text)]
        for start, end in sorted(words):
            found = text[start:end]
            if not self._given_name(found[:1].upper() + found[1:], self.given_here):
                continue
            after = WORD_AFTER_LONE.match(text, end)
            if after is not None and not after.group(1).islower():
                continue  # "this melody CAN make...": a verb of a person is in lower case
            if _said_of_a_person(text, start, end, PERSON_VERBS, done=True, adverb=True):
                spans.append((start, end))
        return spans

    def _titled_lower_case_names(self, text: str) -> list[tuple[int, int]]:
        """A word in lower case after a civility title, in a capitalised text, that no
        dictionary holds ("Mr. ribič thanked"; not "Mr. and Mrs.", "Dr. who"): its other
        mentions are found by ``repeated_names``."""
        return [run.span("name") for run in TITLED_LOWER_WORD.finditer(
                    text, **self.searching) if unknown_word(run.group("name"))]

    def _lower_given(self) -> frozenset[str]:
        """The given names of the text's language, in lower case, no more common as a word
        than a lower-case name may be (built on first use)."""
        if self._lower_given_names is None:
            self._lower_given_names = frozenset(
                name.casefold() for name, frequency in self.given_here.items()
                if frequency <= LOWER_CASE_GIVEN_NAME_MAX_WORD_FREQUENCY)
        return self._lower_given_names

    @staticmethod
    def _cued(text: str, words: list[regex.Match[str]], i: int) -> bool:
        """Whether ``words[i]`` follows a word that introduces a person in a text without
        capitals ("ring", "told", "said")."""
        return i > 0 and text[words[i - 1].end():words[i].start()] == " " and (
            words[i - 1].group() in LOWER_CASE_CUES or words[i - 1].group() in ("said", "says"))

    def _may_be_a_name_word(self, word: str) -> bool:
        """Not a word that cannot be part of a name in a text without capitals."""
        return len(word) >= UNKNOWN_WORD_MIN_LETTERS and word not in function_words() \
            and word not in PERSON_VERBS and word not in PERSON_CUES \
            and word not in NOT_IN_A_NAME and word not in TITLES \
            and fold(word) not in CALENDAR and _pronounceable(word) \
            and "'" not in word and "’" not in word

    def _last_word_of_a_name(self, text: str, words: list[regex.Match[str]], j: int) -> bool:
        """Whether ``words[j]``, right after a name, may end it: a word that can be part of a
        name, then a function word of the text's language, or the end of the line."""
        if j >= len(words) or text[words[j - 1].end():words[j].start()] != " " \
                or not self._may_be_a_name_word(words[j].group()):
            return False
        if j + 1 == len(words) or text[words[j].end():words[j + 1].start()] != " ":
            return "\n" in text[words[j].end():words[j + 1].start() if j + 1 < len(words)
                                else len(text)] or j + 1 == len(words)
        return words[j + 1].group() in function_words(self.supported_language)

    def _said_in_lower_case(self, text: str, words: list[regex.Match[str]], i: int) -> bool:
        """A word of a text without capitals that the words around it make a name: after a
        word that introduces a person ("i told hsiu-lan", "appelle peter", "dit à peck"), a
        known name or a word of parts no dictionary joins; or, any word, as the subject of a
        verb only a person does at the start of a line ("casandra said", "so casandra
        wants")."""
        # the words beside it first (most words have neither a cue before nor a verb after)
        def gap(a: int, b: int) -> str:
            return text[words[a].end():words[b].start()]

        cued = i > 0 and gap(i - 1, i).strip(", \u00a0") == "" and (
            words[i - 1].group() in LOWER_CASE_CUES or (
                i > 1 and gap(i - 2, i - 1) == " "
                and f"{words[i - 2].group()} {words[i - 1].group()}" in PERSON_CUE_PAIRS))
        subject = not cued and i + 1 < len(words) and (
            (gap(i, i + 1) == " " and words[i + 1].group() in COMMON_NAME_VERBS)
            or PERSON_STATE_AFTER.match(text, words[i].end()) is not None
            # a known name rare as a word, or a word no dictionary holds, that gave the writer
            # something ("pandya m'a filé son mail"; not "maman m'a filé", "le serveur")
            or (GIVEN_TO_ME_AFTER.match(text, words[i].end()) is not None and (
                (self._known_name_word(words[i].group()) and self._frequency_here(
                    words[i].group()[:1].upper() + words[i].group()[1:])
                 <= LONE_GIVEN_NAME_MAX_WORD_FREQUENCY) or unknown_word(words[i].group()))))
        word = words[i].group()
        # (a function word of the text's language: "van" is Spanish, not English)
        if not (cued or subject) or len(word) < UNKNOWN_WORD_MIN_LETTERS \
                or word in function_words(self.supported_language) or word in PERSON_CUES \
                or word in PERSON_VERBS or word in NOT_IN_A_NAME \
                or fold(word) in CALENDAR or word in TITLES or not _pronounceable(word) \
                or "'" in word or "’" in word:
            return False  # (nor "j'ai", "qu'il": elided function words)
        if cued:
            name = word[:1].upper() + word[1:]
            return self._known_name_word(word) or (
                name in self.given or name in self.surnames) or (
                "-" in word and (
                    not any(part in function_words() for part in word.split("-"))
                    # a romanised Chinese given name whose part is a function word elsewhere
                    # ("ring yueh-o on ..."): each part one syllable of the romanisation
                    or all(SYLLABLE.fullmatch(part) for part in word.split("-"))))
        if LINE_OPENING.search(text, max(0, words[i].start() - 30), words[i].start()):
            return True
        # the second word of a name of two at the start of a line ("le van wants": the first a
        # known name, not a function word of the text's language)
        return i > 0 and gap(i - 1, i) == " " and self._known_name_word(words[i - 1].group()) \
            and words[i - 1].group() not in PERSON_CUES and bool(LINE_OPENING.search(
                text, max(0, words[i - 1].start() - 30), words[i - 1].start()))

    def _next_in_name(self, text: str, words: list[regex.Match[str]], last: int) -> bool:
        """Whether the word after ``words[last]`` goes on the name: a known name word or an
        unknown word; a name common as a word only between two such ("vũ mai lan")."""
        def beside(i: int) -> bool:
            return i + 1 < len(words) and text[words[i].end():words[i + 1].start()] in (
                " ", "\u00a0")

        def name_word(word: str) -> bool:
            return self._known_name_word(word) or unknown_word(word)

        if not beside(last):
            return False
        word = words[last + 1].group()
        if name_word(word):
            return True
        capitalised = word[:1].upper() + word[1:]
        here = function_words(self.supported_language)
        if (capitalised in self.surnames or capitalised in self.given) and word not in here \
                and word not in PERSON_VERBS and word not in PERSON_CUES \
                and word not in NOT_IN_A_NAME and word not in TITLES \
                and fold(word) not in CALENDAR and (not beside(last + 1) or regex.split(
                    r"['’]", words[last + 2].group())[0] in here):
            # a known name, however common as a word, between a name and a function word of
            # the text's language or the end of the line: "i told yong long we'd...", "ring
            # orinder de on 07400..." ("de" is not English)
            return True
        if word in function_words() or word in PERSON_VERBS or word in PERSON_CUES \
                or word in NOT_IN_A_NAME or fold(word) in CALENDAR or not beside(last + 1):
            return False
        following = words[last + 2].group()
        # "vũ mai lan"; "lahiah said valdés": not "said"; "sarthak doctor said", "bianca guerra
        # is upset": any word between a name and its verb
        return (capitalised in self.given and name_word(following)) or (
            following in PERSON_VERBS or following in COPULAS)

    def _known_name_word(self, word: str) -> bool:
        """A known name no more common than a given name may be as a word of the text's
        language ("vu" is French, not English: "my neighbour vu thi mai")."""
        name = word[:1].upper() + word[1:]
        known = self._frequency_here(name)
        return known <= GIVEN_NAME_MAX_WORD_FREQUENCY and _pronounceable(word) \
            and word not in function_words(self.supported_language) and word not in TITLES \
            and word not in PERSON_VERBS  # "lahiah said valdés": "said" is a name elsewhere

    def _given_name(self, word: str, given: dict[str, float] | None = None) -> bool:
        """A known given name no more common as a word than ``GIVEN_NAME_MAX_WORD_FREQUENCY``
        in English, French and Spanish (or in the one language of ``given``)."""
        folded = word.casefold()
        # judged in one language, a function word of another is a name there ("Han" of
        # "Tsung-Han" is Spanish "they have")
        functions = function_words(self.supported_language) if given is self.given_here \
            else function_words()
        return (self.given if given is None else given).get(
            word, 99.0) <= GIVEN_NAME_MAX_WORD_FREQUENCY \
            and _pronounceable(word) and folded not in functions and folded not in TITLES

    def _may_follow(self, word: str, after_particle: bool) -> bool:
        """A later word: a known surname or given name, or any capitalised word that is not a
        function word or an abbreviation ("Yusuf And" is not a name, "Jamal O'Connor" is);
        after a particle, only a known name ("Rio de Janeiro" is a place)."""
        if word.casefold() in function_words() or not _pronounceable(word):
            return False
        known = word in self.surnames or word in self.given
        return known or not after_particle


# ``pair`` not given to a test below: the test searches the two words before the span itself
# (a caller running several tests on one span searches them once: ``_pair_before``)
UNSEARCHED = "\x00"  # never two words


def _pair_before(text: str, start: int) -> str | None:
    """The two words just before ``text[start]``, folded, one space between them, if any
    (``TWO_WORDS_BEFORE_LONE``): what ``PERSON_CUE_PAIRS``, ``DETAILS_OF`` and
    ``LIFE_CUE_PAIRS`` hold."""
    pair = TWO_WORDS_BEFORE_LONE.search(text, max(0, start - 40), start)
    return None if pair is None else " ".join(pair.group(1).casefold().split())


def _said_of_a_person(text: str, start: int, end: int,
                      verbs: frozenset[str] = PERSON_VERBS, done: bool = False,
                      adverb: bool = False, pair: str | None = UNSEARCHED) -> bool:
    """The words around ``text[start:end]`` say it is a person ("Amanda proposed", "cc
    Luna", "appelle Nayfa", "Na est vraiment contrariée"); with ``adverb``, a verb after an
    adverb too ("Olivia later wrote"); with ``done``, a participle after an auxiliary too.
    ``pair``: ``_pair_before(text, start)`` when the caller has it."""
    after = WORD_AFTER_LONE.match(text, end)
    if after is not None and after.group(1).casefold() in verbs:
        return True
    if PERSON_STATE_AFTER.match(text, end):
        return True
    # "Yaroslava later wrote", "Phusilarungrueng a encore appelé", "Ana has phoned"
    # (the auxiliary and participle for a word no dictionary holds only: "Le Maire a signé"
    # is a title)
    after_adverb = DONE_AFTER_LONE.match(text, end) if done or adverb else None
    if after_adverb is not None and (
            (after_adverb.group("verb").casefold() in verbs
             and (done or not after_adverb.group("auxiliary"))) or (
                done and after_adverb.group("auxiliary")
                and after_adverb.group("verb").casefold() in PERSON_PARTICIPLES)):
        return True
    before = WORD_BEFORE_LONE.search(text, max(0, start - 30), start)
    if before is not None and before.group(1).casefold() in PERSON_CUES:
        return True
    if pair is UNSEARCHED:
        pair = _pair_before(text, start)
    return pair in PERSON_CUE_PAIRS or _apposed_or_owned(text, start, end, pair)


# What is done to a person or said of one, after the name: "que Basim soit contacté",
# "Huzuri was present", "Beray a perdu son emploi"; and before it: "avec l'aide de Ferzi",
# "de la part de Bishakha", "accompagnée de Ikshita"
# "X m'a filé son mail", "X nous a transmis": a person gave or told something to the writer
GIVEN_TO_ME = (r"[ \u00a0]+(?:[mtl]['’]|(?:nous|vous|lui|leur|me|te)[ \u00a0]+)(?:a|avait|aura)"
               r"[ \u00a0]+(?:filé|donné|envoyé|transmis|dit|demandé|écrit|appelé|rappelé"
               r"|promis|confirmé)(?![\w'’-])")
GIVEN_TO_ME_AFTER = regex.compile(GIVEN_TO_ME)
PERSON_PASSIVE_AFTER = regex.compile(
    r"[ \u00a0]+(?i:soit|soient|sera|serait|a été|ait été|est|était|was|is|be|been|sea|fue"
    r"|ha sido|está|estaba)[ \u00a0]+"
    r"(?:contacté|informé|prévenu|consulté|convoqué|accompagné|hébergé|relogé|entendu|présent"
    r"|absent|contactad[oa]|informad[oa]|avisad[oa]|consultad[oa]|presente|ausente)"
    r"(?:e?s?)(?![\w'’-])"
    r"|[ \u00a0]+(?:was|is|were)[ \u00a0]+(?:present|absent|contacted|informed|notified"
    r"|consulted|accompanied)(?![\w'’-])"
    # "- Abdullohov (mission locale) à recontacter", "X to call back"
    r"|(?:[ \u00a0]+\([^()\n]{1,40}\))?[ \u00a0]+(?:à (?:re)?contacter|à rappeler|à relancer"
    r"|to call back|to contact|to be contacted|a contactar|por contactar)(?![\w'’-])"
    # "Asma’u est au courant", "X m'a filé son mail", "X nous a transmis"
    r"|[ \u00a0]+(?:est|était|sera|soit)[ \u00a0]+au courant(?![\w'’-])"
    rf"|{GIVEN_TO_ME}")
LIFE_PARTICIPLES = frozenset("""perdu quitté déménagé obtenu lost left moved obtained
    perdido dejado obtenido""".split())  # noqa: SIM905
LIFE_CUE_PAIRS = frozenset(("aide de", "l'aide de", "l’aide de", "part de", "accompagné de",
                            "accompagnée de", "accompanied by", "help of", "help from",
                            "acompañado de", "acompañada de", "ayuda de",
                            # a home visit: "Visit to Anzhela on Tuesday"
                            "visit to", "visite à", "visite chez", "visita a"))


# a word with an apostrophe (or the modifier letter ʼ of Ukrainian romanisation) inside
APOSTROPHE_WORD = regex.compile(
    r"(?<![\w'’ʼ@./-])(?P<head>\p{L}[\p{Ll}\p{M}]+)(?P<mark>['’ʼ])"
    r"(?P<tail>\p{Ll}[\p{Ll}\p{M}]*)(?![\w'’ʼ@/-])")
APOSTROPHE_MARK = regex.compile(r"(?<=\p{L}[\p{Ll}\p{M}])['’ʼ](?=\p{Ll})")
# what an elided French word leaves before its apostrophe, two letters or more
ELIDED_HEADS = frozenset(("qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "quelqu", "presqu",
                          "aujourd"))
# what English contractions put after it ("Nicole's", "can't", "they're")
CONTRACTION_TAILS = frozenset(("s", "t", "d", "ll", "re", "ve", "m", "em"))


# A role of a person in apposition: "Məmməd Sultanlı, votre conseillère", "ma tutrice,
# Santiago, au ..."; and a person's bank or contact details: "le RIB de Nicole"
POSSESSIVES = (r"(?:votre|vos|notre|nos|mon|ma|mes|ton|ta|son|sa|leur|your|our|my|his|her"
               r"|their|su|tu|nuestro|nuestra|mi)")
ROLE_NOUNS = PERSON_CUES | frozenset("""tuteur tutrice curateur curatrice référent référente
    assistant assistante médecin infirmier infirmière éducateur éducatrice mère père
    doctor nurse guardian carer tutor supervisor tutora tutor médico médica trabajadora
    trabajador""".split())  # noqa: SIM905
ROLE_AFTER = regex.compile(rf"[ \u00a0]*,[ \u00a0]+{POSSESSIVES}[ \u00a0]+([\p{{L}}'’]+)",
                           flags=regex.IGNORECASE)
ROLE_BEFORE = regex.compile(rf"(?<![\w'’-]){POSSESSIVES}[ \u00a0]+([\p{{L}}'’]+)"
                            r"[ \u00a0]*,[ \u00a0]*$", flags=regex.IGNORECASE)
DETAILS_OF = frozenset(("rib de", "iban de", "mail de", "courriel de", "portable de",
                        "numéro de", "adresse de", "iban of", "number of"))


def _apposed_or_owned(text: str, start: int, end: int, pair: str | None) -> bool:
    """A role of a person in apposition before or after ``text[start:end]``, between commas
    (``ROLE_AFTER``, ``ROLE_BEFORE``), or a person's details before it (``DETAILS_OF``;
    ``pair``: ``_pair_before(text, start)``)."""
    if (after := ROLE_AFTER.match(text, end)) is not None \
            and after.group(1).casefold() in ROLE_NOUNS:
        return True
    if (before := ROLE_BEFORE.search(text, max(0, start - 40), start)) is not None \
            and before.group(1).casefold() in ROLE_NOUNS \
            and regex.match(r"[ \u00a0]*[,)]", text[end:end + 3]) is not None:
        return True
    return pair in DETAILS_OF


def _done_to_a_person(text: str, start: int, end: int,
                      pair: str | None = UNSEARCHED) -> bool:
    """Whether the words around ``text[start:end]``, words no dictionary holds, say something
    only done to or by a person (``PERSON_PASSIVE_AFTER``, an auxiliary and a participle of
    ``LIFE_PARTICIPLES``, a pair of ``LIFE_CUE_PAIRS`` before it). Not asked of a name the
    lexicon knows: "que Lyon soit informée" is the city."""
    if PERSON_PASSIVE_AFTER.match(text, end):
        return True
    done = DONE_AFTER_LONE.match(text, end)
    if done is not None and done.group("auxiliary") \
            and done.group("verb").casefold() in LIFE_PARTICIPLES:
        return True
    if pair is UNSEARCHED:
        pair = _pair_before(text, start)
    return pair in LIFE_CUE_PAIRS


# the fewest letters of a surname in capitals that no dictionary holds, for the name after it
# to be taken though neither is known ("METHAVORAKUL Teetat"; not "OCDE Paris", "CAF Lyon")
# what may follow the value of a form's field: the end of the line or text, or a separator
FIELD_END = regex.compile(r"[ \t\u00a0]*(?:\n|$|[,;(<])")


def _closes_labelled_field(run: regex.Match[str], word: regex.Match[str],
                           last: int | None) -> bool:
    """Whether ``word``, a function or common word, is the last word of a person's name in a
    form's field (``LABELLED_RUN``): after a label of a person and a first word of the name,
    the field's value up to its end is the name. A function word cannot close a field (an
    article or a preposition needs a word after it), so one closing it is a name
    ("Demandeur : XIONG Na", "Nom et prénom : ADAMENKO Les"); a common word closing it is
    the name's last word as well. Elsewhere (running text, a title) such a word still ends
    the name: "Mr Brown and", "Dr Smith Will"."""
    return run.re is LABELLED_RUN and last is not None and word.end() == run.end("name") \
        and FIELD_END.match(run.string, word.end()) is not None


UNKNOWN_CAPITALS_MIN_LETTERS = 5


def _unknown_capitals_then_unknown(capitals: str, others: list[str]) -> bool:
    """A surname in capitals and given names, every word of them one no dictionary holds
    ("METHAVORAKUL Teetat", "MUXLISAYEVA Sa’diya"): a person, as a form or a list writes one.
    An acronym is short or a word, or is followed by a place or a word the dictionaries
    hold."""
    return len(capitals) >= UNKNOWN_CAPITALS_MIN_LETTERS and unknown_word(capitals) \
        and all(unknown_word(w) for w in others)


# Vietnamese family names that open a noun phrase in English, French or Spanish (an article,
# a possessive, a pronoun, a preposition): "La demande", "Ta réponse", "Do you"
NOUN_PHRASE_FAMILY_NAMES = frozenset(("do", "to", "than", "ha", "ho", "la", "le", "ta", "ton",
                                      "tu", *PARTICLES))
# a French object or reflexive pronoun, then the verb ("Vu te remercie", "Vu se charge de")
CLITIC_THEN_VERB = regex.compile(
    r"[ \u00a0]+(?:(?:me|te|se|nous|vous|lui|leur)[ \u00a0]+|[mts]['’])(?P<verb>\p{Ll}+)"
    r"(?![\w'’-])")
# verbs of a person after a reflexive pronoun ("se charge de", "s'occupe de", "se présente")
REFLEXIVE_PERSON_VERBS = frozenset("""charge chargera occupe occupera présente présentera
    rend rendra engage plaint excuse""".split())  # noqa: SIM905


def _family_name_said_alone(text: str, start: int, end: int) -> bool:
    """A common Vietnamese family name written alone, capitalised, that is a word of the text's
    language more common than a name may be ("Vu": French "seen", a function word there),
    where the words around it say a person: "Vu veut", "bref Vu te remercie", "Vu est
    vraiment contrariée", "le dossier de Vu", "Ma fille, Vu, peut" (not "Vu la loi du ...",
    nor a family name that opens a noun phrase: "La demande", "Ta réponse")."""
    folded = fold(text[start:end]).casefold()
    if folded not in VIETNAMESE_SURNAMES or folded in NOUN_PHRASE_FAMILY_NAMES:
        return False
    if _said_of_a_person(text, start, end, done=True, adverb=True):
        return True
    clitic = CLITIC_THEN_VERB.match(text, end)
    return clitic is not None and (clitic.group("verb") in PERSON_VERBS
                                   or clitic.group("verb") in REFLEXIVE_PERSON_VERBS)


def _initial_then_word_said(run: regex.Match[str], word: regex.Match[str]) -> bool:
    """An initial, then one word common as a word, the whole said of a person: "D. Mai
    appelle", "J. Long said" (a month, an adjective elsewhere; an initial alone says too little:
    "M. Long" may be a title)."""
    return run.re is INITIALS_RUN and word.end() == run.end("name") \
        and run.group("name").count(".") == 1 and len(run.group("name").split()) == 2 \
        and _said_of_a_person(run.string, word.start(), word.end())


def _chinese_hyphenated_person(run: regex.Match[str],
                               language: str) -> tuple[int, int] | None:
    """A run of ``CHINESE_HYPHENATED_RUN`` is a person when each of its three parts is one
    romanised syllable ("Pi-Hsia Su"; not "Jean-Paul Sartre", "Saint-Denis Nord", "Wi-Fi
    Zone") and its surname is not a function word of the text's ``language`` ("Ching-I He" is
    lost in English; "Hi-Fi On" is not a name; "Su" is one in Spanish only)."""
    first, _, second = run.group("given").partition("-")
    surname = run.group("surname")
    if not all(SYLLABLE.fullmatch(part.casefold()) for part in (first, second, surname)):
        return None
    if surname.casefold() in function_words(language):
        return None
    return run.start(), run.end()


# asked by the given-name pass and repeated_names (a batch: 32 requests); keyed by whole
# texts: forgotten when the batch ends
@per_batch(maxsize=64)
def uncapitalised(text: str) -> bool:
    """Whether most sentences and lines of ``text`` open in lower case (chat, quick notes)."""
    starts = [m.group(1).islower() for m in LINE_START.finditer(text)]
    return bool(starts) and sum(starts) >= UNCAPITALISED_SHARE * len(starts)


def _pronounceable(word: str) -> bool:
    """Two letters or more with a vowel: "Wk", "Pd", "Lst" are abbreviations in tables. Accents
    are folded first: "Đặng" and "Nguyễn" have vowels the list does not spell out."""
    return len(word) >= 2 and any(c in VOWELS for c in fold(word))


@lru_cache(maxsize=4)
def function_words(language: str | None = None) -> frozenset[str]:
    """spaCy's stop words for English, French and Spanish (word lists, no model), or for one
    of them."""
    from streams.adapters.spacy_ops import import_french_quickly

    import_french_quickly()  # spacy.lang.fr would otherwise cost 3 s of start-up
    from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH
    from spacy.lang.es.stop_words import STOP_WORDS as SPANISH
    from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH

    by_language = {"en": ENGLISH, "fr": FRENCH, "es": SPANISH}
    if language is not None:
        return frozenset(by_language.get(language, ENGLISH | FRENCH | SPANISH))
    return frozenset(ENGLISH | FRENCH | SPANISH)
