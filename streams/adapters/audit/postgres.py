"""The audit log in PostgreSQL (production): the same records, tree, checkpoints and keys as the
SQLite store, selected with ``DOUANE_AUDIT_DSN=postgresql://...``.

Only the backend differs (``PostgresBackend``); group commit, signing, checkpoints and key
rotation are ``GroupCommitLog``'s. An append transaction takes ``LOCK TABLE audit_records IN
EXCLUSIVE MODE``: one appender at a time across every worker (so seqs stay contiguous and each
record names the hash of the one before), while readers (verification, queries, the model
server's audit check) are never blocked. Commits are durable with the server's default
``synchronous_commit = on``.

A lost connection (server restarted, network) surfaces as ``AuditStoreUnavailableError``: the
worker holds the message and retries (fail closed); the next call reconnects.
The keyring file stays on disk next to ``DOUANE_AUDIT_DB`` as for SQLite: it is what an auditor
is given, and it must not live only inside the database it vouches for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Unpack

import psycopg
from psycopg.rows import dict_row, tuple_row

from streams.adapters.audit.backend import BUSY_TIMEOUT_S, Cursor, Values
from streams.adapters.audit.group_commit import GroupCommitLog, LogOptions
from streams.adapters.audit.protocols import AuditStoreError, AuditStoreUnavailableError
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.schema import (
    INSERT,
    STORE_VERSION,
    ColumnType,
    create_statements,
)
from streams.adapters.signer import AuditSigner

_TYPES: dict[ColumnType, str] = {"integer": "BIGINT", "text": "TEXT", "bytes": "BYTEA",
                                 "code": 'TEXT COLLATE "C"'}
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


class PostgresBackend:
    """Statements over one connection, re-opened after the server dropped it.

    Every failure to reach the server becomes ``AuditStoreUnavailableError``.
    """

    dialect = "postgresql"

    def __init__(self, dsn: str, lock_timeout_s: float, read_only: bool) -> None:
        self.dsn = dsn
        self._lock_timeout_s = lock_timeout_s
        self._read_only = read_only
        self._conn = _connect(dsn, lock_timeout_s, read_only)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn.closed or self._conn.broken:
            self._conn = _connect(self.dsn, self._lock_timeout_s, self._read_only)
        return self._conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        try:
            return self._connection().execute(sql.replace("?", "%s"), tuple(params))
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            if isinstance(error, psycopg.errors.LockNotAvailable):
                raise AuditStoreUnavailableError(
                    "PostgreSQL audit store: the write lock was not granted in time") from None
            raise AuditStoreUnavailableError(
                f"PostgreSQL audit store at {redacted_dsn(self.dsn)} unavailable "
                f"({type(error).__name__})") from None

    def values(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._connection().cursor(row_factory=tuple_row) as cursor:
                return cursor.execute(sql.replace("?", "%s"), tuple(params)).fetchall()
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise AuditStoreUnavailableError(
                f"PostgreSQL audit store at {redacted_dsn(self.dsn)} unavailable "
                f"({type(error).__name__})") from None

    def create_tables(self) -> None:
        """The tables, made by one process at a time; refuses a layout newer than this code."""
        self.execute("BEGIN")
        try:
            self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            for statement in create_statements(_TYPES):
                self.execute(statement)
            # an older layout is brought up to this one (the tables above are new ones)
            self.execute("INSERT INTO audit_meta (name, value) VALUES ('layout_version', ?) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value "
                         "WHERE audit_meta.value::integer < excluded.value::integer",
                         (str(STORE_VERSION),))
            found = self.execute(
                "SELECT value FROM audit_meta WHERE name = 'layout_version'").fetchone()
            assert found is not None  # inserted just above if it was missing
            if int(found["value"]) > STORE_VERSION:
                raise AuditStoreError(f"{redacted_dsn(self.dsn)}: layout version "
                                      f"{found['value']} is newer than this code")
            # an older release would append without the tables this one added: it must refuse
            self.execute("UPDATE audit_meta SET value = ? WHERE name = 'layout_version'",
                         (str(STORE_VERSION),))
            self.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    def begin_write(self) -> None:
        self.execute("BEGIN")
        # one appender at a time across processes; plain SELECTs are not blocked
        self.execute("LOCK TABLE audit_records IN EXCLUSIVE MODE")

    def insert_rows(self, rows: Sequence[Values]) -> None:
        for row in rows:
            self.execute(INSERT, row)

    def execute_many(self, sql: str, rows: Sequence[Values]) -> None:
        if not rows:
            return
        try:
            with self._connection().cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise AuditStoreUnavailableError(
                f"PostgreSQL audit store at {redacted_dsn(self.dsn)} unavailable "
                f"({type(error).__name__})") from None

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        conn = self._conn
        if conn.closed or conn.broken:
            return  # the server dropped the connection: the transaction died with it
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


def open_postgres_reader(dsn: str) -> SqlRecords:
    """The log in the database at ``dsn``, every transaction read-only: for verifiers and
    queries."""
    return SqlRecords(PostgresBackend(dsn, BUSY_TIMEOUT_S, read_only=True))


def open_postgres_log(
    dsn: str,
    signer: AuditSigner,
    *,
    keyring_path: Path,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    **options: Unpack[LogOptions],
) -> GroupCommitLog:
    """The production audit store: the log in one PostgreSQL database shared by every worker
    (its tables created if need be); the keyring file at ``keyring_path``."""
    backend = PostgresBackend(dsn, busy_timeout_s, read_only=False)
    try:
        backend.create_tables()
        return GroupCommitLog(backend, signer, keyring_path=keyring_path, **options)
    except BaseException:
        backend.close()
        raise
