"""Reading the audit log with SQL: one reader for every store, SQLite and PostgreSQL alike.

The reader runs its statements on a ``backend.Database``. Rows are read by column name and
turned into ``StoredRecord`` (parsed) or ``ChainEntry`` (the stored bytes, as verification
wants them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from streams.adapters.audit import fields, index, report_facts
from streams.adapters.audit.backend import Cursor, Database, Row, Values, blob
from streams.adapters.audit.protocols import (
    AuditQuery,
    AuditStoreCorruptError,
    AuditStoreError,
    StoredCheckpoint,
    StoredRecord,
)
from streams.adapters.audit.schema import COLUMNS, INDEXED
from streams.adapters.audit.spend_ledger import month_spend
from streams.core.audit import ChainEntry, leaf_hash
from streams.core.audit_index import Overview
from streams.core.transparency import FactRow, ReportRecord


@dataclass(frozen=True)
class ReportRows:
    """What a report reads of a period (``SqlRecords.read_report``), in log order: first the
    stored facts, then the other records' fields; ``whole(seq)`` reads a record whose facts
    are not plain (None: outside the period)."""

    facts: Iterator[FactRow]
    records: Iterator[fields.FieldRecord]
    whole: Callable[[int], ReportRecord | None]

__all__ = ["SqlRecords", "blob", "chain_entry", "insert_values", "stored_record"]

_BATCH = 500  # rows per read when iterating


def chain_entry(row: Row) -> ChainEntry:
    return ChainEntry(
        seq=row["seq"],
        canonical=blob(row["canonical"]),
        signature=blob(row["signature"]),
        key_id=row["key_id"],
        columns={name: row[name] for name in INDEXED},
    )


def stored_record(row: Row) -> StoredRecord:
    canonical = blob(row["canonical"])
    try:
        payload = json.loads(canonical)
    except ValueError:
        raise AuditStoreCorruptError(
            f"record {row['seq']}: stored payload is not JSON; run audit verification"
        ) from None
    if not isinstance(payload, dict):
        raise AuditStoreCorruptError(f"record {row['seq']}: stored payload is not a JSON object")
    return StoredRecord(
        seq=row["seq"],
        record_id=row["record_id"],
        kind=row["kind"],
        request_id=row["request_id"],
        tenant=row["tenant"],
        payload=payload,
        canonical=canonical,
        leaf_hash=row["leaf_hash"],
        signature=blob(row["signature"]),
        key_id=row["key_id"],
    )


def insert_values(record: StoredRecord) -> Values:
    """The values of ``INSERT`` for ``record``."""
    return (record.seq, record.record_id, record.kind, record.request_id, record.tenant,
            record.payload["occurred_at"], record.canonical, record.leaf_hash, record.signature,
            record.key_id)


class SqlRecords:
    """Read side shared by writers and read-only readers, SQLite and PostgreSQL alike."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.RLock()  # one connection, usable from several threads

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        """Run one statement (``?`` placeholders); the caller holds ``_lock``."""
        return self._db.execute(sql, params)

    def _rows(self, where: str, params: tuple[object, ...], limit: int = -1) -> Sequence[Row]:
        bound = f" LIMIT {int(limit)}" if limit >= 0 else ""
        sql = f"SELECT {COLUMNS} FROM audit_records {where} ORDER BY seq{bound}"
        with self._lock:
            return self._execute(sql, params).fetchall()

    def row_for(self, record_id: str) -> Row | None:
        rows = self._rows("WHERE record_id = ?", (record_id,))
        return rows[0] if rows else None

    def _iter_rows(self, where: str = "", params: tuple[object, ...] = ()) -> Iterator[Row]:
        """Rows in seq order, fetched in batches so appends are not held up."""
        clause = f"{where} AND" if where else "WHERE"
        batch = self._rows(f"{clause} seq > ?", (*params, 0), _BATCH)
        while batch:
            yield from batch
            if len(batch) < _BATCH:
                return
            batch = self._rows(f"{clause} seq > ?", (*params, batch[-1]["seq"]), _BATCH)

    def get(self, record_id: str) -> StoredRecord | None:
        row = self.row_for(record_id)
        return None if row is None else stored_record(row)

    def get_seq(self, seq: int) -> StoredRecord | None:
        rows = self._rows("WHERE seq = ?", (seq,))
        return stored_record(rows[0]) if rows else None

    def records_for_request(self, request_id: str) -> list[StoredRecord]:
        return [stored_record(row) for row in self._rows("WHERE request_id = ?", (request_id,))]

    def iter_records(self) -> Iterator[StoredRecord]:
        return (stored_record(row) for row in self._iter_rows())

    def iter_entries(self) -> Iterator[ChainEntry]:
        """Rows as the core's chain checker wants them (no JSON parsing)."""
        return (chain_entry(row) for row in self._iter_rows())

    def size(self) -> int:
        with self._lock:
            found = self._execute("SELECT max(seq) AS size FROM audit_records").fetchone()
        assert found is not None  # an aggregate always gives one row
        return int(found["size"] or 0)

    def query(self, filters: AuditQuery) -> Iterator[StoredRecord]:
        """Records matching ``filters`` in seq order: found with the search index when it
        covers the log, by reading every record of the tenants, kinds and time range asked
        otherwise; each one checked against the filters from its signed payload."""
        with self._lock:
            indexed = index.indexed(filters) and index.covers_log(self._db)
        if indexed:
            return self._query_indexed(filters)
        return self._query_scan(filters)

    def _query_indexed(self, filters: AuditQuery) -> Iterator[StoredRecord]:
        with self._lock:
            resolved = index.resolve(self._db, filters)
        found = index.where(resolved, resolved.since, resolved.until)
        columns = ", ".join(f"r.{name}" for name in COLUMNS.split(", "))
        last = 0
        while True:
            page = index.and_where(found, "i.seq > ?", last)
            with self._lock:
                rows = self._execute(
                    f"SELECT {columns} FROM audit_index i JOIN audit_records r ON r.seq = i.seq "
                    f"{page.sql} ORDER BY i.seq LIMIT {_BATCH}", page.params).fetchall()
            for row in rows:
                record = stored_record(row)
                if index.matches(filters, record.payload):  # the index only chooses
                    yield record
            if len(rows) < _BATCH:
                return
            last = rows[-1]["seq"]

    def indexed_page(self, filters: AuditQuery, before_seq: int | None,
                     limit: int) -> tuple[list[StoredRecord], int] | None:
        """The newest ``limit`` records matching ``filters`` below ``before_seq`` and how many
        match in all, from the search index; None if the index does not cover the log or
        keep one of the filters."""
        with self._lock:
            if not (index.indexed(filters) and index.covers_log(self._db)):
                return None
            seqs = index.page_seqs(self._db, filters, before_seq, limit)
            total = index.count(self._db, filters)
            rows = self._rows(f"WHERE seq IN ({', '.join('?' for _ in seqs)})",
                              tuple(seqs)) if seqs else []
        by_seq = {row["seq"]: stored_record(row) for row in rows}
        if len(by_seq) != len(seqs):
            raise AuditStoreError("the search index names records that are not in the log; "
                                  "run `douane audit verify`, then `douane audit reindex`")
        return [by_seq[seq] for seq in seqs], total

    def indexed_overview(self, filters: AuditQuery) -> Overview | None:
        """The overview's figures from the daily counts and the search index; None if the
        index does not cover the log or keep one of the filters."""
        with self._lock:
            if not (index.indexed(filters) and index.covers_log(self._db)):
                return None
            return index.overview(self._db, filters)

    def index_covers_log(self) -> bool:
        with self._lock:
            return index.covers_log(self._db)

    def known_values(self, fields: Sequence[str]) -> dict[str, set[str]] | None:
        """Every value each of ``fields`` (of ``index.COUNTED_FIELDS``) has in the log, as
        records spell them, from the daily counts; None if the index does not cover the log."""
        with self._lock:
            if not index.covers_log(self._db):
                return None
            return index.known_values(self._db, fields)

    def check_index(self, progress: Callable[[int, int], None] | None = None
                    ) -> index.IndexCheck:
        """The search index compared with the signed records (see ``index.check``)."""
        with self._lock:
            return index.check(self._db, progress)

    def check_report_facts(self, progress: Callable[[int, int], None] | None = None
                           ) -> index.IndexCheck:
        """The report's facts compared with the signed records (``report_facts.check``)."""
        with self._lock:
            return report_facts.check(self._db, progress)

    def scan(self, filters: AuditQuery) -> Iterator[StoredRecord]:
        """Records matching ``filters`` in seq order, read without the search index."""
        return self._query_scan(filters)

    def _query_scan(self, filters: AuditQuery) -> Iterator[StoredRecord]:
        clauses: list[str] = []
        params: list[object] = []
        for column, wanted in (("tenant", filters.tenants), ("request_id", filters.request_ids),
                               ("kind", filters.kinds)):
            if wanted:
                clauses.append(f"{column} IN ({', '.join('?' for _ in wanted)})")
                params.extend(wanted)
        if filters.since is not None:
            clauses.append("occurred_at >= ?")
            params.append(filters.since)
        if filters.until is not None:
            clauses.append("occurred_at < ?")
            params.append(filters.until)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        for row in self._iter_rows(where, tuple(params)):
            record = stored_record(row)
            if filters.matches_details(record.payload):
                yield record

    def month_spend(self, tenant: str, month: str) -> dict[tuple[str, str], Decimal]:
        """What ``tenant``'s answers cost in ``month`` (YYYY-MM, UTC), per (purpose or '',
        currency), from the budgets' ledger (one indexed read)."""
        with self._lock:
            return month_spend(self._db, tenant, month)

    def read_fields(self, by_kind: Mapping[str, Sequence[str]], presence: str,
                    since: str | None, until: str | None, tenant: str | None,
                    missing: object = None, named: Collection[str] = (),
                    read_up_to: Callable[[int], None] | None = None,
                    ) -> Iterator[fields.FieldRecord]:
        """A few fields of each record of a period, picked out of the stored signed bytes by
        the database (see ``fields.read``), in seq order."""
        def fetch(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
            with self._lock:
                return self._db.values(sql, params)

        if self._db.dialect == "sqlite":
            # the read goes through the whole file once: mapped, its pages are not copied by
            # a system call each (a quarter of a second of CPU over a million records)
            with self._lock:
                self._db.execute(f"PRAGMA mmap_size = {fields.MAPPED_BYTES}")
        return fields.read(fetch, self._db.dialect, by_kind, presence, since, until, tenant,
                           missing, named, read_up_to)

    def report_facts_stored(self) -> int:
        """k: the report's facts are stored for records 1..k (``report_facts``)."""
        with self._lock:
            return report_facts.facts_up_to(self._db)

    def read_report(self, by_kind: Mapping[str, Sequence[str]], presence: str,
                    since: str | None, until: str | None, tenant: str | None,
                    missing: object = None, named: Collection[str] = (),
                    read_up_to: Callable[[int], None] | None = None) -> ReportRows:
        """What ``douane report`` reads of each record of a period, in seq order: the stored
        report facts of the records that have them (``report_facts``), then the fields of the
        others picked out of their signed bytes (``read_fields``)."""
        def fetch(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
            with self._lock:
                return self._db.values(sql, params)

        with self._lock:
            stored = report_facts.facts_up_to(self._db)
        bounds = fields.seq_range(fetch, since, until, tenant)
        facts: Iterator[FactRow] = iter(())
        if bounds is not None and stored >= bounds[0]:
            if self._db.dialect == "sqlite":  # (see read_fields)
                with self._lock:
                    self._db.execute(f"PRAGMA mmap_size = {fields.MAPPED_BYTES}")
            facts = report_facts.read(fetch, bounds[0], min(stored, bounds[1]), since, until,
                                      tenant, read_up_to)
        records = fields.read(fetch, self._db.dialect, by_kind, presence, since, until, tenant,
                              missing, named, read_up_to, after_seq=stored)
        return ReportRows(facts, records, report_facts.whole(fetch, since, until, tenant))

    def tenants(self) -> list[str]:
        """Every tenant named in the log (an indexed column: cheap)."""
        with self._lock:
            rows = self._execute("SELECT DISTINCT tenant FROM audit_records "
                                 "WHERE tenant IS NOT NULL ORDER BY tenant").fetchall()
        return [row["tenant"] for row in rows]

    def leaf_hashes(self, size: int) -> list[bytes]:
        """Leaf hashes of records 1..size, recomputed from the stored bytes."""
        with self._lock:
            rows = self._execute(
                "SELECT seq, canonical FROM audit_records WHERE seq <= ? ORDER BY seq", (size,)
            ).fetchall()
        if len(rows) != size or (rows and rows[-1]["seq"] != size):
            raise AuditStoreCorruptError(f"records 1..{size} are not all present")
        return [leaf_hash(blob(row["canonical"])) for row in rows]

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._lock:
            rows = self._execute(
                "SELECT size, root_hash, note, issued_at FROM audit_checkpoints ORDER BY size"
            ).fetchall()
        return [StoredCheckpoint(row["size"], bytes.fromhex(row["root_hash"]),
                                 blob(row["note"]), row["issued_at"]) for row in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def latest_checkpoint_issued(self) -> tuple[int, str] | None:
        """(records covered, issued_at) of the latest checkpoint, without reading the others
        (the metrics ask at every scrape)."""
        with self._lock:
            row = self._execute("SELECT size, issued_at FROM audit_checkpoints "
                                "ORDER BY size DESC LIMIT 1").fetchone()
        return None if row is None else (int(row["size"]), str(row["issued_at"]))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
