"""The audit log in PostgreSQL (production): the same records, tree, checkpoints and keys as the
SQLite store, selected with ``DOUANE_AUDIT_DSN=postgresql://...``.

Only the backend differs; group commit, signing, checkpoints and key rotation are
``GroupCommitLog``'s. An append transaction takes ``LOCK TABLE audit_records IN EXCLUSIVE
MODE``: one appender at a time across every worker (so seqs stay contiguous and each record
names the hash of the one before), while readers (verification, queries, the model server's
audit check) are never blocked. Commits are durable with the server's default
``synchronous_commit = on``.

A lost connection (server restarted, network) surfaces as ``AuditStoreUnavailableError``: the
worker holds the message and retries (fail closed); the next call reconnects.
The keyring file stays on disk next to ``DOUANE_AUDIT_DB`` as for SQLite: it is what an auditor
is given, and it must not live only inside the database it vouches for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from streams.adapters.audit.group_commit import (
    BUSY_TIMEOUT_S,
    CHECKPOINT_EVERY,
    CHECKPOINT_INTERVAL_S,
    GroupCommitLog,
    now_utc,
)
from streams.adapters.audit.protocols import AuditStoreError, AuditStoreUnavailableError
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.schema import STORE_VERSION
from streams.adapters.signer import Ed25519Signer

_DDL = (
    """CREATE TABLE IF NOT EXISTS audit_records (
        seq         BIGINT PRIMARY KEY,
        record_id   TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        request_id  TEXT,
        tenant      TEXT,
        occurred_at TEXT NOT NULL,
        canonical   BYTEA NOT NULL,
        leaf_hash   TEXT NOT NULL,
        signature   BYTEA NOT NULL,
        key_id      TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_records_request_id ON audit_records (request_id)",
    "CREATE INDEX IF NOT EXISTS audit_records_tenant ON audit_records (tenant)",
    "CREATE INDEX IF NOT EXISTS audit_records_kind ON audit_records (kind)",
    "CREATE INDEX IF NOT EXISTS audit_records_occurred_at ON audit_records (occurred_at)",
    """CREATE TABLE IF NOT EXISTS audit_checkpoints (
        size      BIGINT PRIMARY KEY,
        root_hash TEXT NOT NULL,
        note      BYTEA NOT NULL,
        issued_at TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_SCHEMA_LOCK = 0x64_6F_75_61_6E_65  # advisory lock id ("douane"): one process creates tables


def redacted_dsn(dsn: str) -> str:
    """The DSN without its password, for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparseable DSN>"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _connect(dsn: str, lock_timeout_s: float, read_only: bool = False) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise AuditStoreUnavailableError(
            f"PostgreSQL audit store at {redacted_dsn(dsn)} unreachable "
            f"({type(error).__name__})") from None
    # how long an append waits for another writer's lock before failing (closed)
    conn.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
    return conn


class _PostgresConnection(SqlRecords):
    """Statements over one connection, re-opened after the server dropped it."""

    PARAM = "%s"

    def __init__(self, dsn: str, lock_timeout_s: float, read_only: bool) -> None:
        self.dsn = dsn
        self._lock_timeout_s = lock_timeout_s
        self._read_only = read_only
        # not super(): in PostgresAuditStore the next class is GroupCommitLog, set up later
        SqlRecords.__init__(self, _connect(dsn, lock_timeout_s, read_only))

    def _connection(self) -> Any:
        if self._conn.closed or self._conn.broken:
            self._conn = _connect(self.dsn, self._lock_timeout_s, self._read_only)
        return self._conn

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        try:
            return super()._execute(sql, params)
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            if isinstance(error, psycopg.errors.LockNotAvailable):
                raise AuditStoreUnavailableError(
                    "PostgreSQL audit store: the write lock was not granted in time") from None
            raise AuditStoreUnavailableError(
                f"PostgreSQL audit store at {redacted_dsn(self.dsn)} unavailable "
                f"({type(error).__name__})") from None


class PostgresAuditReader(_PostgresConnection):
    """Read-only access (every transaction read-only), for verifiers and queries."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, BUSY_TIMEOUT_S, read_only=True)


class PostgresAuditStore(_PostgresConnection, GroupCommitLog):
    """The production audit store: one PostgreSQL database shared by every worker."""

    def __init__(
        self,
        dsn: str,
        signer: Ed25519Signer,
        *,
        keyring_path: Path,
        origin: str | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        signer_loader: Callable[[], Ed25519Signer] | None = None,
        clock: Callable[[], datetime] = now_utc,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        _PostgresConnection.__init__(self, dsn, busy_timeout_s, read_only=False)
        try:
            self._create_tables()
            GroupCommitLog.__init__(
                self, self._conn, signer, keyring_path=keyring_path, origin=origin,
                checkpoint_every=checkpoint_every, checkpoint_interval_s=checkpoint_interval_s,
                signer_loader=signer_loader, clock=clock)
        except BaseException:
            self._conn.close()
            raise

    def _create_tables(self) -> None:
        with self._lock:
            self._execute("BEGIN")
            try:
                self._execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
                for statement in _DDL:
                    self._execute(statement)
                self._execute("INSERT INTO audit_meta (name, value) VALUES ('layout_version', ?) "
                              "ON CONFLICT (name) DO NOTHING", (str(STORE_VERSION),))
                found = self._execute(
                    "SELECT value FROM audit_meta WHERE name = 'layout_version'").fetchone()
                if int(found["value"]) > STORE_VERSION:
                    raise AuditStoreError(f"{redacted_dsn(self.dsn)}: layout version "
                                          f"{found['value']} is newer than this code")
                self._execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _begin_write(self) -> None:
        self._execute("BEGIN")
        # one appender at a time across processes; plain SELECTs are not blocked
        self._execute("LOCK TABLE audit_records IN EXCLUSIVE MODE")

    def _rollback(self) -> None:
        conn = self._conn
        if conn.closed or conn.broken:
            return  # the server dropped the connection: the transaction died with it
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._execute("ROLLBACK")
