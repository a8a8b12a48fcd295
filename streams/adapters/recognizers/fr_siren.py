"""France's SIREN (company registry number, 9 digits, Luhn), validated with python-stdnum.

A sole trader's SIREN identifies a person. A Luhn check lets one 9-digit number in ten
through, so without a context word nearby the score stays under the usual threshold.
"""

from __future__ import annotations

from stdnum.fr import siren

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern, digits


class FrSirenRecognizer(DouaneRecognizer):
    ENTITY = "FR_SIREN"
    PATTERNS = (
        Pattern("SIREN grouped", r"(?<![\w]|\d )\d{3} \d{3} \d{3}(?![\w]| \d)", 0.35),
        Pattern("SIREN", r"(?<![\w])\d{9}(?![\w])", 0.3),
    )
    CONTEXT = {
        "*": ("siren", "siret", "rcs"),
        "fr": ("entreprise", "société", "immatriculée", "immatriculation", "auto-entrepreneur",
               "micro-entreprise", "numéro d'identification", "registre du commerce"),
        "en": ("company number", "business number", "registration number"),
    }
    SCORE_WITH_CONTEXT = 0.9

    def validate(self, candidate: str) -> bool:
        return bool(siren.is_valid(digits(candidate)))
