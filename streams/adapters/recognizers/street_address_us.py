"""United States street addresses as people write them, beyond a capitalised name and type
(branch addrus, from the misses of datamade/usaddress's labelled addresses, a dev set):

- **closed by a state and a ZIP code** (USPS Publication 28): the ZIP after a state's code or
  name proves an address whatever its street looks like, so the house number before it on
  the same stretch of text opens one: "1520 N Wells, Chicago, IL 60610", "5429 woodlawn
  chicago il 60615", "10 EAST LAKE, DENVER, CO 80202";
- **a street written in capitals or in lower case**, whose type is then no capitalised word:
  "601 PENNSYLVANIA AVE NW", "3565 piedmont rd.", "790 FOGGY BOTTOM FARM RD";
- **a numbered road**: "5801 North Highway 763", "2300 Route 309", "1947 CR 2700 E",
  "13483 W INTERSTATE 10".

Each starts from the runs of digits the recognizer already found (``numbers``) and reads
words with ``str.split`` and set look-ups: no pattern scans the text. The functions return
spans; the recognizer extends them (flats, town lines, postcode) as it extends every address.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

# USPS state and territory codes, with the military "states" (AA, AE, AP)
STATE_CODES = frozenset((
    "al", "ak", "az", "ar", "ca", "co", "ct", "de", "dc", "fl", "ga", "hi", "id", "il", "in",
    "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "ms", "mo", "mt", "ne", "nv", "nh",
    "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa", "ri", "sc", "sd", "tn", "tx", "ut",
    "vt", "va", "wa", "wv", "wi", "wy", "pr", "vi", "gu", "as", "mp", "aa", "ae", "ap",
))
# the names of the states, read as the words before a ZIP ("Rhode Island 02914"), lower case
STATE_NAMES = frozenset((
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "district of columbia", "florida", "georgia", "hawaii", "idaho", "illinois",
    "indiana", "iowa", "kansas", "kentucky", "louisiana", "maine", "maryland",
    "massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana",
    "nebraska", "nevada", "new hampshire", "new jersey", "new mexico", "new york",
    "north carolina", "north dakota", "ohio", "oklahoma", "oregon", "pennsylvania",
    "rhode island", "south carolina", "south dakota", "tennessee", "texas", "utah",
    "vermont", "virginia", "washington", "west virginia", "wisconsin", "wyoming",
    "puerto rico",
))
# codes that are also words of prose, read as a state only in capitals ("la 75008" is French)
WORD_CODES = frozenset(("in", "or", "me", "la", "ma", "mi", "pa", "oh", "ok", "hi", "as", "al",
                        "co", "id", "ne", "va", "de", "wa", "ia", "nd", "ms", "md", "mo", "ct",
                        "ca", "sc", "mt", "ga", "ae", "ap", "aa", "vi", "gu", "mp"))
STATE_NAME_WORDS = 3  # "district of columbia"
# the word just before a ZIP when a state is: looked up before anything else is read
STATE_LAST_WORDS = STATE_CODES | {name.split()[-1] for name in STATE_NAMES}
ZIP_AFTER = regex.compile(r"(?:-\d{4})?(?![\w-])")
# how far back from the state the house number is looked for: the words of a street, a flat
# and a town ("9837 SW 184TH ST NW Bld A FLR 3 STE 222 Miami FL")
WORDS_BEFORE_STATE = 16
CHARACTERS_BEFORE_STATE = 160
# words that end the walk back: what is before them is the sentence, not the address
# ("send the documents to 1520 N Wells...", "vive en ...")
STOP_WORDS = frozenset((
    "to", "at", "in", "on", "for", "from", "by", "with", "near", "is", "are", "was", "were",
    "be", "been", "send", "sent", "visit", "please", "address", "located", "lives", "live",
    "à", "au", "aux", "en", "le", "la", "les", "a", "de", "del", "el", "es", "un", "une",
))
# the word before a number that makes it a flat's, a box's or a floor's, not a house number
UNIT_WORDS = frozenset((
    "apt", "apartment", "suite", "ste", "unit", "#", "no", "fl", "flr", "floor", "rm", "room",
    "bldg", "bld", "building", "pmb", "box", "dept", "lockbox", "lot", "space", "spc", "trlr",
    "hangar", "pier", "slip", "stop", "rte", "route", "hwy", "highway", "cr", "sr", "fm",
    "interstate", "spur", "road",
))
HOUSE_NUMBER = regex.compile(r"\d{1,6}[A-Za-z]?(?:-\d{1,6}[A-Za-z]?)?")
YEAR = regex.compile(r"(?:19|20)\d\d")
# a house number written in words, as some offices write theirs ("One S. Dearborn St.")
NUMBER_WORDS = frozenset(("one", "two", "three", "four", "five", "six", "seven", "eight",
                          "nine", "ten", "twenty", "fifty", "hundred"))
YEAR_WORDS = frozenset(("in", "since", "by", "until", "from", "during", "before", "after",
                        "year"))

# Street types read whatever their case when the street is written in capitals or lower
# case ("AVE", "rd."): the USPS abbreviations and full words that are hardly anything else
# after a number and a name. In lower case a few are left out: "way", "place", "court",
# "drive", "square", "circle", "trail", "crossing", "plaza" are common nouns in prose.
CASELESS_TYPES = frozenset((
    "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln",
    "drive", "dr", "court", "ct", "place", "pl", "terrace", "ter", "terr", "way", "parkway",
    "pkwy", "highway", "hwy", "freeway", "fwy", "expressway", "expy", "circle", "cir",
    "trail", "trl", "plaza", "plz", "square", "sq", "pike", "crossing", "xing", "alley", "aly",
    "turnpike", "tpke", "causeway", "cswy",
))
LOWER_CASE_LEFT_OUT = frozenset(("way", "place", "court", "drive", "square", "circle",
                                 "trail", "crossing", "plaza", "pl", "sq", "way", "alley"))
# words that cannot be a lower-case street's name: the prose around a number ("5 miles down
# the road", "2 doors up the street")
PROSE_WORDS = frozenset((
    "the", "a", "an", "of", "to", "in", "on", "at", "for", "my", "your", "our", "his", "her",
    "their", "its", "this", "that", "these", "those", "and", "or", "but", "down", "up",
    "across", "over", "along", "by", "from", "with", "off", "into", "onto", "out", "per",
    "miles", "mile", "blocks", "block", "minutes", "mins", "min", "km", "kms", "feet", "ft",
    "yards", "yds", "meters", "metres", "times", "days", "hours", "hrs", "years", "weeks",
    "doors", "lanes", "cars", "people", "more", "less", "than", "other", "side", "way",
    "is", "are", "was", "were", "i", "we", "you", "he", "she", "they", "it", "me", "us",
))
DIRECTIONS = frozenset(("n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east",
                        "west", "northeast", "northwest", "southeast", "southwest"))
# a numbered road: "Highway 763", "Route 309", "CR 2700", "Interstate 10", "FM 1960",
# "State Route 7", "US Highway 19", "County Road 2100"
ROUTE_WORDS = frozenset(("highway", "hwy", "route", "rte", "rt", "interstate", "cr", "sr",
                         "fm", "spur", "us", "state", "county", "road", "rd", "farm",
                         "market", "business", "bus", "i", "ih"))
ROUTE_LAST = frozenset(("highway", "hwy", "route", "rte", "rt", "interstate", "cr", "sr", "fm",
                        "spur", "road", "rd", "business", "i", "ih"))
ROUTE_NUMBER = regex.compile(r"(?:I-?)?\d{1,5}[A-Za-z]?")
WORDS_AFTER_NUMBER = 6  # the name words and the type after a house number
LINE_AFTER_NUMBER = 100  # characters read after a house number
# "7257 S. State": a house number, a direction's letter, a capitalised name (no type)
LETTER_DIRECTIONS = frozenset(("N", "S", "E", "W"))
LETTERED_NAME_WORDS = 3
STREET_END_WORDS = CASELESS_TYPES | ROUTE_WORDS
# those words as a text writes them (lower case, capitals; a road's word capitalised too, as
# "Highway 763"; a dot or a comma after), compared with the words after a number as a set
# (``isdisjoint``): a street needs one, and the comparison costs less than reading each word.
# A capitalised type ("Main Street") is the English patterns' work, not read here.
STREET_END_FORMS = frozenset(
    form + end for word in STREET_END_WORDS
    for form in (word, word.upper(), *((word.title(),) if word in ROUTE_WORDS else ()))
    for end in ("", ".", ",", ".,"))


def _word(token: str) -> str:
    return token.rstrip(".,;:").casefold()


def _tokens(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """The runs of non-spaces of ``text[start:end]``, with their offsets."""
    out: list[tuple[int, str]] = []
    at = start
    for token in text[start:end].split():
        at = text.index(token, at)
        out.append((at, token))
        at += len(token)
    return out


def _house_number(tokens: Sequence[tuple[int, str]], index: int) -> bool:
    """Whether the ``index``-th token is a house number: digits (a letter, a range), not a
    flat's or a road's number, not a year after "in", a word after it."""
    token = tokens[index][1].rstrip(",")
    if index + 1 >= len(tokens) or not (HOUSE_NUMBER.fullmatch(token) or (
            token.casefold() in NUMBER_WORDS and token[:1].isupper())):
        return False
    if index > 0:
        before = _word(tokens[index - 1][1]).lstrip("#") or "#"
        if before in UNIT_WORDS or (YEAR.fullmatch(token) and before in YEAR_WORDS):
            return False
        if tokens[index - 1][1].endswith("#"):
            return False
    after = tokens[index + 1][1]
    return after[:1].isalpha() or (after[:1].isdigit() and _word(after)[-2:] in
                                   ("st", "nd", "rd", "th"))


def _sentence_end(token: str) -> bool:
    """A word that ends a sentence before the address: "Friday.", "below:", "it!"."""
    if token[-1:] in "!?:;":
        return True
    if not token.endswith(".") or not token[:-1].isalpha():
        return False
    word = token[:-1].casefold()
    return len(word) >= 5 and word not in CASELESS_TYPES and word not in DIRECTIONS \
        and word not in STATE_NAMES


def state_zip_addresses(text: str, numbers: Sequence[regex.Match[str]]
                        ) -> list[tuple[int, int]]:
    """Addresses closed by a state and a ZIP code: from the first house number met reading
    back from the state (up to a sentence's end, a preposition or ``WORDS_BEFORE_STATE``
    words) to the ZIP."""
    spans: list[tuple[int, int]] = []
    for digits in numbers:
        at, end = digits.start(), digits.end()
        if end - at != 5 or at < 4 or text[at - 1] not in " \t\n," or (
                end < len(text) and text[end].isdigit()):
            continue
        before = text[max(0, at - 16):at].split()
        if not before or _word(before[-1]).replace(".", "") not in STATE_LAST_WORDS:
            continue  # most five-digit numbers: no state before them
        zip_end = ZIP_AFTER.match(text, end)
        if zip_end is None:
            continue
        low = max(0, at - CHARACTERS_BEFORE_STATE)
        tokens = _tokens(text, low, at)
        if low > 0 and tokens:
            tokens = tokens[1:]  # the first may be cut
        state = _state_before(tokens)
        if state is None:
            continue
        first = None
        for count, index in enumerate(range(state - 1, -1, -1)):
            token = tokens[index][1]
            word = _word(token)
            if word in STOP_WORDS or (index < state - 1 and _sentence_end(token)) \
                    or count >= WORDS_BEFORE_STATE:
                break
            if _house_number(tokens, index):
                first = index
        if first is None or first == state - 1:
            continue
        spans.append((tokens[first][0], zip_end.end()))
    return spans


def _state_before(tokens: Sequence[tuple[int, str]]) -> int | None:
    """The index of the state's first word when the tokens end with a state's code or name
    (its last word may hold a comma: "IL,"), else None."""
    if not tokens:
        return None
    last = tokens[-1][1].rstrip(",")
    code = last.replace(".", "")
    if len(code) == 2 and code.isalpha() and code.casefold() in STATE_CODES and (
            code.isupper() or (code.islower() and code not in WORD_CODES)):
        return len(tokens) - 1
    for count in range(1, STATE_NAME_WORDS + 1):
        if count > len(tokens):
            break
        words = [t.rstrip(",").casefold() for _, t in tokens[-count:]]
        if " ".join(words) in STATE_NAMES:
            return len(tokens) - count
    return None


def caseless_streets(text: str, numbers: Sequence[regex.Match[str]]) -> list[tuple[int, int]]:
    """Streets after a house number whose type is written in capitals or in lower case, and
    numbered roads: from the number to the type (or the road's number) and a direction after
    it. The words after a number are split once (``str.split``, at most ``WORDS_AFTER_NUMBER``
    + 3) and looked up in sets; offsets are computed only for a street found."""
    spans: list[tuple[int, int]] = []
    reach = 0
    for digits in numbers:
        at = digits.start()
        if at < reach or (at > 0 and not text[at - 1].isspace() and text[at - 1] not in "(,"):
            continue
        # a word after the number (a letter glued to it, "12B", "12-14"): most figures of a
        # table or a date are rejected here, before any slicing
        after = text[digits.end():digits.end() + 2]
        if not after or not (after[:1].isalpha() or after[:1] == "-" or (
                after[:1] in " \t" and after[1:].isalpha()) or (
                after[:1] in " \t" and after[1:].isdigit() and _ordinal_after(text, digits.end()))):
            continue
        chunk = text[at:at + LINE_AFTER_NUMBER]
        line_end = chunk.find("\n")
        if line_end >= 0:
            chunk = chunk[:line_end]
        words = chunk.split(None, WORDS_AFTER_NUMBER + 3)
        if len(words) < 3:
            continue
        if words[1] == ordinal_suffix(digits.group()):
            continue  # "the 3 rd time", "3 rd 1": an ordinal written apart, no road
        lettered = words[1].rstrip(".") in LETTER_DIRECTIONS and words[2][:1].isupper()
        if not lettered and STREET_END_FORMS.isdisjoint(words[1:]):
            continue  # most numbers: no type nor road word after them
        tokens = _tokens(text, at, at + len(chunk))
        if not _house_number(tokens, 0):
            continue
        if at > 0:
            before = text[max(0, at - 12):at].split()
            if before and (_word(before[-1]).lstrip("#") or "#") in UNIT_WORDS:
                continue
            if before and YEAR.fullmatch(tokens[0][1].rstrip(",")) \
                    and _word(before[-1]) in YEAR_WORDS:
                continue
        last = _street_end(tokens)
        if last is None and lettered and _opens_lettered(text, at):
            last = _lettered_end(tokens)
        if last is None:
            continue
        while last + 1 < len(tokens) and _word(tokens[last + 1][1]).replace(".", "") \
                in DIRECTIONS and not tokens[last][1].endswith(","):
            last += 1
        start, token = tokens[last]
        end = start + len(token.rstrip(",;:"))
        spans.append((at, end))
        reach = end
    return spans


def _street_end(tokens: Sequence[tuple[int, str]]) -> int | None:
    """The index of the last word of a street after the house number ``tokens[0]``: a type
    written in capitals or lower case after a name, or a numbered road; None when there is
    none."""
    names = 0
    lower = upper = title = False
    for index in range(1, min(len(tokens), WORDS_AFTER_NUMBER + 2)):
        token = tokens[index][1]
        bare = token.rstrip(".,")
        word = bare.casefold()
        if word in ROUTE_WORDS and index + 1 < len(tokens):
            road = _route_end(tokens, index)
            if road is not None:
                return road
        if names and word in CASELESS_TYPES and (bare.isupper() or bare.islower()) \
                and not (bare.islower() and word in LOWER_CASE_LEFT_OUT):
            # the name written as the type is: "59 Inzamamul Haq st Germon" is a scorecard
            if not title and ((bare.isupper() and not lower) or (bare.islower() and not upper)):
                return index
            return None
        if not bare or (token[-1:] in ",;:" and index < len(tokens) - 1 and not names):
            return None
        if bare.isalpha():
            if word in DIRECTIONS and not names:
                continue
            if bare.islower():
                if word in PROSE_WORDS:
                    return None
                lower = True
            elif bare.isupper():
                upper = True
            elif bare[:1].isupper():
                title = True
            else:
                return None
            names += 1
        elif bare[:1].isdigit() and word[-2:] in ("st", "nd", "rd", "th") \
                and word[:-2].isdigit():
            names += 1  # "184TH ST", "6th ave"
        else:
            return None
        if token.endswith(","):
            return None
    return None


def _opens_lettered(text: str, at: int) -> bool:
    """Whether the number at ``at`` can open a street written with a direction's letter: at
    the start of a line or after a lower-case word or a punctuation mark, not after a name or
    a figure, as in a scorecard ("b Saqlain 37 S. Fleming") or capitals ("IS 1 S IN")."""
    before = text[max(0, at - 24):at].split()
    if not before or text[at - 1] == "\n":
        return True
    word = before[-1]
    return not word[-1:].isalnum() or word.islower()


def ordinal_suffix(number: str) -> str:
    """The English ordinal's suffix of a number written in digits ("3" -> "rd", "12" -> "th")."""
    if number[-2:-1] == "1":
        return "th"
    return {"1": "st", "2": "nd", "3": "rd"}.get(number[-1:], "th")


def _ordinal_after(text: str, end: int) -> bool:
    """Whether the word after the number ending at ``end`` is an ordinal ("6th", "184TH")."""
    word = text[end + 1:end + 9].split(None, 1)[0].rstrip(".,")
    return word[-2:].casefold() in ("st", "nd", "rd", "th") and word[:-2].isdigit()


def _lettered_end(tokens: Sequence[tuple[int, str]]) -> int | None:
    """The last word of a street written as a house number, a direction's letter and a
    capitalised name, as Chicago's grid writes them ("7257 S. State", "1020 W BRYN MAWR"):
    up to ``LETTERED_NAME_WORDS`` capitalised words, up to a comma or another word."""
    last = None
    for index in range(2, min(len(tokens), 2 + LETTERED_NAME_WORDS)):
        token = tokens[index][1]
        bare = token.rstrip(".,")
        if not bare.isalpha() or not bare[:1].isupper() or _word(token) in UNIT_WORDS:
            break
        last = index
        if token.endswith(","):
            break
    return last


def _route_end(tokens: Sequence[tuple[int, str]], index: int) -> int | None:
    """The index of a numbered road's number when the words from ``index`` are one ("Highway
    763", "County Road 2100 N", "US Hwy 19"), else None."""
    last = None
    for at in range(index, min(len(tokens), index + 4)):
        token = tokens[at][1]
        word = _word(token)
        if word in ROUTE_WORDS:
            last = word
            if token.endswith(","):
                return None
            continue
        if last in ROUTE_LAST and ROUTE_NUMBER.fullmatch(token.rstrip(".,")):
            return at
        if word.startswith("i-") and ROUTE_NUMBER.fullmatch(token.rstrip(".,")):
            return at
        return None
    return None
