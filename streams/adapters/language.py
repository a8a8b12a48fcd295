"""Language of a prompt, detected offline with lingua (models ship inside the wheel)."""

from __future__ import annotations

from collections.abc import Sequence

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

# Detect among more languages than douane analyses, so that a Spanish prompt is recognised as
# Spanish (and analysed with patterns only) rather than forced into English or French.
CANDIDATES = ("en", "fr", "es", "de", "it", "pt", "nl", "uk", "ru", "is")


class LanguageDetector:
    def __init__(self, preferred: Sequence[str], default: str = "en") -> None:
        codes = sorted(set(CANDIDATES) | set(preferred))
        languages = [
            Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes
        ]
        # Preloaded: lingua otherwise loads the models for short texts (under 120 characters:
        # every n-gram length) on the first short text it sees - about 2 s in the middle of a
        # request, e.g. the first sentence of the first streamed answer.
        self._detector = (LanguageDetectorBuilder.from_languages(*languages)
                          .with_preloaded_language_models().build())
        self._default = default

    def detect(self, text: str) -> str:
        language = self._detector.detect_language_of(text)
        if language is None:
            return self._default
        return str(language.iso_code_639_1.name).lower()

