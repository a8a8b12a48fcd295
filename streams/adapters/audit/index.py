"""The audit log's search index and daily counts: kept by the append path, read by searches.

**Not evidence.** The signed records (``audit_records``) are the evidence; the index tables
(``audit_index``, ``audit_index_values``, ``audit_daily_counts``, see ``schema``) are derived
from them, only to find and count records without reading them all. They are written in the
same transaction as the records they describe, so they never disagree with the log unless
someone edits the database; a search shows each found record from its signed bytes (the
index only chooses which records), and ``douane audit verify`` compares the index with the
records and reports a disagreement as a broken index, not as a broken log
(``douane audit reindex`` rebuilds it).

**Coverage.** The index holds seqs 1..k with no gap. An append indexes its records when the
index reaches the record before them (k = first seq - 1); otherwise (an older log being
filled, or a process of an older version appended) it leaves them to
``GroupCommitLog.catch_up_index``, which a writer runs when it opens the log. A reader uses
the index only if it covers the whole log (``covers_log``), and reads the records themselves
otherwise: slower, never wrong.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog

from streams.adapters.audit.backend import Backend, Database, Values, blob
from streams.adapters.audit.protocols import AuditQuery, AuditStoreCorruptError
from streams.adapters.audit.schema import INDEX_TABLES, SEARCH_INDEX
from streams.core.audit_index import (
    COUNTED_FIELDS,
    MANY_FIELDS,
    NO_TENANT,
    RECORDS,
    SINGLE_FIELDS,
    STATUSES,
    DayPlan,
    Overview,
    OverviewCounter,
    contribution,
    day_plan,
    index_entry,
)
from streams.core.audit_query import fold

log = structlog.get_logger(__name__)

CATCH_UP_BATCH = 5000  # records indexed per transaction when filling an older log

_ENTRY_COLUMNS = [column.name for column in SEARCH_INDEX.columns]
_INSERT_ENTRY = (f"INSERT INTO audit_index ({', '.join(_ENTRY_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in _ENTRY_COLUMNS)})")
_INSERT_VALUE = "INSERT INTO audit_index_values (field, value, seq) VALUES (?, ?, ?)"
_ADD_COUNT = ("INSERT INTO audit_daily_counts (day, tenant, kind, field, value, records) "
              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, tenant, kind, field, value) "
              "DO UPDATE SET records = audit_daily_counts.records + excluded.records")
_COLUMN = {field: field for field in SINGLE_FIELDS}  # search field -> audit_index column
_OVERVIEW_FIELDS = ("entity-type", "provider", "jurisdiction", "reason")

Payloads = Sequence[tuple[int, Mapping[str, Any]]]  # (seq, signed payload), seqs contiguous


def indexed_up_to(db: Database) -> int:
    """k: the index covers records 1..k."""
    row = db.execute("SELECT max(seq) AS k FROM audit_index").fetchone()
    return int(row["k"] or 0) if row is not None else 0


def indexed(filters: AuditQuery) -> bool:
    """True if the index has a column or values for every filter (a filter it does not keep,
    such as a trace id, is answered by reading the records)."""
    return all(field in _COLUMN or field in MANY_FIELDS for field in filters.detail_filters())


def covers_log(db: Database) -> bool:
    """Whether the index covers every record (then searches may use it)."""
    row = db.execute("SELECT max(seq) AS n FROM audit_records").fetchone()
    size = int(row["n"] or 0) if row is not None else 0
    return indexed_up_to(db) == size


def add(backend: Backend, records: Payloads) -> bool:
    """Inside the append transaction: index ``records`` if the index reaches the one before
    them, up to a missing seq if any; False if some were left out (then
    ``GroupCommitLog.catch_up_index`` indexes them when it can)."""
    if not records:
        return True
    if indexed_up_to(backend) != records[0][0] - 1:
        return False
    contiguous = next((n for n in range(1, len(records))
                       if records[n][0] != records[n - 1][0] + 1), len(records))
    whole = contiguous == len(records)
    records = records[:contiguous]  # a record missing in between: the rest waits
    entries: list[Values] = []
    many: list[Values] = []
    counts: Counter[tuple[str, str, str, str, str]] = Counter()
    for seq, payload in records:
        entry = index_entry(seq, payload)
        entries.append((entry.seq, entry.occurred_at, entry.tenant, entry.kind,
                        entry.request_id, *entry.single))
        many.extend((field, value, seq) for field, value in entry.many)
        counts.update(entry.counts)
    backend.execute_many(_INSERT_ENTRY, entries)
    backend.execute_many(_INSERT_VALUE, many)
    backend.execute_many(_ADD_COUNT, [(*key, n) for key, n in sorted(counts.items())])
    return whole


def payloads_after(db: Database, seq: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """The signed payloads of the records after ``seq``, in order, at most ``limit``."""
    rows = db.execute("SELECT seq, canonical FROM audit_records WHERE seq > ? ORDER BY seq "
                      f"LIMIT {int(limit)}", (seq,)).fetchall()
    found = []
    for row in rows:
        try:
            payload = json.loads(blob(row["canonical"]))
        except ValueError:
            raise AuditStoreCorruptError(
                f"record {row['seq']}: stored payload is not JSON; run audit verification"
            ) from None
        found.append((int(row["seq"]), payload))
    return found


def clear(backend: Backend) -> None:
    """Inside a write transaction: empty the index (``GroupCommitLog.catch_up_index`` fills
    it again)."""
    for table in INDEX_TABLES:
        backend.execute(f"DELETE FROM {table.name}")


class ProgressLog:
    """Tells how far filling the index has got, in the log every few seconds (a writer that
    opens an older log of millions of records indexes them first: minutes)."""

    def __init__(self, every_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 what: str = "audit search index filling") -> None:
        self.every_s, self.clock, self.what = every_s, clock, what
        self.started = self.last = clock()

    def __call__(self, indexed: int, size: int) -> None:
        now = self.clock()
        if now - self.last < self.every_s and indexed < size:
            return
        self.last = now
        log.info(self.what, indexed=indexed, records=size,
                 percent=indexed * 100 // max(size, 1),
                 seconds=round(now - self.started, 1))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Where:
    sql: str  # "" or "WHERE ..."
    params: tuple[object, ...]


_NO_POLICY = "-"  # a policy hash no record has: a prefix matching none of the log's


def resolve(db: Database, filters: AuditQuery) -> AuditQuery:
    """``filters`` with each policy hash prefix replaced by the log's hashes it starts with
    (from the daily counts), so the index finds them by equality, in seq order."""
    if not filters.policy_hashes:
        return filters
    known = known_values(db, ["policy"])["policy"]
    full = sorted(v for v in known if any(v.startswith(p) for p in filters.policy_hashes))
    return replace(filters, policy_hashes=tuple(full) or (_NO_POLICY,))


def where(filters: AuditQuery, since: str | None = None, until: str | None = None,
          alias: str = "i") -> _Where:
    """The filters over ``audit_index`` (as ``alias``), policy hashes ``resolve``d;
    ``since``/``until`` replace the filters' own time range."""
    clauses: list[str] = []
    params: list[object] = []

    def one_of(column: str, wanted: Sequence[str]) -> None:
        clauses.append(f"{alias}.{column} IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)

    for column, wanted in (("tenant", filters.tenants), ("kind", filters.kinds),
                           ("request_id", filters.request_ids)):
        if wanted:
            one_of(column, wanted)
    for bound, op in ((since, ">="), (until, "<")):
        if bound is not None:
            clauses.append(f"{alias}.occurred_at {op} ?")
            params.append(bound)
    for field, wanted in filters.detail_filters().items():
        if field in MANY_FIELDS:
            marks = ", ".join("?" for _ in wanted)
            clauses.append(f"EXISTS (SELECT 1 FROM audit_index_values v WHERE v.field = ? "
                           f"AND v.value IN ({marks}) AND v.seq = {alias}.seq)")
            params.extend((field, *wanted))
        else:
            one_of(_COLUMN[field], wanted)
    return _Where(("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params))


def and_where(where_: _Where, clause: str, *params: object) -> _Where:
    joined = f"{where_.sql} AND {clause}" if where_.sql else f"WHERE {clause}"
    return _Where(joined, (*where_.params, *params))


def matches(filters: AuditQuery, payload: Mapping[str, Any]) -> bool:
    """Whether the signed ``payload`` passes every filter (what the index found is checked
    against the evidence: an edited index can hide records, not add wrong ones)."""
    occurred = str(payload.get("occurred_at", ""))
    return ((not filters.tenants or payload.get("tenant") in filters.tenants)
            and (not filters.kinds or payload.get("kind") in filters.kinds)
            and (not filters.request_ids or payload.get("request_id") in filters.request_ids)
            and (filters.since is None or occurred >= filters.since)
            and (filters.until is None or occurred < filters.until)
            and filters.matches_details(payload))


def page_seqs(db: Database, filters: AuditQuery, before_seq: int | None,
              limit: int) -> list[int]:
    """The seqs of the newest ``limit`` records matching ``filters`` below ``before_seq``."""
    filters = resolve(db, filters)
    found = where(filters, filters.since, filters.until)
    if before_seq is not None:
        found = and_where(found, "i.seq < ?", before_seq)
    rows = db.execute(f"SELECT i.seq FROM audit_index i {found.sql} ORDER BY i.seq DESC "
                      f"LIMIT {int(limit)}", found.params).fetchall()
    return [int(row["seq"]) for row in rows]


def _counts_where(filters: AuditQuery, plan: DayPlan) -> _Where:
    clauses: list[str] = []
    params: list[object] = []
    if filters.tenants:
        clauses.append(f"tenant IN ({', '.join('?' for _ in filters.tenants)})")
        params.extend(t for t in filters.tenants)
        clauses.append("tenant <> ?")
        params.append(NO_TENANT)
    if filters.kinds:
        clauses.append(f"kind IN ({', '.join('?' for _ in filters.kinds)})")
        params.extend(filters.kinds)
    if plan.first_day is not None:
        clauses.append("day >= ?")
        params.append(plan.first_day)
    if plan.end_day is not None:
        clauses.append("day < ?")
        params.append(plan.end_day)
    return _Where(("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params))


def _edge_filters(filters: AuditQuery, edge: tuple[str | None, str | None]) -> _Where:
    return where(filters, *edge)


def count(db: Database, filters: AuditQuery) -> int:
    """How many records match ``filters``: from the daily counts when they can say (time,
    tenant, kind and one field), from the index otherwise."""
    filters = resolve(db, filters)
    details = filters.detail_filters()
    plan = day_plan(filters.since, filters.until)
    countable = (plan is not None and not filters.request_ids and len(details) <= 1
                 and all(f in COUNTED_FIELDS and (f not in MANY_FIELDS or len(w) == 1)
                         for f, w in details.items()))
    if not countable or plan is None:
        found = where(filters, filters.since, filters.until)
        row = db.execute(f"SELECT count(*) AS n FROM audit_index i {found.sql}",
                         found.params).fetchone()
        return int(row["n"]) if row is not None else 0
    total = 0
    scope = _counts_where(filters, plan)
    if not details:
        scope = and_where(scope, "field = ?", RECORDS)
        row = db.execute(f"SELECT sum(records) AS n FROM audit_daily_counts {scope.sql}",
                         scope.params).fetchone()
        total += int(row["n"] or 0) if row is not None else 0
    else:
        (field, wanted), = details.items()
        scope = and_where(scope, "field = ?", field)
        rows = db.execute(f"SELECT value, sum(records) AS n FROM audit_daily_counts "
                          f"{scope.sql} GROUP BY value", scope.params).fetchall()
        for row in rows:
            value = fold(field, str(row["value"]))
            hit = (any(value.startswith(w) for w in wanted) if field == "policy"
                   else value in wanted)
            if hit:
                total += int(row["n"])
    for edge in plan.edges:
        found = _edge_filters(filters, edge)
        row = db.execute(f"SELECT count(*) AS n FROM audit_index i {found.sql}",
                         found.params).fetchone()
        total += int(row["n"]) if row is not None else 0
    return total


def known_values(db: Database, fields: Sequence[str]) -> dict[str, set[str]]:
    """The values of ``fields`` the daily counts hold (every value some record has)."""
    known: dict[str, set[str]] = {field: set() for field in fields}
    if fields:
        rows = db.execute(f"SELECT DISTINCT field, value FROM audit_daily_counts WHERE field "
                          f"IN ({', '.join('?' for _ in fields)})", tuple(fields)).fetchall()
        for row in rows:
            known[row["field"]].add(row["value"])
    return known


def _payloads(db: Database, found: _Where) -> Iterable[Mapping[str, Any]]:
    rows = db.execute(f"SELECT r.canonical FROM audit_index i JOIN audit_records r "
                      f"ON r.seq = i.seq {found.sql}", found.params).fetchall()
    for row in rows:
        yield json.loads(blob(row["canonical"]))


def overview(db: Database, filters: AuditQuery) -> Overview:
    """The overview of the records matching ``filters``: whole days from the daily counts
    when the filters are on time, tenant and kind only; the records themselves otherwise
    (those the index finds) and for the parts of days at the ends of the range."""
    filters = resolve(db, filters)
    counter = OverviewCounter()
    plan = day_plan(filters.since, filters.until)
    if plan is None or filters.request_ids or filters.detail_filters():
        for payload in _payloads(db, where(filters, filters.since, filters.until)):
            counter.add(contribution(payload))
        return counter.overview()
    scope = _counts_where(filters, plan)
    # added up by the database: per day only the outcomes, per tenant the outcomes summed
    outcomes = ", ".join("?" for _ in STATUSES)
    by_day = and_where(scope, f"field = ? AND kind IN ({outcomes})", RECORDS, *STATUSES)
    rows = db.execute(f"SELECT day, kind, sum(records) AS n FROM audit_daily_counts "
                      f"{by_day.sql} GROUP BY day, kind", by_day.params).fetchall()
    for row in rows:
        counter.add_count(row["day"], NO_TENANT, row["kind"], RECORDS, "", int(row["n"]))
    rows = db.execute(f"SELECT tenant, sum(records) AS n FROM audit_daily_counts "
                      f"{by_day.sql} GROUP BY tenant", by_day.params).fetchall()
    for row in rows:
        if row["tenant"] != NO_TENANT:
            counter.tenants[row["tenant"]] += int(row["n"])
    by_value = and_where(scope, "field IN (?, ?, ?, ?)", *_OVERVIEW_FIELDS)
    rows = db.execute(f"SELECT kind, field, value, sum(records) AS n FROM audit_daily_counts "
                      f"{by_value.sql} GROUP BY kind, field, value", by_value.params).fetchall()
    for row in rows:
        counter.add_count("", NO_TENANT, row["kind"], row["field"], row["value"], int(row["n"]))
    for edge in plan.edges:
        for payload in _payloads(db, _edge_filters(filters, edge)):
            counter.add(contribution(payload))
    return counter.overview()


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class IndexCheck:
    """What comparing the index with the signed records found (not evidence either way)."""

    records: int  # in the log
    covered: int  # records 1..covered are indexed
    problem: str | None  # the first disagreement, None: the index agrees with the records

    @property
    def ok(self) -> bool:
        return self.problem is None


def check(db: Database, progress: Callable[[int, int], None] | None = None) -> IndexCheck:
    """Recompute the index from the signed records and compare: every index row, the
    many-valued rows (per field and value: how many, and the sum of their seqs) and every
    daily count. Reads the whole log once."""
    row = db.execute("SELECT max(seq) AS n FROM audit_records").fetchone()
    size = int(row["n"] or 0) if row is not None else 0
    covered = indexed_up_to(db)

    def found(problem: str | None) -> IndexCheck:
        return IndexCheck(size, covered, problem)

    row = db.execute("SELECT count(*) AS n FROM audit_index").fetchone()
    if row is None or int(row["n"]) != covered:
        return found(f"the index has {row['n'] if row else 0} rows for records 1..{covered}")
    many: Counter[tuple[str, str]] = Counter()
    many_seqs: Counter[tuple[str, str]] = Counter()
    counts: Counter[tuple[str, str, str, str, str]] = Counter()
    columns = ", ".join(f"i.{name}" for name in _ENTRY_COLUMNS)
    last = 0
    while last < covered:
        rows = db.execute(f"SELECT r.seq AS record_seq, r.canonical, {columns} FROM "
                          "audit_records r LEFT JOIN audit_index i ON i.seq = r.seq "
                          "WHERE r.seq > ? AND r.seq <= ? ORDER BY r.seq LIMIT 2000",
                          (last, covered)).fetchall()
        if not rows:
            return found(f"records {last + 1}..{covered} are indexed but not in the log")
        for row in rows:
            seq = int(row["record_seq"])
            try:
                entry = index_entry(seq, json.loads(blob(row["canonical"])))
            except (ValueError, KeyError):
                return found(f"record {seq} cannot be read; run audit verification")
            expected = (seq, entry.occurred_at, entry.tenant, entry.kind, entry.request_id,
                        *entry.single)
            if tuple(row[name] for name in _ENTRY_COLUMNS) != expected:
                return found(f"the index row of record {seq} does not match the record")
            for key in entry.many:
                many[key] += 1
                many_seqs[key] += seq
            counts.update(entry.counts)
        last = int(rows[-1]["record_seq"])
        if progress is not None:
            progress(last, covered)
    stored = {(r["field"], r["value"]): (int(r["n"]), int(r["s"])) for r in db.execute(
        "SELECT field, value, count(*) AS n, sum(seq) AS s FROM audit_index_values "
        "GROUP BY field, value").fetchall()}
    recomputed = {key: (n, many_seqs[key]) for key, n in many.items()}
    if stored != recomputed:
        field, value = min(stored.keys() ^ recomputed.keys()
                           or {k for k in stored if stored[k] != recomputed.get(k)})
        return found(f"the index's {field} values ({value!r}) do not match the records")
    rows = db.execute("SELECT day, tenant, kind, field, value, records FROM "
                      "audit_daily_counts").fetchall()
    stored_counts = {(r["day"], r["tenant"], r["kind"], r["field"], r["value"]):
                     int(r["records"]) for r in rows}
    if stored_counts != dict(counts):
        wrong = min(stored_counts.keys() ^ counts.keys()
                    or {k for k in stored_counts if stored_counts[k] != counts[k]})
        return found(f"the daily count of {wrong[0]} (tenant {wrong[1]!r}, kind {wrong[2]}) "
                     "does not match the records")
    return found(None)
