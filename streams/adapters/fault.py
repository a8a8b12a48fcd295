"""Test-only fault injection: kill the worker at an exact point of the audit path.

``DOUANE_FAULT=crash-after:<kind>`` (e.g. ``crash-after:admitted``) makes the worker send itself
SIGKILL -- a real ``kill -9``: no cleanup, no offset commit, no flush -- right after it durably
wrote the first new audit record of that kind. The fault tests use it to hit the window between
an audit write and the forward that follows it, deterministically.

It costs nothing when unset: the worker wraps its audit store only when the setting is present
(``wrap_for_faults``), so the hot path never checks it. Never set it in production.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from decimal import Decimal

import structlog

from streams.adapters.audit.protocols import AppendResult, AuditStore, StoredRecord
from streams.core.audit import AUDIT_KINDS, AuditEvent
from streams.errors import DouaneError

log = structlog.get_logger(__name__)
CRASH_AFTER = "crash-after:"


class FaultSpecError(DouaneError, ValueError):
    pass


def crash_kind(spec: str) -> str:
    """The audit kind after which to crash, from ``crash-after:<kind>``."""
    if not spec.startswith(CRASH_AFTER) or spec[len(CRASH_AFTER):] not in AUDIT_KINDS:
        raise FaultSpecError(
            f"DOUANE_FAULT={spec!r} is not understood; expected crash-after:<kind> with kind "
            f"one of {', '.join(sorted(AUDIT_KINDS))}")
    return spec[len(CRASH_AFTER):]


class CrashAfterAudit:
    """An audit store that kills its own process after the first new record of one kind."""

    def __init__(self, inner: AuditStore, kind: str) -> None:
        self.inner = inner
        self.kind = kind

    def append(self, event: AuditEvent) -> AppendResult:
        result = self.inner.append(event)
        if result.created and event.kind == self.kind:
            log.warning("fault injection: SIGKILL after a durable audit record",
                        kind=event.kind, seq=result.record.seq)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    def get(self, record_id: str) -> StoredRecord | None:
        return self.inner.get(record_id)

    def records_for_request(self, request_id: str) -> list[StoredRecord]:
        return self.inner.records_for_request(request_id)

    def iter_records(self) -> Iterator[StoredRecord]:
        return self.inner.iter_records()

    def month_spend(self, tenant: str, month: str) -> dict[tuple[str, str], Decimal]:
        return self.inner.month_spend(tenant, month)

    def is_signed(self, record: StoredRecord) -> bool:
        return self.inner.is_signed(record)

    def close(self) -> None:
        self.inner.close()


def wrap_for_faults(store: AuditStore, spec: str | None) -> AuditStore:
    """``store`` itself unless a fault is configured."""
    if spec is None:
        return store
    return CrashAfterAudit(store, crash_kind(spec))
