"""Every metric douane exports, in the Prometheus format (``prometheus-client``), in one place.

The worker serves them on ``DOUANE_WORKER_HTTP_PORT`` (``streams.runtime.health``), the front
door on its own port; both at ``/metrics``. docs/operations.md lists them for operators.

**No label carries personal data or a value a producer controls.** Every label value goes
through one of the ``*_label`` functions below, which map it onto a closed set: decisions,
stages, reason codes, error kinds and audit kinds are douane's own vocabularies (anything else
becomes ``other``); tenant and provider ids are values the policy declares, kept only when the
policy in force declares them (``unknown`` otherwise); request ids, conversation keys, models
and texts never become labels. Label sets therefore stay bounded by the policy's size.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from streams.adapters.providers.base import ErrorKind
from streams.core.audit import AUDIT_KINDS
from streams.core.forward_check import NOT_ADMITTED
from streams.core.forward_message import FORWARD_MALFORMED, FORWARD_VERSION_UNKNOWN

# a "_created" timestamp next to every counter doubles the series and says nothing an
# operator acts on
disable_created_metrics()  # type: ignore[no-untyped-call]

OTHER = "other"  # a value outside a closed set
UNKNOWN = "unknown"  # a tenant or provider the policy in force does not declare
NONE = "none"  # no reason (a request forwarded or answered), no tenant (not authenticated)

STAGES = frozenset({"admit", "forward"})
# admit: forward, block, reject; forward: answered, failed, refused (not what was admitted)
DECISIONS = frozenset({"forward", "block", "reject", "answered", "failed", "refused"})

# Every reason code douane writes into responses, rejections and audit records
# (tests/unit/test_metric_labels.py checks the sources write no other)
REASON_CODES = frozenset({
    # intake (streams.core.intake), copied to douane.rejected
    "oversize", "invalid-utf8", "too-deep", "not-json", "schema-violation", "unknown-tenant",
    "tenant-mismatch", "duplicate-id",
    # the policy's decision (streams.core.decision)
    "unknown-purpose", "purpose-not-allowed", "unknown-classification", "classification-raised",
    "prompt-too-large", "language-not-supported", "language-fallback", "blocked-entity",
    "operator-unavailable", "no-residency-rule", "no-allowed-provider", "model-not-allowed",
    "routed", "redacted", "detector-failed", "budget-exhausted", "budget-rerouted",
    # the forward stage (streams.pipeline, streams.adapters.providers.delivery)
    NOT_ADMITTED, FORWARD_VERSION_UNKNOWN, FORWARD_MALFORMED, "delivery-uncertain",
    "provider-failed", "provider-unavailable",
    "stream-interrupted", "answer-blocked-entity", "answer-scan-failed",
})
# reasons that explain a decision without being why a request was stopped
INFORMATIONAL_REASONS = frozenset({"classification-raised", "language-fallback", "routed",
                                   "redacted", "budget-rerouted"})
PROVIDER_ERROR_KINDS = frozenset(get_args(ErrorKind))
CIRCUIT_STATES = ("closed", "half-open", "open")
DEAD_LETTER_CAUSES = frozenset({"processing-failed", "unpublishable"})
# the front door's own refusals (streams.front_door.server, limits)
FRONT_DOOR_CODES = frozenset({
    "missing_api_key", "invalid_api_key", "expired_api_key", "revoked_api_key",
    "key_file_unreadable", "tenant_not_served", "invalid_request", "request_too_large",
    "invalid_timeout", "answer_timeout", "rate_limit_exceeded", "concurrency_limit_exceeded",
})
HTTP_STATUSES = frozenset({"200", "400", "401", "403", "404", "413", "422", "429", "451",
                           "500", "502", "503", "504"})


def closed_label(value: object, allowed: Collection[str]) -> str:
    """``value`` if it is one of ``allowed``, else ``other``."""
    return value if isinstance(value, str) and value in allowed else OTHER


def declared_label(value: object, declared: Collection[str]) -> str:
    """A tenant or provider id: kept only if the policy in force declares it."""
    if value is None:
        return NONE
    return value if isinstance(value, str) and value in declared else UNKNOWN


def audit_kind_label(kind: str) -> str:
    return closed_label(kind, AUDIT_KINDS)


def reason_label(codes: Collection[str] | list[str]) -> str:
    """The reason a request was stopped: the first code that is not merely informational
    (``none`` if there is none, e.g. a request forwarded with its data redacted)."""
    for code in codes:
        if code not in INFORMATIONAL_REASONS:
            return closed_label(code, REASON_CODES)
    return NONE


# ------------------------------------------------------------------------------- the worker

REQUESTS = Counter(
    "douane_requests", "Messages decided, by stage, tenant, decision and the reason it was "
    "stopped (none: forwarded or answered)", ["stage", "tenant", "decision", "reason"])
REJECTED = Counter(
    "douane_rejected_messages", "Messages rejected at intake (a rejected response or a "
    "rejection on douane.rejected[.<tenant>]), by rejection code",
    ["code"])
DEAD_LETTERS = Counter(
    "douane_dead_letters", "Messages sent to douane.dead-letter: processing failed three "
    "times, or what they produced could not be published", ["cause"])
DETECTION_SECONDS = Histogram(
    "douane_detection_seconds", "Personal-data detection of one prompt or answer, waiting for "
    "its batch included", ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
AUDIT_APPEND_SECONDS = Histogram(
    "douane_audit_append_seconds", "One audit record appended (signed, group-committed, "
    "durable), by record kind", ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
BUDGET_ALERTS = Counter(
    "douane_budget_alerts", "Budgets that reached their warning threshold (warn) or their "
    "monthly amount (exhausted): once per budget, month and status across all workers, by "
    "tenant", ["tenant", "status"])
AUDIT_APPEND_FAILURES = Counter(
    "douane_audit_append_failures", "Audit appends that failed because the store could not "
    "write (the message is held, never forwarded without its record)")
AUDIT_WRITABLE = Gauge(
    "douane_audit_store_writable", "1 if the last audit append succeeded, 0 if it failed")
AUDIT_RECORDS = Gauge("douane_audit_log_records", "Records in the audit log")
AUDIT_CHECKPOINTED = Gauge(
    "douane_audit_checkpointed_records", "Records covered by the latest signed checkpoint")
AUDIT_CHECKPOINT_TIME = Gauge(
    "douane_audit_last_checkpoint_timestamp_seconds",
    "When the latest signed checkpoint was issued (Unix time; absent before the first)")
AUDIT_CHECKPOINT_AGE = Gauge(
    "douane_audit_checkpoint_age_seconds",
    "Seconds since the latest signed checkpoint was issued (absent before the first)")
PROVIDER_SECONDS = Histogram(
    "douane_provider_request_seconds", "One call to a model provider (each retry is a call), "
    "by provider and outcome (ok or the error kind)", ["provider", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120))
PROVIDER_IN_FLIGHT = Gauge(
    "douane_provider_in_flight", "Calls to a provider waiting for its answer", ["provider"])
PROVIDER_ERRORS = Counter(
    "douane_provider_errors", "Failed provider calls, by provider and error kind",
    ["provider", "kind"])
CIRCUIT_STATE = Gauge(
    "douane_provider_circuit_state", "The provider's circuit breaker: 1 for its current state "
    "(closed, half-open, open), 0 for the others", ["provider", "state"])
CONSUMER_LAG = Gauge(
    "douane_consumer_lag", "Messages of a partition assigned to this worker not finished yet: "
    "the partition's end (high watermark) minus its commit point", ["topic", "partition"])
CONSUMER_PARTITIONS = Gauge(
    "douane_consumer_assigned_partitions", "Partitions assigned to this worker")
CONSUMER_PAUSES = Counter(
    "douane_consumer_pauses", "Partitions paused because their topic's window was full (or "
    "their span of unfinished offsets too long): backpressure, by topic", ["topic"])
CONSUMER_IN_FLIGHT = Gauge(
    "douane_consumer_in_flight", "Messages of a topic this worker is working on", ["topic"])
RETENTION_RUNS = Counter(
    "douane_retention_runs", "Retention runs of the worker's timer, by outcome", ["outcome"])
KEYS_DESTROYED = Counter(
    "douane_retention_keys_destroyed", "Keys destroyed by retention runs (data: per-subject "
    "data keys; period: key-encryption keys of a whole period)", ["kind"])
POLICY_RELOADS = Counter(
    "douane_policy_reloads", "Changed policy files: applied, or refused (the previous policy "
    "stays in force)", ["outcome"])
WORKER_READY = Gauge("douane_worker_ready", "1 while the worker's readiness check passes")

# ------------------------------------------------------------------------------- front door

FRONT_DOOR_REQUESTS = Counter(
    "douane_front_door_requests", "HTTP requests to /v1/, by tenant (of the API key) and "
    "status", ["tenant", "status"])
FRONT_DOOR_REFUSALS = Counter(
    "douane_front_door_refusals", "Requests the front door refused itself (keys, limits, "
    "malformed, time-outs), by error code", ["code"])
FRONT_DOOR_SECONDS = Histogram(
    "douane_front_door_request_seconds", "From an HTTP request to its response (the whole "
    "stream for streamed answers)", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
                                             120))
FRONT_DOOR_WAITING = Gauge(
    "douane_front_door_waiting", "Requests published and waiting for douane's response")
FRONT_DOOR_WORKER_CONSUMING = Gauge(
    "douane_front_door_worker_consuming", "1 while the worker group consumes every request "
    "topic this front door publishes to")


def record_decision(stage: str, tenant: object, decision: str, reasons: list[str],
                    tenants: Collection[str]) -> None:
    REQUESTS.labels(closed_label(stage, STAGES), declared_label(tenant, tenants),
                    closed_label(decision, DECISIONS), reason_label(reasons)).inc()


def record_circuit(provider: str, state: str) -> None:
    for each in CIRCUIT_STATES:
        CIRCUIT_STATE.labels(provider, each).set(1 if each == state else 0)


def exposition() -> tuple[bytes, str]:
    """The current values of every metric of this process, and their content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
