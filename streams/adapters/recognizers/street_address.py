"""Street addresses in English, French and Spanish: a house number, a street type from a
lexicon and a capitalised street name, in the order each language writes them, with the flat,
postcode and town that follow when they are there.

- English: number first, type last: "221B Baker Street", "10 Downing St", "1600 Pennsylvania
  Avenue NW", "8337 Sanders Wall Apt. 328, Figueroaland, GA 99883", "Flat 5, 12 Elm Grove,
  London SW1A 1AA". The type words are the United States Postal Service's street suffixes
  (Publication 28, appendix C1) and the British ones (Close, Gardens, Mews...). Words that
  are also ordinary nouns after a number ("12 Green Park", "3 Point", "40 Union Station")
  are reported below the usual threshold unless an address word is near ("lives at",
  "address", "located at"), a flat or a postcode follows.
- French: number, type, name: "12 rue de la Paix", "3 bis avenue Victor Hugo", "54, boulevard
  Nicolas Olivier, 75011 Paris".
- Spanish: type, name, number: "Calle Mayor 5", "C/ de Alcalá 42, 3º B", "Avenida de la
  Constitución 12", "Privada Norte Osorio 232 Edif. 860, Depto. 129", "Paseo del Prado, 8,
  28014 Madrid".

A street without a house number ("la rue de la Paix", "Calle Mayor") is a place, not
someone's address, unless a postcode and town follow it. The patterns of the three languages
run on every message whatever its language (an address abroad is written the way its country
writes it); they start at a digit (English, French) or at a street-type word (Spanish), are
bounded (no unbounded repetition) and run under the CPU-time limit of every recognizer.

The score of a clear address (0.9) is above the NER model's (0.85): where spaCy reads "Baker
Street" as a place or "Juan Pérez" in "Calle Juan Pérez 5" as a person, the whole address is
kept, number and postcode included.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.recognizers import street_address_us as us
from streams.adapters.recognizers import street_types_world as world
from streams.adapters.recognizers.base import (
    REGEX_TIMEOUT_S,
    DouaneRecognizer,
    Pattern,
    find_all,
    fold,
    holds_any,
    search,
    within_cpu_limit,
)

# Street types that are hardly anything else after a house number and a capitalised name.
EN_STRONG_TYPES = (
    "Street", "St", "Avenue", "Ave", "Av", "Road", "Rd", "Boulevard", "Blvd", "Lane", "Ln",
    "Drive", "Dr", "Court", "Ct", "Place", "Pl", "Terrace", "Terr", "Way", "Close", "Crescent",
    "Cres", "Gardens", "Gdns", "Grove", "Square", "Sq", "Highway", "Hwy", "Parkway",
    "Pkwy", "Circle", "Cir", "Alley", "Aly", "Mews", "Row", "Walk", "Wynd", "Parade", "Pde",
    "Esplanade", "Embankment", "Broadway", "Causeway", "Expressway", "Expy", "Freeway", "Fwy",
    "Turnpike", "Tpke", "Throughway", "Trafficway", "Stravenue", "Boulevard", "Motorway",
    "Crossing", "Xing", "Courts", "Circles", "Drives", "Lanes", "Roads", "Streets", "Terraces",
    "Plaza", "Plz", "Trail", "Trl", "Loop", "Path", "Pike", "Bypass", "Byp", "Radial",
    "Skyway", "Viaduct", "Via", "Underpass", "Overpass", "Ramp", "Hts", "Manor", "Mnr",
    "Ville", "Vista", "Crest", "Estates", "Knolls", "Meadows", "Orchard", "Extension",
)
# Street types that are also ordinary nouns after a number: need an address word, a flat or
# a postcode to count.
EN_WEAK_TYPES = (
    "Park", "Parks", "Hill", "Hills", "Center", "Centre", "Point", "Points", "Union", "Unions",
    "Key", "Keys", "Run", "Rest", "Light", "Lights", "Mall", "Lock", "Locks", "Loaf", "Pass",
    "Passage", "Track", "Trace", "Spring", "Springs", "Course", "Club", "Green", "Greens",
    "Land", "Landing", "Lake", "Lakes", "River", "Mission", "Estate", "Island", "Islands",
    "Isle", "Plain", "Plains", "Port", "Ports", "Field", "Fields", "View", "Views", "Fall",
    "Falls", "Fork", "Forks", "Pine", "Pines", "Station", "Dale", "Dam", "Divide", "Ferry",
    "Flat", "Flats", "Ford", "Fords", "Forest", "Forge", "Forges", "Fort", "Garden", "Gateway",
    "Glen", "Glens", "Haven", "Hollow", "Inlet", "Knoll", "Lodge", "Meadow", "Mill", "Mills",
    "Mount", "Mountain", "Mountains", "Neck", "Oval", "Prairie", "Ranch", "Rapid", "Rapids",
    "Ridge", "Ridges", "Route", "Shoal", "Shoals", "Shore", "Shores", "Spur", "Spurs", "Stream",
    "Summit", "Burg", "Burgs", "Branch", "Bridge", "Brook", "Brooks", "Camp", "Canyon", "Cape",
    "Cliff", "Cliffs", "Common", "Commons", "Corner", "Corners", "Cove", "Coves", "Creek",
    "Curve", "Valley", "Valleys", "Well", "Wells", "Wall", "Tunnel", "Squares", "Bluff",
    "Bluffs", "Bottom", "Bend", "Beach", "Grounds", "Village", "Villages", "Heights",
    "Junction", "Junctions", "Harbor", "Harbors", "Harbour",
)
FR_TYPES = (
    "rue", "avenue", "av", "boulevard", "bd", "place", "allée", "allee", "impasse", "chemin",
    "route", "rte", "quai", "cours", "square", "passage", "cité", "résidence", "residence",
    "voie", "sentier", "hameau", "lieu-dit", "rond-point", "esplanade", "promenade", "parvis",
    "faubourg", "villa", "montée", "rampe", "traverse", "carrefour", "ruelle", "venelle",
    "clos", "lotissement", "sente",
)
ES_TYPES = (
    "Calle", "C/", "C\\.", "Cl\\.", "Avenida", "Avda\\.?", "Av\\.", "Avd\\.", "Paseo", "Pº",
    "P\\.º", "Plaza", "Pza\\.?", "Pl\\.", "Camino", "Cmno\\.", "Carretera", "Ctra\\.?",
    "Ronda", "Rda\\.", "Travesía", "Travesia", "Trav\\.", "Glorieta", "Gta\\.", "Callejón",
    "Pasaje", "Pje\\.", "Pasadizo", "Vía", "Via", "Vial", "Rambla", "Bulevar", "Boulevard",
    "Blvd\\.", "Urbanización", "Urb\\.", "Cuesta", "Costanilla", "Alameda", "Carrer", "Passeig",
    "Rúa", "Plazuela", "Cañada", "Acceso", "Polígono", "Pol\\.", "Prolongación", "Calzada",
    "Privada", "Cerrada", "Circuito", "Circunvalación", "Andador", "Retorno", "Periférico",
    "Corredor", "Continuación", "Ampliación", "Diagonal", "Peatonal", "Viaducto", "Eje vial",
    "Barrio", "Colonia", "Col\\.",
)
# Lower-case forms as Spanish prose writes them ("vive en la calle Mayor 5")
ES_LOWER_TYPES = (
    "calle", "avenida", "plaza", "paseo", "camino", "carretera", "ronda", "travesía",
    "glorieta", "callejón", "pasaje", "rambla", "bulevar", "urbanización", "cuesta", "alameda",
    "carrer", "passeig", "rúa", "calzada", "privada", "cerrada", "circuito", "andador",
    "periférico", "prolongación", "avda\\.",
)


def _words(words: tuple[str, ...], escape: bool = True) -> str:
    unique = sorted({regex.escape(w) if escape else w for w in words}, key=len, reverse=True)
    return "(?:" + "|".join(unique) + ")"


_CAP = r"\p{Lu}[\p{L}'’-]*+"  # a capitalised word (possessive: no backtracking inside it)
# a number inside a street's name is an ordinal ("5th Avenue"): a results table's bare figures
# are no name ("Partick 16 6 6 4 23 16 24 St Mirren")
_NAME_WORD = rf"(?:{_CAP}|\d{{1,3}}(?:st|nd|rd|th|e|er|º|ª)(?=\s))"
_POSTCODE_US = r"[A-Z]{2}\s+\d{5}(?:-\d{4})?"
_POSTCODE_UK = r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
_TOWN = rf"{_CAP}(?:[\s-]+(?:(?:de|del|la|las|los|le|les|sur|en|lès|upon|on)[\s-]+)?{_CAP}){{0,3}}"
_SEP = r"(?:,\s*|\s*\n\s*|\s+)"  # between the parts of an address: a comma, a line break, spaces
_EN_UNIT = (r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Studio|Bldg|Building"
            r"|Dept|P\.?O\.?\s+Box)(?:\.|(?!\p{L}))\s*#?\s*[\w-]{1,6}(?![\w])|\#\s?\d{1,5}")
# The city/state/ZIP (US) or town and postcode (UK) closing an address
_EN_CITY = (rf"(?:{_SEP}{_TOWN}(?:,\s*|\s+|\s*\n\s*){_POSTCODE_US}"
            rf"|{_SEP}(?:{_TOWN}{_SEP})?(?-i:{_POSTCODE_UK})(?![\w]))")
# a year after "in", "since", "en"... is not a house number ("in 2020 Oxford Street reopened")
_NOT_A_YEAR = (r"(?!(?<=(?i:\b(?:in|since|by|until|from|during|before|after|en|depuis|desde"
               r"|año|year))\s)(?:19|20)\d\d(?!\d))")
# (and a half: "2615 1/2 Gary Avenue", USPS Publication 28, 232)
_EN_NUMBER = (_NOT_A_YEAR + r"(?<![\w/.,:-])\d{1,5}[A-Za-z]?(?:-\d{1,5})?(?:[ \t]1/2)?"
              r"(?![\w,.:/-])")
_EN_DIRECTION = (r"(?:[NS]\.?[EW]\.?|N|S|E|W|North|South|East|West|Northeast|Northwest"
                 r"|Southeast|Southwest)\.?")
_EN_STREET = (rf"(?:{_EN_DIRECTION}\s+)?(?:{_NAME_WORD}\s+){{1,4}}?"
              r"{types}s?\.?(?![\w'’])"
              rf"(?:\s+{_EN_DIRECTION}(?![\w]))?")
_EN_FLAT_FIRST = rf"(?:(?:Flat|Apartment|Apt\.?|Studio|Unit|Suite)\s+[\w-]{{1,5}}{_SEP})"
_EN_TAIL = rf"(?:(?:,\s*|\s+){_EN_UNIT})?(?:{_EN_CITY})?"
_EN_TAIL_REQUIRED = rf"(?:(?:(?:,\s*|\s+){_EN_UNIT})(?:{_EN_CITY})?|{_EN_CITY})"
EN_ADDRESS = rf"{_EN_FLAT_FIRST}?{_EN_NUMBER}\s+" + _EN_STREET + _EN_TAIL
# a weak type counts when the address goes on with a flat or a postcode, or a flat opens it
EN_WEAK_ADDRESS = (rf"(?:{_EN_FLAT_FIRST}{_EN_NUMBER}\s+{_EN_STREET}{_EN_TAIL}"
                   rf"|{_EN_FLAT_FIRST}?{_EN_NUMBER}\s+{_EN_STREET}{_EN_TAIL_REQUIRED})")
# British flats without a house number: "Flat 83m\nHenderson Plaza\nSimmonsberg\nG86 1GY"
# an address on a line of its own, as in a letter's heading, whatever its street type
EN_LINE_ADDRESS = (r"(?<=(?:^|\n)[ \t]{0,8})" + EN_ADDRESS + r"(?=[ \t]*(?:\n|$))")
EN_FLAT_ADDRESS = (
    rf"(?<![\w])(?:Flat|Apartment|Studio|Unit)\s+[\w-]{{1,5}}{_SEP}" + _EN_STREET
    + rf"(?:{_EN_CITY})?"
)

_FR_PARTICLE = r"(?:de\s+la|de\s+l['’]|de|du|des|d['’]|la|le|les|l['’]|aux|au|en|sur|sous|et)"
_FR_NAME = (rf"(?:{_FR_PARTICLE}\s*)?(?:{_CAP}|\d{{1,2}}(?:er|e)?(?=\s))"
            rf"(?:[\s-]+(?:{_FR_PARTICLE}\s*)?(?:{_CAP}|\d{{1,4}}(?:er|e)?(?=\s))){{0,5}}")
_FR_CITY = (rf"(?:{_SEP}(?:BP\s*\d{{1,5}}{_SEP})?\d{{2}}\s?\d{{3}}\s+{_TOWN}"
            r"(?:\s+C[Ee][Dd][Ee][Xx])?)")
_FR_STREET = r"(?i:{types})\.?\s+" + _FR_NAME
FR_ADDRESS = (
    _NOT_A_YEAR + r"(?<![\w/.,-])\d{1,4}(?:\s*(?:bis|ter|quater|[A-D])(?![\w]))?(?:\s*,)?\s+"
    + _FR_STREET + rf"(?:{_FR_CITY})?"
)
FR_STREET_WITH_TOWN = r"(?<![\w])" + _FR_STREET + _FR_CITY

_ES_PARTICLE = r"(?:de\s+la|de\s+los|de\s+las|del|de|la|el|los|las|y|e)"
_ES_NAME = (rf"(?:{_ES_PARTICLE}\s+)?{_CAP}"
            rf"(?:[\s-]+(?:{_ES_PARTICLE}\s+)?(?:{_CAP}|\d{{1,2}}(?=\s))){{0,5}}")
_ES_NUMBER = (r"(?:,\s*(?:n[º°o.]\s*)?\d{1,3}|\s+(?:n[º°o.]\s*|núm\.\s*|#\s*)?"
              r"(?!(?:19|20)\d\d(?!\d))\d{1,4})[A-Za-z]?(?![\w])")
_ES_UNIT = (r"(?:\s*,?\s*(?:\d{1,2}\s?[º°ªo]\s?"
            r"(?:[A-Z]|\d{1,2}[ªa]?|izq(?:da)?\.?|izda\.?|dcha\.?|drcha\.?)?(?![\w])"
            r"|(?:Piso|Puerta|Planta|Esc\.?|Escalera|Bajo|Portal|Bloque|Apt\.?|Apto\.?|Interior"
            r"|Int\.|Edif\.|Depto\.|Dpto\.|Local|Casa|Lote|Mz\.?|Manzana)\s*[\w-]{0,5}"
            r"|\d{3}(?![\w])|[A-Z](?![\w]))){0,3}")
# the town before a state and postcode may hold lower-case words ("San Pedro los altos, NL
# 66220"): the postcode anchors it
_ES_CITY = (rf"(?:(?:,\s*|\s*\n\s*|\s+)(?:\d{{5}}(?:-\d{{4}})?\s*,?\s*{_TOWN}"
            r"|\p{Lu}[\p{L}'’. -]{1,40}?,?\s+(?:[A-Z]{1,5}\.?(?:\s?[A-Z]{2,5})?\s+)?"
            r"\d{5}(?:-\d{4})?(?![\w-])))")
_ES_TYPE = r"(?<![\w])" + _words(ES_TYPES + ES_LOWER_TYPES, escape=False)
ES_ADDRESS = rf"{_ES_TYPE}\s*{_ES_NAME}{_ES_NUMBER}{_ES_UNIT}(?:{_ES_CITY})?"
ES_STREET_WITH_TOWN = rf"{_ES_TYPE}\s*{_ES_NAME}{_ES_CITY}"
# a street without a number: somebody's address only after "adresse", "habite", "dirección"...
FR_STREET = r"(?<![\w])" + _FR_STREET
ES_STREET = rf"{_ES_TYPE}\s*{_ES_NAME}"


def _en(pattern: str, types: tuple[str, ...]) -> str:
    return pattern.replace("{types}", _words(types))


# Languages that write the street type as the end of one word, number after it: Icelandic
# ("Hafnarstræti 5", "Fagradalsbraut 71", "Laugavegur 12"), German, Scandinavian, Dutch.
# ("-gade", "-tie" and "-ring" are left out: "Brigade 5", "Bowtie 3", "Offering 3".)
COMPOUND_SUFFIXES = (
    "stræti", "straeti", "vegur", "gata", "braut", "stígur", "stigur", "tún", "torg",
    "straße", "strasse", "gasse", "weg", "allee", "platz", "vej", "gatan", "vägen",
    "vagen", "veien", "vegen", "gaten", "stien", "katu", "straat", "laan", "gracht", "plein",
)
_POSTCODE_AND_TOWN = rf"(?:,\s*|\s*\n\s*|\s+)(?:\d{{3}}\s?\d{{2}}|\d{{3,5}})\s+{_TOWN}"
COMPOUND_ADDRESS = (
    r"(?<![\w])\p{Lu}\p{Ll}{2,}" + _words(COMPOUND_SUFFIXES) + r"\s+\d{1,4}[a-zA-Z]?(?![\w])"
    + rf"(?:(?:,\s*|\s+){_EN_UNIT})?(?:{_POSTCODE_AND_TOWN})?"
)


# United States military addresses (USPS Publication 28, section 225): "PSC 0413, Box 8144,
# APO AA 42323", "Unit 7194 Box 5854, DPO AE 73472", "USNS Comfort, FPO AE 90352"
MILITARY_ADDRESS = (
    r"(?<![\w])(?:(?i:PSC|CMR|Unit)\s+\d{1,5},?\s+(?i:Box)\s+\d{1,5}"
    r"|(?:USNS|USNV|USS|USCGC)\s+\p{Lu}[\p{L}'’-]*(?:\s+\p{Lu}[\p{L}'’-]*){0,2}"
    # written in lower case as a whole ("uscgc aslakhanov\nfpo ae 44941"): the APO/FPO/DPO
    # and the region code after it, read case aside, still prove it
    r"|(?:usns|usnv|uss|uscgc)\s+\p{Ll}[\p{Ll}'’-]*(?:\s+\p{Ll}[\p{Ll}'’-]*){0,2}?)"
    r"\s*,?\s*(?i:APO|FPO|DPO)[ \t\n]+(?i:A[AEP])\s+\d{5}(?:-\d{4})?(?![\w-])"
)

# The English patterns, with the street types each needs (``_english_starts``).
ENGLISH = (
    (Pattern("English address", _en(EN_ADDRESS, EN_STRONG_TYPES), 0.9), "strong"),
    (Pattern("English address, type also a noun", _en(EN_ADDRESS, EN_WEAK_TYPES), 0.4),
     "weak"),
    (Pattern("English address with a flat or postcode, type also a noun",
             _en(EN_WEAK_ADDRESS, EN_WEAK_TYPES), 0.9), "weak"),
    (Pattern("British flat", _en(EN_FLAT_ADDRESS, EN_STRONG_TYPES + EN_WEAK_TYPES), 0.9),
     "any"),
    (Pattern("English address on a line of its own",
             _en(EN_LINE_ADDRESS, EN_STRONG_TYPES + EN_WEAK_TYPES), 0.9), "any"),
)
# Patterns that open with a digit or a one-word street: scanned over the whole text (the
# English ones only near a street type, below).
OTHER_NUMBER_FIRST = (
    Pattern("French address", FR_ADDRESS.replace("{types}", _words(FR_TYPES)), 0.9),
    Pattern("one-word street and number (is, de, nl, Nordic)", COMPOUND_ADDRESS, 0.9),
)
# a post-office box is where someone's letters go: "P.O. Box 287", "PO Box 14", "Postbox 53"
PO_BOX = Pattern("post-office box", r"(?<![\w])(?:P\.?\s?O\.?\s+Box|Postbox)\s+\d{1,6}(?![\w])",
                 0.9)
PO_BOX_PROOF = "box"  # looked for in the text's lower case
# tried only when the text's lower case holds "po" then a space, a tab or a line break, as
# every match does ("APO AA", "fpo ae"): a scan of the whole text for this pattern cost more
# than the test
MILITARY = Pattern("United States military address", MILITARY_ADDRESS, 0.9)
MILITARY_PROOFS = ("po ", "po\t", "po\n")
NUMBER_FIRST = (*(pattern for pattern, _ in ENGLISH), *OTHER_NUMBER_FIRST)
FRENCH_ADDRESS, COMPOUND_STREET_ADDRESS = OTHER_NUMBER_FIRST
# Why the English patterns can be tried at a few places instead of scanned over the text (on
# news text with many numbers and no address, the scans were most of this recognizer's CPU):
# - in each of them the street type ("{types}s?\.?(?![\w'’])") comes after "\s+" (the
#   name-word loop runs at least once); the types are ASCII letters, so the type is the whole
#   run of letters that starts after that space, or that run without a final "s";
# - before it, a match holds at most 9 runs of non-spaces: the flat word and its number
#   (``_EN_FLAT_FIRST``), the house number and its half ("1/2"), a direction, up to 4 name
#   words, none of which holds a space;
# - a match opens with the house number's digit or with a flat word (the flat-first forms
#   have no word boundary before them).
# So a match starts at a digit or a flat word inside the 9 runs before such a type.
EN_STRONG_SET = frozenset(EN_STRONG_TYPES)
EN_WEAK_SET = frozenset(EN_WEAK_TYPES)
EN_TYPE_SET = EN_STRONG_SET | EN_WEAK_SET
CAPITALISED_AFTER_SPACE = regex.compile(r"(?<=\s)[A-Z][A-Za-z]*")
EN_RUNS_BEFORE_TYPE = 9
# read backwards from a street type: up to that many runs of non-spaces and their spaces
RUNS_BEFORE = regex.compile(rf"(?r)(?:\S+\s+){{1,{EN_RUNS_BEFORE_TYPE}}}")
EN_START = regex.compile(r"\d|Flat|Apartment|Apt|Studio|Unit|Suite")


# Patterns that open with a street-type word: tried only where one scan of the text for those
# words found one (five scans with the long alternations cost five times as much).
TYPE_FIRST = (
    Pattern("French street and town", FR_STREET_WITH_TOWN.replace("{types}", _words(FR_TYPES)),
            0.9),
    Pattern("Spanish address", ES_ADDRESS, 0.9),
    Pattern("Spanish street and town", ES_STREET_WITH_TOWN, 0.9),
    Pattern("French street, no number", FR_STREET.replace("{types}", _words(FR_TYPES)), 0.3),
    Pattern("Spanish street, no number", ES_STREET, 0.3),
)
STREET_TYPE_WORD = regex.compile(
    r"(?<![\w])(?:(?i:" + _words(FR_TYPES)[3:-1] + r")|"
    + _words(ES_TYPES + ES_LOWER_TYPES, escape=False)[3:-1] + r")(?![\w])")
DIGITS = regex.compile(r"\d+")


def _first_run(alternative: str) -> str:
    """The first run of word characters of a street type as ``STREET_TYPE_WORD`` writes it
    ("lieu\\-dit" -> "lieu", "Avda\\.?" -> "Avda", "C/" -> "C", "Eje vial" -> "Eje")."""
    run = WORD_RUN.match(alternative.replace("\\", ""))
    assert run is not None, alternative
    return str(run.group())


WORD_RUN = regex.compile(r"\w+")
# Why a street-type word needs no scan of every character (``_type_words``): a match of
# ``STREET_TYPE_WORD`` at a place p is one of its words (FR_TYPES read case aside, the Spanish
# ones as written), with no word character before p (or p the window's start) nor after it.
# Each of those words is a first run of word characters, then nothing, or a character that
# is not one (".", "/", "-", " "), so the run of word characters of the text that starts at p
# is that first run: written as is for a Spanish word; for a French one, each of its
# characters one that ``regex`` matches case-insensitively to the word's (lower-case)
# letter, which ``str.casefold`` turns into that very letter but for "İ" (a text holding it
# is scanned; ``test_givenspeed_cuts`` checks every code point). So the scan's matches start
# at runs (``WORD_RUN``) that are in ``ES_TYPE_RUNS``, or in ``FR_TYPE_RUNS`` once casefolded,
# and matching there, from the start of the window, skipping the places inside a match
# found, finds what the scan finds.
FR_TYPE_RUNS = frozenset(_first_run(t) for t in FR_TYPES)
ES_TYPE_RUNS = frozenset(_first_run(t) for t in ES_TYPES + ES_LOWER_TYPES)
# How far before a number its street's type word may stand ("Avenida de la Constitución 12",
# "rue Antoinette Fernandes\n03400"): the street-type scan reads only these stretches, and
# the whole text only when an address word is in it (a street without a number).
TYPE_BEFORE_NUMBER = 90


# Streets of other countries, found from their house number (``_world_streets``): the words
# before a number on its line, read backwards, hold a street type of libpostal's lexicon
# (``street_types_world``): written apart, before the name ("Via dei Fiorentini 17",
# "ul. Chrzanowska 61") or after it ("Rákóczi út 13.", "Stensås terrasse 38"), or as the end
# of a one-word name ("Puruntie 82", "Søndergade 52").
WORLD_NUMBER = regex.compile(r"(?<![\w/.,:-])\d{1,5}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?)?\.?"
                             r"(?![\w/-]|[.,]\d)")
WORLD_WORDS_BEFORE = 6  # a type, up to four name words and a particle
WORLD_LINE_BEFORE = 80  # characters of the number's line read before it
WORLD_NAME_WORDS_AFTER_TYPE = 3  # "Hegedûs Gyula utca 76.": the name words before a type
WORLD_WORDS_BEFORE_SUFFIX = 2  # "Brucker Bundesstrasse 31": capitalised words before it
YEAR = regex.compile(r"(?:19|20)\d\d")

# Around an address found: the house number written before the street ("28245 Puruntie 82",
# "935 69 Gordon Terrace"), a flat before it; after it, the flats and the lines of the town,
# region and country up to a postcode ("Apt. 595\n LAPPEENRANTA\n SK\n 53650"). Each piece is
# its own labelled value in presidio-research's set, and someone's address in any text.
_UNIT_WORD = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Box|Postbox)"
# after an address, the flat's word in any case and the United States' other ones ("STE 900",
# "PMB 175", "Bldg A", "# 26", "4th floor"; USPS Publication 28, appendix C2)
_UNIT_PIECE_WORD = (r"(?i:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Box|Postbox|PMB|Bldg|Bld|No"
                    r"|Building|Fl|Flr|Floor|Dept|Lockbox|Lot|Trlr|Spc|Space|Hangar|Pier)")
_UNIT_PIECE = (rf"(?:{_UNIT_PIECE_WORD}\.?[ \t]*#?[ \t]*(?:\d{{1,5}}[A-Za-z]?|[A-Z])(?![\w])"
               r"|\#[ \t]?\d{1,5}[A-Za-z]?(?![\w])"
               r"|\d{1,3}(?i:st|nd|rd|th)[ \t]+(?i:floor|fl)\b\.?)")
# between the lines of an address: a comma or a line break (then spaces, commas, the ">" of a
# quoted e-mail); the town's words themselves are joined by spaces only, and taken whole
# (possessive): a stretch of prose after an address is read one way, not cut every way
_LINE_BREAK = r"[ \t]*[,\n][\s>,]{0,10}+"
_BREAK = rf"(?:{_LINE_BREAK}|[ \t]+)"
# a town, region or country: capitalised ("Calle Mayor 5 desde 2010" has no postcode)
_PLACE_PIECE = r"\p{Lu}[\p{L}'’.-]*+(?:[ \t]+\p{L}[\p{L}'’.-]*+){0,3}+"
# four to six digits, not a year ("Madrid 2010")
_POSTCODE = r"(?:[A-Z]{1,3}[ -]?)?(?!(?:19|20)\d\d(?!\d))\d{4,6}(?:-\d{4})?(?![\w-])"
# on a line of its own (or after a comma) a piece may be written in lower case ("Velenje, nan")
_LINE_PIECE = r"\p{L}[\p{L}'’.-]*+(?:[ \t]+\p{L}[\p{L}'’.-]*+){0,3}+"
# the postcode before the town, as most of Europe writes it: "Via dei Mille 24, 20121 Milano",
# "ul. Marszałkowska 10, 00-590 Warszawa"
_POSTCODE_TOWN = (r"(?:(?!(?:19|20)\d\d(?!\d))\d{4,5}|\d{2}-\d{3})[ \t]+"
                  r"\p{Lu}[\p{L}'’-]*+(?:[ \t]+\p{Lu}[\p{L}'’-]*+){0,2}+")
# a second type after the first ("60 Arts Circle Drive", "42 Cedar Crest Ct."), a direction
# after the street ("613 K Street Northwest", "75 Fifth Street, NW", "Street N.W.")
_TYPE_AFTER = (r"(?:[ \t]+(?:Drive|Dr|Court|Ct|Avenue|Ave|Street|St|Road|Rd|Lane|Ln|Boulevard"
               r"|Blvd|Place|Pl|Circle|Cir|Trail|Trl|Parkway|Pkwy|Terrace|Ter)\.?(?![\w]))?")
_DIRECTION_AFTER = (r"(?:,?[ \t]+(?:North|South|East|West|Northeast|Northwest|Southeast"
                    r"|Southwest|NE|NW|SE|SW|[NS]\.[EW]\.)(?![\w]))?")
# the town (and a state's code) after a comma, when no postcode closes the address: up to
# three capitalised words, then the end of the sentence, a comma or a lower-case word
# ("1085 Santa Paula Avenue, Los Osos", "758 West Chicago Avenue, Chicago, IL")
# (a dot inside only, as "St. Louis" writes it: the sentence's full stop is not the town's)
_TOWN_WORD = r"\p{Lu}[\p{L}'’-]*+(?:\.(?=[ \t]+\p{Lu}))?"
_STATE_CODE = r"(?:[A-Z]{2}|[A-Z]\.[A-Z]\.)(?![\w])"
# (without a comma the town needs a state's code after it: "Hwy N Sebastopol CA")
_TOWN_AFTER = (rf"(?:[ \t]*,[ \t]*{_TOWN_WORD}(?:[ \t]+{_TOWN_WORD}){{0,2}}+"
               rf"(?:,?[ \t]+{_STATE_CODE})?"
               rf"|[ \t]+{_TOWN_WORD}(?:[ \t]+{_TOWN_WORD}){{0,2}}?,?[ \t]+{_STATE_CODE})"
               r"(?=[ \t]*(?:[.;:!?)\n]|\Z)|,|[ \t]+\p{Ll})")
AFTER_ADDRESS = regex.compile(
    rf"{_TYPE_AFTER}{_DIRECTION_AFTER}"
    rf"(?:{_BREAK}{_UNIT_PIECE}){{0,2}}"
    rf"(?:{_LINE_BREAK}{_POSTCODE_TOWN}"
    rf"|(?:{_LINE_BREAK}{_LINE_PIECE}){{0,4}}?(?:[ \t]+{_PLACE_PIECE})?{_BREAK}{_POSTCODE}"
    rf"|{_TOWN_AFTER})?")
# a street's name that took the flat's word ("62 Rue Gafsa Apt" of "62 Rue Gafsa Apt. 981")
UNIT_STARTS = ("Apt", "Apartment", "Suite", "Ste", "Unit", "Flat", "Room", "Box", "Postbox")
# the next line (or the next piece after a comma) of an address: a country name may close it
PIECE_AFTER = regex.compile(rf"{_LINE_BREAK}({_LINE_PIECE})")
WORD = regex.compile(r"\S+")
COUNTRY_PIECES = 4  # the lines read after an address, looking for its country
UNIT_WORD_AT_END = regex.compile(rf"[ \t,]+{_UNIT_WORD}\Z")
# "the corner of Dalbraut 99 and Frederikke Coves": both streets are the place
CORNER_BEFORE = regex.compile(r"(?<![\w])(?:the\s+)?corner\s+of\s+\Z", regex.IGNORECASE)
CORNER_AFTER = regex.compile(r"\s+(?:and|&)\s+\p{Lu}[\p{L}'’.-]*+(?:\s+\p{Lu}[\p{L}'’.-]*+){0,3}+")
_BEFORE_UNIT_PIECE = rf"{_UNIT_WORD}\.?[ \t]*#?[ \t]*\d{{1,5}}[A-Za-z]?(?![\w])"
BEFORE_ADDRESS = regex.compile(
    rf"(?:(?<![\w.,/:-]){_BEFORE_UNIT_PIECE}[ \t]+)?(?<![\w.,/:-])(\d{{1,6}}[A-Za-z]?)[ \t]+\Z")
AROUND = 40  # characters read before an address for its house number
YEAR_WORDS = frozenset(("in", "since", "by", "until", "from", "during", "before", "after",
                        "en", "depuis", "desde", "año", "year"))


def _title(word: str) -> bool:
    """Capitalised, not all capitals ("Kask", not "SK")."""
    return word[:1].isupper() and not word.isupper()


def _name_word(word: str) -> bool:
    """A capitalised word of a street's name: letters, hyphens and apostrophes only
    ("Dirección:" ends a label, not a name)."""
    return _title(word) and word.replace("-", "").replace("'", "").replace("’", "").isalpha()


def _particle(word: str) -> bool:
    """"dei", "do", "van", "der": the small lower-case words inside a street's name."""
    return len(word) <= 4 and word.isalpha() and word.islower()


def _world_type(word: str) -> bool:
    folded = word.casefold()
    if word.endswith("."):
        return folded in world.SEPARATE or folded[:-1] in world.SEPARATE
    if folded in world.CAPITALISED_ONLY:
        return word[:1].isupper() and word[1:].islower()
    return folded in world.SEPARATE and (word.islower() or (word[:1].isupper()
                                                            and word[1:].islower()))


def _world_compound(word: str, common: frozenset[str]) -> bool:
    """A one-word street: a capitalised word ending in a street type, with at least three
    letters before it (four before a suffix of three: "Bowtie" is no road), and no common
    English, French or Spanish word (``common``: "Brigade", "Offering")."""
    if not _title(word) or not word.isalpha():
        return False
    folded = word.casefold()
    for length in range(3, min(len(folded) - 2, 14)):
        if folded[-length:] in world.SUFFIXES and len(folded) - length >= max(3, 7 - length):
            return folded not in common
    return False


class StreetAddressRecognizer(DouaneRecognizer):
    ENTITY = "STREET_ADDRESS"
    PATTERNS = NUMBER_FIRST + TYPE_FIRST
    CONTEXT = {
        "*": ("address", "adresse", "dirección", "domicilio"),
        "en": ("lives at", "live at", "living at", "located at", "resides at", "reside at",
               "residing at", "moved to", "send it to", "deliver to", "ship to"),
        "fr": ("domicilié", "domiciliée", "demeurant", "habite", "réside", "résidant",
               "domicile", "adresse postale"),
        "es": ("vive en", "reside en", "domiciliado", "domiciliada", "con domicilio",
               "residente en"),
    }
    SCORE_WITH_CONTEXT = 0.9
    WORLD_SCORE = 0.9
    # an address reported (policies redact from 0.5 unless they say otherwise) takes its
    # house number, flats, town and postcode with it
    SCORE_TO_EXTEND = 0.5
    PREFILTER = None  # a street without a number is an address after "habite", "dirección"

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        super().__init__(supported_language, timeout_s)
        # imported here, not at the top: given_names imports person_filters, which imports
        # this package; loaded when the recognizer is built, never inside a pass
        from streams.adapters.recognizers.given_names import common_words

        self._common_words = common_words()

    def validate(self, candidate: str) -> bool:
        return True  # the shape is the test: number, street type, capitalised name

    def find_entities(self, text: str) -> list[RecognizerResult]:
        """Every address, without those inside a longer one scored as high ("83m, Henderson
        Plaza" inside "Flat 83m, Henderson Plaza"): one address, one finding. Context words
        are looked for only where they would change the score."""
        found: dict[tuple[int, int], float] = {}
        extended: dict[tuple[int, int], tuple[int, int]] = {}  # several patterns find a span

        def add(match: regex.Match[str] | None, pattern: Pattern) -> None:
            if match is None:
                return
            add_span(match.start(), match.end(), pattern.score)

        def add_span(start: int, end: int, score: float) -> None:
            if text[start:start + 1].isalpha() and text[max(0, start - 2):start].rstrip() \
                    .endswith("@"):
                return  # "@ Kaaaatie 4": a user's handle, not a one-word street
            if score < self.SCORE_WITH_CONTEXT and self.has_context(text, start, end):
                score = self.SCORE_WITH_CONTEXT
            if score >= self.SCORE_TO_EXTEND:
                if (start, end) not in extended:
                    extended[(start, end)] = self._extended(text, start, end)
                start, end = extended[(start, end)]
            if score > found.get((start, end), 0.0):
                found[(start, end)] = score

        starts = self._english_starts(text)
        for pattern, kind in ENGLISH:
            for match in self._matches_from(pattern, text, starts[kind]):
                add(match, pattern)
        for match in find_all(FRENCH_ADDRESS.regex, text, self.search_timeout_s):
            add(match, FRENCH_ADDRESS)
        # the one-word street's suffixes are plain words of its pattern, read with their
        # case: a text that holds none cannot match (``holds_any``)
        if holds_any(text, COMPOUND_SUFFIXES):
            for match in find_all(COMPOUND_STREET_ADDRESS.regex, text, self.search_timeout_s):
                add(match, COMPOUND_STREET_ADDRESS)
        folded = text.casefold()
        if any(proof in folded for proof in MILITARY_PROOFS):
            for match in find_all(MILITARY.regex, text, self.search_timeout_s):
                add(match, MILITARY)
        if PO_BOX_PROOF in folded:
            for match in find_all(PO_BOX.regex, text, self.search_timeout_s):
                add(match, PO_BOX)
        numbers = find_all(DIGITS, text, self.search_timeout_s)
        for window_start, window_end in self._type_windows(text, numbers):
            for word in self._type_words(text, window_start, window_end):
                for pattern in TYPE_FIRST:
                    add(self._match_at(pattern, text, word.start()), pattern)
        for start, end in self._world_streets(text, numbers):
            add_span(start, end, self.WORLD_SCORE)
        for start, end in us.state_zip_addresses(text, numbers):
            add_span(start, end, self.WORLD_SCORE)
        for start, end in us.caseless_streets(text, numbers):
            add_span(start, end, self.WORLD_SCORE)
        kept: list[RecognizerResult] = []
        furthest: dict[float, int] = {}  # per score, the furthest end of a span seen so far
        # earlier starts first (longer first): a span is inside another when one seen before
        # it, scored as high, ends as late
        for (start, end), score in sorted(found.items(), key=lambda item: (item[0][0],
                                                                            -item[0][1])):
            if not any(best >= score and last >= end for best, last in furthest.items()):
                kept.append(self._result(start, end, score))
            furthest[score] = max(furthest.get(score, 0), end)
        return self._merged(kept)

    def _merged(self, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """Reported addresses that share characters made one ("Denmark 35018" closing one
        address, "35018 28030 Edeby 55" opening the next): the pipeline keeps one finding of
        overlapping ones, and would leave the rest of the other to the model."""
        merged: list[RecognizerResult] = []
        for result in results:  # in order of their starts
            last = next((r for r in reversed(merged) if r.score >= self.SCORE_TO_EXTEND), None)
            if result.score >= self.SCORE_TO_EXTEND and last is not None \
                    and result.start < last.end:
                last.end = max(last.end, result.end)
                last.score = max(last.score, result.score)
                continue
            merged.append(result)
        return merged

    def _english_starts(self, text: str) -> dict[str, list[int]]:
        """Every place where an English pattern's match can start (a superset: see
        ``EN_RUNS_BEFORE_TYPE``), in order, for the patterns of strong types, of weak types
        and of any type."""
        by_kind: dict[str, set[int]] = {"strong": set(), "weak": set()}
        # most texts hold no street type: the words read as strings first (no match object
        # per word) and compared with the types as sets, as the loop below compares them
        words = within_cpu_limit(lambda timeout: CAPITALISED_AFTER_SPACE.findall(
            text, timeout=timeout, concurrent=False), self.search_timeout_s)
        if EN_TYPE_SET.isdisjoint(words) and EN_TYPE_SET.isdisjoint(
                [word[:-1] for word in words if word.endswith("s")]):
            return {"strong": [], "weak": [], "any": []}
        for word in find_all(CAPITALISED_AFTER_SPACE, text, self.search_timeout_s):
            letters = word.group()
            plural = letters[:-1] if letters.endswith("s") else ""
            kinds = [kind for kind, types in (("strong", EN_STRONG_SET), ("weak", EN_WEAK_SET))
                     if letters in types or plural in types]
            if not kinds:
                continue
            at = word.start()
            before = self._runs_before(text, at)
            low = before.start() if before is not None else 0
            found = {match.start() for match in self._starts_between(text, low, at)}
            for kind in kinds:
                by_kind[kind].update(found)
        return {"strong": sorted(by_kind["strong"]), "weak": sorted(by_kind["weak"]),
                "any": sorted(by_kind["strong"] | by_kind["weak"])}

    def _runs_before(self, text: str, at: int) -> regex.Match[str] | None:
        return within_cpu_limit(lambda timeout: RUNS_BEFORE.search(
            text, 0, at, timeout=timeout, concurrent=False), self.search_timeout_s)

    def _starts_between(self, text: str, low: int, high: int) -> list[regex.Match[str]]:
        return within_cpu_limit(lambda timeout: list(EN_START.finditer(
            text, low, high, timeout=timeout, concurrent=False)), self.search_timeout_s)

    def _matches_from(self, pattern: Pattern, text: str,
                      starts: list[int]) -> list[regex.Match[str]]:
        """What ``finditer`` finds, given every place a match can start: the first match at
        or after the end of the previous one (matches are never empty)."""
        matches: list[regex.Match[str]] = []
        end = 0
        for at in starts:
            if at < end:
                continue
            match = self._match_at(pattern, text, at)
            if match is not None:
                matches.append(match)
                end = match.end()
        return matches

    def _match_at(self, pattern: Pattern, text: str, at: int) -> regex.Match[str] | None:
        return self._regex_at(pattern.regex, text, at)

    def _regex_at(self, compiled: regex.Pattern[str], text: str, at: int
                  ) -> regex.Match[str] | None:
        return within_cpu_limit(lambda timeout: compiled.match(
            text, at, timeout=timeout, concurrent=False), self.search_timeout_s)

    def _type_windows(self, text: str, numbers: list[regex.Match[str]]
                      ) -> list[tuple[int, int]]:
        """The stretches of text where a street-type word can open an address: before a
        number, or everywhere when an address word is in the text."""
        if self._context is not None and search(self._context, fold(text), self.search_timeout_s):
            return [(0, len(text))]
        windows: list[tuple[int, int]] = []
        for number in numbers:
            start = max(0, number.start() - TYPE_BEFORE_NUMBER)
            if windows and windows[-1][1] >= start:
                windows[-1] = (windows[-1][0], number.start())
            else:
                windows.append((start, number.start()))
        return windows

    def _type_words(self, text: str, start: int, end: int) -> list[regex.Match[str]]:
        """The matches of ``STREET_TYPE_WORD`` in ``text[start:end]``, tried only at the runs of
        word characters that can open one (see ``FR_TYPE_RUNS``): the long alternation tried
        at every word cost several times more."""
        if "\u0130" in text:
            return within_cpu_limit(lambda timeout: list(STREET_TYPE_WORD.finditer(
                text, start, end, timeout=timeout, concurrent=False)), self.search_timeout_s)
        found: list[regex.Match[str]] = []
        reach = start
        for run in within_cpu_limit(lambda timeout: list(WORD_RUN.finditer(
                text, start, end, timeout=timeout, concurrent=False)), self.search_timeout_s):
            word = run.group()
            if run.start() < reach or (word not in ES_TYPE_RUNS
                                       and word.casefold() not in FR_TYPE_RUNS):
                continue
            match = self._type_word_at(text, run.start(), end)
            if match is not None:
                found.append(match)
                reach = match.end()
        return found

    def _type_word_at(self, text: str, at: int, end: int) -> regex.Match[str] | None:
        # (the window's end as the scan reads it: its look-ahead sees nothing after ``end``)
        return within_cpu_limit(lambda timeout: STREET_TYPE_WORD.match(
            text, at, end, timeout=timeout, concurrent=False), self.search_timeout_s)

    def _world_streets(self, text: str, numbers: list[regex.Match[str]]
                       ) -> list[tuple[int, int]]:
        """Streets of other countries: for each run of digits (``numbers``) after a space or
        a comma, the words before it on its line, read backwards (``str.split``: most numbers
        are rejected by the word just before them, before any regular expression runs)."""
        spans: list[tuple[int, int]] = []
        for digits in numbers:
            at = digits.start()
            # a word (or its dot or comma) then a space before the number: most numbers of a
            # results table or a date are rejected here, before any slicing
            if at < 2 or not (text[at - 1].isspace() or text[at - 1] == ",") or not (
                    text[at - 2].isalpha() or text[at - 2] in ".,"):
                continue
            low = max(text.rfind("\n", 0, at) + 1, at - WORLD_LINE_BEFORE)
            words = text[low:at].split()[-WORLD_WORDS_BEFORE:]
            if not words or not words[-1][:1].isalpha():
                continue  # a table's figures, a date: the commonest numbers, rejected first
            if YEAR.fullmatch(digits.group()):
                continue  # "Juventus 2001", not a house number
            first = self._world_street_start(words, text, digits.end())
            if first is None:
                continue
            number = self._regex_at(WORLD_NUMBER, text, at)
            if number is None:
                continue
            before = text[low:at]
            # the offset of the ``first``-th word from the end of ``before``
            position = len(before)
            for word in reversed(words[first:]):
                position = before.rfind(word, 0, position)
            spans.append((low + position, number.end()))
        return spans

    def _world_street_start(self, words: list[str], text: str, end: int) -> int | None:
        """The index in ``words`` (the words before a house number) where a street starts, or
        None when they hold no street."""
        last = words[-1].removesuffix(",")
        if _world_compound(last, self._common_words):
            first = len(words) - 1
            while (first > 0 and len(words) - first <= WORLD_WORDS_BEFORE_SUFFIX
                   and _name_word(words[first - 1])):
                first -= 1
            return first
        if _world_type(last) and len(words) >= 2 and _name_word(words[-2]):
            # the type after the name ("Rákóczi út 13.")
            first = len(words) - 2
            while (first > 0 and len(words) - first <= WORLD_NAME_WORDS_AFTER_TYPE
                   and (_name_word(words[first - 1]) or _particle(words[first - 1]))):
                first -= 1
            while _particle(words[first]):
                first += 1
            return first
        capitalised = False
        for index in range(len(words) - 1, -1, -1):
            word = words[index].removesuffix(",") if index == len(words) - 1 else words[index]
            if capitalised and _world_type(word):
                return index  # the type before the name ("Via dei Fiorentini 17")
            if _name_word(word):
                capitalised = True
            elif not _particle(word):
                break
        # a name between two numbers, then a flat or a postcode: "20789 Allika 46\n Suite 501",
        # "5638 Aasa 43\nHumilimont, 78618"
        if (len(words) >= 2 and words[-2].isdigit() and _title(last) and last.isalpha()
                and text[end:end + 1] in ("\n", ",", " ")
                and (text[end:end + 3].strip(" \t")[:1] in ("\n", ",")
                     or text[end:end + 12].lstrip(" \t").startswith(UNIT_STARTS))):
            # (a results table's "3 Kilmarnock 14 3 2" is rejected before the search)
            tail = self._regex_at(AFTER_ADDRESS, text, end)
            if tail is not None and tail.end() > end:
                return len(words) - 2
        return None

    def _extended(self, text: str, start: int, end: int) -> tuple[int, int]:
        """The address from ``start`` to ``end`` with the house number and flat written before
        it, and the flats, town lines and postcode after it (``AFTER_ADDRESS``)."""
        if text[end - 1:end].isalpha():
            unit_word = within_cpu_limit(lambda timeout: UNIT_WORD_AT_END.search(
                text, start, end, timeout=timeout, concurrent=False), self.search_timeout_s)
            if unit_word is not None:
                end = unit_word.start()
        # a house number (or a flat's) and a space just before, else nothing to take
        before = None
        if start >= 2 and text[start - 1] in " \t" and text[start - 2].isalnum():
            before = within_cpu_limit(lambda timeout: BEFORE_ADDRESS.search(
                text, max(0, start - AROUND), start, timeout=timeout, concurrent=False),
                self.search_timeout_s)
        if before is not None:
            preceding = text[max(0, before.start() - 12):before.start()].split()
            year_after_word = (YEAR.fullmatch(before.group(1)) is not None and bool(preceding)
                               and preceding[-1].casefold() in YEAR_WORDS)
            if not year_after_word:
                start = before.start()
        after = self._regex_at(AFTER_ADDRESS, text, end)
        if after is not None:
            end = after.end()
        end = self._country_after(text, end)
        if text[max(0, start - 16):start].rstrip().casefold().endswith("of"):
            corner = within_cpu_limit(lambda timeout: CORNER_BEFORE.search(
                text, max(0, start - 20), start, timeout=timeout, concurrent=False),
                self.search_timeout_s)
            if corner is not None:
                start = corner.start()
                other = self._regex_at(CORNER_AFTER, text, end)
                if other is not None:
                    end = other.end()
        return start, end

    def _country_after(self, text: str, end: int) -> int:
        """The end of the address with the town lines up to a country's name when one closes
        it within ``COUNTRY_PIECES`` lines ("971 Kesk 53\\n Suite 343\\n Pärnu\\n Estonia"),
        else ``end``."""
        at = end
        for _ in range(COUNTRY_PIECES):
            piece = self._regex_at(PIECE_AFTER, text, at)
            if piece is None:
                return end
            words: list[regex.Match[str]] = list(WORD.finditer(piece.group(1)))
            for count in range(len(words), 0, -1):
                name = " ".join(word.group() for word in words[:count]).casefold().rstrip(".")
                if name in world.COUNTRIES:
                    return int(piece.start(1) + words[count - 1].end())
            at = piece.end()
        return end
