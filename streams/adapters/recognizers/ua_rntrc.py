"""Ukraine's РНОКПП (RNOKPP, individual tax number, formerly ІПН): 10 digits, the first five
the birth date as days since 31 December 1899, the last a check digit (python-stdnum).

One 10-digit number in ten passes the check digit, so without a context word nearby the
score stays under the usual threshold.
"""

from __future__ import annotations

from datetime import date, timedelta

from stdnum.ua import rntrc

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern, digits

EPOCH = date(1899, 12, 31)


def plausible_birth_date(number: str) -> bool:
    born = EPOCH + timedelta(days=int(number[:5]))
    return date(1900, 1, 1) <= born <= date.today()


class UaRntrcRecognizer(DouaneRecognizer):
    ENTITY = "UA_RNOKPP"
    PATTERNS = (Pattern("RNOKPP", r"(?<![\w])\d{10}(?![\w])", 0.35),)
    CONTEXT = {
        "*": ("рнокпп", "іпн", "инн", "rnokpp", "ipn"),
        "uk": ("податковий номер", "ідентифікаційний номер", "ідентифікаційний код",
               "реєстраційний номер облікової картки", "код платника податків",
               "номер облікової картки"),
        "en": ("tax number", "taxpayer", "tax id", "tax identification"),
    }
    SCORE_WITH_CONTEXT = 1.0  # wins over a phone number that has a context word nearby

    def validate(self, candidate: str) -> bool:
        number = digits(candidate)
        return bool(rntrc.is_valid(number)) and plausible_birth_date(number)
