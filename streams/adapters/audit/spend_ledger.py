"""The budgets' ledger: what each tenant's answers cost per purpose, month (UTC) and currency,
kept in the audit store's ``budget_spend`` table so that a decision reads one small row set
instead of summing the log.

The signed log is the source of truth; the ledger is a sum of it that is never out of step:
- the log adds to it (:func:`add_spend`) inside the very transaction that appends the
  ``answered`` records, holding the log's write lock, so every worker sees every other's spend
  as soon as its answer is durable, a crash loses both or neither, and an answer is counted
  once: it is added only when its record is created, and a record id is created once (a
  redelivered answer finds its record and adds nothing);
- a log without a ledger (created before budgets, or whose ledger was deleted with its
  ``audit_meta`` row ``budget_ledger``) has it rebuilt from the records when a store opens it
  (:func:`ensure_ledger`), under the same write lock, with the same rule
  (``streams.core.budgets.ledger_of``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

from streams.adapters.audit.backend import Database
from streams.adapters.audit.protocols import AuditStoreCorruptError, StoredRecord
from streams.core.audit import AuditEvent, AuditPayloadError, format_timestamp
from streams.core.budgets import LedgerKey, from_micros, ledger_entry
from streams.core.pricing import UnreadableCost

LEDGER_MARK = "budget_ledger"  # audit_meta row: the ledger sums every record of the log
LEDGER_VERSION = "1"
_UPSERT = ("INSERT INTO budget_spend (tenant, purpose, month, currency, micros, answers) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, month, purpose, currency) DO UPDATE "
           "SET micros = budget_spend.micros + excluded.micros, "
           "answers = budget_spend.answers + excluded.answers")


def _increments(entries: Iterable[tuple[LedgerKey, int]]) -> dict[LedgerKey, tuple[int, int]]:
    summed: dict[LedgerKey, tuple[int, int]] = {}
    for key, micros in entries:
        before = summed.get(key, (0, 0))
        summed[key] = (before[0] + micros, before[1] + 1)
    return summed


def _write(db: Database, summed: dict[LedgerKey, tuple[int, int]]) -> None:
    for (tenant, purpose, month, currency), (micros, answers) in sorted(summed.items()):
        db.execute(_UPSERT, (tenant, purpose, month, currency, micros, answers))


def countable_spend(event: AuditEvent) -> None:
    """Raises AuditPayloadError if ``event`` is an answer whose cost the ledger cannot add."""
    if event.kind != "answered":
        return
    try:
        ledger_entry({"kind": event.kind, "tenant": event.tenant,
                      "occurred_at": format_timestamp(event.occurred_at),
                      "request_id": event.request_id, "details": event.details})
    except UnreadableCost as error:
        raise AuditPayloadError(f"record {event.record_id!r}: its cost cannot be counted for "
                                f"budgets ({error})") from None


def add_spend(db: Database, created: Iterable[StoredRecord]) -> None:
    """Inside the append transaction: add the costs of the ``answered`` records it creates."""
    entries = []
    for record in created:
        if record.kind != "answered":
            continue
        entry = ledger_entry(record.payload)  # records this release builds carry the purpose
        if entry is not None:
            entries.append(entry)
    if entries:
        _write(db, _increments(entries))


def month_spend(db: Database, tenant: str, month: str) -> dict[tuple[str, str], Decimal]:
    """(purpose or '', currency) -> what ``tenant``'s answers cost in ``month`` (YYYY-MM)."""
    rows = db.execute("SELECT purpose, currency, micros FROM budget_spend "
                      "WHERE tenant = ? AND month = ?", (tenant, month)).fetchall()
    return {(row["purpose"], row["currency"]): from_micros(int(row["micros"])) for row in rows}


def ledger_rows(db: Database) -> dict[LedgerKey, tuple[int, int]]:
    """The whole ledger: key -> (millionths, answers)."""
    rows = db.execute("SELECT tenant, purpose, month, currency, micros, answers "
                      "FROM budget_spend").fetchall()
    return {(row["tenant"], row["purpose"], row["month"], row["currency"]):
            (int(row["micros"]), int(row["answers"])) for row in rows}


def ledger_is_complete(db: Database) -> bool:
    row = db.execute("SELECT value FROM audit_meta WHERE name = ?", (LEDGER_MARK,)).fetchone()
    return row is not None and row["value"] == LEDGER_VERSION


def rebuild_ledger(db: Database) -> int:
    """Inside a write transaction: the ledger, recomputed from every record of the log. Returns
    the number of answered records it counts. Raises AuditStoreCorruptError naming the seq of
    a record whose cost cannot be read (``douane audit verify`` tells whether it was
    tampered with)."""
    db.execute("DELETE FROM budget_spend")
    purposes: dict[str, str | None] = {}  # request id -> purpose, for records without one
    entries: list[tuple[LedgerKey, int]] = []
    for row in db.execute("SELECT seq, canonical FROM audit_records WHERE kind IN "
                          "('admitted', 'answered') ORDER BY seq").fetchall():
        try:
            canonical = row["canonical"]
            payload = json.loads(canonical if isinstance(canonical, str | bytes)
                                 else bytes(canonical))
            if payload.get("kind") == "admitted":
                purposes[str(payload.get("request_id"))] = payload["details"].get("purpose")
                continue
            entry = ledger_entry(payload, purposes)
        except (ValueError, AttributeError, KeyError, TypeError, UnreadableCost) as error:
            raise AuditStoreCorruptError(
                f"record {row['seq']}: its cost cannot be counted for budgets "
                f"({type(error).__name__}); run audit verification") from None
        if entry is not None:
            entries.append(entry)
    _write(db, _increments(entries))
    db.execute("INSERT INTO audit_meta (name, value) VALUES (?, ?) ON CONFLICT (name) "
               "DO UPDATE SET value = excluded.value", (LEDGER_MARK, LEDGER_VERSION))
    return len(entries)
