"""PERSON by the shape of a name or the question it answers, in any origin (issue 14).

Signs the given-name pass (``given_names.py``) and spaCy's NER miss on third-party English
text (presidio-research's synthetic set and CoNLL-2003, dev), each kept in a function of its
own:

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
- **a name the writer gives** (branch ``enrecall2``): after "my name is", "call me", and
  after a possessive and a word for a relative or a close person ("my kid", "our daughter",
  "her husband", "my colleague"), the name words that follow: capitalised, or in lower case
  when each is a given name or surname of the lexicon rare as a word or a word no dictionary
  holds ("Sometimes people call me Csanád", "call me višeslav", "remove my kid Selma from the
  will"). A name asked or told (above) is taken in lower case on the same terms ("her maiden
  name is nyberg").
- **the scorers of a match result** (branch ``enrecall2``): a score, then in parentheses
  the scorers and their minutes, as news agencies write football results: "Rangers 4
  (Ferguson 34, McCoist 71 74, Laudrup 83)", "Bochum 2 (Stickroth 30th pen, Wosz 89th)". Every
  item of the parentheses must be a name and minutes (or more minutes of the previous name),
  no name holding an institution word, a function word, a title, a day or a month, and one
  name of the group a name of the lexicon or a word no dictionary holds.
- **a lower-case list of given names**: three items or more separated by commas and a last
  "and"/"or", each one word in lower case, all of them known given names but at most one
  (which must then be a word no dictionary holds): "leonti, terrence, pamela, donna, andrea
  and brian".

The middle initial, the name asked or told, the name the writer gives and the scorers score
above NER (0.86 > 0.85): NER labels many of these an organisation or a place ("Landerico" of
"Landerico B Hidalgo", "Ferguson 34"), which would otherwise win the overlap and leave the
rest of the name uncovered. The lower-case full name and the list score as the given-name
pass (0.84).
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
    NOT_A_SURNAME,
    PARTICLES,
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
    rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{0,2}}(?![\w'’-])|(?=\p{{Ll}}))")
WORD = regex.compile(NAME_WORD)
# a name the writer gives: their own, or a relative's or a close person's after a possessive
# ("my kid Selma", "her husband Tadeusz"); the words that follow are judged in ``given_names``
# (not "partner", "landlord", "boss": "our partner Microsoft" is a company)
RELATIVES = (r"kids?|sons?|daughters?|child|children|baby|wife|husband|spouse|brother"
             r"|sister|mother|mom|mum|father|dad|grandson|granddaughter|grandmother|grandfather"
             r"|grandma|grandpa|grandchild|nephew|niece|cousin|aunt|uncle|fianc[ée]e?|boyfriend"
             r"|girlfriend|friend|neighbou?r|colleague|stepson|stepdaughter|stepmother"
             r"|stepfather|twins?|roommate|flatmate|carer")
# (the standard library's engine: a scan of every text, 4-5 times cheaper than ``regex`` here)
TOLD_NAME = re.compile(
    r"(?<![\w'’-])(?:my[ \u00a0]+name(?:'s|’s|[ \u00a0]+is)|(?:call|calls|called)[ \u00a0]+me"
    rf"|(?:my|our|his|her|their)[ \u00a0]+(?:{RELATIVES})),?[ \u00a0]+(?=[^\W\d_])",
    re.IGNORECASE)
# the words of a name given: capitalised, or in lower case ("call me višeslav")
GIVEN_WORD = regex.compile(
    rf"(?:{NAME_WORD}|\p{{Ll}}[\p{{Ll}}\p{{M}}]+(?:-\p{{Ll}}[\p{{Ll}}\p{{M}}]+)?)"
    r"(?![\w'’@/-]|\.\w)")
GIVEN_GAP = regex.compile(r"[ \u00a0]")
# a score, then its scorers in parentheses: "Rangers 4 (Ferguson 34, McCoist 71 74)"
SCORE_THEN_PARENTHESIS = re.compile(r"\d[ \u00a0]\(")
SCORERS_MAX_CHARS = 200
MINUTES = r"\d{1,3}(?:st|nd|rd|th)?(?:[ \u00a0](?:pen|penalty|og|pen\.|o\.g\.))?"
SCORER = regex.compile(
    rf"[ \u00a0]*(?:(?P<name>{NAME_WORD}(?:[ \u00a0](?:(?:{'|'.join(PARTICLES)})[ \u00a0])"
    rf"{{0,2}}{NAME_WORD}){{0,2}})[ \u00a0]+)?{MINUTES}(?:[ \u00a0]+(?:and[ \u00a0]+)?{MINUTES})*"
    r"[ \u00a0]*")
MAX_GIVEN_WORDS = 3
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
        spans += [(*span, SHAPE_SCORE) for span in self.given_by_the_writer(text)]
        spans += [(*span, SHAPE_SCORE) for span in self.scorers(text)]
        spans += [(*span, LIST_SCORE) for span in self.listed_given_names(text)]
        if not uncapitalised(text):
            spans += [(*span, LIST_SCORE) for span in self.lower_case_full_names(text)]
        # one result per span, at its best score: a lower-case full name the writer gives
        # ("My name is lena andersson") is found by two of the shapes
        best: dict[tuple[int, int], float] = {}
        for start, end, score in spans:
            best[start, end] = max(score, best.get((start, end), 0.0))
        return [RecognizerResult("PERSON", start, end, score)
                for (start, end), score in best.items()]

    def initialled_names(self, text: str) -> list[tuple[int, int]]:
        """"Csanád P Gere", "benjamin a seiler": given name, initial, surname."""
        out: list[tuple[int, int]] = []
        # anchored on the one-letter words only: an overlapped scan of every word triple
        # cost a millisecond per English prompt
        for letter in ONE_LETTER.finditer(text):
            before = LAST_WORD.search(text, max(0, letter.start() - 40), letter.start())
            if before is None:
                continue
            run = INITIAL_RUN.match(text, before.start(), **self.searching)
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
        for run in ASKED_NAME.finditer(text, **self.searching):
            start = run.start("name")
            end = start
            for word in WORD.finditer(run.group("name")):
                folded = word.group().casefold()
                if folded in self.functions or folded in TITLES or fold(folded) in CALENDAR \
                        or not _pronounceable(word.group()):
                    break
                end = start + word.end()
            if end == start:
                # in lower case, on the terms of a name the writer gives ("her maiden name is
                # nyberg"; not "your first name is required")
                end = self._given_words(text, start)
            if end > start:
                out.append((start, end))
        return out

    def given_by_the_writer(self, text: str) -> list[tuple[int, int]]:
        """"people call me Csanád", "my name is višeslav", "remove my kid Selma": a name the
        writer gives, theirs or a relative's."""
        out: list[tuple[int, int]] = []
        for cue in TOLD_NAME.finditer(text):
            end = self._given_words(text, cue.end())
            if end > cue.end():
                out.append((cue.end(), end))
        return out

    def scorers(self, text: str) -> list[tuple[int, int]]:
        """"Rangers 4 (Ferguson 34, McCoist 71 74, Laudrup 83)": the scorers of a result."""
        out: list[tuple[int, int]] = []
        # anchored on a digit, a space and a parenthesis (a plain scan): few texts have one
        for anchor in SCORE_THEN_PARENTHESIS.finditer(text):
            start = anchor.end()
            close = text.find(")", start, start + SCORERS_MAX_CHARS)
            if close < 0 or "(" in text[start:close]:
                continue
            names: list[tuple[int, int]] = []
            known = False
            at = start
            for item in text[start:close].split(","):
                scorer = SCORER.fullmatch(text, at, at + len(item), **self.searching)
                if scorer is None or (not names and scorer.group("name") is None):
                    names = []
                    break
                if scorer.group("name") is not None:
                    if not self._scorer(scorer.group("name")):
                        names = []
                        break
                    known = known or any(self._surname(w)
                                         for w in WORD.findall(scorer.group("name")))
                    names.append(scorer.span("name"))
                at += len(item) + 1
            if known:
                out.extend(names)
        return out

    def _scorer(self, name: str) -> bool:
        """Whether no capitalised word of a scorer's ``name`` is an institution word, a
        function word, a title, a day or a month (the group must also hold one name of the
        lexicon or word no dictionary holds: famous players' names are common words)."""
        return not any(w.casefold() in NOT_A_SURNAME or w.casefold() in self.functions
                       or w.casefold() in TITLES or fold(w) in CALENDAR
                       for w in WORD.findall(name))

    def _given_words(self, text: str, start: int) -> int:
        """Where the name words from ``start`` end (``start`` when there is none): up to
        ``MAX_GIVEN_WORDS``, written alike (all capitalised or all in lower case), none a
        function word, a title, a day or month or an institution word; in lower case each a
        given name or surname of the lexicon rare as a word, or a word no dictionary holds."""
        end, at, lower = start, start, None
        for _ in range(MAX_GIVEN_WORDS):
            word = GIVEN_WORD.match(text, at, **self.searching)
            if word is None:
                break
            value = word.group()
            folded = value.casefold()
            is_lower = value.islower()
            if (lower is not None and is_lower != lower) or folded in self.any_function \
                    or folded in TITLES or fold(folded) in CALENDAR or folded in NOT_A_SURNAME \
                    or not _pronounceable(value) or (value.isupper() and len(value) > 1):
                break
            if is_lower and not (unknown_word(value) or min(
                    self.given_here.get(value.capitalize(), 99.0),
                    self.surnames_here.get(value.capitalize(), 99.0))
                    <= LOWER_GIVEN_MAX_WORD_FREQUENCY):
                break
            lower, end = is_lower, word.end()
            gap = GIVEN_GAP.match(text, end)
            if gap is None:
                break
            at = gap.end()
        return end

    def lower_case_full_names(self, text: str) -> list[tuple[int, int]]:
        """"follow up with patricia desrosiers": a lower-case full name in capitalised text."""
        out: list[tuple[int, int]] = []
        # anchored on the words that may open such a name (a set lookup per word): an
        # overlapped scan of every word pair cost more than the rest of the pass
        for word in LOWER_WORD.finditer(text):
            if word.group() not in self.lower_given:
                continue
            run = LOWER_PAIR.match(text, word.start(), **self.searching)
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
        for run in LOWER_LIST.finditer(text, **self.searching):
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
