"""What a database gives the audit log: statements, and a transaction holding the write lock.

The reader (``records.SqlRecords``) needs a ``Database``; the writing log
(``group_commit.GroupCommitLog``) needs a ``Backend``. SQL is written once, with ``?``
placeholders, in the dialect SQLite and PostgreSQL share; a backend with another paramstyle
adapts the text. Rows are read by column name. Callers hold one lock around each use, so a
backend needs no locking of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

BUSY_TIMEOUT_S = 30.0  # how long a statement waits for another writer's lock, by default

Row = Mapping[str, Any]  # a result row by column name (sqlite3.Row or psycopg dict_row)
Values = tuple[object, ...]  # the parameters of one ``schema.INSERT`` (``records.insert_values``)


def blob(value: object) -> bytes:
    """A BLOB column as bytes; a tampered TEXT or number still reaches the verifier as bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


class Cursor(Protocol):
    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> Sequence[Row]: ...


class Database(Protocol):
    """One connection to the log's tables (read-only for a reader)."""

    # the SQL beyond the shared dialect (JSON functions): "sqlite" or "postgresql"
    dialect: str

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        """Run one statement written with ``?`` placeholders."""
        ...

    def values(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and give its rows as plain tuples, in column order (cheaper
        than rows by name when there are a million of them)."""
        ...

    def close(self) -> None: ...


class Backend(Database, Protocol):
    """A connection the log writes through; the tables exist when the log receives it."""

    def begin_write(self) -> None:
        """Open a transaction holding the log's write lock: one appender at a time, across
        processes, computes the next seq and the previous hash. May fail half-way (then
        ``rollback`` follows)."""
        ...

    def insert_rows(self, rows: Sequence[Values]) -> None:
        """Insert records into ``audit_records`` (one call for a whole group commit if the
        database allows it)."""
        ...

    def execute_many(self, sql: str, rows: Sequence[Values]) -> None:
        """Run one statement (``?`` placeholders) once per row of parameters."""
        ...

    def commit(self) -> None:
        """Commit; returns once the transaction is durable."""
        ...

    def rollback(self) -> None:
        """Undo the open transaction, if any (after any failure, even a lost connection)."""
        ...
