"""Ukraine's УНЗР (record number in the Unified State Demographic Register, printed as
"запис №" on ID cards): YYYYMMDD-NNNNC, the birth date, a 4-digit serial and a check digit.

python-stdnum has no module for it. The check digit is the sum of the first twelve digits
weighted 7, 3, 1 (repeating), modulo 10; the date must be a real one.
"""

from __future__ import annotations

from datetime import date

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern, digits

WEIGHTS = (7, 3, 1)


def check_digit(first_twelve: str) -> str:
    return str(sum(WEIGHTS[i % 3] * int(d) for i, d in enumerate(first_twelve)) % 10)


def is_valid(value: str) -> bool:
    number = digits(value)
    if len(number) != 13:
        return False
    try:
        born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
    except ValueError:
        return False
    return born.year >= 1900 and born <= date.today() and check_digit(number[:12]) == number[12]


class UaUnzrRecognizer(DouaneRecognizer):
    ENTITY = "UA_UNZR"
    PATTERNS = (Pattern("UNZR", r"(?<![\w-])(?:19|20)\d{6}-\d{5}(?![\w]|-\d)", 0.9),)
    CONTEXT = {
        "*": ("унзр", "запис", "unzr"),
        "uk": ("запис №", "номер запису", "демографічн"),
        "en": ("record number", "register"),
    }

    def validate(self, candidate: str) -> bool:
        return is_valid(candidate)
