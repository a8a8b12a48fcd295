"""IBAN, validated with python-stdnum (ISO 13616 mod-97).

Presidio's stock pattern is case-insensitive and greedy: when an IBAN's length is a multiple
of 4 (Spanish, Belgian...), the next word is swallowed as one more group, the checksum fails
and the IBAN is missed. Here the pattern proposes the longest run of 4-character groups and
the checksum decides where the IBAN really ends: the longest prefix that validates wins.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex
from stdnum import iban

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

IBAN_PATTERN = r"(?<![\w])[A-Z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,32}"
MIN_LENGTH = 15  # Norway


class DouaneIbanRecognizer(DouaneRecognizer):
    ENTITY = "IBAN_CODE"
    PATTERNS = (Pattern("IBAN", IBAN_PATTERN, 1.0),)
    CONTEXT = {
        "*": ("iban", "bic", "swift"),
        "en": ("account", "bank"),
        "fr": ("compte", "rib", "virement", "banque"),
        "es": ("cuenta", "banco", "transferencia"),
        "uk": ("рахунок", "рахунку", "банк"),
        "is": ("reikningur", "reikning", "banki"),
    }

    def validate(self, candidate: str) -> bool:
        return bool(iban.is_valid(candidate, check_country=False))

    def spans(self, text: str, match: regex.Match[str]) -> Iterator[tuple[int, int]]:
        start = match.start()
        for end in range(match.end(), start + MIN_LENGTH - 1, -1):
            if not text[end - 1].isalnum():
                continue
            if self.validate(text[start:end]):
                yield start, end
                return
