"""Uruguay's cédula de identidad: 6 or 7 digits and a check digit, often written 1.234.567-2.

python-stdnum has no module for it (it knows Uruguay's RUT only), so the check digit is
computed here: weights 2, 9, 8, 7, 6, 3, 4 over the 7-digit number (left-padded with 0),
check = (10 - sum mod 10) mod 10.
"""

from __future__ import annotations

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern, digits

WEIGHTS = (2, 9, 8, 7, 6, 3, 4)


def check_digit(number: str) -> str:
    body = number.rjust(7, "0")
    return str((10 - sum(w * int(d) for w, d in zip(WEIGHTS, body, strict=True)) % 10) % 10)


def is_valid(value: str) -> bool:
    number = digits(value)
    if not 7 <= len(number) <= 8 or int(number[:-1]) == 0:
        return False
    return check_digit(number[:-1]) == number[-1]


class UyCedulaRecognizer(DouaneRecognizer):
    ENTITY = "UY_CI"
    PATTERNS = (
        Pattern("cédula dotted", r"(?<![\w.])(?:\d{1,2}\.)?\d{3}\.\d{3}[-‐–]\d(?![\w]|[.-]\d)",
                0.7),
        Pattern("cédula dashed", r"(?<![\w.])\d{6,7}[-‐–]\d(?![\w]|[.-]\d)", 0.5),
        Pattern("cédula", r"(?<![\w.])\d{7,8}(?![\w]|[.-]\d)", 0.3),
    )
    CONTEXT = {
        "*": ("c.i.", "ci", "cédula", "cedula"),
        "es": ("cédula de identidad", "documento", "documento de identidad", "c.i. n°",
               "identidad"),
        "en": ("identity card", "id card", "id number"),
    }

    def validate(self, candidate: str) -> bool:
        return is_valid(candidate)
