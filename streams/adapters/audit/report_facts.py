"""The transparency report's facts: kept by the append path, read by ``douane report``.

**Not evidence.** Like the search index (``index``), the ``report_facts`` table is derived
from the signed records (``streams.core.report_facts``), in the same transaction as the
records it describes, one row per record, seqs 1..k with no gap. ``douane report`` reads its
plain columns instead of picking the report's fields out of every stored JSON document (a
few times less CPU over a million records); ``--verify-records`` reads the records whole and
gives the same figures, and a report from an evidence bundle never reads the table.

**Coverage.** An append writes the facts of its records when the table reaches the record
before them; otherwise (an older log, or records a process of an older version appended)
``GroupCommitLog.catch_up_report_facts`` fills them in when a writer opens the log, with
progress in the log. A report reads the facts of records 1..k and picks the fields of the
records after k out of their stored JSON, as before: a log whose facts are incomplete (or
absent: a reader of a log no writer of this version has opened) gives the same figures,
more slowly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from streams.adapters.audit.backend import Backend, Database, Values, blob
from streams.adapters.audit.fields import PAGE, Fetch, period_clauses
from streams.adapters.audit.index import IndexCheck, Payloads
from streams.adapters.audit.protocols import AuditStoreCorruptError
from streams.adapters.audit.schema import REPORT_FACTS
from streams.core.pricing import AgreeingCosts
from streams.core.report_facts import COLUMNS, report_facts
from streams.core.transparency import FactRow, ReportRecord, report_record

CATCH_UP_BATCH = 5000  # records per transaction when filling an older log
_INSERT = (f"INSERT INTO {REPORT_FACTS.name} (seq, {', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in range(len(COLUMNS) + 1))})")
# the columns a report reads, by place (streams.core.transparency.FactRow): one kind's values
# share a place with another's (at most one of them is not null in a row), so a row is 11
# values, not 18 (each value handed to Python costs, a million times)
_SELECT = ("SELECT CASE WHEN plain = 1 THEN kind END, tenant, request_id, provider, "
           "coalesce(jurisdiction, model, replay_profile), "
           "CASE WHEN plain = 1 THEN coalesce(input_tokens, prompt_chars) ELSE seq END, "
           "coalesce(output_tokens, personal), cost_micros, coalesce(currency, finding_scores), "
           "estimated, findings FROM report_facts")


def facts_up_to(db: Database) -> int:
    """k: the table holds the facts of records 1..k (0 when the log has no such table yet:
    a reader of a log no writer of this version has opened)."""
    if db.dialect == "postgresql":
        found = db.execute("SELECT to_regclass('report_facts') IS NOT NULL AS present"
                           ).fetchone()
    else:
        found = db.execute("SELECT count(*) AS present FROM sqlite_master WHERE type = 'table' "
                           "AND name = 'report_facts'").fetchone()
    if found is None or not found["present"]:
        return 0
    row = db.execute("SELECT max(seq) AS k FROM report_facts").fetchone()
    return int(row["k"] or 0) if row is not None else 0


def add(backend: Backend, records: Payloads) -> bool:
    """Inside the append transaction: the facts of ``records`` if the table reaches the one
    before them, up to a missing seq if any; False if some were left out (then
    ``GroupCommitLog.catch_up_report_facts`` adds them when it can)."""
    if not records:
        return True
    if facts_up_to(backend) != records[0][0] - 1:
        return False
    contiguous = next((n for n in range(1, len(records))
                       if records[n][0] != records[n - 1][0] + 1), len(records))
    costs = AgreeingCosts()
    rows: list[Values] = [(seq, *report_facts(payload, costs))
                          for seq, payload in records[:contiguous]]
    backend.execute_many(_INSERT, rows)
    return contiguous == len(records)


def clear(backend: Backend) -> None:
    """Inside a write transaction: empty the table (the catch-up fills it again)."""
    backend.execute(f"DELETE FROM {REPORT_FACTS.name}")


def check(db: Database, progress: Callable[[int, int], None] | None = None) -> IndexCheck:
    """Recompute the facts of every record they cover from its signed bytes and compare,
    row by row (``douane audit verify``). Reads the whole log once."""
    row = db.execute("SELECT max(seq) AS n FROM audit_records").fetchone()
    size = int(row["n"] or 0) if row is not None else 0
    covered = facts_up_to(db)

    def found(problem: str | None) -> IndexCheck:
        return IndexCheck(size, covered, problem)

    costs = AgreeingCosts()
    stored_columns = ", ".join(f"f.{name}" for name in COLUMNS)
    last = 0
    while last < covered:
        rows = db.values(f"SELECT r.seq, r.canonical, f.seq, {stored_columns} FROM "
                         "audit_records r LEFT JOIN report_facts f ON f.seq = r.seq "
                         "WHERE r.seq > ? AND r.seq <= ? ORDER BY r.seq LIMIT 2000",
                         (last, covered))
        if not rows:
            return found(f"records {last + 1}..{covered} have report facts but are not in "
                         "the log")
        for seq, canonical, stored_seq, *stored in rows:
            try:
                payload = json.loads(blob(canonical))
            except ValueError:
                return found(f"record {seq} cannot be read; run audit verification")
            if stored_seq is None or tuple(stored) != report_facts(payload, costs):
                return found(f"the report facts of record {seq} do not match the record")
        last = int(rows[-1][0])
        if progress is not None:
            progress(last, covered)
    return found(None)


def read(fetch: Fetch, first: int, last: int, since: str | None, until: str | None,
         tenant: str | None, read_up_to: Callable[[int], None] | None = None,
         ) -> Iterator[FactRow]:
    """The stored facts of records ``first``..``last`` (all stored) that the period holds, in
    seq order (:data:`streams.core.transparency.FactRow`), in pages of seq ranges; those that
    are not plain are always given (their record is checked, ``whole``)."""
    within, params = period_clauses(since, until, tenant)
    sql = f"{_SELECT} WHERE seq > ? AND seq <= ?"
    if within:
        sql += f" AND (plain = 0 OR ({' AND '.join(within)}))"
    sql += " ORDER BY seq"
    after = first - 1
    while after < last:
        up_to = min(after + PAGE, last)
        rows = fetch(sql, (after, up_to, *params))
        yield from rows
        after = up_to
        if rows and read_up_to is not None:
            read_up_to(up_to)


def whole(fetch: Fetch, since: str | None, until: str | None, tenant: str | None,
          ) -> Callable[[int], ReportRecord | None]:
    """What the report reads of the record at a seq, from its signed bytes; None when the
    period does not hold it (the signed fields decide)."""
    def of(seq: int) -> ReportRecord | None:
        rows = fetch("SELECT canonical FROM audit_records WHERE seq = ?", (seq,))
        if not rows:
            raise AuditStoreCorruptError(f"record {seq}: missing; run `douane audit verify`")
        try:
            payload: Any = json.loads(blob(rows[0][0]))
        except ValueError:
            raise AuditStoreCorruptError(
                f"record {seq}: stored payload is not JSON; run `douane audit verify`") from None
        if not isinstance(payload, dict):
            raise AuditStoreCorruptError(f"record {seq}: stored payload is not a JSON object")
        occurred = payload.get("occurred_at")
        moment = "" if occurred is None else str(occurred)
        if ((since is not None and moment < since) or (until is not None and moment >= until)
                or (tenant is not None and payload.get("tenant") != tenant)):
            return None
        return report_record(payload)
    return of
