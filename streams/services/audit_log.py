"""Opening the audit log to append to. A process opens one writer and passes it around: the
worker its own (``streams/worker.py``), a command one for its run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.open import open_audit_log
from streams.adapters.audit.protocols import AuditStore
from streams.adapters.signer import load_or_create_signer
from streams.config import Settings
from streams.core.audit import AuditEvent


def open_writer(settings: Settings) -> GroupCommitLog:
    signer = load_or_create_signer(settings.signing_key, settings.public_key)
    return open_audit_log(settings, signer)


def append_record(audit: AuditStore, kind: str, tenant: str | None,
                  details: dict[str, Any]) -> str:
    """Append one signed record that belongs to no request; returns its id."""
    record_id = f"{kind}/{uuid.uuid4().hex}"
    audit.append(AuditEvent(record_id, kind, None, tenant, datetime.now(UTC), details))
    return record_id
