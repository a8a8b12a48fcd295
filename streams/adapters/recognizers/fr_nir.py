"""France's NIR (numéro de sécurité sociale), validated with python-stdnum's checksum.

15 characters: sex, year, month, department (2A/2B for Corsica), commune, order, 2-digit key
(97 - number mod 97, Corsica's 2A/2B counted as 19/18). Written with or without spaces.
"""

from __future__ import annotations

from stdnum.fr import nir

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

NIR_PATTERN = (
    r"(?<![\w])[1-478]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AaBb])\s?\d{3}\s?"
    r"\d{3}\s?\d{2}(?![\w])"
)


class FrNirRecognizer(DouaneRecognizer):
    ENTITY = "FR_NIR"
    PATTERNS = (Pattern("NIR", NIR_PATTERN, 0.9),)
    CONTEXT = {
        "*": ("nir", "insee", "social security", "ssn"),
        "fr": ("sécurité sociale", "numéro de sécu", "n° de sécu", "carte vitale",
               "assuré social", "immatriculation"),
        "es": ("seguridad social",),
    }

    def validate(self, candidate: str) -> bool:
        return bool(nir.is_valid(candidate.replace(" ", "").upper()))
