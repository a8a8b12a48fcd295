"""Every audit event is built by ``streams/core/audit_events.py``: what each kind of record
says is decided in one module, whoever appends it (pipeline, key rotation, policy reload,
services)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from streams.core import audit_events
from streams.core.audit import AUDIT_KINDS
from streams.core.intake import Rejection
from streams.core.model import Reason

STREAMS = Path(__file__).resolve().parents[2] / "streams"
BUILDER = STREAMS / "core" / "audit_events.py"
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SOURCE = {"topic": "douane.forward.sovereign-local", "partition": 2, "offset": 41}
POLICY = {"name": "p", "version": "1", "sha256": "ab" * 32}


def builds_an_event(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    called = node.func
    name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", None)
    return name == "AuditEvent"


def test_no_module_but_audit_events_builds_an_audit_event() -> None:
    builders = sorted(
        f"{path.relative_to(STREAMS)}:{node.lineno}"
        for path in STREAMS.rglob("*.py") if path != BUILDER
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path)))
        if builds_an_event(node))
    assert builders == [], "build audit events in streams/core/audit_events.py: " + \
        ", ".join(builders)


def test_the_check_sees_an_event_built_elsewhere() -> None:
    tree = ast.parse("from streams.core import audit\naudit.AuditEvent('x', 'admitted', None, "
                     "None, now, {})\nAuditEvent('y', 'admitted', None, None, now, {})")
    assert sum(builds_an_event(node) for node in ast.walk(tree)) == 2


def test_each_builder_gives_its_kind_and_record_id() -> None:
    rejection = Rejection("not-json", "not JSON", request_id="req-1", tenant="city-of-lyon")
    reason = Reason("detector-failed", "detection failed")
    built = {
        "intake_rejected": audit_events.intake_rejected(rejection, "req-1/rejected", 12, SOURCE,
                                                        POLICY, T0),
        "detector_failed": audit_events.detector_failed("req-1", "city-of-lyon", reason, SOURCE,
                                                        POLICY, T0),
        "forward_refused": audit_events.forward_refused(SOURCE, None, None, reason, POLICY, T0),
        "failed": audit_events.failed("req-1", "city-of-lyon", "sovereign-local",
                                      [reason.as_json()], POLICY, T0),
        "key_rotated": audit_events.key_rotated("old", "new", bytes(32), T0),
        "dpo_record": audit_events.dpo_record("hold_placed", "city-of-lyon", {"hold_id": "h"},
                                              "f00d", T0),
    }
    assert {name: (e.kind, e.record_id) for name, e in built.items()} == {
        "intake_rejected": ("rejected", "req-1/rejected"),
        "detector_failed": ("blocked", "req-1/blocked"),
        "forward_refused": ("rejected", "forward-refused/douane.forward.sovereign-local/2/41"),
        "failed": ("failed", "req-1/failed"),
        "key_rotated": ("key_rotated", "key-rotation/old/new"),
        "dpo_record": ("hold_placed", "hold_placed/f00d"),
    }
    assert {e.kind for e in built.values()} <= AUDIT_KINDS


def test_a_refused_policy_change_names_the_set_that_stays_in_force() -> None:
    running, new = {**POLICY, "version": "1"}, {**POLICY, "version": "2"}
    loader = {"process": "douane worker", "app_id": "a", "host": "h", "pid": 7}
    problems = [f"problem {i}" for i in range(audit_events.MAX_PROBLEMS_RECORDED + 5)]
    event = audit_events.policy_refused(running, new, [("p.yaml", "cd" * 32)], "policies",
                                        loader, T0, problems)
    assert event.record_id == "policy/a/h/7/20250301T093000.000000Z"
    assert event.details["policy"] == running and event.details["after"] == new
    assert len(event.details["problems"]) == audit_events.MAX_PROBLEMS_RECORDED
    assert event.details["problem_count"] == len(problems)
