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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Unpack

from streams.adapters.audit.backend import BUSY_TIMEOUT_S, Values
from streams.adapters.audit.group_commit import GroupCommitLog, LogOptions
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


def open_sqlite_reader(path: Path) -> SqlRecords:
    """The log at ``path``, read-only: for verifiers and for processes that must not write."""
    return SqlRecords(SqliteBackend.open_readonly(path))


def open_sqlite_log(
    path: Path,
    signer: AuditSigner,
    *,
    keyring_path: Path | None = None,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    **options: Unpack[LogOptions],
) -> GroupCommitLog:
    """The default audit store: the log in one SQLite file (created if need be), safe for
    several appending processes; its keyring next to it unless ``keyring_path`` says."""
    backend = SqliteBackend.open(path, busy_timeout_s)
    try:
        return GroupCommitLog(backend, signer, keyring_path=keyring_path or keyring_path_for(path),
                              **options)
    except BaseException:
        backend.close()
        raise
