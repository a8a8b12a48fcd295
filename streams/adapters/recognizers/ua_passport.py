"""Ukrainian passport and ID-card numbers. They have no check digit, so they are found by
their shape and, for the shapes that plain numbers share, by context words.

- internal passport booklet: two Cyrillic capitals and six digits ("МК 123456");
- ID card (біометричний паспорт громадянина України): nine digits;
- passport for travelling abroad: two Latin capitals and six digits ("FA123456").
"""

from __future__ import annotations

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

PASSPORT_WORDS = {
    "*": ("паспорт", "паспорта", "паспорті", "passport", "id-картка", "id-картки", "id-карта",
          "id card", "id-card"),
    "uk": ("серія", "серії", "номер документа", "документ", "посвідчення", "картка",
           "закордонний", "закордонного", "виданий", "видана"),
}


class UaPassportRecognizer(DouaneRecognizer):
    ENTITY = "UA_PASSPORT"
    PATTERNS = (
        Pattern("passport booklet", r"(?<![\w])[А-ЯІЇЄҐ]{2} ?№? ?\d{6}(?![\w])", 0.6),
        Pattern("ID card", r"(?<![\w])\d{9}(?![\w])", 0.2),
        Pattern("foreign passport", r"(?<![\w])[A-Z]{2} ?\d{6}(?![\w])", 0.3),
    )
    CONTEXT = PASSPORT_WORDS
    SCORE_WITH_CONTEXT = 0.9

    def validate(self, candidate: str) -> bool:
        return True  # no check digit: the shape and the context decide
