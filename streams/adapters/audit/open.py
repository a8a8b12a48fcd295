"""Which audit store a process uses: PostgreSQL when ``DOUANE_AUDIT_DSN`` is set, else SQLite.

The only place that chooses; the worker and ``douane audit`` ask here. The keyring file lives
next to ``DOUANE_AUDIT_DB`` in both cases (for PostgreSQL that path only names the keyring).
"""

from __future__ import annotations

from collections.abc import Callable

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.sqlite import open_sqlite_log, open_sqlite_reader
from streams.adapters.signer import AuditSigner, keyring_path_for
from streams.config import Settings
from streams.core.keyring import WORKER


def describe(settings: Settings) -> str:
    """Where the log is, for messages (never a password)."""
    if settings.audit_dsn:
        from streams.adapters.audit.postgres import redacted_dsn

        return f"postgresql://{redacted_dsn(settings.audit_dsn)}"
    return str(settings.audit_db)


def audit_log_exists(settings: Settings) -> bool:
    return bool(settings.audit_dsn) or settings.audit_db.exists()


def open_audit_log(
    settings: Settings, signer: AuditSigner,
    signer_loader: Callable[[], AuditSigner] | None = None,
    role: str = WORKER,
) -> GroupCommitLog:
    """The configured store, for writing with the key of ``role`` (worker or DPO tools)."""
    if settings.audit_dsn:
        from streams.adapters.audit.postgres import open_postgres_log

        return open_postgres_log(
            settings.audit_dsn, signer, keyring_path=keyring_path_for(settings.audit_db),
            origin=settings.audit_origin, checkpoint_every=settings.checkpoint_every,
            checkpoint_interval_s=settings.checkpoint_interval_s, signer_loader=signer_loader,
            busy_timeout_s=settings.audit_busy_timeout_s, role=role)
    return open_sqlite_log(
        settings.audit_db, signer, origin=settings.audit_origin,
        checkpoint_every=settings.checkpoint_every,
        checkpoint_interval_s=settings.checkpoint_interval_s, signer_loader=signer_loader,
        busy_timeout_s=settings.audit_busy_timeout_s, role=role)


def open_audit_reader(settings: Settings) -> SqlRecords:
    """The configured store, read-only."""
    if settings.audit_dsn:
        from streams.adapters.audit.postgres import open_postgres_reader

        return open_postgres_reader(settings.audit_dsn)
    return open_sqlite_reader(settings.audit_db)
