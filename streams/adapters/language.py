"""Language of a prompt, detected offline with lingua (models ship inside the wheel), and, when
lingua names a language douane does not analyse, the choice of ``core.language_choice`` from
the text's function words and lower-case words (lists of names, docs/detection.md)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import regex
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from streams.core.language_choice import (
    DETECTED,
    LanguageChoice,
    choose_language,
    text_signals,
)

# Detect among more languages than douane analyses, so that a Spanish prompt is recognised as
# Spanish (and analysed with patterns only) rather than forced into English or French.
CANDIDATES = ("en", "fr", "es", "de", "it", "pt", "nl", "uk", "ru", "is")
WORD = regex.compile(r"\p{L}[\p{L}'\u2019]*")


class LanguageDetector:
    def __init__(self, preferred: Sequence[str], default: str = "en",
                 analysed: Sequence[str] = ()) -> None:
        codes = sorted(set(CANDIDATES) | set(preferred))
        self._languages = {
            code: Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
            for code in codes}
        # Preloaded: lingua otherwise loads the models for short texts (under 120 characters:
        # every n-gram length) on the first short text it sees - about 2 s in the middle of a
        # request, e.g. the first sentence of the first streamed answer.
        self._detector = (LanguageDetectorBuilder.from_languages(*self._languages.values())
                          .with_preloaded_language_models().build())
        self._default = default
        self._analysed = tuple(analysed)
        # spaCy's stop-word lists (plain word lists in its language data, no model), read only
        # when some language is analysed: without one there is nothing to choose
        self._function_words = _function_words(codes) if self._analysed else {}

    def detect(self, text: str) -> str:
        return self.choose(text).language

    def choose(self, text: str) -> LanguageChoice:
        # One pass of lingua: its confidence values, whose top is what detect_language_of
        # answers (no answer when nothing scores or the first two tie; the same answer on
        # 3,517 prompts of the benchmarks' corpora, at the same cost)
        values = self._detector.compute_language_confidence_values(text)
        confidences = {str(value.language.iso_code_639_1.name).lower(): value.value
                       for value in values}
        undecided = (not values or values[0].value == 0.0
                     or (len(values) > 1 and values[0].value == values[1].value))
        detected = self._default if undecided else next(iter(confidences))
        if not self._analysed or detected in self._analysed:
            return LanguageChoice(detected, DETECTED)
        # the shares compared: the detected language's and the analysed ones' (not all ten)
        lists = {lang: self._function_words[lang] for lang in (detected, *self._analysed)
                 if lang in self._function_words}
        signals = text_signals(WORD.findall(text), confidences, lists)
        return choose_language(detected, signals, self._analysed, self._default)


def _function_words(codes: Sequence[str]) -> dict[str, frozenset[str]]:
    lists: dict[str, frozenset[str]] = {}
    for code in codes:
        try:
            module = importlib.import_module(f"spacy.lang.{code}.stop_words")
        except ImportError:  # a language spaCy has no data for: its share counts as 0
            continue
        lists[code] = frozenset(word.casefold() for word in module.STOP_WORDS)
    return lists
