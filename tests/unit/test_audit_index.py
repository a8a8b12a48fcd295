"""The pure parts of the audit search: what a record shows, adds to the overview, and counts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from streams.core.audit_index import (
    Contribution,
    DayPlan,
    contribution,
    count_keys,
    day_plan,
    field_values,
    index_entry,
    overview_from_counts,
    status,
    tally,
)
from streams.services.audit_search import RecordSummary, summarise

POLICY = {"name": "p", "version": "1", "sha256": "ab" * 32}


def payload(kind: str, tenant: str | None = "lyon", at: str = "2026-03-01T10:00:00.000000Z",
            **details: Any) -> dict[str, Any]:
    return {"seq": 1, "record_id": f"r/{kind}", "kind": kind, "request_id": "r",
            "tenant": tenant, "occurred_at": at, "details": details}


ADMITTED = payload("admitted", decision="forward", provider="mistral",
                   provider_jurisdiction="FR", entities={"PERSON": 2, "EMAIL_ADDRESS": 1},
                   reasons=[{"code": "routed", "message": "m"}], policy=POLICY)
BLOCKED = payload("blocked", decision="block", entities={"FR_NIR": 1, "PERSON": 0},
                  reasons=[{"code": "no-allowed-provider", "message": "m"},
                           {"code": "no-allowed-provider", "message": "again"}], policy=POLICY)
FORWARDED = payload("forwarded", provider="openai-us", jurisdiction="US", policy=POLICY)
ANSWERED = payload("answered", provider="openai-us", policy=POLICY)
REJECTED = payload("rejected", tenant=None, reasons=[{"code": "invalid-json", "message": "m"}])
FAILED = payload("failed", provider="mistral",
                 reasons=[{"code": "provider-timeout", "message": "m"}])
KEY_ROTATED = payload("key_rotated", tenant=None, retired_key_id="a", new_key_id="b")


@pytest.mark.parametrize(("record", "expected"), [
    (ADMITTED, Contribution("2026-03-01", "lyon", None, ("EMAIL_ADDRESS", "PERSON"), None, None,
                            ())),
    (BLOCKED, Contribution("2026-03-01", "lyon", "blocked", ("FR_NIR",), None, None,
                           ("no-allowed-provider",))),
    (FORWARDED, Contribution("2026-03-01", "lyon", None, (), "openai-us", "US", ())),
    (ANSWERED, Contribution("2026-03-01", "lyon", "answered", (), None, None, ())),
    (REJECTED, Contribution("2026-03-01", None, "rejected", (), None, None, ("invalid-json",))),
    (FAILED, Contribution("2026-03-01", "lyon", "failed", (), None, None,
                          ("provider-timeout",))),
    (KEY_ROTATED, Contribution("2026-03-01", None, None, (), None, None, ())),
])
def test_what_each_kind_of_record_adds_to_the_overview(record: dict[str, Any],
                                                       expected: Contribution) -> None:
    assert contribution(record) == expected


@pytest.mark.parametrize(("kind", "expected"), [
    ("answered", "answered"), ("blocked", "blocked"), ("rejected", "rejected"),
    ("failed", "failed"), ("admitted", None), ("forwarded", None), ("policy_changed", None),
])
def test_the_status_of_a_request_is_the_kind_of_its_outcome(kind: str,
                                                            expected: str | None) -> None:
    assert status(kind) == expected


def test_a_row_shows_codes_and_ids_from_the_signed_payload() -> None:
    assert summarise(7, ADMITTED) == RecordSummary(
        seq=7, record_id="r/admitted", time="2026-03-01T10:00:00.000000Z", kind="admitted",
        tenant="lyon", request_id="r", decision="forward", provider="mistral",
        jurisdiction="FR", entity_types=("EMAIL_ADDRESS", "PERSON"), reason_codes=("routed",),
        policy_hash="ab" * 32)


def test_a_value_spelt_two_ways_counts_once() -> None:
    record = payload("admitted", entities={"PERSON": 1, "person": 2})
    assert field_values(record, "entity-type") == ("PERSON",)
    assert index_entry(1, record).many == (("entity-type", "person"),)


def test_counts_give_the_same_overview_as_the_records() -> None:
    records = [ADMITTED, BLOCKED, FORWARDED, ANSWERED, REJECTED, FAILED, KEY_ROTATED,
               payload("answered", tenant="gap", at="2026-03-02T23:59:59.999999Z",
                       provider="local"),
               payload("admitted", tenant="gap", at="2026-03-02T01:00:00.000000Z",
                       entities={"PERSON": 1, "person": 1})]
    counts: Counter[tuple[str, str, str, str, str]] = Counter()
    for record in records:
        counts.update(count_keys(record))
    from_counts = overview_from_counts((*key, n) for key, n in counts.items())
    from_records = tally(contribution(record) for record in records)
    assert from_counts == from_records
    assert from_records.by_day_and_status == {
        ("2026-03-01", "answered"): 1, ("2026-03-01", "blocked"): 1,
        ("2026-03-01", "failed"): 1, ("2026-03-01", "rejected"): 1,
        ("2026-03-02", "answered"): 1}
    assert from_records.by_tenant == {"lyon": 3, "gap": 1}  # the rejected one names none
    assert from_records.by_entity_type == {"EMAIL_ADDRESS": 1, "FR_NIR": 1, "PERSON": 2}
    assert from_records.by_provider == {"openai-us": 1}  # forwarded records only
    assert from_records.by_jurisdiction == {"US": 1}
    assert from_records.by_reason == {"invalid-json": 1, "no-allowed-provider": 1,
                                      "provider-timeout": 1}
    assert from_records.total_requests == 5


D = "T00:00:00.000000Z"


@pytest.mark.parametrize(("since", "until", "expected"), [
    (None, None, DayPlan(None, None, ())),
    ("2026-03-01" + D, "2026-03-08" + D, DayPlan("2026-03-01", "2026-03-08", ())),
    ("2026-03-01T09:17:00.000000Z", None,
     DayPlan("2026-03-02", None, (("2026-03-01T09:17:00.000000Z", "2026-03-02" + D),))),
    (None, "2026-03-08T12:00:00.000000Z",
     DayPlan(None, "2026-03-08", (("2026-03-08" + D, "2026-03-08T12:00:00.000000Z"),))),
    ("2026-03-01T09:00:00.000000Z", "2026-03-01T10:00:00.000000Z",
     DayPlan("2026-03-02", "2026-03-02",
             (("2026-03-01T09:00:00.000000Z", "2026-03-01T10:00:00.000000Z"),))),
    ("2026-02-28T23:00:00.000000Z", "2026-03-01T01:00:00.000000Z",
     DayPlan("2026-03-01", "2026-03-01",
             (("2026-02-28T23:00:00.000000Z", "2026-03-01T01:00:00.000000Z"),))),
    ("2026-03-01", "2026-03-03", DayPlan("2026-03-01", "2026-03-03", ())),  # bare dates
    ("yesterday", None, None),
])
def test_a_time_range_is_cut_into_whole_days_and_ends(since: str | None, until: str | None,
                                                      expected: DayPlan | None) -> None:
    assert day_plan(since, until) == expected
