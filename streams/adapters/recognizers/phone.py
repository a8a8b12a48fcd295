"""Telephone numbers for the deployment's regions, validated with ``phonenumbers``.

Presidio's phone recognizer runs libphonenumber's matcher over the whole text once per region
(about 1 ms per region per prompt). Here a cheap pattern proposes digit runs that look like a
phone number and only those are parsed, once per configured region; numbers written in
international form (+33..., 0033...) are recognised whatever the regions.

A number the numbering plan does not allocate ("07 06 12 34 56", "(555) 012-3456": a typo, a
range newer than the library's metadata, a number made up for a form) is still what its writer
meant as a phone number. It is reported when it has the plan's length and is either written in
the groups the region writes its numbers in, or has a phone word near it ("tél.", "call").
Both conditions keep amounts and references out: "12 345 678" has a possible length in Uruguay
but is not grouped as its numbers are.

A valid number written nationally must also be grouped as its region writes numbers
(``_grouped_as_its_region_writes``), else it is judged as an unallocated one: a league table's
row "9 13 3 81 91 21" is the valid US number 913-381-9121, but no one writes a phone number
across its groups or with one-digit pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import pairwise, tee

import phonenumbers
import regex
from phonenumbers import PhoneMetadata, PhoneNumberFormat
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    ValidationResult,
    region_code_for_country_code,
)

from streams.adapters.recognizers.base import REGEX_TIMEOUT_S, DouaneRecognizer, Pattern, digits

# a pattern written as a sequence of capture groups and nothing else: "(\d{3})(\d{4})"; no group
# opening another ("(?:", "(?P<"), no parenthesis inside a group, escaped or not (``_group_count``)
GROUP_SEQUENCE = re.compile(r"(?:\((?!\?)(?:[^()\\]|\\[^()])*\))+")

# not IS_POSSIBLE_LOCAL_ONLY: seven digits dialled without an area code are any seven digits
IS_POSSIBLE = ValidationResult.IS_POSSIBLE

DEFAULT_REGIONS = ("FR", "ES", "UA", "IS", "UY", "GB", "US")
PHONE_PATTERN = (
    r"(?<![\w+.,/-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-/\u00a0]?\(?\d{1,4}\)?){2,7}(?![\w]|[.,/-]\d)"
)

# "(1918-1920)", "1994/2010": a span of years has a phone number's length in Uruguay
YEAR_RANGE = regex.compile(r"(?:1\d|20)\d\d\s?[-/\u2013]\s?(?:1\d|20)\d\d")
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
        # a parenthesis the number neither opens nor closes is the text's ("1:47.16 (53.21 /
        # 53.95)", a race time and its splits), not "(020) 7946 0958" or "+44 (0)20 7946 0958"
        if not _parentheses_balanced(candidate):
            return
        # "2010-2011" is a valid Uruguayan number and far more often a span of years: only
        # with a phone word near it (a span of years is never taken as an unallocated number)
        if _forward_years(candidate) and not self.has_context(text, start, end):
            return
        # each region parsed once for both tests (the second replays what the first parsed,
        # and parses on only if the first stopped early): parsing in every region is most of
        # this recognizer's CPU on text full of digit runs (league tables, results)
        first, second = tee(self._parses(candidate))
        # a valid number written in none of its region's groupings ("9 13 3 81 91 21", a
        # league-table row: a valid US number) is judged as an unallocated one below: reported
        # only with a phone word near it and no group of one digit
        if any(region is None or _grouped_as_its_region_writes(candidate, parsed)
               for region, parsed in self._valid(candidate, first)):
            yield start, end
            return
        if self._unallocated_but_meant(candidate, lambda: self.has_context(text, start, end),
                                       second):
            yield start, end

    def _parses(self, candidate: str) -> Iterator[tuple[str | None, str, phonenumbers.PhoneNumber]]:
        """(region, number as parsed, parsed) for each region the candidate parses in: no
        region for the international form ("+33...", "0033...")."""
        number = _international(candidate.strip())
        regions: Sequence[str | None] = (None,)
        if not number.startswith("+"):
            number_digits = digits(number)
            regions = [region for region in self.regions
                       if _may_be_national(number_digits, region)]
        for region in regions:
            try:
                yield region, number, phonenumbers.parse(number, region)
            except phonenumbers.NumberParseException:
                continue

    def _parse(self, candidate: str,
               parses: Iterable[tuple[str | None, str, phonenumbers.PhoneNumber]] | None = None,
               ) -> phonenumbers.PhoneNumber | None:
        """The first valid parse, whatever its grouping (``validate``: is it a number a range
        allocates)."""
        return next((parsed for _, parsed in self._valid(candidate, parses)), None)

    def _valid(self, candidate: str,
               parses: Iterable[tuple[str | None, str, phonenumbers.PhoneNumber]] | None = None,
               ) -> Iterator[tuple[str | None, phonenumbers.PhoneNumber]]:
        """(region, parsed) for each region the candidate is a valid number of, written as the
        region writes it (lazily: the caller stops at the first it accepts)."""
        for region, number, parsed in self._parses(candidate) if parses is None else parses:
            if phonenumbers.is_valid_number(parsed) and (
                    region is None or _written_nationally(number, parsed)):
                yield region, parsed

    def _unallocated_but_meant(
        self, candidate: str, has_context: Callable[[], bool],
        parses: Iterable[tuple[str | None, str, phonenumbers.PhoneNumber]] | None = None,
    ) -> bool:
        """A number of the plan's length that no range allocates, written in international
        form, or nationally (with the region's trunk prefix) in the region's groups or with a
        phone word near it (see the module's docstring)."""
        if YEAR_RANGE.fullmatch(candidate):
            return False
        for region, number, parsed in self._parses(candidate) if parses is None else parses:
            if phonenumbers.is_possible_number_with_reason(parsed) != IS_POSSIBLE:
                continue
            if region is None:  # "+33 7 06 12 34 56", "+33706123456": a country code leads
                return True
            # a phone word alone is weaker evidence: not for runs of one-digit groups (a
            # league table's "Maccabi Tel Aviv 12 6 4 2 21 14 22")
            if _written_nationally(number, parsed) and (
                    _grouped_as_written(candidate, parsed)
                    or (min(map(len, regex.findall(r"\d+", candidate))) > 1 and has_context())):
                return True
        return False

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


def _may_be_national(number_digits: str, region: str) -> bool:
    """False only when parsing a candidate in ``region`` cannot pass either test of
    ``DouanePhoneRecognizer`` (valid, or unallocated but meant), from the candidate's digits
    alone: then its ``phonenumbers.parse`` (most of this recognizer's CPU) is skipped. Not a
    cache: nothing of a candidate outlives the call.

    The proof, for a candidate of D digits that does not start with "+" (after "00" became
    "+": the international form is parsed without a region) and whose digits do not start
    with a match of the region's international dialling prefix (IDD: "00", "011"; such a
    candidate is always parsed, its country code could be any):

    1. The candidate holds only digits, spaces, no-break spaces and ". - / ( )"
       (``PHONE_PATTERN``). ``parse`` then finds no extension (every extension form needs a
       label, "#", "," or ";"), keeps every digit (it drops only what comes before the first
       digit and non-digits at the end) and, with no "+" and no IDD, takes the region's own
       country code C (``_maybe_extract_country_code``: the default-region branch, or the
       branch that strips a leading C; both give C).
    2. Both tests need ``is_valid_number`` or ``is_possible_number_with_reason`` ==
       IS_POSSIBLE. The first matches the national significant number (NSN) against the
       general description of one of C's regions, which rejects a length outside its
       ``possible_length`` when that is not empty; the second accepts only a length in the
       general description's ``possible_length`` of C's main region. So len(NSN) is in L, the
       union of the general descriptions' possible lengths over C's regions.
    3. Both tests, for a region, need ``_written_nationally``: the candidate's digits equal
       N or C followed by N, N the digits of ``format_number(NATIONAL)``. That formats the NSN
       with the first of the main region's ``number_format`` whose pattern matches it whole,
       or leaves it as it is when none does; every such pattern here is a sequence of capture
       groups and its rule (national prefix rule applied to the first group) names each group
       once, so N is the NSN's digits plus the rule's literal digits (its national prefix:
       "0" in France), A of them, and N opens with the literal digits written before the
       rule's first group (P: "0" in France, none in the US's "(\\1) \\2-\\3"); and no
       extension is appended (1). So the candidate has n + A digits and opens with P, or
       len(C) + n + A digits and opens with C and P, for n in L and (A, P) of one of the
       formats, or (0, none) for no format.

    ``_national_forms`` computes, from the library's metadata, which openings each digit count
    needs, and gives None (the region is always parsed) if a description has no possible
    lengths or a format is not of that shape. Checked on every dev corpus and on generated
    prompts (the same findings) and by tests/unit/test_phone_regions.py (each region's numbers
    in every common writing, and random candidates: no skipped parse would have passed)."""
    plan = _national_forms(region)
    if plan is None or not number_digits.isascii():
        return True
    openings, idd = plan
    return any(number_digits.startswith(opening)
               for opening in openings.get(len(number_digits), ())) \
        or idd.match(number_digits) is not None


@lru_cache(maxsize=64)
def _national_forms(region: str) -> tuple[dict[int, tuple[str, ...]], re.Pattern[str]] | None:
    """For each digit count a candidate written nationally can have and still pass a test
    when parsed in ``region``, the digits it must open with (one of them; "" for any), and
    the region's international dialling prefix; None when ``_may_be_national``'s proof does
    not hold for the library's metadata (see there)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None or not metadata.international_prefix:
        return None
    code = metadata.country_code
    lengths: set[int] = set()
    for member in COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        member_metadata = PhoneMetadata.metadata_for_region(member)
        if member_metadata is None or member_metadata.general_desc is None \
                or not member_metadata.general_desc.possible_length:
            return None
        lengths.update(member_metadata.general_desc.possible_length)
    main = PhoneMetadata.metadata_for_region(region_code_for_country_code(code))
    if main is None or not lengths:
        return None
    added = {(0, "")}  # no format matches: the NSN as it is
    for number_format in main.number_format:
        rule, pattern = number_format.format, number_format.pattern
        if rule is None or pattern is None:
            return None
        if number_format.national_prefix_formatting_rule:
            # as phonenumbers applies it: the first group reference replaced by the rule
            rule = re.sub(r"(\\\d)", number_format.national_prefix_formatting_rule, rule,
                          count=1)
        groups = _group_count(pattern)
        references = re.findall(r"\\(\d)", rule)
        if not groups or sorted(map(int, references)) != list(range(1, groups + 1)):
            return None
        literal_digits = sum(c.isdigit() for c in re.sub(r"\\\d", "", rule))
        opening = "".join(c for c in rule[:rule.index("\\")] if c.isdigit())
        added.add((literal_digits, opening))
    openings: dict[int, set[str]] = {}
    for n in lengths:
        for literal_digits, opening in added:
            openings.setdefault(n + literal_digits, set()).add(opening)
            openings.setdefault(len(str(code)) + n + literal_digits, set()).add(
                f"{code}{opening}")
    # an opening that holds a shorter one of the same count need not be tried ("" opens all)
    return ({count: tuple(sorted(o for o in each
                                 if not any(o != p and o.startswith(p) for p in each)))
             for count, each in openings.items()},
            re.compile(metadata.international_prefix))


def _group_count(pattern: str) -> int | None:
    """How many capture groups ``pattern`` is the sequence of, None if it is anything else
    (something outside a group, a group inside a group, a parenthesis inside one, escaped or
    not: None says "always parse", so a pattern this cannot read costs CPU, never a finding).
    Read from the pattern's text and ``re``'s public group count, not from ``re._parser``
    (private, renamed across Python versions); the same counts on every format of the
    library's metadata (213 patterns with phonenumbers 9.0.43)."""
    if GROUP_SEQUENCE.fullmatch(pattern) is None:
        return None
    count = pattern.count("(")
    return count if re.compile(pattern).groups == count else None


def _parentheses_balanced(candidate: str) -> bool:
    depth = 0
    for c in candidate:
        depth += (c == "(") - (c == ")")
        if depth < 0:
            return False
    return depth == 0


def _forward_years(candidate: str) -> bool:
    """A span of years, the second not before the first ("1914-1918", "2009-2009")."""
    if not YEAR_RANGE.fullmatch(candidate):
        return False
    first, second = (int(run) for run in regex.findall(r"\d+", candidate))
    return first <= second


def _international(number: str) -> str:
    return "+" + number[2:] if number.startswith("00") else number


def _grouped_as_written(candidate: str, parsed: phonenumbers.PhoneNumber) -> bool:
    """True when the candidate's digits come in the groups libphonenumber writes this number
    in nationally, at least two of them: "07 06 12 34 56", "(555) 012-3456", not "0706123456"
    or "12 345 678"."""
    written = regex.findall(r"\d+", candidate)
    formatted = list(regex.findall(
        r"\d+", phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)))
    if written[:1] == [str(parsed.country_code)] and written[1:] == formatted:
        written = written[1:]  # North America's "1-949-093-9336"
    return len(written) >= 2 and written == formatted


def _grouped_as_its_region_writes(candidate: str, parsed: phonenumbers.PhoneNumber) -> bool:
    """True when a national-form candidate's digit groups are a way people write this number:
    the groups of one of the region's number formats in libphonenumber's metadata (every
    format whose pattern matches the whole national number, whatever its leading digits: Spain
    writes mobiles "612 345 678" as well as "612 34 56 78"), with the trunk prefix in the first
    group ("06", "(050)") or alone, and the country code alone before them ("1-201-555-0123");
    a group of four digits or more may be cut into pieces of two or more ("050 123 45 67",
    "07700 900 123": pairs and threes are how long groups are read out), and adjacent groups
    may be written together ("(201) 5550123"). A piece of one digit is accepted only where a
    format has a group of one.

    Why: a run of small numbers has a phone number's length and is often a valid one in some
    region (a league table's "9 13 3 81 91 21" is the valid US number 913-381-9121), but no one
    writes a phone number across its groups or with one-digit pieces. The formats come from the
    library so that every region is judged alike, not from a hand list. Without separators
    (one group) there is nothing to judge; a number no format of its region matches is
    accepted (the library writes it as one run). The caller still reports a valid number
    written otherwise when a phone word is near it and it has no one-digit piece ("teléfono 91
    3467312", Madrid's two-digit area code: not a grouping of the metadata)."""
    written = [len(run) for run in regex.findall(r"\d+", candidate)]
    if len(written) < 2:
        return True
    national = digits(phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL))
    significant = phonenumbers.national_significant_number(parsed)
    code = str(parsed.country_code)
    cuts = list(_cuts(written))
    if sum(written) == len(code) + len(national):  # the country code written first
        if len(code) not in cuts:
            return False
        cuts = [cut - len(code) for cut in cuts if cut > len(code)]
    trunk = len(national) - len(significant)  # the trunk prefix's digits ("0"), written first
    metadata = PhoneMetadata.metadata_for_region(region_code_for_country_code(int(code)))
    if metadata is None or trunk < 0 or not national.endswith(significant):
        return True
    formats = [*metadata.number_format, *(metadata.intl_number_format or ())]
    groupings = []
    for number_format in formats:
        if number_format.pattern is None:
            continue
        match = re.fullmatch(number_format.pattern, significant)
        if match is None or not match.groups():
            continue
        # group boundaries in the national digits, the trunk prefix joined to the first group
        ends = [trunk + match.end(i) for i in range(1, len(match.groups()) + 1)]
        groupings.append([0, *ends])
    if not groupings:
        return True
    pieces = _pieces(cuts, len(national))
    for bounds in groupings:
        groups = list(pairwise(bounds))
        allowed = set(bounds[1:-1]) | ({trunk} if trunk else set())
        for low, high in groups:  # inside a long group: pieces of two or more
            allowed.update(range(low + 2, high - 1))
        ones = {low for low, high in groups if high - low == 1} | ({0} if trunk == 1 else set())
        if set(cuts) <= allowed and all(
                length > 1 or at in ones for at, length in pieces):
            return True
    return False


def _cuts(lengths: Sequence[int]) -> Iterator[int]:
    """Where the written groups end, in digits from the first one (the last end left out)."""
    total = 0
    for length in lengths[:-1]:
        total += length
        yield total


def _pieces(cuts: Sequence[int], total: int) -> list[tuple[int, int]]:
    """(start, length) of each written group, from where the groups end."""
    bounds = [0, *cuts, total]
    return [(low, high - low) for low, high in pairwise(bounds)]


def _written_nationally(number: str, parsed: phonenumbers.PhoneNumber) -> bool:
    """A national-form candidate must be written as the region writes it (with its trunk
    prefix: "06 12 34 56 78" in France, not "612 34 56 78", which is a Spanish mobile)."""
    written = digits(number)
    national = digits(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return written in (national, f"{parsed.country_code}{national}")
