"""The report's facts of one record (``streams.core.report_facts``): plain values for the
records douane writes, ``plain`` 0 for any record the report must read itself; and the pass
over stored facts (``streams.core.transparency.tally_report``) gives the figures the pass over
the records gives, on the hand-computed log and on records of every irregular form."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from transparency_log import LOG, POLICY_TEXT, answered, decided, forwarded

from streams.adapters.policy_files import parse_policy
from streams.core import canonical_json
from streams.core.pricing import AgreeingCosts
from streams.core.report_facts import COLUMNS, report_facts
from streams.core.transparency import (
    FactRow,
    ReportRecord,
    compute_report,
    figures,
    report_record,
    tally_report,
)

POLICY = parse_policy(POLICY_TEXT, "report.yaml")


def facts(payload: dict[str, Any]) -> dict[str, Any]:
    """The stored facts of ``payload`` signed at some moment (as every stored record is)."""
    signed = {"occurred_at": "2026-11-10T09:00:00.000000Z", **payload}
    return dict(zip(COLUMNS, report_facts(signed, AgreeingCosts()), strict=True))


def as_read(seq: int, stored: dict[str, Any]) -> FactRow:
    """The row a reader gives of stored facts (as ``adapters.audit.report_facts``' SELECT)."""
    def first(*names: str) -> Any:
        return next((stored[n] for n in names if stored[n] is not None), None)
    plain = stored["plain"] == 1
    return (stored["kind"] if plain else None, stored["tenant"], stored["request_id"],
            stored["provider"], first("jurisdiction", "model", "replay_profile"),
            first("input_tokens", "prompt_chars") if plain else seq,
            first("output_tokens", "personal"), stored["cost_micros"],
            first("currency", "finding_scores"), stored["estimated"], stored["findings"])


def both_ways(log: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = [as_read(seq, facts(payload)) for seq, payload in enumerate(log, 1)]

    def whole(seq: int) -> ReportRecord:
        return report_record(log[seq - 1])
    return figures(tally_report(rows, (), POLICY, whole=whole)), compute_report(log, POLICY)


def test_the_hand_computed_log_from_its_facts() -> None:
    from_facts, from_records = both_ways(LOG)
    assert from_facts == from_records
    assert from_facts["overall"]["totals"]["cost"] == {"EUR": "0.005250", "USD": "0.021000"}
    # ... every record of it from plain facts but r2's answer, whose cost disagrees (read whole)
    assert [p["record_id"] for p in LOG if facts(p)["plain"] == 0] == ["r2/answered"]


def test_an_answer_keeps_its_usage_and_agreeing_cost_as_scalars() -> None:
    stored = facts(answered("r", "tax", "paris", "large", (1000, 500), estimated=True,
                            cost="0.002500", price=("1", "3", "EUR")))
    assert {k: stored[k] for k in ("kind", "plain", "tenant", "request_id", "provider",
                                   "model", "input_tokens", "output_tokens", "estimated",
                                   "cost_micros", "currency")} == {
        "kind": "answered", "plain": 1, "tenant": "tax", "request_id": "r",
        "provider": "paris", "model": "large", "input_tokens": 1000, "output_tokens": 500,
        "estimated": 1, "cost_micros": 2500, "currency": "EUR"}
    unpriced = facts(answered("r", "tax", "paris", "", (1, 2)))
    assert (unpriced["plain"], unpriced["cost_micros"], unpriced["model"]) == (1, None,
                                                                               "unknown")


def test_a_decision_keeps_what_its_replay_rests_on() -> None:
    record = decided("r", "city", "public", "paris", entities={"PERSON": 1},
                     requested_model="large")
    record["details"]["findings"] = [
        {"message": 0, "type": "PERSON", "start": 0, "end": 4, "score": 0.85},
        {"message": 0, "type": "EMAIL_ADDRESS", "start": 9, "end": 20, "score": 1}]
    stored = facts(record)
    assert (stored["plain"], stored["provider"], stored["personal"], stored["prompt_chars"]) \
        == (1, "paris", 1, 20)
    assert stored["replay_profile"] == '[null,"public","large","ner+patterns","en"]'
    assert stored["finding_scores"] == "PERSON=0.85;EMAIL_ADDRESS=1"
    del record["details"]["requested_classification"]
    record["details"]["classification"] = "personal"
    assert facts(record)["replay_profile"] == '[null,"personal","large","ner+patterns","en"]'


def test_facts_made_before_signing_equal_those_made_from_the_signed_bytes() -> None:
    """The writer makes the facts from the record it is about to sign; ``audit verify`` makes
    them again from the signed (canonical) bytes: a score of 1.0 and the findings' key order
    must not make them differ."""
    record = {"occurred_at": "2026-11-10T09:00:00.000000Z",
              **decided("r", "city", "personal", "paris", entities={"PERSON": 1})}
    record["details"]["findings"] = [
        {"type": "IBAN_CODE", "message": 0, "start": 30, "end": 57, "score": 1.0},
        {"type": "PERSON", "message": 0, "start": 0, "end": 12, "score": 0.85}]
    signed = json.loads(canonical_json.dumps(record))
    before = report_facts(record, AgreeingCosts())
    assert dict(zip(COLUMNS, before, strict=True))["plain"] == 1
    assert before == report_facts(signed, AgreeingCosts())
    assert facts(record)["finding_scores"] == "IBAN_CODE=1;PERSON=0.85"


def irregular(base: dict[str, Any], change: Any) -> dict[str, Any]:
    record = copy.deepcopy(base)
    change(record["details"])
    return record


ANSWER = answered("r1", "city", "virginia", "gpt", (1000, 500), cost="0.005000",
                  price=("2", "6", "USD"))
DECISION = decided("r1", "city", "public", "virginia")
DECISION["details"]["findings"] = [
    {"message": 0, "type": "PERSON", "start": 0, "end": 4, "score": 0.9}]
# records the report must read itself: each changes one thing douane does not write
IRREGULAR = {
    "cost disagreeing": irregular(ANSWER, lambda d: d["cost"].update(amount="0.006000")),
    "cost in another form": irregular(ANSWER, lambda d: d["cost"].update(amount="0.005")),
    "cost without usage": irregular(ANSWER, lambda d: d.update(usage=None)),
    "findings overlapping": irregular(DECISION, lambda d: d["findings"].append(
        {"message": 0, "type": "EMAIL_ADDRESS", "start": 2, "end": 9, "score": 0.7})),
    "a score not a number": irregular(DECISION, lambda d: d["findings"][0].update(
        score=math.nan)),
    "a score as text": irregular(DECISION, lambda d: d["findings"][0].update(score="0.9")),
    "a finding not an object": irregular(DECISION, lambda d: d["findings"].append(3)),
    "a purpose not a name": irregular(DECISION, lambda d: d.update(purpose=["audit"])),
    "prompt size true": irregular(DECISION, lambda d: d.update(prompt_chars=True)),
    "a classification list": irregular(DECISION, lambda d: d.update(classification=["x"])),
}


# records the pass over the records cannot count either (it fails on them, either way)
CRASHING = ("a finding not an object", "a classification list", "a purpose not a name")


@pytest.mark.parametrize("name", sorted(IRREGULAR))
def test_a_record_douane_does_not_write_is_read_itself(name: str) -> None:
    assert facts(IRREGULAR[name])["plain"] == 0


def test_irregular_records_give_the_same_figures_from_facts() -> None:
    log = [*LOG, DECISION, forwarded("r1", "city", "virginia", "US"), ANSWER,
           *(dict(IRREGULAR[name], record_id=f"{name}/{n}") for n, name
             in enumerate(sorted(IRREGULAR)) if name not in CRASHING),
           {"kind": "answered", "record_id": "x", "request_id": 7, "tenant": "",
            "details": {"provider": 5, "model": None, "usage": {"input_tokens": -3,
                                                                "output_tokens": True}}}]
    from_facts, from_records = both_ways(log)
    assert from_facts == from_records
    assert len(from_facts["cost_disagreements"]) == 3
