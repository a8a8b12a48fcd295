"""Helpers of branch ``tpspeed`` (detection's CPU on third-party text): the same answers for
less work."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest

from streams.adapters.recognizers.phone import DEFAULT_REGIONS, DouanePhoneRecognizer
from streams.adapters.recognizers.repeated_names import _rivals
from streams.core.model import Finding


def test_a_phone_candidate_is_parsed_once_per_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # "07 06 12 34 56": no range allocates it, so both tests (valid? unallocated but meant?)
    # read every region's parse; each region is parsed once all the same (but not in Spain or
    # Iceland: neither writes 10 digits opening with 0, see test_phone_regions.py)
    calls: list[tuple[str, str | None]] = []
    parse = phonenumbers.parse

    def counted(number: str, region: str | None) -> Any:
        calls.append((number, region))
        return parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counted)
    found = DouanePhoneRecognizer("fr").analyze("Appelez le 07 06 12 34 56 demain.", None)
    assert [(r.start, r.end) for r in found] == [(11, 25)]
    assert sorted(region or "" for _, region in calls) == sorted(
        set(DEFAULT_REGIONS) - {"ES", "IS"})


@pytest.mark.parametrize(("types", "rivals"), [
    (("PERSON", "EMAIL_ADDRESS", "LOCATION", "IBAN_CODE"), ("EMAIL_ADDRESS", "IBAN_CODE")),
    (("PERSON", "ORGANIZATION"), ()),  # NER's own types never beat a PERSON finding
    (("PHONE_NUMBER",), ("PHONE_NUMBER",)),
    ((), ()),
])
def test_only_types_ner_does_not_read_can_beat_a_person(types: tuple[str, ...],
                                                        rivals: tuple[str, ...]) -> None:
    findings = [Finding(0, entity, i, i + 1, 0.9, "test") for i, entity in enumerate(types)]
    assert tuple(f.entity_type for f in _rivals(findings)) == rivals
