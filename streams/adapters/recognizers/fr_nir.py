"""France's NIR (numéro de sécurité sociale), validated with python-stdnum's checksum.

15 characters: sex, year, month, department (2A/2B for Corsica), commune, order, 2-digit key.
Written with or without spaces; a pattern proposes, the checksum decides.
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum.fr import nir

NIR_PATTERN = (
    r"\b[12]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AaBb])\s?\d{3}\s?\d{3}\s?\d{2}\b"
)


class FrNirRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="FR_NIR",
            patterns=[Pattern("FR_NIR", NIR_PATTERN, 0.5)],
            context=["sécurité sociale", "securite sociale", "nir", "insee", "social security",
                     "numéro de sécu", "carte vitale"],
            supported_language=supported_language,
            name="FrNirRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        return bool(nir.is_valid(pattern_text.replace(" ", "")))
