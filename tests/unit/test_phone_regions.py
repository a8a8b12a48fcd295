"""A phone candidate is not parsed in a region whose numbers it cannot be written as (the proof
in ``phone._may_be_national``): the region of each number is never skipped, whichever way the
number is written, and no skipped parse would have passed either of the recognizer's tests."""

from __future__ import annotations

import random

import phonenumbers
import pytest
import regex
from phonenumbers import PhoneNumberType

from streams.adapters.recognizers import phone
from streams.adapters.recognizers.base import digits
from streams.adapters.recognizers.phone import DEFAULT_REGIONS, DouanePhoneRecognizer
from streams.devtools.bench.phone_load import random_number, writing_styles

KINDS = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE)


def _numbers(count: int, seed: int) -> list[tuple[str, phonenumbers.PhoneNumber]]:
    rng = random.Random(seed)
    out: list[tuple[str, phonenumbers.PhoneNumber]] = []
    for region in DEFAULT_REGIONS:
        for kind in KINDS:
            if phonenumbers.example_number_for_type(region, kind) is None:
                continue
            out.extend((region, random_number(region, kind, rng)) for _ in range(count))
    return out


def _national_writings(number: phonenumbers.PhoneNumber) -> dict[str, str]:
    """The writings of ``number`` parsed in a region (not international: "+..." or "00...")."""
    return {style: text for style, text in writing_styles(number).items()
            if not text.startswith(("+", "00"))}


def _skipped_would_pass(recognizer: DouanePhoneRecognizer, candidate: str) -> list[str]:
    """The regions skipped for ``candidate`` whose parse passes one of the two tests (a phone
    word near it: the most lenient case)."""
    number = phone._international(candidate.strip())
    if number.startswith("+"):
        return []
    wrong = []
    for region in recognizer.regions:
        if phone._may_be_national(digits(number), region):
            continue
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        one = [(region, number, parsed)]
        if recognizer._parse(candidate, one) is not None or \
                recognizer._unallocated_but_meant(candidate, lambda: True, one):
            wrong.append(region)
    return wrong


@pytest.mark.parametrize(("candidate", "region"), [
    # national forms of each region, and the country code written without "+" or "00"
    ("06 12 34 56 78", "FR"), ("06.12.34.56.78", "FR"), ("0612345678", "FR"),
    ("33 6 12 34 56 78", "FR"), ("33 06 12 34 56 78", "FR"), ("612345678", "FR"),
    ("612 34 56 78", "ES"), ("912-345-678", "ES"), ("34 612 34 56 78", "ES"),
    ("050 123 4567", "UA"), ("050.123.45.67", "UA"), ("(050) 123-45-67", "UA"),
    ("380 50 123 4567", "UA"), ("380 050 123 4567", "UA"),
    ("611 1234", "IS"), ("611-1234", "IS"), ("354 611 1234", "IS"),
    ("094 231 234", "UY"), ("2345 6789", "UY"), ("598 94 231 234", "UY"),
    ("020 7946 0958", "GB"), ("(020) 7946 0958", "GB"), ("07700 900123", "GB"),
    ("44 20 7946 0958", "GB"), ("44 020 7946 0958", "GB"), ("020.7946.0958", "GB"),
    ("(201) 555-0123", "US"), ("201-555-0123", "US"), ("201.555.0123", "US"),
    ("1-201-555-0123", "US"), ("1 (201) 555-0123", "US"), ("555-0123", "US"),
    # the international dialling prefix of the region: its country code may be any
    ("011 44 20 7946 0958", "US"), ("1001 33 6 12 34 56 78", "IS"),
    ("(0033) 6 12 34 56 78", "FR"), ("013 1 33 6 12 34 56", "UY"),
])
def test_the_skip_does_not_apply(candidate: str, region: str) -> None:
    assert phone._may_be_national(digits(candidate), region)


@pytest.mark.parametrize(("candidate", "region"), [
    ("201 555 0123", "ES"),  # ten digits: no Spanish number has them, even with 34
    ("201 555 0123", "FR"),  # ten digits in France open with the trunk prefix 0
    ("06 12 34 56 7", "US"),  # nine digits: never in the US, with or without 1
    ("1 2 3 4 5 6 7 8", "FR"),  # eight digits: too few for France
    ("12 6 4 2 21 14 22", "IS"),  # a league table's eleven digits
    ("4111 1111 1111 1111", "GB"),  # a card number's sixteen digits
    ("4111 1111 1111 1111", "UY"),  # sixteen digits in Uruguay open with 598
])
def test_the_skip_applies(candidate: str, region: str) -> None:
    assert not phone._may_be_national(digits(candidate), region)


def test_the_region_of_a_number_is_never_skipped_whichever_way_it_is_written() -> None:
    checked = 0
    for region, number in _numbers(6, 1):
        for style, text in _national_writings(number).items():
            code = str(number.country_code)
            # with the country code before it too ("33 06 12 34 56 78"), unless it is there
            with_code = text if style == "national-1-dashed" else f"{code} {text}"
            for candidate in (text, with_code):
                assert phone._may_be_national(digits(candidate), region), (region, style)
                checked += 1
    assert checked > 500


def test_no_skipped_parse_would_have_passed_a_test() -> None:
    recognizer = DouanePhoneRecognizer("en")
    candidates = [text for _, number in _numbers(4, 2)
                  for text in _national_writings(number).values()]
    rng = random.Random(3)
    for _ in range(1500):  # digit runs of every length in the recognizer's groupings
        run = "".join(rng.choice("0001123456789") for _ in range(rng.randint(7, 20)))
        groups = regex.findall(r"\d{1,4}", run) if rng.random() < 0.5 else \
            regex.findall(r"\d{1,3}", run)
        candidates.append(rng.choice(" -./").join(groups))
    skipped = 0
    for candidate in candidates:
        assert _skipped_would_pass(recognizer, candidate) == [], candidate
        skipped += sum(not phone._may_be_national(digits(candidate), r)
                       for r in DEFAULT_REGIONS)
    assert skipped > 3000  # the skip is exercised, not vacuous


def test_the_same_findings_with_every_region_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"Call {text} today." for _, number in _numbers(3, 4)
             for text in writing_styles(number).values()]
    texts += ["Maccabi Tel Aviv 12 6 4 2 21 14 22", "card 4111 1111 1111 1111 exp 12/27",
              "tél. 07 06 12 34 56", "ref 1234567890123"]
    recognizer = DouanePhoneRecognizer("en")
    skipping = [[(r.start, r.end, r.score) for r in recognizer.analyze(t, None)] for t in texts]
    monkeypatch.setattr(phone, "_may_be_national", lambda number_digits, region: True)
    parsing_all = [[(r.start, r.end, r.score) for r in recognizer.analyze(t, None)]
                   for t in texts]
    assert skipping == parsing_all
    assert sum(map(len, skipping)) > len(texts) / 2


def test_a_region_whose_formats_are_not_plain_groups_is_always_parsed() -> None:
    assert phone._group_count(r"(\d{3})(\d{4})") == 2
    assert phone._group_count(r"\d(\d{4})") is None  # a digit outside a group
    assert phone._group_count(r"((\d)\d{3})") is None  # a group inside a group
    assert phone._group_count(r"(?:\d{3})(\d{4})") is None  # not a capture group
    assert phone._group_count(r"(?P<area>\d{3})(\d{4})") is None  # a named one: not read
    assert phone._group_count(r"(\(\d{3}\))(\d{4})") is None  # a parenthesis in a group
    assert phone._group_count(r"([()]\d)(\d{4})") is None
    assert phone._group_count(r"(\d)\1") is None  # a back reference outside the groups
    assert phone._group_count(r"(\d{2}|\d{3})(\d{4})") == 2  # alternatives inside one
    # Argentina writes mobiles "\\2 15-\\3-\\4": the first group left out, "15" added
    assert phone._national_forms("AR") is None
    assert phone._may_be_national("1", "AR")
