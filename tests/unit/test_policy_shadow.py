"""Shadow mode (Kyverno's Audit next to Enforce): a second policy set judges every request too;
its decision is recorded in the decision record, never enforced, and ``douane policy diff
--shadow`` lists where it would have decided differently."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from test_pipeline import (
    PLANTED,
    POLICY,
    REQUEST_SCHEMA,
    Clock,
    FakeDetector,
    FakeProvider,
    request,
    src,
)

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.policy_files import parse_policy
from streams.adapters.signer import load_or_create_signer
from streams.cli import main
from streams.config import FORWARD_TOPIC_PREFIX, load_settings
from streams.core.intake import RequestIntake
from streams.core.loaded_policy import LoadedPolicy
from streams.pipeline import Pipeline


def names_dropped() -> LoadedPolicy:
    """The policy in force, but names are dropped and e-mail addresses block the request."""
    document = json.loads(json.dumps(POLICY.document))
    document["version"] = 2
    baseline = next(r for r in document["rules"] if r["id"] == "baseline")
    baseline["redaction"]["EMAIL_ADDRESS"] = {"operator": "block"}
    return parse_policy(yaml.safe_dump(document), "candidate.yaml")


SHADOW = names_dropped()


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[GroupCommitLog]:
    signer = load_or_create_signer(tmp_path / "keys" / "audit.pem", tmp_path / "audit.pub.pem")
    opened = open_sqlite_log(tmp_path / "audit.sqlite3", signer)
    yield opened
    opened.close()


def pipeline(store: GroupCommitLog, shadow: LoadedPolicy | None) -> Pipeline:
    return Pipeline(POLICY, RequestIntake(REQUEST_SCHEMA, POLICY.policy.tenant_ids, 64 * 1024),
                    FakeDetector(), store, FakeProvider(), clock=Clock(), retry_delay_s=0,
                    shadow=shadow)


def admitted(store: GroupCommitLog, request_id: str) -> dict[str, Any]:
    [record] = [r for r in store.records_for_request(request_id)
                if r.kind in ("admitted", "blocked")]
    assert record.kind == "admitted"
    details: dict[str, Any] = record.payload["details"]
    return details


def test_the_shadow_decision_is_recorded_and_never_enforced(store: GroupCommitLog) -> None:
    out = asyncio.run(pipeline(store, SHADOW).admit(request("req-1"), src()))
    # enforced: the set in force forwards the request (names and e-mail replaced)
    [sent] = out
    assert sent.topic.startswith(FORWARD_TOPIC_PREFIX)
    details = admitted(store, "req-1")
    assert details["decision"] == "forward" and details["policy"]["sha256"] == POLICY.digest
    # recorded: the candidate would have blocked it for the e-mail address
    shadow = details["shadow"]
    assert shadow["policy"] == SHADOW.reference and SHADOW.digest != POLICY.digest
    assert shadow["decision"] == "block" and shadow["provider"] is None
    assert "blocked-entity" in shadow["reasons"]
    assert shadow["operators"]["EMAIL_ADDRESS"] == "block"
    # codes and identifiers only: no text of the request, no message of a reason
    written = json.dumps(shadow)
    assert [v for v in PLANTED if v in written] == []
    assert "message" not in written


def test_without_a_shadow_set_nothing_is_added(store: GroupCommitLog) -> None:
    asyncio.run(pipeline(store, None).admit(request("req-1"), src()))
    assert "shadow" not in admitted(store, "req-1")


def test_diff_shadow_lists_where_the_shadow_set_would_have_decided_otherwise(
        store: GroupCommitLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judged = pipeline(store, SHADOW)
    asyncio.run(judged.admit(request("req-1"), src(offset=1)))
    asyncio.run(judged.admit(request("req-2", "Opening hours of the library?",
                                     classification="public"), src(offset=2)))
    db = tmp_path / "audit.sqlite3"
    capsys.readouterr()  # the pipeline's own log lines
    assert main(["policy", "diff", "--shadow", "--audit-db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"in force: sha256 {POLICY.digest[:12]}... ('national-administration' v1)" in out
    assert f"shadow:   sha256 {SHADOW.digest[:12]}... ('national-administration' v2)" in out
    assert "1 of 2 decision(s) would have been different" in out
    assert "req-1 (" in out and "forward via sovereign-local -> block via -" in out
    assert '"EMAIL_ADDRESS": "placeholder"' in out and '"EMAIL_ADDRESS": "block"' in out
    assert "req-2" not in out  # public, decided alike by both sets


def test_diff_shadow_says_when_nothing_was_judged_in_shadow(
        store: GroupCommitLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(pipeline(store, None).admit(request("req-1"), src()))
    assert main(["policy", "diff", "--shadow", "--audit-db",
                 str(tmp_path / "audit.sqlite3")]) == 0
    assert "no decision was judged in shadow" in capsys.readouterr().out


def test_the_worker_reads_the_shadow_set_from_the_environment(tmp_path: Path) -> None:
    assert load_settings({"DOUANE_HOME": str(tmp_path)}).policy_shadow_path is None
    settings = load_settings({"DOUANE_HOME": str(tmp_path),
                              "DOUANE_POLICY_SHADOW": "candidate/"})
    assert settings.policy_shadow_path == Path("candidate").resolve()


def test_the_worker_loads_the_shadow_set_and_audits_what_it_cannot_see(
        store: GroupCommitLog, tmp_path: Path) -> None:
    from streams.worker import audit_shadow, build_pipeline

    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(json.loads(json.dumps(SHADOW.document))), "utf-8")
    in_force = tmp_path / "policy.yaml"
    in_force.write_text(yaml.safe_dump(json.loads(json.dumps(POLICY.document))), "utf-8")
    settings = load_settings({"DOUANE_HOME": str(tmp_path), "DOUANE_POLICY": str(in_force),
                              "DOUANE_POLICY_SHADOW": str(candidate)})
    detector = FakeDetector()
    # what this detector loaded: everything but e-mail addresses
    detector.languages = POLICY.policy.detection.languages  # type: ignore[attr-defined]
    detector.entities = POLICY.policy.entity_types - {"EMAIL_ADDRESS"}  # type: ignore[attr-defined]
    built = build_pipeline(settings, store, detector)  # type: ignore[arg-type]
    assert built.shadow is not None and built.shadow.digest == SHADOW.digest
    assert built.policy.digest == POLICY.digest
    event = audit_shadow(built, candidate, "test-app")
    assert event.kind == "policy_changed"
    details = event.details
    assert details["event"] == "shadow-loaded"
    # the set in force is still the one every field that names "the policy" names
    assert details["policy"] == details["after"] == POLICY.reference
    assert details["shadow"] == SHADOW.reference
    [limit] = details["shadow_limits"]
    assert "EMAIL_ADDRESS" in limit and "the shadow decisions ignore them" in limit
