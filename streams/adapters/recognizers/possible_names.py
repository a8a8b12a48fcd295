"""Possible names: PERSON below the default ``min_score``, for a policy to take or leave.

Seven passes of rules fitted on read loads of ``douane bench planted`` barely carried over to
unseen ones (docs/benchmarks.md, "Fewer planted names, seventh pass"): what leaks is one or two
of each shape - a given name or a surname alone, an initial, surname first, lower-case chat -
a different word each time. Each is a word that *may* be a name and, far more often than the
words the sure rules accept, may not. This module reports such words as ``PERSON`` at a score
below 0.5, the built-in ``min_score``: a policy that keeps 0.5 sees nothing change; a policy
that sets ``PERSON: {min_score: 0.35}`` has them redacted and pays for it in words replaced
that were no name (measured in docs/benchmarks.md, "Possible names").

Two tiers, so that a policy can take the surer half only:

- ``SCORE_LIKELY`` (0.38): the shape says a person - a capitalised word no dictionary holds in
  the middle of a sentence, a surname in capitals beside a name word ("NKUNDLANDE Zenzile"),
  an initial then a known name or unknown word, however common the word ("B. Le", "Đ. Mai").
- ``SCORE_POSSIBLE`` (0.35): only the word says it - a known given name or surname capitalised
  mid-sentence even when it is also a common word ("and Rose will"), a capitalised word the
  lexicons do not know mid-sentence, a word no dictionary holds or a rare known name opening a
  sentence or a line ("Vyas (mission locale)"), and in a text written without capitals a
  known name rare as a word or a word no dictionary holds.

A word found by a rule is a possible name wherever else the same text writes it (a name opening
one sentence was mid-sentence in another). Both scores are below the 0.4 the shipped health and
education rules redact from, so that no shipped policy changes by this module alone. Nothing
here feeds the passes that extend sure names (``repeated_names.py`` asks for 0.5 or more).

Each rule is a function of its own: they are meant to be dropped or re-tiered one by one from
the figures, and they are tested one by one (tests/adapters/test_possible_names.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.person_filters import OPENERS
from streams.adapters.recognizers.base import (
    IS_SCORE_ENHANCED_BY_CONTEXT_KEY,
    RECOGNIZER_IDENTIFIER_KEY,
    RECOGNIZER_NAME_KEY,
    REGEX_TIMEOUT_S,
    PersonRecognizer,
    fold,
)
from streams.adapters.recognizers.given_names import (
    CALENDAR,
    NOT_A_SURNAME,
    TITLES,
    _pronounceable,
    common_words,
    function_words,
    lexicon_in,
    uncapitalised,
    unknown_word,
)
from streams.core.entities import POSSIBLE_NAME_SCORES

# Below the built-in min_score (0.5) and below the 0.4 of the shipped health and education
# rules: a policy opts in by naming one of these.
SCORE_POSSIBLE, SCORE_LIKELY = POSSIBLE_NAME_SCORES
# A known name capitalised mid-sentence is a possible name when no more common than this as a
# word of the text's language: "Grace", "Rose", "Paris" (4.6-4.8 in English) are; "Will",
# "May", "The" (6.0-7.7) are words first. Chosen as the given-name pass's own cut-off
# (GIVEN_NAME_MAX_WORD_FREQUENCY), not from the loads.
MID_SENTENCE_NAME_MAX_WORD_FREQUENCY = 5.0
# Opening a sentence, where every word is capitalised, only a name rare as a word: the given-name
# pass's RARE_HERE_MAX_WORD_FREQUENCY.
OPENING_NAME_MAX_WORD_FREQUENCY = 4.0
# In a text without capitals: as for an opening word.
LOWER_CASE_NAME_MAX_WORD_FREQUENCY = 4.0
MIN_LETTERS = 2

WORD = regex.compile(r"[\p{L}\p{M}]+(?:['’ʼ-][\p{L}\p{M}]+)*")
# a capitalised word (one capital, then lower case; "O'Connor", "McDonald", "Jean-Pierre")
CAPITALISED = regex.compile(r"\p{Lu}(?:['’]\p{L})?[\p{Ll}\p{M}]+(?:\p{Lu}[\p{Ll}\p{M}]+)?"
                            r"(?:-\p{Lu}?[\p{Ll}\p{M}]+)*")
CAPITALS = regex.compile(r"\p{Lu}(?:['’]?\p{Lu}){2,}(?:-\p{Lu}{2,})*")
LOWER = regex.compile(r"\p{Ll}[\p{Ll}\p{M}]*(?:['’ʼ-]\p{Ll}[\p{Ll}\p{M}]*)*")
# what may stand between the end of a sentence (or a line) and its first word: list markers,
# quotes, brackets
OPENING_FILLER = frozenset(" \t\u00a0-–—•*\"'«“‘([>#")
SENTENCE_ENDS = frozenset(".!?:;\n")
# Words before a capitalised word that make it a place, not a person ("in Springfield", "à
# Villeurbanne"): a name after them is left to NER and the sure rules.
PLACE_PREPOSITIONS = frozenset("""in at near into à au aux en dans vers près hacia cerca
    """.split())  # noqa: SIM905 - a word list reads better as text
# Joiners inside an institution's or a place's name ("Bank of England", "Ville de Lyon")
INSIDE_INSTITUTIONS = frozenset(("of", "de", "du", "des", "del", "la", "le", "the", "for",
                                 "and", "et", "y"))
# A line whose words are mostly capitalised is a heading or a title ("Annual General Meeting
# Minutes"): its common words are not possible names there.
HEADING_SHARE = 0.7
# A name takes no article: "the Bible", "la Poste", "el Greco" are things or nicknames
DETERMINERS = frozenset("""the a an this these those le la les l' un une ce cette ces
    du des au aux el los las un una del al""".split())  # noqa: SIM905
HEADING_MIN_WORDS = 3


class Word(NamedTuple):
    start: int
    end: int
    text: str
    opening: bool  # first of its sentence or line
    heading: bool  # on a line of mostly capitalised words
    attached: bool  # part of an address, a file name, a code ("UtaKortig@...", "Kipketer1")


Rule = Callable[["PossibleNames", str, Sequence[Word]], list[tuple[int, int]]]


class PossibleNames:
    """The rules, with the lexicons of one language (see the module's docstring)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.given_here = lexicon_in("given_names", language)
        self.surnames_here = lexicon_in("surnames", language)
        self.function = function_words(language)
        self.common = common_words()

    # -- the words themselves ---------------------------------------------------------------

    def frequency_as_name(self, word: str) -> float | None:
        """How common ``word`` (as written, or capitalised) is as a word of this language, if
        the lexicons know it as a given name or a surname; None if they do not."""
        key = word if word[:1].isupper() else word[:1].upper() + word[1:]
        found = [f for f in (self.given_here.get(key), self.surnames_here.get(key))
                 if f is not None]
        return min(found) if found else None

    def unknown(self, word: str) -> bool:
        """A word no dictionary holds (``given_names.unknown_word``), written with a vowel
        that pass does not count too ("Qəşəm")."""
        return unknown_word(word) or (
            len(word) >= 3 and not _pronounceable(word) and pronounceable(word)
            and word.casefold() not in self.common and word.casefold() not in self.function)

    def never_a_name(self, word: str) -> bool:
        """A day or a month, a title, an instruction or greeting, an institution word, an
        abbreviation: never a possible name."""
        folded, lower = fold(word), word.casefold()
        return (folded in CALENDAR or lower in TITLES or folded in OPENERS
                or lower in NOT_A_SURNAME or len(word) < MIN_LETTERS
                or not pronounceable(word))

    @staticmethod
    def after_a_determiner(text: str, words: Sequence[Word], i: int) -> bool:
        """Whether an article or a demonstrative stands right before ``words[i]``."""
        if i == 0:
            return False
        before = words[i - 1]
        return before.text.casefold() in DETERMINERS \
            and text[before.end:words[i].start] in (" ", "\u00a0")

    def in_a_title(self, text: str, words: Sequence[Word], i: int) -> bool:
        """Whether a capitalised common word that no lexicon knows as a name rare as a word
        stands right beside ``words[i]`` (not opening its sentence): a title or a name of a
        thing ("Lombardi Award", "Cautionary Tales", "Carry Me Back To Canada"); a person's
        name stands beside names."""
        for j in (i - 1, i + 1):
            if not 0 <= j < len(words):
                continue
            other = words[j]
            first, last = (other, words[i]) if j < i else (words[i], other)
            if text[first.end:last.start] not in (" ", "\u00a0"):
                continue
            lower = other.text.casefold()
            frequency = self.frequency_as_name(other.text)
            if not other.opening and other.text[:1].isupper() and lower in self.common \
                    and (frequency is None or frequency >= OPENING_NAME_MAX_WORD_FREQUENCY) \
                    and lower not in TITLES and fold(other.text) not in OPENERS:
                return True
        return False

    def in_institution(self, text: str, words: Sequence[Word], i: int) -> bool:
        """Whether ``words[i]`` is part of an institution's or a place's name: after a place
        preposition ("in Springfield"), or beside a capitalised institution word, directly or
        across a joiner ("Okonjo Foundation", "University of Zenica", "Rue de Vyas")."""
        word = words[i]
        if i > 0 and words[i - 1].text.casefold() in PLACE_PREPOSITIONS \
                and text[words[i - 1].end:word.start].strip() == "":
            return True
        for j, between in ((i - 1, None), (i + 1, None), (i - 2, i - 1), (i + 2, i + 1)):
            if not 0 <= j < len(words):
                continue
            if between is not None and words[between].text.casefold() not in INSIDE_INSTITUTIONS:
                continue
            other = words[j]
            first, last = (other, word) if j < i else (word, other)
            if "\n" in text[first.end:last.start]:
                continue
            if other.text[:1].isupper() and other.text.casefold() in NOT_A_SURNAME:
                return True
        return False

    # -- the rules ----------------------------------------------------------------------------

    def mid_sentence_unknown(self, text: str, words: Sequence[Word]) -> list[tuple[int, int]]:
        """LIKELY: a capitalised word no dictionary holds, not opening its sentence: "told
        Qafurbəyli", "Varvara et Zenzile"."""
        return [(w.start, w.end) for i, w in enumerate(words)
                if not w.opening and w.text[0].isupper() and CAPITALISED.fullmatch(w.text)
                and self.unknown(w.text) and not self.never_a_name(w.text)
                and not self.in_a_title(text, words, i)
                and not self.in_institution(text, words, i)]

    def capitals_beside_name(self, text: str, words: Sequence[Word]) -> list[tuple[int, int]]:
        """LIKELY: a surname in capitals no dictionary holds (or a known surname) beside a
        capitalised name word, either side: "NKUNDLANDE Zenzile", "Zenzile NKUNDLANDE". Not in
        a run of capitals ("CATTLE CALVES HOGS"), nor an acronym the dictionaries hold."""
        found = []
        for i, w in enumerate(words):
            if not w.text[0].isupper() or not CAPITALS.fullmatch(w.text) \
                    or not self._surname_in_capitals(w.text):
                continue
            for j in (i - 1, i + 1):
                if not 0 <= j < len(words):
                    continue
                other = words[j]
                gap = text[min(w.end, other.end):max(w.start, other.start)]
                if gap not in (" ", "\u00a0") or not CAPITALISED.fullmatch(other.text):
                    continue
                beyond, before = j + (j - i), i - (j - i)
                if any(0 <= k < len(words) and words[k].text.isupper()
                       and "\n" not in text[min(words[k].end, w.end):max(words[k].start, w.start)]
                       for k in (beyond, before)):
                    continue  # in a run of capitals ("CAN I SPEAK TO A REAL PERSON")
                if self.never_a_name(other.text) or other.text.casefold() in self.function:
                    continue
                found.append((min(w.start, other.start), max(w.end, other.end)))
        return found

    def _surname_in_capitals(self, word: str) -> bool:
        """No dictionary holds it, or it is a known surname rare as a word ("CAN" is not)."""
        name = word[:1] + word[1:].lower()
        frequency = self.surnames_here.get(name)
        return self.unknown(name) or (frequency is not None
                                      and frequency < OPENING_NAME_MAX_WORD_FREQUENCY)

    def initial_then_name(self, text: str, words: Sequence[Word]) -> list[tuple[int, int]]:
        """LIKELY: one capital and a dot, then a known given name or surname however common
        as a word, even a function word of another language, or a word no dictionary holds:
        "B. Le", "Đ. Mai", "X. Le" in English. Not after another initial's dot or a
        capitalised word ("U.S. Army", "Appendix B. The", "Plan B. We")."""
        found = []
        for i, w in enumerate(words):
            if len(w.text) != 1 or not w.text.isupper() or i + 1 >= len(words):
                continue
            if text[w.end:w.end + 1] != "." or (w.start > 0 and (
                    text[w.start - 1].isalnum() or text[w.start - 1] in ".'’-")):
                continue
            previous = words[i - 1] if i > 0 else None
            if previous is not None and text[previous.end:w.start].strip() == "" \
                    and previous.text[:1].isupper() and previous.text.casefold() not in TITLES:
                continue  # "Appendix B. The", "Plan B. We": a label, not an initial
            name = words[i + 1]
            if text[w.end:name.start] not in (". ", ".\u00a0", ".") \
                    or not CAPITALISED.fullmatch(name.text) or self.never_a_name(name.text) \
                    or name.text.casefold() in self.function:
                continue  # a function word of the text's own language opens a sentence
            if self.frequency_as_name(name.text) is not None or self.unknown(name.text):
                found.append((w.start, name.end))
        return found

    def mid_sentence_known_name(self, text: str,
                                words: Sequence[Word]) -> list[tuple[int, int]]:
        """POSSIBLE: a known given name or surname capitalised in the middle of a sentence,
        even when also a common word, up to ``MID_SENTENCE_NAME_MAX_WORD_FREQUENCY``: "and
        Rose will come". Not a function word of the language, not after an article, not on a
        heading line, not in an institution's or a place's name."""
        found = []
        for i, w in enumerate(words):
            if w.opening or w.heading or not w.text[0].isupper() \
                    or not CAPITALISED.fullmatch(w.text):
                continue
            frequency = self.frequency_as_name(w.text)
            if frequency is None or frequency >= MID_SENTENCE_NAME_MAX_WORD_FREQUENCY:
                continue
            if w.text.casefold() in self.function or self.never_a_name(w.text) \
                    or self.after_a_determiner(text, words, i) \
                    or self.in_a_title(text, words, i) \
                    or self.in_institution(text, words, i):
                continue
            found.append((w.start, w.end))
        return found

    def opening_name(self, text: str, words: Sequence[Word]) -> list[tuple[int, int]]:
        """POSSIBLE: a capitalised word opening a sentence or a line that no dictionary holds,
        or a known name rare as a word (``OPENING_NAME_MAX_WORD_FREQUENCY``), when no
        capitalised word follows it (a full name is the sure rules' and NER's): "Vyas (mission
        locale) à recontacter", "Aurélie ouvre la séance"."""
        found = []
        for i, w in enumerate(words):
            if not w.opening or not w.text[0].isupper() or not CAPITALISED.fullmatch(w.text) \
                    or self.never_a_name(w.text):
                continue
            if w.text.casefold() in self.function:
                continue
            if i + 1 < len(words) and words[i + 1].text[:1].isupper() \
                    and "\n" not in text[w.end:words[i + 1].start]:
                continue
            frequency = self.frequency_as_name(w.text)
            if self.unknown(w.text) or (frequency is not None
                                        and frequency < OPENING_NAME_MAX_WORD_FREQUENCY):
                found.append((w.start, w.end))
        return found

    def lower_case_name(self, text: str, words: Sequence[Word]) -> list[tuple[int, int]]:
        """POSSIBLE: in a text written without capitals (chat), a lower-case word that is a
        known name rare as a word (``LOWER_CASE_NAME_MAX_WORD_FREQUENCY``) or that no
        dictionary holds: "popescu", "qafurbəyli". Not a function word, nor a word of three
        letters or fewer no lexicon knows ("tbh", "stp")."""
        if not uncapitalised(text):
            return []
        found = []
        for w in words:
            if not LOWER.fullmatch(w.text) or w.text in self.function \
                    or self.never_a_name(w.text):
                continue
            if w.start > 0 and text[w.start - 1] in "@./_":
                continue  # a part of an address or a file name
            if w.end < len(text) and text[w.end] in "@_/":
                continue
            frequency = self.frequency_as_name(w.text)
            if (frequency is not None and frequency < LOWER_CASE_NAME_MAX_WORD_FREQUENCY) \
                    or (len(w.text) > 3 and self.unknown(w.text)):
                found.append((w.start, w.end))
        return found


# vowels the given-name pass's list does not spell out: the schwa of Azerbaijani and of
# romanisations ("Qəşəm"), the open vowels of African alphabets
MORE_VOWELS = frozenset("əɛɔʊɪ")


def pronounceable(word: str) -> bool:
    """Two letters or more with a vowel (``given_names._pronounceable``), the schwa and open
    vowels counted."""
    return _pronounceable(word) or (len(word) >= 2
                                    and any(c in MORE_VOWELS for c in word.casefold()))


RULES: tuple[tuple[str, float], ...] = (
    ("mid_sentence_unknown", SCORE_LIKELY),
    ("capitals_beside_name", SCORE_LIKELY),
    ("initial_then_name", SCORE_LIKELY),
    ("mid_sentence_known_name", SCORE_POSSIBLE),
    ("opening_name", SCORE_POSSIBLE),
    ("lower_case_name", SCORE_POSSIBLE),
)


def words_of(text: str, timeout_s: float | None = REGEX_TIMEOUT_S,
             lower_case: bool = False) -> list[Word]:
    """The words of ``text``, each marked as opening its sentence or line and as standing on a
    line of mostly capitalised words. Whether a word opens its sentence is worked out for
    capitalised words only (and for every word with ``lower_case``): no rule asks it of
    another, and most words of a prompt are lower case (this is most of the module's CPU)."""
    words: list[Word] = []
    line_first = 0  # index of the line's first word
    capitalised = 0  # capitalised words on the line
    previous_end = 0

    def close_line() -> None:
        count = len(words) - line_first
        if count >= HEADING_MIN_WORDS and capitalised >= HEADING_SHARE * count:
            for k in range(line_first, len(words)):
                words[k] = words[k]._replace(heading=True)

    for match in WORD.finditer(text, timeout=timeout_s, concurrent=False):
        start, end = match.span()
        word = match.group()
        if text.find("\n", previous_end, start) >= 0:
            close_line()
            line_first, capitalised = len(words), 0
        upper = word[0].isupper()
        capitalised += upper
        if upper or lower_case:
            k = start - 1
            while k >= 0 and text[k] in OPENING_FILLER:
                k -= 1
            opening = k < 0 or text[k] in SENTENCE_ENDS or (text[k].isdigit() and (
                k == 0 or not text[k - 1].isalnum()) and start - k <= 3)
            words.append(Word(start, end, word, opening, False, _attached(text, start, end)))
        else:
            words.append(Word(start, end, word, False, False, _attached(text, start, end)))
        previous_end = end
    close_line()
    return words


def _attached(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return (before.isalnum() or before in "@._/\\" or after.isalnum() or after in "@_/\\"
            or (after in ".-" and end + 1 < len(text) and text[end + 1].isalnum()))


def possible_names(text: str, language: str,
                   timeout_s: float | None = REGEX_TIMEOUT_S,
                   ) -> list[tuple[int, int, float, str]]:
    """Every possible name of ``text``: (start, end, score, rule), each word of a span found by
    a rule repeated wherever the text writes it again, a span inside another of the same or a
    higher score dropped."""
    rules = _rules(language)
    words = words_of(text, timeout_s, lower_case=uncapitalised(text))
    found: dict[tuple[int, int], tuple[float, str]] = {}
    free = [w for w in words if not w.attached]
    for name, score in RULES:
        for span in getattr(rules, name)(text, free):
            if found.get(span, (0.0, ""))[0] < score:
                found[span] = (score, name)
    # a word found once is a possible name wherever the text writes it again
    again: dict[str, tuple[float, str]] = {}
    for (start, end), (score, name) in found.items():
        # every name word of the span: "Mai" of "Đ. Mai", "Zenzile" of "NKUNDLANDE Zenzile"
        for word in WORD.findall(text, start, end, timeout=timeout_s, concurrent=False):
            if len(word) >= MIN_LETTERS and word.casefold() not in rules.function \
                    and again.get(word, (0.0, ""))[0] < score:
                again[word] = (score, name)
    if again:
        for w in free:
            if w.text in again and found.get((w.start, w.end), (0.0, ""))[0] < again[w.text][0]:
                found[(w.start, w.end)] = again[w.text]
    kept: list[tuple[int, int, float, str]] = []
    for (start, end), (score, name) in sorted(found.items(), key=lambda x: (x[0][0], -x[0][1])):
        if any(s <= start and end <= e and sc >= score for s, e, sc, _ in kept[-3:]):
            continue
        kept.append((start, end, score, name))
    return kept


_RULES: dict[str, PossibleNames] = {}


def _rules(language: str) -> PossibleNames:
    if language not in _RULES:
        _RULES[language] = PossibleNames(language)
    return _RULES[language]


class PossibleNameRecognizer(PersonRecognizer):
    """PERSON at ``SCORE_LIKELY`` or ``SCORE_POSSIBLE``: words that may be names (see the
    module's docstring)."""

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        _rules(supported_language)  # the lexicons load now, not during the first request
        super().__init__(supported_language, timeout_s)

    def find_persons(self, text: str) -> list[RecognizerResult]:
        return [RecognizerResult(
                    "PERSON", start, end, score,
                    recognition_metadata={RECOGNIZER_NAME_KEY: type(self).__name__,
                                          RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                                          "rule": rule})
                for start, end, score, rule in possible_names(text, self.supported_language,
                                                              self.search_timeout_s)]
