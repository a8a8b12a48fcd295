"""France's SIRET (establishment number: SIREN + 5-digit NIC, Luhn), validated with
python-stdnum (which also knows La Poste's exception)."""

from __future__ import annotations

from stdnum.fr import siret

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern, digits


class FrSiretRecognizer(DouaneRecognizer):
    ENTITY = "FR_SIRET"
    PATTERNS = (
        Pattern("SIRET grouped", r"(?<![\w]|\d )\d{3} ?\d{3} ?\d{3} ?\d{5}(?![\w]| \d)", 0.7),
        Pattern("SIRET", r"(?<![\w])\d{14}(?![\w])", 0.4),
    )
    CONTEXT = {
        "*": ("siret", "siren", "nic"),
        "fr": ("établissement", "entreprise", "société", "auto-entrepreneur",
               "micro-entreprise"),
        "en": ("company", "establishment", "business"),
    }

    def validate(self, candidate: str) -> bool:
        return bool(siret.is_valid(digits(candidate)))
