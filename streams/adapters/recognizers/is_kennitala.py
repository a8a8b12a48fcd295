"""Iceland's kennitala (personal and organisation identity number), validated with
python-stdnum: DDMMYY-NNNC, a real date and a mod-11 check digit."""

from __future__ import annotations

from stdnum.is_ import kennitala

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern


class IsKennitalaRecognizer(DouaneRecognizer):
    ENTITY = "IS_KENNITALA"
    PATTERNS = (
        Pattern("kennitala", r"(?<![\w-])[0-7]\d[01]\d{3}-\d{4}(?![\w]|-\d)", 0.9),
        Pattern("kennitala compact", r"(?<![\w-])[0-7]\d[01]\d{3} ?\d{4}(?![\w]|-\d)", 0.6),
    )
    CONTEXT = {
        "*": ("kennitala", "kt.", "kt", "kennitölu", "kennitölunni", "kennitölu hans",
              "kennitölu hennar"),
        "en": ("id number", "identity number", "national id"),
    }

    def validate(self, candidate: str) -> bool:
        return bool(kennitala.is_valid(candidate.replace(" ", "")))
