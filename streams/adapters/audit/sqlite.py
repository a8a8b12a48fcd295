"""The audit log in SQLite (the default): one file, safe for several appending processes.

Each row keeps the exact canonical bytes that were hashed and signed, and the signature; the
indexed columns (request_id, tenant, kind, occurred_at) are copies for searching, and
verification checks that they agree with the signed payload. Appends run in ``BEGIN IMMEDIATE``
transactions with ``synchronous=FULL`` in WAL mode, so several processes can append to one file
and ``append`` returns only once the record is durable. Only the backend (``SqliteBackend``)
is SQLite's; group commit, signing, checkpoints and key rotation are ``GroupCommitLog``'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.adapters.audit.backend import BUSY_TIMEOUT_S, Values
from streams.adapters.audit.group_commit import (
    CHECKPOINT_EVERY,
    CHECKPOINT_INTERVAL_S,
    GroupCommitLog,
    now_utc,
)
from streams.adapters.audit.protocols import AuditStoreError
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.schema import (
    INSERT,
    STORE_VERSION,
    ColumnType,
    create_statements,
)
from streams.adapters.signer import AuditSigner, keyring_path_for
from streams.adapters.sqlite_files import SqliteOpenError, open_wal_database
from streams.core.keyring import WORKER

if TYPE_CHECKING:
    from streams.adapters.audit.protocols import AuditLog, AuditReader, AuditStore

_TYPES: dict[ColumnType, str] = {"integer": "INTEGER", "text": "TEXT", "bytes": "BLOB",
                                 "code": "TEXT"}


class SqliteBackend:
    """Statements over one SQLite connection; transactions are explicit (autocommit mode)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.row_factory = sqlite3.Row
        self.conn = conn

    @classmethod
    def open(cls, path: Path, busy_timeout_s: float) -> SqliteBackend:
        """The database at ``path`` for appending, its tables created first if need be."""
        try:
            # the busy timeout is how long an append waits for another writer before failing closed
            conn = open_wal_database(path, busy_timeout_s)
        except SqliteOpenError as exc:
            raise AuditStoreError(str(exc)) from exc
        try:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > STORE_VERSION:
                raise AuditStoreError(f"{path}: layout version {version} is newer than this code")
            for statement in create_statements(_TYPES, " WITHOUT ROWID"):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @classmethod
    def open_readonly(cls, path: Path) -> SqliteBackend:
        """The database at ``path``, refusing every write."""
        if not path.is_file():
            raise FileNotFoundError(f"no audit database at {path}")
        uri = path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA query_only = ON")
        return cls(conn)

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, tuple(params))

    def values(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, tuple(params)).fetchall()

    def begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # takes the write lock: one appender at a time

    def insert_rows(self, rows: Sequence[Values]) -> None:
        self.conn.executemany(INSERT, rows)  # one call for a whole group commit

    def execute_many(self, sql: str, rows: Sequence[Values]) -> None:
        self.conn.executemany(sql, rows)

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


class SqliteAuditReader(SqlRecords):
    """Read-only access, for verifiers and for processes that must not write."""

    def __init__(self, path: Path) -> None:
        super().__init__(SqliteBackend.open_readonly(path))


class SqliteAuditStore(GroupCommitLog):
    """The default audit store: one SQLite file, safe for several appending processes."""

    def __init__(
        self,
        path: Path,
        signer: AuditSigner,
        *,
        origin: str | None = None,
        keyring_path: Path | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        signer_loader: Callable[[], AuditSigner] | None = None,
        clock: Callable[[], datetime] = now_utc,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        role: str = WORKER,
        index_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        backend = SqliteBackend.open(path, busy_timeout_s)
        self.path = path
        try:
            super().__init__(
                backend, signer, keyring_path=keyring_path or keyring_path_for(path),
                origin=origin, checkpoint_every=checkpoint_every,
                checkpoint_interval_s=checkpoint_interval_s, signer_loader=signer_loader,
                clock=clock, role=role, index_progress=index_progress)
        except BaseException:
            backend.close()
            raise

    @staticmethod
    def open_readonly(path: Path) -> SqliteAuditReader:
        return SqliteAuditReader(path)


if TYPE_CHECKING:  # mypy proves the SQLite classes satisfy the protocols
    _store: type[AuditStore] = SqliteAuditStore
    _log: type[AuditLog] = SqliteAuditStore
    _reader: type[AuditReader] = SqliteAuditReader
