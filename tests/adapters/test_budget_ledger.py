"""The budgets' ledger in the audit store, on SQLite and PostgreSQL: written in the transaction
that appends the answered records, counted once per answer however often it is appended,
shared by several stores (workers) on one log, and rebuilt from the signed records when it is
missing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.postgres import open_postgres_log
from streams.adapters.audit.protocols import AuditStoreCorruptError
from streams.adapters.audit.spend_ledger import LEDGER_MARK, ledger_rows
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.signer import Ed25519Signer, load_or_create_signer
from streams.core import audit_events
from streams.core.audit import AuditEvent, AuditPayloadError
from streams.core.budgets import NO_PURPOSE, ledger_of

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = {"name": "test", "version": 1, "sha256": "ab" * 32}
PRICE = {"valid_from": "2025-01-01", "currency": "EUR", "input_per_million": "2",
         "output_per_million": "8"}


class Stores:
    """Opens stores (one per simulated worker) on one log, and runs SQL behind their back."""

    def __init__(self, root: Path, dsn: str | None) -> None:
        self.root, self.dsn = root, dsn
        self.signer: Ed25519Signer = load_or_create_signer(root / "keys" / "signing.pem",
                                                           root / "signing.pub.pem")
        self.opened: list[GroupCommitLog] = []

    def open(self) -> GroupCommitLog:
        store: GroupCommitLog
        if self.dsn is not None:
            store = open_postgres_log(self.dsn, self.signer,
                                       keyring_path=self.root / "audit.keyring.json",
                                       checkpoint_every=0, checkpoint_interval_s=0)
        else:
            store = open_sqlite_log(self.root / "audit.sqlite3", self.signer,
                                     checkpoint_every=0, checkpoint_interval_s=0)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    dsn = (request.getfixturevalue("postgres_database")  # tests/conftest.py
           if request.param == "postgresql" else None)
    opened = Stores(tmp_path, dsn)
    yield opened
    opened.close_all()


def answered(n: int, amount: str | None, *, tenant: str = "city", purpose: str | None = "letters",
             at: datetime | None = None, currency: str = "EUR") -> AuditEvent:
    cost = None if amount is None else {"amount": amount, "currency": currency,
                                        "price": {**PRICE, "currency": currency}}
    return audit_events.answered(
        f"req-{n}", tenant, at or T0 + timedelta(seconds=n), provider="cloud", model="big",
        choices=1, failed_over_from=(), streamed=False, answer_entities={},
        answer_operators={}, blocked_after_streaming=(), placeholders_restored=False,
        usage={"input_tokens": 10, "output_tokens": 20, "estimated": False}, cost=cost,
        policy=POLICY, purpose=purpose)


def recomputed(store: GroupCommitLog) -> dict[Any, int]:
    """The ledger as the signed records say it (older answers: their admission's purpose)."""
    records = list(store.iter_records())
    purposes = {r.request_id or "": r.payload["details"].get("purpose") for r in records
                if r.kind == "admitted"}
    return ledger_of((r.payload for r in records), purposes)


def sums(store: GroupCommitLog) -> dict[Any, int]:
    return {key: micros for key, (micros, _) in ledger_rows(store._backend).items()}


def test_each_answer_adds_its_cost_once(stores: Stores) -> None:
    store = stores.open()
    store.append(answered(1, "0.250000"))
    store.append_many([answered(2, "1.000001"), answered(3, "2.000000", purpose=None),
                       answered(4, None),  # unpriced: nothing to add
                       answered(5, "3.000000", at=datetime(2026, 12, 1, tzinfo=UTC)),
                       answered(6, "4.000000", currency="USD")])
    again = store.append(answered(1, "0.250000"))  # a redelivered answer
    twice_in_one_batch = store.append_many([answered(7, "1.000000"), answered(7, "1.000000")])
    assert not again.created and [r.created for r in twice_in_one_batch] == [True, False]
    assert ledger_rows(store._backend) == {
        ("city", "letters", "2026-11", "EUR"): (2_250_001, 3),
        ("city", NO_PURPOSE, "2026-11", "EUR"): (2_000_000, 1),
        ("city", "letters", "2026-12", "EUR"): (3_000_000, 1),
        ("city", "letters", "2026-11", "USD"): (4_000_000, 1),
    }
    assert store.month_spend("city", "2026-11") == {
        ("letters", "EUR"): Decimal("2.250001"), ("", "EUR"): Decimal("2.000000"),
        ("letters", "USD"): Decimal("4.000000")}
    assert store.month_spend("town", "2026-11") == {}
    assert sums(store) == recomputed(store)


def test_workers_on_one_log_neither_lose_nor_double_count(stores: Stores) -> None:
    workers = [stores.open(), stores.open()]
    # each answer appended by both workers at once (a redelivery racing the first delivery)
    def run(store: GroupCommitLog) -> None:
        for n in range(1, 41):
            store.append(answered(n, "0.100000"))
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert workers[0].size() == 40
    for store in workers:
        assert store.month_spend("city", "2026-11") == {("letters", "EUR"): Decimal("4.000000")}
    assert sums(workers[0]) == recomputed(workers[0])


def test_a_record_the_log_refuses_adds_nothing(stores: Stores) -> None:
    store = stores.open()
    store.append(answered(1, "1.000000"))
    broken = AuditEvent("req-2/answered", "answered", "req-2", "city", T0,
                        {"cost": {"amount": "lots"}})
    with pytest.raises(AuditPayloadError, match=r"req-2.*cannot be counted for budgets"):
        store.append(broken)
    store.append(answered(3, "1.000000"))
    assert store.month_spend("city", "2026-11") == {("letters", "EUR"): Decimal("2.000000")}


def test_a_missing_ledger_is_rebuilt_from_the_log(stores: Stores) -> None:
    store = stores.open()
    # an answered record of a release before the purpose was recorded: its admission says it
    admitted = AuditEvent("req-9/admitted", "admitted", "req-9", "city", T0,
                          {"decision": "forward", "purpose": "casework"})
    old = answered(9, "5.000000")
    del old.details["purpose"]
    store.append_many([answered(1, "1.500000"), admitted, old, answered(2, "0.500000")])
    store.close()
    stores.opened.remove(store)
    # lost: the rows and the mark that says they are complete
    sql = stores.open()
    with sql._lock:
        sql._backend.execute("DELETE FROM budget_spend")
        sql._backend.execute("DELETE FROM audit_meta WHERE name = ?", (LEDGER_MARK,))
    assert ledger_rows(sql._backend) == {}
    reopened = stores.open()  # the next store to open the log rebuilds it
    assert ledger_rows(reopened._backend) == {
        ("city", "letters", "2026-11", "EUR"): (2_000_000, 2),
        ("city", "casework", "2026-11", "EUR"): (5_000_000, 1),
    }
    assert sums(reopened) == recomputed(reopened)
    reopened.append(answered(3, "1.000000"))
    assert reopened.month_spend("city", "2026-11")[("letters", "EUR")] == Decimal("3.000000")


def test_an_unreadable_cost_stops_the_rebuild_naming_the_record(stores: Stores) -> None:
    store = stores.open()
    store.append(answered(1, "1.000000"))
    with store._lock:
        store._backend.execute("DELETE FROM audit_meta WHERE name = ?", (LEDGER_MARK,))
        store._backend.execute("UPDATE audit_records SET canonical = ? WHERE seq = 1",
                               (b'{"kind": "answered", "details": {"cost": "free"}}',))
    with pytest.raises(AuditStoreCorruptError, match="record 1: its cost cannot be counted"):
        stores.open()
