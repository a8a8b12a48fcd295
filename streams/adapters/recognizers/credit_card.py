"""Payment card numbers: 12 to 19 digits, a known issuer prefix and the Luhn check
(python-stdnum). Common 16-digit cards score high on their own; rarer lengths need a
context word, so that a Luhn-valid SIRET or account number is not taken for a card."""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult
from stdnum import luhn

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern, digits

CARD_PATTERN = r"(?<![\w])\d(?:[ \-]?\d){11,18}(?![\w]|[ \-]\d)"
ISSUERS = regex.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9]|2)|35\d\d|1800|2131"
    r"|3(?:0[0-5]|[689])|5[06-8]|6\d"
)


class DouaneCreditCardRecognizer(DouaneRecognizer):
    ENTITY = "CREDIT_CARD"
    PATTERNS = (Pattern("card", CARD_PATTERN, 1.0),)
    CONTEXT = {
        "*": ("visa", "mastercard", "amex", "cb", "cvv", "card"),
        "en": ("credit", "debit", "payment"),
        "fr": ("carte", "carte bancaire", "paiement"),
        "es": ("tarjeta", "pago"),
        "uk": ("картка", "картки", "карта", "картою"),
        "is": ("kort", "kortið", "greiðslukort", "kreditkort"),
    }

    def validate(self, candidate: str) -> bool:
        number = digits(candidate)
        return ISSUERS.match(number) is not None and bool(luhn.is_valid(number))

    def find_entities(self, text: str) -> list[RecognizerResult]:
        results = super().find_entities(text)
        for result in results:
            number = digits(text[result.start : result.end])
            if result.score < 1.0:
                continue
            if len(number) != 16 and not self.has_context(text, result.start, result.end):
                result.score = 0.45
        return results
