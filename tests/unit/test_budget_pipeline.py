"""Budgets in the pipeline, without Kafka: two pipelines (two workers) on one real SQLite audit
log, a fake detector and provider. The admit stage reads the month's spend from the ledger the
forward stage's answered records fill, blocks once it is spent, records the exhaustion once for
both workers, and starts again from zero the next month."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from test_pipeline import (
    FORWARD_TOPIC,
    REQUEST_SCHEMA,
    ROOT,
    Clock,
    FakeDetector,
    FakeProvider,
    on,
    request,
    src,
)

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.audit.verify import load_audit_schema, verify_store
from streams.adapters.policy_files import parse_policy, policy_document
from streams.adapters.signer import load_or_create_signer
from streams.config import RESPONSES_TOPIC
from streams.core.intake import RequestIntake
from streams.core.loaded_policy import LoadedPolicy
from streams.core.tenant_topics import SINGLE
from streams.pipeline import Pipeline, Source

TENANT = "city-of-lyon"
TEXT = "Résumez la note de service du 3 mars en trois lignes."


def priced_single_door() -> LoadedPolicy:
    """The shipped policy with only its sovereign door, priced at 1 EUR a token (in and out),
    and a 1 EUR monthly budget for city-of-lyon that blocks once spent."""
    document = policy_document(ROOT / "policies")
    document["providers"] = document["providers"][:1]
    document["providers"][0]["prices"] = [{
        "valid_from": "2024-01-01", "currency": "EUR", "input_per_million": 1_000_000,
        "output_per_million": 1_000_000}]
    for rule in document["rules"]:
        residency = rule.get("residency") or {}
        if "providers" in residency:
            residency["providers"] = [p for p in residency["providers"]
                                      if p == "sovereign-local"]
    document["budgets"] = [{"id": "lyon", "tenant": TENANT, "monthly": 1, "currency": "EUR",
                            "when_exhausted": "block"}]
    return parse_policy(yaml.safe_dump(document), "budgets.yaml")


@dataclass
class Workers:
    a: Pipeline
    b: Pipeline
    stores: tuple[GroupCommitLog, GroupCommitLog]
    clock: Clock


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    policy = priced_single_door()
    signer = load_or_create_signer(tmp_path / "keys" / "audit.pem", tmp_path / "audit.pub.pem")
    stores = (open_sqlite_log(tmp_path / "audit.sqlite3", signer),
              open_sqlite_log(tmp_path / "audit.sqlite3", signer))
    clock = Clock()

    def pipeline(store: GroupCommitLog) -> Pipeline:
        return Pipeline(policy, RequestIntake(REQUEST_SCHEMA, policy.policy.tenant_ids,
                                              64 * 1024), FakeDetector(findings=()), store,
                        FakeProvider(), clock=clock, retry_delay_s=0, topic_layout=SINGLE)

    yield Workers(pipeline(stores[0]), pipeline(stores[1]), stores, clock)
    report = verify_store(tmp_path / "audit.sqlite3", [tmp_path / "audit.pub.pem"],
                          load_audit_schema())
    for store in stores:
        store.close()
    assert report.ok, report.problem


def alerts_counted() -> float:
    return REGISTRY.get_sample_value("douane_budget_alerts_total",
                                     {"tenant": TENANT, "status": "exhausted"}) or 0.0


async def test_spent_by_one_worker_blocks_on_both_and_is_recorded_once(
        workers: Workers) -> None:
    before = alerts_counted()
    [forward] = await workers.a.admit(request("req-1", TEXT), src(1, key=b"req-1"))
    [answered] = on(await workers.a.forward(forward.value, Source(FORWARD_TOPIC, 0, 1)),
                    RESPONSES_TOPIC)
    assert answered["status"] == "answered"
    cost = workers.stores[0].get("req-1/answered").payload["details"]["cost"]  # type: ignore[union-attr]
    assert float(cost["amount"]) >= 1  # the usage douane counted, at 1 EUR a token

    for n, pipeline in ((2, workers.b), (3, workers.a), (4, workers.b)):
        [blocked] = on(await pipeline.admit(request(f"req-{n}", TEXT), src(n, key=b"r")),
                       RESPONSES_TOPIC)
        assert blocked["status"] == "blocked"
        assert [r["code"] for r in blocked["reasons"]] == ["budget-exhausted"]
    records = list(workers.stores[0].iter_records())
    assert [r.record_id for r in records if r.kind == "budget_alert"] == \
        ["budget/lyon/2025-03/exhausted"]
    assert alerts_counted() == before + 1
    details = next(r for r in records if r.kind == "budget_alert").payload["details"]
    assert details["status"] == "exhausted" and details["spent"] == cost["amount"]

    workers.clock.advance(31 * 24 * 3600)  # April: a new month, nothing spent yet
    out = await workers.b.admit(request("req-5", TEXT), src(5, key=b"req-5"))
    assert [o.topic for o in out] == [FORWARD_TOPIC]


async def test_a_shadow_set_with_a_budget_is_judged_with_the_months_spend(
        tmp_path: Path) -> None:
    """The set in force has no budget; the shadow set's budget is spent after one answer:
    the shadow decision says it would have blocked, and the request still goes."""
    shadow = priced_single_door()
    document = dict(shadow.document)
    document["budgets"] = []
    in_force = parse_policy(yaml.safe_dump(document), "in-force.yaml")
    signer = load_or_create_signer(tmp_path / "keys" / "audit.pem", tmp_path / "audit.pub.pem")
    store = open_sqlite_log(tmp_path / "audit.sqlite3", signer)
    try:
        pipeline = Pipeline(in_force, RequestIntake(REQUEST_SCHEMA, in_force.policy.tenant_ids,
                                                    64 * 1024), FakeDetector(findings=()),
                            store, FakeProvider(), clock=Clock(), retry_delay_s=0,
                            topic_layout=SINGLE, shadow=shadow)
        [forward] = await pipeline.admit(request("req-1", TEXT), src(1, key=b"req-1"))
        first = store.get("req-1/admitted")
        assert first is not None
        assert first.payload["details"]["shadow"]["budgets"] == {"lyon": "within"}
        await pipeline.forward(forward.value, Source(FORWARD_TOPIC, 0, 1))
        [again] = await pipeline.admit(request("req-2", TEXT), src(2, key=b"req-2"))
        assert again.topic == FORWARD_TOPIC  # enforced: the set in force has no budget
        second = store.get("req-2/admitted")
        assert second is not None
        judged = second.payload["details"]["shadow"]
        assert judged["decision"] == "block" and judged["reasons"] == ["budget-exhausted"]
        assert judged["budgets"] == {"lyon": "exhausted"}
    finally:
        store.close()
