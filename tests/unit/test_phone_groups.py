"""A national-form number is reported only when written in a grouping its region writes numbers
in (``phone._grouped_as_its_region_writes``): the groups of one of the region's formats in
libphonenumber's metadata, long groups cut in pieces of two or more, groups written together;
a valid number written otherwise ("9 13 3 81 91 21", a league-table row) only with a phone word
near it and no group of one digit."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from streams.adapters.recognizers import phone
from streams.adapters.recognizers.phone import DEFAULT_REGIONS, DouanePhoneRecognizer
from streams.devtools.bench.phone_load import KINDS, random_number, writing_styles

RECOGNIZER = DouanePhoneRecognizer("en")


def _found(text: str) -> list[str]:
    return [text[r.start:r.end] for r in RECOGNIZER.analyze(text, None)]


@pytest.mark.parametrize("written", [
    # the library's own national groupings, and the same digits dashed, dotted, parenthesised
    "06 12 34 56 78", "06.12.34.56.78", "33 06 12 34 56 78",  # FR
    "612 34 56 78", "612 345 678", "912-345-678", "34 612 345 678",  # ES: both formats
    "050 123 4567", "(050) 123-45-67", "050-123-45-67", "050 123 45 67",  # UA: pairs too
    "611 1234", "611-1234",  # IS
    "094 231 234", "2345 6789",  # UY
    "020 7946 0958", "(020) 7946 0958", "07911 123456", "07911 123 456",  # GB: threes too
    "(201) 555-0123", "201-555-0123", "201.555.0123", "1-201-555-0123", "(201) 5550123",  # US
    "0612345678", "2015550123",  # one run: nothing to judge
])
def test_accepted_writings(written: str) -> None:
    assert _found(f"Our office: {written}.") == [written]


@pytest.mark.parametrize("written", [
    "9 13 3 81 91 21",  # a league table's row: the valid US number 913-381-9121
    "14 12 2 76 74 31",  # another row, one-digit group in the middle
    "18 7 8 3 24 16 29",  # eleven digits: 1 878 324 1629 in the US
    "8 6 0 261 284",  # nine digits: a Spanish number's length
    "69 68 137",  # golf scores: 696-8137, seven digits in the US
    "2010 6 789",  # UY's 2010 6789 with a one-digit piece
    "07911 12 3 456",  # a GB mobile's six-digit group cut with a digit alone
    "061 23 45 67 8",  # a French mobile across its pairs, a digit left alone
    "91 3467312",  # Madrid's area code apart: not a grouping of the metadata
])
def test_refused_writings(written: str) -> None:
    assert _found(f"Results: {written}.") == []


def test_a_phone_word_admits_an_other_grouping_without_one_digit_groups() -> None:
    assert _found("Llame al teléfono 91 3467312.") == ["91 3467312"]
    # not a row of one-digit groups, even after "Tel" (Maccabi Tel Aviv's row)
    assert _found("Maccabi Tel Aviv 14 12 2 76 74 31") == []


def test_international_forms_are_not_judged_by_grouping() -> None:
    # the "+" or "00" is the evidence; the groups of a foreign region are its own
    assert _found("call +36 1 327 4040 today") == ["+36 1 327 4040"]
    assert _found("call 0033 6 12 34 56 78 today") == ["0033 6 12 34 56 78"]


def test_every_planted_writing_of_every_region_is_accepted() -> None:
    rng = random.Random(5)
    checked = 0
    for region in DEFAULT_REGIONS:
        for kind in KINDS:
            for _ in range(8):
                number = random_number(region, kind, rng)
                for style, text in writing_styles(number).items():
                    if text.startswith(("+", "00")):
                        continue
                    parsed = phonenumbers.parse(text, region)
                    assert phone._grouped_as_its_region_writes(text, parsed), (region, style)
                    checked += 1
    assert checked > 500


@pytest.mark.parametrize("text", [
    "1:47.16 (53.21 / 53.95)",  # a race time and its splits: a parenthesis the number opens
    "Dupont (2005-2012, 2013-2015)",  # spans of years: valid Uruguayan numbers
    "Wessex (1914-1918)",
])
def test_text_parentheses_and_spans_of_years_are_not_numbers(text: str) -> None:
    assert _found(text) == []


def test_spans_of_years_with_a_phone_word_and_balanced_parentheses_stay_numbers() -> None:
    assert _found("tel. 2010-2011") == ["2010-2011"]
    assert _found("Results 2019-2003 now") == ["2019-2003"]  # backwards: not a span
    assert _found("(020) 7946 0958 x") == ["(020) 7946 0958"]
    assert _found("+44 (0)20 7946 0958") == ["+44 (0)20 7946 0958"]
