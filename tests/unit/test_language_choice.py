"""The language whose analysis a prompt gets when lingua names one douane does not analyse
(streams/core/language_choice.py): tables of signals, and the signals of a few texts."""

from __future__ import annotations

import pytest

from streams.core.language_choice import (
    DETECTED,
    FUNCTION_WORDS,
    LIST_LIKE,
    LanguageChoice,
    TextSignals,
    choose_language,
    text_signals,
)

ANALYSED = ("fr", "en", "es", "uk", "is")


def signals(confidences: dict[str, float] | None = None, shares: dict[str, float] | None = None,
            lowercase: float = 0.7, words: int = 60) -> TextSignals:
    return TextSignals(confidences or {}, shares or {}, lowercase, words)


# (case, detected, signals, analysed, default, expected language, expected reason)
CASES = [
    ("an analysed language stands whatever the words",
     "es", signals({"es": 0.9}, {"es": 0.0}, lowercase=0.0), ANALYSED, "en", "es", DETECTED),
    ("German prose stays German",
     "de", signals({"de": 1.0}, {"de": 0.45, "en": 0.04}, lowercase=0.6), ANALYSED, "en",
     "de", DETECTED),
    ("German prose with many capitalised nouns stays German",
     "de", signals({"de": 1.0}, {"de": 0.29, "en": 0.06}, lowercase=0.36), ANALYSED, "en",
     "de", DETECTED),
    ("Russian prose stays Russian, Ukrainian function words below its own",
     "ru", signals({"ru": 0.9, "uk": 0.1}, {"ru": 0.29, "uk": 0.22}, lowercase=0.8),
     ANALYSED, "en", "ru", DETECTED),
    ("English prose lingua calls Italian: English function words",
     "it", signals({"it": 1.0}, {"it": 0.0, "en": 0.29}, lowercase=0.38), ANALYSED, "en",
     "en", FUNCTION_WORDS),
    ("an English table header, few function words but none Dutch",
     "nl", signals({"nl": 1.0}, {"nl": 0.0, "en": 0.12}, lowercase=0.44), ANALYSED, "fr",
     "en", FUNCTION_WORDS),
    ("function words too few to prove anything",
     "de", signals({"de": 1.0}, {"de": 0.0, "en": 0.08}, lowercase=0.7), ANALYSED, "en",
     "de", DETECTED),
    ("a margin under the detected language's is no evidence",
     "pt", signals({"pt": 0.8, "es": 0.2}, {"pt": 0.35, "es": 0.40}, lowercase=0.8),
     ANALYSED, "en", "pt", DETECTED),
    ("a list of Italian cyclists in a Spanish text: lingua's best analysed language",
     "it", signals({"it": 0.85, "es": 0.15}, {"it": 0.06, "es": 0.05, "en": 0.05},
                   lowercase=0.29), ANALYSED, "en", "es", LIST_LIKE),
    ("a list with the function words of one analysed language",
     "it", signals({"it": 1.0}, {"it": 0.18, "es": 0.14, "en": 0.10}, lowercase=0.22),
     ANALYSED, "en", "es", LIST_LIKE),
    ("a list with nothing to go on: the default language",
     "de", signals({"de": 1.0}, {}, lowercase=0.0), ANALYSED, "en", "en", LIST_LIKE),
    ("a list with nothing to go on, another default",
     "de", signals({"de": 1.0}, {}, lowercase=0.0), ANALYSED, "fr", "fr", LIST_LIKE),
    ("a default that is not analysed: the first analysed language",
     "de", signals({"de": 1.0}, {}, lowercase=0.0), ("es", "fr"), "en", "es", LIST_LIKE),
    ("lingua's faint traces are not a ranking",
     "de", signals({"de": 0.995, "es": 0.005}, {}, lowercase=0.1), ANALYSED, "en", "en",
     LIST_LIKE),
    ("a Cyrillic list lingua calls Russian: Ukrainian, its likeliest analysed language",
     "ru", signals({"ru": 0.7, "uk": 0.3}, {}, lowercase=0.05), ANALYSED, "en", "uk",
     LIST_LIKE),
    ("tied function words: lingua decides among the tied",
     "it", signals({"it": 0.9, "fr": 0.06, "es": 0.04}, {"it": 0.05, "es": 0.1, "fr": 0.1},
                   lowercase=0.2), ANALYSED, "en", "fr", LIST_LIKE),
    ("a German list with German function words is not a list",
     "de", signals({"de": 1.0}, {"de": 0.30}, lowercase=0.1), ANALYSED, "en", "de", DETECTED),
    ("a few words decide nothing",
     "de", signals({"de": 1.0}, {"en": 0.5}, lowercase=0.0, words=3), ANALYSED, "en", "de",
     DETECTED),
    ("nothing analysed: nothing to choose",
     "de", signals({"de": 1.0}, {"en": 0.5}, lowercase=0.0), (), "en", "de", DETECTED),
]


@pytest.mark.parametrize(("case", "detected", "given", "analysed", "default", "language",
                          "reason"), CASES, ids=[c[0] for c in CASES])
def test_choice(case: str, detected: str, given: TextSignals, analysed: tuple[str, ...],
                default: str, language: str, reason: str) -> None:
    assert choose_language(detected, given, analysed, default) == LanguageChoice(language,
                                                                                  reason)


FUNCTION_WORDS_OF = {"en": frozenset({"the", "of", "and", "a"}),
                     "de": frozenset({"der", "die", "und"}),
                     "es": frozenset({"el", "de", "a"})}


@pytest.mark.parametrize(("words", "lowercase", "shares"), [
    (["Der", "Hund", "und", "die", "Katze"], 0.4, {"en": 0.0, "de": 0.6, "es": 0.0}),
    (["Ana", "García", "Juan", "Pérez"], 0.0,
     {"en": 0.0, "de": 0.0, "es": 0.0}),
    (["the", "house", "of", "A", "Lee"], 0.6, {"en": 0.6, "de": 0.0, "es": 0.2}),
    ([], 0.0, {"en": 0.0, "de": 0.0, "es": 0.0}),
])
def test_signals_of_words(words: list[str], lowercase: float, shares: dict[str, float]) -> None:
    got = text_signals(words, {"en": 1.0}, FUNCTION_WORDS_OF)
    assert got.lowercase_share == pytest.approx(lowercase)
    assert got.function_shares == pytest.approx(shares)
    assert got.words == len(words)
    assert got.confidences == {"en": 1.0}
