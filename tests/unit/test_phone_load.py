"""The generated phone load (``douane bench phones``): what it plants is what it says."""

from __future__ import annotations

import phonenumbers
import pytest

from streams.devtools.bench.phone_load import generate


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
