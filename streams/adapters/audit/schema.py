"""The audit log's tables, defined once; each database names its own column types.

``audit_records`` holds one row per record: the exact canonical bytes that were hashed and
signed, the signature, and copies of a few payload fields for searching (verification checks
that they agree with the signed payload). ``audit_checkpoints`` holds the signed notes,
``audit_meta`` the active key and the log's origin. ``budget_spend`` is the budgets' ledger:
the costs of the ``answered`` records summed per tenant, purpose, month and currency, written
in the transaction that appends them (``spend_ledger``); the records remain the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

STORE_VERSION = 3  # version of the database layout (2: checkpoints, meta; 3: budget_spend)

ColumnType = Literal["integer", "text", "bytes"]  # integer: 64 bits


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    null: bool = False  # NULL allowed
    primary_key: bool = False
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    indexed: tuple[str, ...] = ()  # columns with an index of their own
    key: tuple[str, ...] = ()  # a primary key of several columns

    def create_statements(self, types: Mapping[ColumnType, str]) -> list[str]:
        """``CREATE TABLE`` and ``CREATE INDEX`` (if not there yet), in a database's types."""
        columns = ", ".join([_column(column, types) for column in self.columns]
                            + ([f"PRIMARY KEY ({', '.join(self.key)})"] if self.key else []))
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} ({columns})"]
        statements += [f"CREATE INDEX IF NOT EXISTS {self.name}_{column} ON {self.name} ({column})"
                       for column in self.indexed]
        return statements


def _column(column: Column, types: Mapping[ColumnType, str]) -> str:
    words = [column.name, types[column.type]]
    if column.primary_key:  # (SQLite: INTEGER PRIMARY KEY makes seq the rowid)
        words.append("PRIMARY KEY")
    elif not column.null:
        words.append("NOT NULL")
    if column.unique:
        words.append("UNIQUE")
    return " ".join(words)


RECORDS = Table(
    "audit_records",
    (
        Column("seq", "integer", primary_key=True),
        Column("record_id", "text", unique=True),
        Column("kind", "text"),
        Column("request_id", "text", null=True),
        Column("tenant", "text", null=True),
        Column("occurred_at", "text"),
        Column("canonical", "bytes"),  # the exact bytes that were hashed and signed
        Column("leaf_hash", "text"),
        Column("signature", "bytes"),
        Column("key_id", "text"),
    ),
    indexed=("request_id", "tenant", "kind", "occurred_at"),
)
CHECKPOINTS = Table(
    "audit_checkpoints",
    (
        Column("size", "integer", primary_key=True),
        Column("root_hash", "text"),
        Column("note", "bytes"),  # the signed note, exactly as signed (and cosigned)
        Column("issued_at", "text"),
    ),
)
META = Table("audit_meta", (Column("name", "text", primary_key=True), Column("value", "text")))
SPEND = Table(
    "budget_spend",
    (
        Column("tenant", "text"),
        Column("purpose", "text"),  # '' for requests that declared none
        Column("month", "text"),  # YYYY-MM, UTC, of the answered record
        Column("currency", "text"),
        Column("micros", "integer"),  # the sum of the costs, in millionths of the currency
        Column("answers", "integer"),  # how many answered records with a cost it sums
    ),
    key=("tenant", "month", "purpose", "currency"),
)
TABLES = (RECORDS, CHECKPOINTS, META, SPEND)


def create_statements(types: Mapping[ColumnType, str]) -> list[str]:
    """Every table and index of the log, in a database's column types."""
    return [statement for table in TABLES for statement in table.create_statements(types)]


COLUMNS = ", ".join(column.name for column in RECORDS.columns)
# columns that copy signed payload fields: verification compares them with the payload
INDEXED = ("record_id", "kind", "request_id", "tenant", "occurred_at", "leaf_hash")
INSERT = (f"INSERT INTO audit_records ({COLUMNS}) "
          f"VALUES ({', '.join('?' for _ in RECORDS.columns)})")
