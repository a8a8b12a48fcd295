"""Telephone numbers for the deployment's regions, validated with ``phonenumbers``.

Presidio's phone recognizer runs libphonenumber's matcher over the whole text once per region
(about 1 ms per region per prompt). Here a cheap pattern proposes digit runs that look like a
phone number and only those are parsed, once per configured region; numbers written in
international form (+33..., 0033...) are recognised whatever the regions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import phonenumbers
import regex

from streams.adapters.recognizers.base import REGEX_TIMEOUT_S, DouaneRecognizer, Pattern, digits

DEFAULT_REGIONS = ("FR", "ES", "UA", "IS", "UY", "GB", "US")
PHONE_PATTERN = (
    r"(?<![\w+.,/-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-/\u00a0]?\(?\d{1,4}\)?){2,7}(?![\w]|[.,/-]\d)"
)

DATE_OR_QUAD = regex.compile(r"\d{1,4}([./-])\d{1,3}\1\d{1,4}(?:\1\d{1,3})?")


class DouanePhoneRecognizer(DouaneRecognizer):
    ENTITY = "PHONE_NUMBER"
    PATTERNS = (Pattern("phone", PHONE_PATTERN, 0.7),)
    CONTEXT = {
        "*": ("tel", "tél", "tel.", "phone", "mobile", "gsm", "fax"),
        "en": ("telephone", "call", "reached at"),
        "fr": ("téléphone", "portable", "appelez", "joignable", "fixe", "rappel"),
        "es": ("teléfono", "móvil", "celular", "llamar", "llámeme", "llamemos"),
        "uk": ("телефон", "тел.", "телефону", "мобільний", "зателефонувати"),
        "is": ("sími", "síma", "símanúmer", "farsími", "gsm"),
    }
    SCORE_WITH_CONTEXT = 0.95

    def __init__(self, supported_language: str = "en",
                 regions: Sequence[str] = DEFAULT_REGIONS,
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.regions = tuple(regions)
        super().__init__(supported_language, timeout_s)

    def validate(self, candidate: str) -> bool:
        return self._parse(candidate) is not None

    def spans(self, text: str, match: regex.Match[str]) -> Iterator[tuple[int, int]]:
        start, end = match.start(), match.end()
        # an opening parenthesis before the number is the sentence's when the number does not
        # close it ("(0034 612 39 35 12)", "(00354-613-2561"), its own in "(646) 292-7259"
        if text[start] == "(" and (text.count(")", start, end) == 0 or (
                text[end - 1] == ")" and text.count(")", start, end) == 1)):
            start += 1
            end -= text[end - 1] == ")"
        # a closing parenthesis belongs to the number only when it closes one the number opened
        # ("(646) 292-7259"), not the sentence's ("(tel. 646-292-7259)")
        if text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end):
            end -= 1
        candidate = text[start:end]
        if sum(c.isdigit() for c in candidate) < 7 or self._looks_like_date(candidate):
            return
        if self.validate(candidate):
            yield start, end

    def _parse(self, candidate: str) -> phonenumbers.PhoneNumber | None:
        number = candidate.strip()
        if number.startswith("00"):
            number = "+" + number[2:]
        regions: Sequence[str | None] = (None,) if number.startswith("+") else self.regions
        for region in regions:
            try:
                parsed = phonenumbers.parse(number, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed) and (
                    region is None or _written_nationally(number, parsed)):
                return parsed
        return None

    @staticmethod
    def _looks_like_date(candidate: str) -> bool:
        """Dates and dotted quads (IP addresses) are not phone numbers. Only a plausible date
        counts: "201-555-0123" and "050.123.4567" are a US and a Ukrainian phone number
        written with dashes or dots, not dates (their middle group has three digits)."""
        shape = DATE_OR_QUAD.fullmatch(candidate)
        if shape is None:
            return False
        parts = [int(p) for p in regex.split(r"[./-]", candidate)]
        widths = [len(p) for p in regex.split(r"[./-]", candidate)]
        if len(parts) == 4:  # a dotted quad: an IP address (the IP recognizer reports it)
            return shape.group(1) == "." and all(p <= 255 for p in parts)
        if widths[0] == 4:  # 2024-01-15
            return widths[1] <= 2 and widths[2] <= 2 and 1 <= parts[1] <= 12 \
                and 1 <= parts[2] <= 31
        # 15/01/2024, 01-15-24 (day and month in either order)
        return widths[0] <= 2 and widths[1] <= 2 and widths[2] in (2, 4) \
            and 1 <= min(parts[0], parts[1]) <= 12 and max(parts[0], parts[1]) <= 31


def _written_nationally(number: str, parsed: phonenumbers.PhoneNumber) -> bool:
    """A national-form candidate must be written as the region writes it (with its trunk
    prefix: "06 12 34 56 78" in France, not "612 34 56 78", which is a Spanish mobile)."""
    written = digits(number)
    national = digits(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return written in (national, f"{parsed.country_code}{national}")
