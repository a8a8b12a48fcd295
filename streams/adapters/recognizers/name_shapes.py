"""PERSON by the shape of a name or the question it answers, in any origin (issue 14).

Three signs the given-name pass (``given_names.py``) and spaCy's NER miss on third-party
English text (presidio-research's synthetic set, dev), each kept in a function of its own:

- **a middle initial**: a known given name, one letter (with or without a dot), then a
  surname or a word no dictionary holds: "Csanád P Gere", "Juliusz A Kwiatkowski", and in
  lower-case chat "benjamin a seiler", "hyuuma t. maida". The three words written alike
  (all capitalised, or all in lower case).
- **a name asked or told**: after "last name", "surname", "maiden name", "family name", "her
  name is", "his name was"... ("What's your last name? Magnusson", "Her maiden name is
  Sandgreen"), the capitalised words that follow, up to a function word.
- **a full name in lower case in a text otherwise capitalised**: a known given name not
  common as a word, then a surname rare as a word or a word no dictionary holds ("follow up
  with patricia desrosiers", "eva kleist lives at"); texts written all in lower case have
  their own rules in ``given_names.py``.
- **a lower-case list of given names**: three items or more separated by commas and a last
  "and"/"or", each one word in lower case, all of them known given names but at most one
  (which must then be a word no dictionary holds): "leonti, terrence, pamela, donna, andrea
  and brian".

The first two score above NER (0.86 > 0.85): NER labels many of these an organisation or a
place ("Landerico" of "Landerico B Hidalgo"), which would otherwise win the overlap and leave
the rest of the name uncovered. The list scores as the given-name pass (0.84).
"""

from __future__ import annotations

import re

import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.recognizers.base import REGEX_TIMEOUT_S, PersonRecognizer, fold
from streams.adapters.recognizers.given_names import (
    CALENDAR,
    GIVEN_NAME_MAX_WORD_FREQUENCY,
    NAME_WORD,
    TITLES,
    _pronounceable,
    function_words,
    lexicon_in,
    uncapitalised,
    unknown_word,
)

SHAPE_SCORE = 0.86
LIST_SCORE = 0.84
# a lower-case surname after a one-letter initial that is also an English word ("a", "i")
# must be rare as a word: "anna a lot" is not a name, "benjamin a seiler" is
RARE_SURNAME_MAX_WORD_FREQUENCY = 3.5
LOWER_SURNAME_MAX_WORD_FREQUENCY = 4.5
LIST_GIVEN_NAME_MAX_WORD_FREQUENCY = 4.6
MIN_LIST_ITEMS = 3

LETTERS = r"[\p{L}\p{M}]"
INITIAL_RUN = regex.compile(
    rf"(?<![\w'’.@/-])(?P<given>\p{{L}}{LETTERS}+(?:-\p{{L}}{LETTERS}+)?)[ \u00a0]+"
    rf"(?P<initial>\p{{L}})\.?[ \u00a0]+(?P<surname>\p{{L}}{LETTERS}+(?:['’-]\p{{L}}{LETTERS}+)*)"
    r"(?![\w'’@/-]|\.\w)")
ASKED_NAME = regex.compile(
    r"(?i:\b(?:(?:last|family|maiden|middle|sur|first|given|full)[ \u00a0]?name"
    r"|(?:his|her|their|your|whose|the (?:patient|client|applicant|child)'s)[ \u00a0]+name))"
    r"(?:[ \u00a0]+(?:is|was|will be))?[ \u00a0]*[?:]?[ \u00a0]*"
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,2}})(?![\w'’-])")
WORD = regex.compile(NAME_WORD)
LOWER_LIST = regex.compile(
    rf"(?<![\w'’@./-])(?P<items>\p{{Ll}}{LETTERS}+(?:,[ \u00a0]+\p{{Ll}}{LETTERS}+){{1,}}"
    rf",?[ \u00a0]+(?:and|or|&)[ \u00a0]+\p{{Ll}}{LETTERS}+)(?![\w'’@-])")
LIST_ITEM = regex.compile(rf"\p{{Ll}}{LETTERS}+")
LIST_JOINS = frozenset(("and", "or"))
LOWER_PAIR = regex.compile(
    rf"(?<![\w'’@./-])(?P<given>\p{{Ll}}{LETTERS}+)[ \u00a0]+"
    rf"(?P<surname>\p{{Ll}}{LETTERS}+(?:-\p{{Ll}}{LETTERS}+)?)(?![\w'’@/-]|\.\w)")
LOWER_GIVEN_MAX_WORD_FREQUENCY = 4.5
# the standard library's engine, faster than ``regex`` for these plain scans
ONE_LETTER = re.compile(r"(?<=[ \u00a0])[^\W\d_]\.?[ \u00a0]")
LAST_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|-)*[ \u00a0]+$")
LOWER_WORD = re.compile(r"(?<![\w'’@./-])[^\W\d_A-Z]+")


class NameShapeRecognizer(PersonRecognizer):
    """PERSON: a middle initial, a name asked or told, a lower-case list of given names."""

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.given_here = lexicon_in("given_names", supported_language)
        self.surnames_here = lexicon_in("surnames", supported_language)
        self.functions = function_words(supported_language)
        self.any_function = function_words()
        # the lower-case forms of the given names a lower-case full name may open with
        self.lower_given = frozenset(
            name.casefold() for name, frequency in self.given_here.items()
            if frequency <= LOWER_GIVEN_MAX_WORD_FREQUENCY)
        super().__init__(supported_language, timeout_s)

    def find_persons(self, text: str) -> list[RecognizerResult]:
        spans = [(*span, SHAPE_SCORE) for span in self.initialled_names(text)]
        spans += [(*span, SHAPE_SCORE) for span in self.asked_names(text)]
        spans += [(*span, LIST_SCORE) for span in self.listed_given_names(text)]
        if not uncapitalised(text):
            spans += [(*span, LIST_SCORE) for span in self.lower_case_full_names(text)]
        return [RecognizerResult("PERSON", start, end, score) for start, end, score in spans]

    def initialled_names(self, text: str) -> list[tuple[int, int]]:
        """"Csanád P Gere", "benjamin a seiler": given name, initial, surname."""
        out: list[tuple[int, int]] = []
        # anchored on the one-letter words only: an overlapped scan of every word triple
        # cost a millisecond per English prompt
        for letter in ONE_LETTER.finditer(text):
            before = LAST_WORD.search(text, max(0, letter.start() - 40), letter.start())
            if before is None:
                continue
            run = INITIAL_RUN.match(text, before.start(), timeout=self.search_timeout_s)
            if run is None:
                continue
            given, initial, surname = run.group("given", "initial", "surname")
            if given[0].isupper() and initial.isupper() and surname[0].isupper():
                if self._first_and_last(given, surname):
                    out.append(run.span())
            elif given.islower() and initial.islower() and surname.islower():
                limit = RARE_SURNAME_MAX_WORD_FREQUENCY if initial in ("a", "i") \
                    else LOWER_SURNAME_MAX_WORD_FREQUENCY
                if self._first_and_last(given.capitalize(), surname.capitalize(), limit):
                    out.append(run.span())
        return out

    def asked_names(self, text: str) -> list[tuple[int, int]]:
        """"What's your last name? Magnusson", "Her maiden name is Sandgreen"."""
        out: list[tuple[int, int]] = []
        for run in ASKED_NAME.finditer(text, timeout=self.search_timeout_s):
            start = run.start("name")
            end = start
            for word in WORD.finditer(run.group("name")):
                folded = word.group().casefold()
                if folded in self.functions or folded in TITLES or fold(folded) in CALENDAR \
                        or not _pronounceable(word.group()):
                    break
                end = start + word.end()
            if end > start:
                out.append((start, end))
        return out

    def lower_case_full_names(self, text: str) -> list[tuple[int, int]]:
        """"follow up with patricia desrosiers": a lower-case full name in capitalised text."""
        out: list[tuple[int, int]] = []
        # anchored on the words that may open such a name (a set lookup per word): an
        # overlapped scan of every word pair cost more than the rest of the pass
        for word in LOWER_WORD.finditer(text):
            if word.group() not in self.lower_given:
                continue
            run = LOWER_PAIR.match(text, word.start(), timeout=self.search_timeout_s)
            if run is None:
                continue
            given, surname = run.group("given", "surname")
            # a function word of any of the three languages ("des lieutenants") is no name
            if given in self.any_function or surname in self.any_function:
                continue
            if self._given(given.capitalize(), LOWER_GIVEN_MAX_WORD_FREQUENCY) and self._surname(
                    surname.capitalize(), RARE_SURNAME_MAX_WORD_FREQUENCY):
                out.append(run.span())
        return out

    def listed_given_names(self, text: str) -> list[tuple[int, int]]:
        """"leonti, terrence, pamela, donna, andrea and brian": each item a person."""
        out: list[tuple[int, int]] = []
        for run in LOWER_LIST.finditer(text, timeout=self.search_timeout_s):
            items = [m for m in LIST_ITEM.finditer(text, run.start(), run.end())
                     if m.group() not in LIST_JOINS]
            if len(items) < MIN_LIST_ITEMS:
                continue
            given = [m for m in items if self._given(m.group().capitalize(),
                                                     LIST_GIVEN_NAME_MAX_WORD_FREQUENCY)]
            others = [m for m in items if m not in given]
            if len(others) > 1 or any(not unknown_word(m.group()) for m in others):
                continue
            out.extend(m.span() for m in items)
        return out

    def _first_and_last(self, given: str, surname: str,
                        limit: float = GIVEN_NAME_MAX_WORD_FREQUENCY) -> bool:
        # a given name no dictionary holds ("Landerico", "hyuuma") needs a known surname
        if self._given(given):
            return self._surname(surname, limit)
        return unknown_word(given) and self._surname(surname, limit, known_only=True)

    def _given(self, word: str, limit: float = GIVEN_NAME_MAX_WORD_FREQUENCY) -> bool:
        folded = word.casefold()
        return self.given_here.get(word, 99.0) <= limit and folded not in self.functions \
            and folded not in TITLES and fold(folded) not in CALENDAR and _pronounceable(word)

    def _surname(self, word: str, limit: float = GIVEN_NAME_MAX_WORD_FREQUENCY,
                 known_only: bool = False) -> bool:
        folded = word.casefold()
        if folded in self.functions or folded in TITLES or fold(folded) in CALENDAR \
                or not _pronounceable(word):
            return False
        known = min(self.surnames_here.get(word, 99.0), self.given_here.get(word, 99.0))
        return known <= limit or (not known_only and unknown_word(word))
