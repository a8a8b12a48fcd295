"""Person names found with a morphological lexicon, for languages without a spaCy NER model
(Ukrainian with pymorphy3's dictionaries, Icelandic with BÍN through ``islenska``).

A lexicon knows whether a capitalised word can be a first name, a surname or a patronymic;
it cannot see that "Роман" is a name in one sentence and a novel in the next. So a span is
reported as PERSON when a run of capitalised words contains a word the lexicon knows only
as a name part, or two or more name-like words; a single ambiguous word is reported below
the usual threshold. This is a dictionary method, not NER, and detection says so.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import regex
from presidio_analyzer import RecognizerResult

from streams.adapters.recognizers.base import (
    IS_SCORE_ENHANCED_BY_CONTEXT_KEY,
    RECOGNIZER_IDENTIFIER_KEY,
    RECOGNIZER_NAME_KEY,
    REGEX_TIMEOUT_S,
    PersonRecognizer,
    find_all,
)
from streams.adapters.recognizers.batch_memos import per_batch

# A run of capitalised words (hyphenated and apostrophe forms included) separated by spaces.
CAPITALISED_RUN = regex.compile(
    r"(?<![\w'’-])\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}[\p{Ll}'’]+)?"
    r"(?:[ \u00a0]\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}[\p{Ll}'’]+)?)*(?![\w'’-])"
)
WORD = regex.compile(r"\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}[\p{Ll}'’]+)?")
# one or two initials ("Т. К.", "Т.К.", also "Т . К ." as tokenised corpora write them), then
# a capitalised word
INITIALS_AND_NAME = regex.compile(
    r"(?<![\w.])(?:\p{Lu} ?\. ?){1,2}(?P<name>\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}[\p{Ll}'’]+)?)"
    r"(?![\w'’-])")


class Kind(enum.Enum):
    NAME_ONLY = "name-only"  # every reading is a name part (first name, surname, patronymic)
    NAME_OR_WORD = "ambiguous"  # a name part, or an ordinary word
    WORD = "word"  # known, never a name part
    UNKNOWN = "unknown"  # not in the lexicon


class LexiconNameRecognizer(PersonRecognizer):
    """The lexicon pass every such language shares; a subclass says how its lexicon reads a
    word (``classify``). Its searches are held to CPU time by ``PersonRecognizer``."""

    LANGUAGE: ClassVar[str]
    TITLES: ClassVar[frozenset[str]] = frozenset()
    SCORE_FULL = 0.85  # two or more name-like words with a name part among them
    SCORE_SINGLE = 0.6  # one word known only as a name part
    SCORE_AMBIGUOUS = 0.3  # one word that is also an ordinary word

    def __init__(self, supported_language: str | None = None,
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        super().__init__(supported_language or self.LANGUAGE, timeout_s)

    def classify(self, word: str) -> Kind:
        raise NotImplementedError

    def common_word(self, word: str) -> bool:
        """True when the word written in lower case is an ordinary word (a capitalised
        pronoun or verb opening a sentence: Icelandic "Hún" is also the name "Húnn")."""
        return False

    def find_persons(self, text: str) -> list[RecognizerResult]:
        results = []
        for run in find_all(CAPITALISED_RUN, text, self.search_timeout_s):
            words = [(m.start() + run.start(), m.end() + run.start(), m.group())
                     for m in WORD.finditer(run.group())]
            results.extend(self._people(text, words))
        # "В. І. Критської", "М. Зарицький": initials before a capitalised word name a person
        # however rare the surname (official letters write names this way)
        for match in INITIALS_AND_NAME.finditer(text, **self.searching):
            two_initials = match.group().count(".") == 2  # "В. І. Критська" (also a word)
            if two_initials or self._kind(match.group("name")) is not Kind.WORD:
                results.append(RecognizerResult(
                    "PERSON", match.start(), match.end(), self.SCORE_FULL,
                    recognition_metadata={RECOGNIZER_NAME_KEY: type(self).__name__,
                                          RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True}))
        return results

    def _people(self, text: str, words: list[tuple[int, int, str]]) -> list[RecognizerResult]:
        kinds = [self._kind(w) for _, _, w in words]
        # A capitalised word inside a sentence, next to a sure name part, belongs to the name
        # even when the lexicon knows it as an ordinary word ("Gæfa Rómansdóttir").
        for k, kind in enumerate(kinds):
            neighbours = kinds[max(0, k - 1) : k] + kinds[k + 1 : k + 2]
            if kind is Kind.WORD and Kind.NAME_ONLY in neighbours \
                    and not _opens_sentence(text, words[k][0]) \
                    and words[k][2].casefold() not in self.TITLES:
                kinds[k] = Kind.UNKNOWN
        people = []
        i = 0
        while i < len(words):
            if kinds[i] in (Kind.WORD,) or words[i][2].casefold() in self.TITLES:
                i += 1
                continue
            j = i
            while j < len(words) and kinds[j] is not Kind.WORD \
                    and words[j][2].casefold() not in self.TITLES:
                j += 1
            span = kinds[i:j]
            name_parts = sum(k in (Kind.NAME_ONLY, Kind.NAME_OR_WORD) for k in span)
            if name_parts:
                titled = i > 0 and words[i - 1][2].casefold() in self.TITLES
                if len(span) >= 2:
                    score = self.SCORE_FULL
                elif span[0] is Kind.NAME_ONLY and _opens_sentence(text, words[i][0]) \
                        and self.common_word(words[i][2]) and not titled:
                    score = self.SCORE_AMBIGUOUS
                elif span[0] is Kind.NAME_ONLY or titled or not _opens_sentence(text,
                                                                           words[i][0]):
                    # an ambiguous word capitalised inside a sentence is a name ("з Мариною")
                    score = self.SCORE_SINGLE
                else:
                    score = self.SCORE_AMBIGUOUS
                people.append(RecognizerResult(
                    "PERSON", words[i][0], words[j - 1][1], score,
                    recognition_metadata={RECOGNIZER_NAME_KEY: type(self).__name__,
                                          RECOGNIZER_IDENTIFIER_KEY: self.id,
                                          IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True}))
            i = j
        return people

    # one recognizer per language per process; keyed by the words read: forgotten when the
    # batch ends (``batch_memos``)
    @per_batch(maxsize=65536)
    def _kind(self, word: str) -> Kind:
        return self.classify(word)


SENTENCE_START = regex.compile(r"(?:^|[.!?:;…\n])[\s\"'«“„(\-–—]*$")


def _opens_sentence(text: str, start: int) -> bool:
    return SENTENCE_START.search(text[max(0, start - 20) : start]) is not None
