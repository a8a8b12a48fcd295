"""Metric labels stay in closed sets: whatever a producer writes never becomes a label value."""

from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY

from streams.adapters import metrics
from streams.config import project_root


@pytest.mark.parametrize(("value", "allowed", "label"), [
    ("blocked-entity", metrics.REASON_CODES, "blocked-entity"),
    ("Jeanne Martin", metrics.REASON_CODES, "other"),  # not a code: never repeated
    ("not-a-code-douane-writes", metrics.REASON_CODES, "other"),
    (None, metrics.REASON_CODES, "other"),
    ("timeout", metrics.PROVIDER_ERROR_KINDS, "timeout"),
    ("<html>502</html>", metrics.PROVIDER_ERROR_KINDS, "other"),
    ("answered", metrics.DECISIONS, "answered"),
    ("maybe", metrics.DECISIONS, "other"),
    ("429", metrics.HTTP_STATUSES, "429"),
    ("418", metrics.HTTP_STATUSES, "other"),
])
def test_a_value_outside_its_closed_set_is_other(value: object, allowed: frozenset[str],
                                                 label: str) -> None:
    assert metrics.closed_label(value, allowed) == label


@pytest.mark.parametrize(("tenant", "label"), [
    ("city-of-lyon", "city-of-lyon"),
    ("jeanne.martin@example.fr", "unknown"),  # a producer's text claiming to be a tenant
    ("city-of-paris", "unknown"),  # well-formed, but not declared by the policy in force
    (None, "none"),
    (42, "unknown"),
])
def test_a_tenant_is_a_label_only_if_the_policy_declares_it(tenant: object,
                                                            label: str) -> None:
    assert metrics.declared_label(tenant, {"city-of-lyon", "dgfip"}) == label


@pytest.mark.parametrize(("codes", "label"), [
    ([], "none"),
    (["redacted", "routed"], "none"),  # forwarded: nothing stopped it
    (["classification-raised", "blocked-entity"], "blocked-entity"),  # why, not how
    (["prompt-too-large", "blocked-entity"], "prompt-too-large"),
    (["free text from a provider"], "other"),
])
def test_the_reason_label_is_why_a_request_was_stopped(codes: list[str], label: str) -> None:
    assert metrics.reason_label(codes) == label


def test_every_reason_code_douane_writes_is_in_the_closed_set() -> None:
    """A new code added to the sources without adding it here would be counted as 'other'."""
    written: set[str] = set()
    for path in (project_root() / "streams").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'(?:Reason|Rejection)\(\s*"([a-z-]+)"', text))
        written |= set(re.findall(r'"code":\s*"([a-z-]+)"', text))
    assert len(written) > 20  # the scan finds them (a moved module would hide them)
    assert written - metrics.REASON_CODES == set()


def test_a_decision_with_an_undeclared_tenant_is_counted_under_unknown() -> None:
    def count(tenant: str) -> float:
        return REGISTRY.get_sample_value("douane_requests_total", {
            "stage": "admit", "tenant": tenant, "decision": "reject",
            "reason": "unknown-tenant"}) or 0.0

    before = count("unknown")
    metrics.record_decision("admit", "jeanne.martin@example.fr", "reject", ["unknown-tenant"],
                            {"city-of-lyon"})
    assert count("unknown") == before + 1
    assert count("jeanne.martin@example.fr") == 0
    assert b"jeanne.martin" not in metrics.exposition()[0]
