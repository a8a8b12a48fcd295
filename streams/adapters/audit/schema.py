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

STORE_VERSION = 5  # version of the database layout (2: checkpoints, meta; 3: search index;
# 4: budget_spend; 5: report_facts)

# integer: 64 bits; code: text compared byte by byte (names, codes and hashes that are
# searched by prefix or range, whatever the database's collation)
ColumnType = Literal["integer", "text", "bytes", "code"]


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
    # indexes on several columns, e.g. (tenant, seq): one column's records in seq order
    composite: tuple[tuple[str, ...], ...] = ()
    key: tuple[str, ...] = ()  # a primary key of several columns
    without_rowid: bool = False  # SQLite: the table is its primary key's b-tree

    def create_statements(self, types: Mapping[ColumnType, str],
                          without_rowid: str = "") -> list[str]:
        """``CREATE TABLE`` and ``CREATE INDEX`` (if not there yet), in a database's types
        (``without_rowid``: what the database adds to a table that is its key's b-tree)."""
        columns = ", ".join(_column(column, types) for column in self.columns)
        if self.key:
            columns += f", PRIMARY KEY ({', '.join(self.key)})"
        suffix = without_rowid if self.without_rowid else ""
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}){suffix}"]
        statements += [f"CREATE INDEX IF NOT EXISTS {self.name}_{column} ON {self.name} ({column})"
                       for column in self.indexed]
        statements += [f"CREATE INDEX IF NOT EXISTS {self.name}_{'_'.join(columns_)} ON "
                       f"{self.name} ({', '.join(columns_)})" for columns_ in self.composite]
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
# The search index (layout 3): derived from the signed records by the append path, in the same
# transaction, to find and count them fast; not evidence (see streams.adapters.audit.index).
# One row per record, seqs 1..n contiguous; values folded as filters compare them.
SEARCH_INDEX = Table(
    "audit_index",
    (
        Column("seq", "integer", primary_key=True),  # the record's seq in audit_records
        Column("occurred_at", "code"),
        Column("tenant", "code", null=True),
        Column("kind", "code"),
        Column("request_id", "code", null=True),
        Column("decision", "code", null=True),
        Column("provider", "code", null=True),
        Column("jurisdiction", "code", null=True),
        Column("classification", "code", null=True),
        Column("purpose", "code", null=True),
        Column("policy", "code", null=True),  # the policy set's SHA-256 (hex)
    ),
    # (column, seq): the newest records with a value first, without sorting. Only where a
    # value can be rare: a search for a common one (a decision, a kind, a jurisdiction)
    # finds a page soon enough walking back from the newest record, and totals come from the
    # daily counts; each index costs every append.
    composite=tuple((column, "seq") for column in (
        "occurred_at", "tenant", "request_id", "provider", "policy")),
)
# the many-valued fields (entity types, reasons): one row per record and value
SEARCH_VALUES = Table(
    "audit_index_values",
    (Column("field", "code"), Column("value", "code"), Column("seq", "integer")),
    key=("field", "value", "seq"), without_rowid=True,
)
# records per (UTC day, tenant, kind, field, value): see streams.core.audit_index.count_keys
DAILY_COUNTS = Table(
    "audit_daily_counts",
    (Column("day", "code"), Column("tenant", "code"), Column("kind", "code"),
     Column("field", "code"), Column("value", "code"), Column("records", "integer")),
    key=("day", "tenant", "kind", "field", "value"), without_rowid=True,
)
INDEX_TABLES = (SEARCH_INDEX, SEARCH_VALUES, DAILY_COUNTS)
# the budgets' ledger (layout 4): the month's spend per tenant and purpose, kept by the append
# path in the same transaction as the answered records it sums (streams.adapters.audit.spend_ledger)
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
# the transparency report's facts (layout 5): per record, what ``douane report`` counts of it,
# as plain columns (streams.core.report_facts), kept by the append path in the same transaction
# as the records; derived, not evidence (streams.adapters.audit.report_facts)
REPORT_FACTS = Table(
    "report_facts",
    (
        Column("seq", "integer", primary_key=True),  # the record's seq in audit_records
        Column("kind", "code"),
        Column("plain", "integer"),  # 0: the report reads the record itself
        Column("occurred_at", "code"),
        Column("tenant", "code", null=True),
        Column("request_id", "code"),
        Column("provider", "code", null=True),
        Column("jurisdiction", "code", null=True),
        Column("model", "code", null=True),
        Column("input_tokens", "integer", null=True),
        Column("output_tokens", "integer", null=True),
        Column("estimated", "integer", null=True),
        Column("cost_micros", "integer", null=True),
        Column("currency", "code", null=True),
        Column("personal", "integer", null=True),
        Column("replay_profile", "text", null=True),
        Column("prompt_chars", "integer", null=True),
        Column("finding_scores", "text", null=True),
        Column("findings", "text", null=True),
    ),
)
TABLES = (RECORDS, CHECKPOINTS, META, *INDEX_TABLES, SPEND, REPORT_FACTS)


def create_statements(types: Mapping[ColumnType, str], without_rowid: str = "") -> list[str]:
    """Every table and index of the log, in a database's column types."""
    return [statement for table in TABLES
            for statement in table.create_statements(types, without_rowid)]


COLUMNS = ", ".join(column.name for column in RECORDS.columns)
# columns that copy signed payload fields: verification compares them with the payload
INDEXED = ("record_id", "kind", "request_id", "tenant", "occurred_at", "leaf_hash")
INSERT = (f"INSERT INTO audit_records ({COLUMNS}) "
          f"VALUES ({', '.join('?' for _ in RECORDS.columns)})")
