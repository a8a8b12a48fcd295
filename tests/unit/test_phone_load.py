"""The generated phone load (``douane bench phones``): what it plants is what it says."""

from __future__ import annotations

import phonenumbers
import pytest

from streams.devtools.bench.phone_load import generate, writing_styles


@pytest.mark.parametrize("unallocated", [False, True])
def test_planted_numbers_are_allocated_or_not_as_asked(unallocated: bool) -> None:
    prompts = generate(("FR", "US", "GB"), 300, seed=3, unallocated=unallocated)
    planted = [(p.text[v.start:v.end], v.region) for p in prompts for v in p.planted]
    assert len(planted) >= 300
    for written, region in planted:
        number = written.replace("(0)", "")
        parsed = phonenumbers.parse(number if number.startswith("+") else
                                    "+" + number[2:] if number.startswith("00") else number,
                                    region)
        assert phonenumbers.is_valid_number(parsed) is not unallocated, written
        assert phonenumbers.is_possible_number(parsed), written


@pytest.mark.parametrize(("number", "region"), [
    ("310-1234", "CA"),  # a seven-digit Canadian number (libphonenumber's UAN example)
    ("555-0123", "US"),  # seven digits dialled locally
])
def test_north_american_numbers_of_two_groups_have_writing_styles(number: str,
                                                                  region: str) -> None:
    styles = writing_styles(phonenumbers.parse(number, region))
    assert styles["national-dashed"] == number
    # no "1-" or "(area)" forms: there is no area code to put them before
    assert "national-1-dashed" not in styles and "international-parenthesised" not in styles


def test_north_american_numbers_of_three_groups_keep_their_forms() -> None:
    styles = writing_styles(phonenumbers.parse("646-292-7259", "US"))
    assert styles["national-1-dashed"] == "1-646-292-7259"
    assert styles["international-parenthesised"] == "+1 (646) 292-7259"
