"""PERSON findings that are no person, doubted before a name found is extended (issue 14,
branch ``enprec``: precision and over-redaction in English).

English detection reported a person in a third of the CoNLL-2003 prompts that hold none, and
most of those persons were the same few shapes (docs/benchmarks.md, "English persons'
precision"), none of which a person's name takes:

- **a table or a headline in capitals** (``table_capitals``): spaCy's NER, trained on text in
  mixed case, reads runs of capitals as names ("DIVISION W L T", "GB WESTERN CONFERENCE",
  "BALTIMORE AT" in a results table's header). A span written in capitals, with three words
  in capitals either side of it on its line, is doubted when it holds what no name holds in
  capitals:
  two single letters in a row ("W L"), a word without a vowel ("GB", "PCT": an abbreviation),
  or a function word ("AT", "OF"). "JOHN SMITH", "CAMPESE" and "JOHN F. KENNEDY" keep their
  reading: no such word. The span is judged as NER gave it and again once widened to the
  capitalised words beside it (NER's "DIVISION" of "DIVISION W L T").
- **a word between numbers** (``between_numbers``): a one-word person with a number right
  before it and right after it is a row of a table of figures ("1897.1 Rye 44.6", "... 34
  Hamilton 15 9 4 2"): a commodity, a team. A number followed by a period or a parenthesis
  before it is a rank ("3. Sashurin 68"), and one after a hyphen or a slash is odds or a score
  ("Redondo 9-1 Giovanni 14-1"): those keep the reading, as ranked lists and odds name persons.
- **a nationality, a faith or a title alone** (``demonyms_and_titles``): a span each word of
  which is a nationality or a faith ("German", "Argentine", "Catholic", "Moslem") or a title
  or a role ("Pope", "President", "Italian President"): a person is named by a name, not by
  these; "President Chirac" holds a name and keeps its reading, and so does such a word after
  a civility title ("Mrs. English", "Dr. Pope": a surname). Words that are also common given
  names or surnames alone ("Christian", "Roman", "Finn", "King", "Major") are not listed.
  Where nationalities open a longer span, the span starts after them (``name_start``: NER's
  "Argentine Gabriel Batistuta" would make every later "Argentine" a mention of the person);
  an office before a name stays in it ("Pope Gregory", "Tsar Nicholas").

A doubted finding is not dropped: its score becomes ``DOUBTED`` (0.45), below the 0.5 the
shipped rules redact from by default (so it is not replaced and no later mention, widening or
capitals rule builds on it) and above the 0.4 of the stricter health and education rules,
which still replace it. Findings scored above NER (0.86 and more: a sign of a name, "my name
is", a title before it) are never doubted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from streams.adapters.recognizers.base import checkpoint, fold
from streams.adapters.recognizers.given_names import function_words
from streams.adapters.recognizers.repeated_names import TITLE_BEFORE, TITLE_WORDS
from streams.core.model import Finding

DOUBTED = 0.45
NOT_DOUBTED_FROM = 0.86  # a sign of a name (name_shapes, line_openers, speakers): kept
DOUBTED_RECOGNIZER_SUFFIX = "/doubted"
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
VOWELS = frozenset("aeiouyàáâäãåæèéêëìíîïòóôöõøœùúûüýÿ")
# the words either side of a span in capitals that must be in capitals too (a table's header
# or a headline): a corpus's sentences, like pasted tables, do not always end a header's line
NEIGHBOURS = 3
# how far those words are looked for (three words of a header are shorter)
SENTENCE_REACH = 120
NUMBER_BEFORE = re.compile(r"(?<![\w.,/-])\d+(?:[.,]\d+)*[ \u00a0]+$")
NUMBER_AFTER = re.compile(r"[ \u00a0]+\d")
# English nationalities, peoples and faiths, as adjectives or nouns (a general word list, not
# taken from a corpus)
DEMONYMS = frozenset("""afghan albanian algerian american andorran angolan argentine
    argentinian armenian australian austrian azerbaijani azeri bahamian bahraini bangladeshi
    barbadian belarusian belarussian belgian belizean beninese bhutanese bolivian bosnian
    botswanan brazilian british briton breton bruneian bulgarian burkinabe burmese burundian
    cambodian cameroonian canadian catalan chadian chilean chinese colombian congolese
    croat croatian cuban cypriot czech danish djiboutian dominican dutch
    ecuadorian egyptian emirati english eritrean estonian ethiopian european fijian filipino
    finnish flemish french gabonese gambian georgian german ghanaian greek greenlander
    greenlandic grenadian guatemalan guinean guyanese haitian honduran hungarian icelandic
    icelander indian indonesian iranian iraqi irish israeli italian ivorian jamaican japanese
    jordanian kazakh kenyan korean kosovar kuwaiti kurdish kyrgyz lao laotian latvian lebanese
    liberian libyan lithuanian luxembourgish macedonian malagasy malawian malaysian maldivian
    malian maltese mauritanian mauritian mexican moldovan monegasque mongolian montenegrin
    moroccan mozambican namibian nepalese nepali nicaraguan nigerian nigerien
    norwegian omani pakistani palestinian panamanian paraguayan persian peruvian polish
    portuguese qatari romanian russian rwandan salvadoran samoan saudi scottish scots senegalese
    serbian serb singaporean slovak slovakian slovenian slovene somali soviet spanish
    sudanese surinamese swazi swedish swede swiss syrian taiwanese tajik tanzanian thai
    tibetan togolese tongan trinidadian tunisian turkish turkmen ugandan ukrainian uruguayan
    uzbek venezuelan vietnamese yemeni yugoslav zambian zimbabwean african asian arab
    arabian caribbean latin latino hispanic nordic scandinavian balkan baltic slavic basque
    corsican sicilian bavarian prussian texan californian byzantine ottoman
    catholic protestant orthodox anglican lutheran methodist baptist evangelical
    muslim moslem islamic jewish hindu sikh buddhist shiite shia sunni nazi""".split())  # noqa: SIM905
# titles and roles that name an office, not its holder
OFFICES = frozenset("""president vice pope emperor empress sultan
    emir sheikh tsar czar pharaoh premier prime minister secretary senator congressman
    congresswoman ambassador consul admiral colonel lieutenant sergeant commander chairman
    chairwoman chairperson director archbishop rabbi imam reverend prosecutor attorney
    commissioner deputy spokesman spokeswoman spokesperson cinematographer""".split())  # noqa: SIM905


LISTED = DEMONYMS | OFFICES
BLANKS = (" ", "\u00a0")


def doubted(texts: Sequence[str], findings: Sequence[Finding],
            language: str | None = None) -> list[Finding]:
    """``findings`` (in ``texts``, a request's messages) with each PERSON finding that one of
    this module's rules doubts scored ``DOUBTED``; every other finding unchanged, in order.
    English only: the rules were measured on English text, and the word lists are English."""
    if language != "en":
        return list(findings)
    out: list[Finding] = []
    for f in findings:
        if f.entity_type != "PERSON" or f.score < 0.5 or f.score >= NOT_DOUBTED_FROM:
            out.append(f)
            continue
        checkpoint()  # the steps' CPU limit, in a thread (``RegexGuard.bounded``)
        text = texts[f.message_index]
        # each rule's test is run only where a cheap look says it may hold (a span in
        # capitals, a blank after it, a listed first word): most persons are none of these
        first = WORD.search(text, f.start, f.end)
        listed = first is not None and first.group().casefold() in LISTED
        if (text[f.start:f.end].isupper() and table_capitals(text, f.start, f.end, language)) \
                or (text.startswith(BLANKS, f.end) and between_numbers(text, f.start, f.end)) \
                or (listed and demonyms_and_titles(text[f.start:f.end])
                    and not _after_a_civility_title(text, f.start)):
            out.append(Finding(f.message_index, f.entity_type, f.start, f.end, DOUBTED,
                               f.recognizer + DOUBTED_RECOGNIZER_SUFFIX))
            continue
        start = name_start(text, f.start, f.end) if first is not None \
            and first.group().casefold() in DEMONYMS else f.start
        out.append(f if start == f.start else Finding(
            f.message_index, f.entity_type, start, f.end, f.score, f.recognizer))
    return out


def table_capitals(text: str, start: int, end: int, language: str | None = None) -> bool:
    """``text[start:end]`` is in capitals among words in capitals (``_in_capitals``) and holds
    two single letters in a row, a word without a vowel, or a function word."""
    span = text[start:end]
    if any(c.islower() for c in span):
        return False
    found = list(WORD.finditer(text, start, end))
    if not found:
        return False
    words = [m.group() for m in found]
    function = function_words(language)
    # a single letter without the period of an initial ("W L T", not "JOHN F. KENNEDY")
    single = [len(m.group()) == 1 and not text.startswith(".", m.end()) for m in found]
    if not (any(a and b for a, b in pairwise(single))
            or any(len(w) > 1 and not any(c in VOWELS for c in w.casefold()) for w in words)
            or any(len(w) > 1 and w.casefold() in function for w in words)):
        return False
    return _in_capitals(text, start, end)


def _in_capitals(text: str, start: int, end: int) -> bool:
    """Whether the ``NEIGHBOURS`` words either side of ``text[start:end]``, on its line, have no
    lower-case letter: a table's header or a headline, not a sentence that writes one name in
    capitals ("Well, THANKS OBAMA")."""
    line_start = text.rfind("\n", max(0, start - SENTENCE_REACH), start) + 1
    before = text[max(line_start, start - SENTENCE_REACH):start].split()[-NEIGHBOURS:]
    line_end = text.find("\n", end, end + SENTENCE_REACH)
    after = text[end:line_end if line_end >= 0 else end + SENTENCE_REACH].split()[:NEIGHBOURS]
    return not any(c.islower() for word in (*before, *after) for c in word)


def between_numbers(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` is one word with a number right before it (not a rank: "3.",
    "3)") and one right after it: a row of a table of figures."""
    if len(WORD.findall(text, start, end)) != 1:
        return False
    return NUMBER_BEFORE.search(text, max(0, start - 24), start) is not None \
        and NUMBER_AFTER.match(text, end) is not None


def name_start(text: str, start: int, end: int) -> int:
    """Where the name of the PERSON span ``text[start:end]`` starts: after the nationalities
    that open it ("Argentine Gabriel Batistuta", "Italian President Oscar Scalfaro" ->
    "President Oscar Scalfaro"), which would otherwise be looked for again alone as the
    person's name. An office stays in the span: "Pope", "Tsar", "Sultan" before a name are
    part of how the person is named (and, left beside a placeholder, say who it is)."""
    for word in WORD.finditer(text, start, end):
        if word.group().casefold() not in DEMONYMS:
            return word.start()
    return start


def _after_a_civility_title(text: str, start: int) -> bool:
    before = TITLE_BEFORE.search(text, max(0, start - 14), start)
    return before is not None and fold(before.group(1)) in TITLE_WORDS


def demonyms_and_titles(span: str) -> bool:
    """Each word of ``span`` is a nationality, a people, a faith, a title or a role."""
    words = [w.casefold() for w in WORD.findall(span)]
    if words and words[-1].endswith(("'s", "’s")):
        words[-1] = words[-1][:-2]
    return bool(words) and all(w in DEMONYMS or w in OFFICES for w in words)
