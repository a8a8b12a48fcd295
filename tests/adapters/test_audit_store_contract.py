"""One contract for every audit store: SQLite and PostgreSQL run the same tests.

The PostgreSQL server is the project's own, started by ``scripts/postgres.sh`` (the
``postgres_server`` and ``postgres_database`` fixtures of tests/conftest.py); each test gets a
fresh database. Set DOUANE_TEST_POSTGRES_DSN to use another server instead.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.postgres import open_postgres_log, open_postgres_reader
from streams.adapters.audit.protocols import AuditQuery, AuditStoreError
from streams.adapters.audit.records import SqlRecords
from streams.adapters.audit.sqlite import open_sqlite_log, open_sqlite_reader
from streams.adapters.audit.verify import load_audit_schema, verify_log_reader
from streams.adapters.signer import Ed25519Signer, generate_key_file, load_or_create_signer
from streams.app import AUDIT_UNAVAILABLE
from streams.core import merkle
from streams.core.audit import AuditEvent, signing_input
from streams.core.audit_index import contribution, tally
from streams.core.log_check import LogReport
from streams.services.audit_search import overview, search

SCHEMA = load_audit_schema()
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Backend:
    """One store backend under test: how to open it, read it, and tamper with it."""

    name: str
    root: Path
    dsn: str | None = None

    @property
    def keyring(self) -> Path:
        return self.root / "audit.keyring.json"

    def open(self, signer: Ed25519Signer, **options: Any) -> GroupCommitLog:
        if self.dsn is not None:
            return open_postgres_log(self.dsn, signer, keyring_path=self.keyring, **options)
        return open_sqlite_log(self.root / "audit.sqlite3", signer, **options)

    def reader(self) -> SqlRecords:
        if self.dsn is not None:
            return open_postgres_reader(self.dsn)
        return open_sqlite_reader(self.root / "audit.sqlite3")

    def sql(self, statement: str, *params: object) -> None:
        """Run a statement behind the store's back (what an attacker with DB access does)."""
        if self.dsn is not None:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(statement.replace("?", "%s"), params)
        else:
            with sqlite3.connect(self.root / "audit.sqlite3") as conn:
                conn.execute(statement, params)

    @contextmanager
    def write_lock_held(self) -> Iterator[None]:
        """Another process holds the log's write lock."""
        if self.dsn is not None:
            with psycopg.connect(self.dsn) as conn:
                conn.execute("LOCK TABLE audit_records IN EXCLUSIVE MODE")
                yield
                conn.rollback()
        else:
            conn = sqlite3.connect(self.root / "audit.sqlite3", isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                conn.execute("ROLLBACK")
                conn.close()

    def verify(self, store: GroupCommitLog) -> LogReport:
        with self.reader() as reader:
            return verify_log_reader(reader, store.keyring, SCHEMA)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", tmp_path)
        return
    dsn: str = request.getfixturevalue("postgres_database")  # tests/conftest.py
    yield Backend("postgresql", tmp_path, dsn)


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519Signer:
    return load_or_create_signer(tmp_path / "keys" / "signing.pem", tmp_path / "signing.pub.pem")


@pytest.fixture
def store(backend: Backend, signer: Ed25519Signer) -> Iterator[GroupCommitLog]:
    opened = backend.open(signer, checkpoint_every=0, checkpoint_interval_s=0)
    yield opened
    opened.close()


def event(n: int, kind: str = "admitted", tenant: str = "city-of-lyon",
          at: datetime | None = None, **details: Any) -> AuditEvent:
    return AuditEvent(record_id=f"req-{n}/{kind}", kind=kind, request_id=f"req-{n}",
                      tenant=tenant, occurred_at=at or T0 + timedelta(minutes=n),
                      details={"decision": "forward", "entities": {"PERSON": 1}, **details})


def fill(store: GroupCommitLog, count: int) -> None:
    store.append_many([event(n) for n in range(1, count + 1)])


def test_append_is_idempotent_and_the_first_record_wins(store: GroupCommitLog) -> None:
    first = store.append(event(1))
    again = store.append(AuditEvent("req-1/admitted", "admitted", "req-1", "other-tenant",
                                    T0, {"decision": "block"}))
    assert first.created and not again.created
    assert again.record == first.record
    assert store.size() == 1


def test_records_chain_and_are_signed(store: GroupCommitLog, signer: Ed25519Signer) -> None:
    fill(store, 3)
    records = list(store.iter_records())
    assert [r.seq for r in records] == [1, 2, 3]
    for before, after in itertools.pairwise(records):
        assert after.payload["prev_hash"] == before.leaf_hash
    public = signer.public_key_pem()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(public)
    for record in records:
        key.verify(record.signature, signing_input(record.canonical))  # type: ignore[union-attr,call-arg]


def test_lookups_and_query_filters(store: GroupCommitLog) -> None:
    store.append_many([event(1), event(2, tenant="registry-is"), event(2, "forwarded",
                       tenant="registry-is", provider="mistral"), event(3, "blocked")])
    assert store.get("req-2/forwarded") is not None
    assert store.get("nope") is None
    assert store.get_seq(4) is not None and store.get_seq(4).record_id == "req-3/blocked"  # type: ignore[union-attr]
    assert [r.kind for r in store.records_for_request("req-2")] == ["admitted", "forwarded"]

    def ids(**filters: Any) -> list[str]:
        return [r.record_id for r in store.query(AuditQuery(**filters))]

    assert ids(tenants=("registry-is",)) == ["req-2/admitted", "req-2/forwarded"]
    assert ids(tenants=("registry-is", "nobody")) == ["req-2/admitted", "req-2/forwarded"]
    assert ids(kinds=("blocked", "forwarded")) == ["req-2/forwarded", "req-3/blocked"]
    assert ids(since="2025-03-01T09:02:00.000000Z", until="2025-03-01T09:03:00.000000Z") == [
        "req-2/admitted", "req-2/forwarded"]
    assert ids(providers=("mistral",)) == ["req-2/forwarded"]
    assert ids(request_ids=("req-1",), entity_types=("person",)) == ["req-1/admitted"]
    assert ids(request_ids=("req-1", "req-3")) == ["req-1/admitted", "req-3/blocked"]
    assert ids(entity_types=("EMAIL_ADDRESS",)) == []
    assert store.tenants() == sorted({r.tenant for r in store.iter_records() if r.tenant})


def test_durable_across_reopen(backend: Backend, signer: Ed25519Signer) -> None:
    with backend.open(signer) as first:
        fill(first, 5)
    with backend.open(signer) as again:
        assert again.size() == 5
        assert again.append(event(6)).record.seq == 6
        assert backend.verify(again).ok


def test_concurrent_appends_from_two_stores_stay_contiguous(
    backend: Backend, signer: Ed25519Signer
) -> None:
    # two stores = two workers on the same log; several threads each (group commit)
    stores = [backend.open(signer, checkpoint_every=50) for _ in range(2)]
    try:
        def work(worker: int, thread: int) -> None:
            for i in range(15):
                stores[worker].append(event(1000 * worker + 100 * thread + i))

        threads = [threading.Thread(target=work, args=(w, t)) for w in range(2) for t in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stores[0].size() == 90
        assert [r.seq for r in stores[0].iter_records()] == list(range(1, 91))
        report = backend.verify(stores[0])
        assert report.ok, report.problem
        assert report.latest_checkpoint is not None and report.latest_checkpoint >= 50
        # each commit indexed its own records, whichever store made it
        assert stores[1].index_covers_log() and stores[1].check_index().ok
    finally:
        for opened in stores:
            opened.close()


def test_checkpoints_and_inclusion_proofs(store: GroupCommitLog, backend: Backend) -> None:
    fill(store, 7)
    checkpoint = store.issue_checkpoint()
    assert store.issue_checkpoint() == checkpoint  # unchanged log: same checkpoint
    assert checkpoint.checkpoint.size == 7 and checkpoint.checkpoint.origin == store.origin
    tree = merkle.MerkleTree(store.leaf_hashes(7))
    record = store.get("req-3/admitted")
    assert record is not None
    merkle.verify_inclusion(record.seq - 1, 7, bytes.fromhex(record.leaf_hash),
                            tree.inclusion_proof(record.seq - 1, 7), checkpoint.root_hash)
    store.append(event(8))
    assert [c.size for c in store.checkpoints()] == [7]
    assert store.issue_checkpoint().size == 8
    report = backend.verify(store)
    assert (report.ok, report.checkpoints_checked, report.uncovered) == (True, 2, 0)


def test_key_rotation_and_a_stale_signer_fails_closed(
    backend: Backend, signer: Ed25519Signer, tmp_path: Path
) -> None:
    with backend.open(signer) as store, backend.open(signer) as stale:
        store.append_many([event(n, at=datetime.now(UTC)) for n in (1, 2)])
        new = generate_key_file(tmp_path / "keys" / "next.pem")
        rotation = store.rotate_key(new)
        assert rotation.kind == "key_rotated" and rotation.key_id == signer.key_id
        after = store.append(event(3, at=datetime.now(UTC))).record
        assert after.key_id == new.key_id
        with pytest.raises(AuditStoreError, match="not the log's active worker key"):
            stale.append(event(4, at=datetime.now(UTC)))
        assert backend.verify(store).ok


@pytest.mark.parametrize("tamper, bad_seq", [
    ("UPDATE audit_records SET canonical = ? WHERE seq = 3", 3),
    ("DELETE FROM audit_records WHERE seq = 3", 4),  # the record after the gap
    ("UPDATE audit_records SET signature = ? WHERE seq = 2", 2),
])
def test_tampering_is_detected_at_the_right_record(
    store: GroupCommitLog, backend: Backend, tamper: str, bad_seq: int
) -> None:
    fill(store, 5)
    store.issue_checkpoint()
    target = store.get_seq(bad_seq)
    assert target is not None
    if "canonical" in tamper:
        backend.sql(tamper, target.canonical.replace(b'"forward"', b'"fOrward"'))
    elif "signature" in tamper:
        backend.sql(tamper, bytes([target.signature[0] ^ 1]) + target.signature[1:])
    else:
        backend.sql(tamper)
    report = backend.verify(store)
    assert not report.ok
    assert report.first_bad_seq == bad_seq, report.problem


def test_a_swapped_pair_of_records_is_detected(store: GroupCommitLog, backend: Backend) -> None:
    fill(store, 4)
    backend.sql("UPDATE audit_records SET seq = -1 WHERE seq = 2")
    backend.sql("UPDATE audit_records SET seq = 2 WHERE seq = 3")
    backend.sql("UPDATE audit_records SET seq = 3 WHERE seq = -1")
    report = backend.verify(store)
    assert not report.ok and report.first_bad_seq == 2, report.problem


def test_reader_cannot_write(store: GroupCommitLog, backend: Backend) -> None:
    fill(store, 1)
    with backend.reader() as reader:
        assert reader.size() == 1
        with pytest.raises((sqlite3.Error, psycopg.Error, AuditStoreError)):
            reader._execute("DELETE FROM audit_records")
    assert store.size() == 1


def test_a_held_write_lock_fails_closed_then_appends_resume(
    backend: Backend, signer: Ed25519Signer
) -> None:
    with backend.open(signer, busy_timeout_s=0.3) as store:
        fill(store, 1)
        lock: AbstractContextManager[None] = backend.write_lock_held()
        with lock, pytest.raises(AUDIT_UNAVAILABLE):
            store.append(event(2))  # the worker holds the message and retries on this error
        assert store.size() == 1
        assert store.append(event(2)).record.seq == 2
        assert backend.verify(store).ok


def test_witness_cosigns_and_refuses_a_fork(
    store: GroupCommitLog, backend: Backend, tmp_path: Path,
) -> None:
    from streams.adapters.witness import cosign_latest, init_witness, load_witness_keys
    from streams.core.cosignature import WitnessRefusal, cosigners

    witness = init_witness(tmp_path / "witness", "dpo.example.org/contract")
    fill(store, 5)
    store.issue_checkpoint()
    assert cosign_latest(store, store.keyring, witness).checkpoint.size == 5
    store.append(event(6))
    store.issue_checkpoint()
    assert cosign_latest(store, store.keyring, witness).previous_size == 5
    with backend.reader() as reader:
        note = reader.checkpoints()[-1].note
    assert cosigners(note, load_witness_keys([tmp_path / "witness" / "witness.vkey"])) == {
        witness.public_key}
    assert backend.verify(store).ok  # the log's own check ignores the witness line
    backend.sql("DELETE FROM audit_records WHERE seq = 6")  # rewrite record 6, re-checkpoint
    backend.sql("DELETE FROM audit_checkpoints WHERE size = 6")
    store.close()
    reopened = backend.open(store.signer, checkpoint_every=0, checkpoint_interval_s=0)
    try:
        reopened.append(event(7))
        reopened.issue_checkpoint()
        with pytest.raises(WitnessRefusal, match="fork: the log's checkpoint at size 6"):
            cosign_latest(reopened, reopened.keyring, witness)
    finally:
        reopened.close()


# --------------------------------------------------------------------------- search index


def varied_events(first: int, last: int) -> list[AuditEvent]:
    """Requests of three tenants over about 25 days: answered, blocked, rejected, failed."""
    made: list[AuditEvent] = []
    for n in range(first, last + 1):
        tenant = ("lyon", "gap", "lille")[n % 3]
        at = T0 + timedelta(hours=5 * n, minutes=n)
        policy = {"name": "p", "version": "1", "sha256": ("aa" if n < 60 else "bb") * 32}
        rid = f"req-{n}"
        if n % 10 == 0:
            made.append(AuditEvent(f"{rid}/rejected", "rejected", rid,
                                   None if n % 20 == 0 else tenant, at,
                                   {"reasons": [{"code": "invalid-json", "message": "m"}],
                                    "policy": policy}))
            continue
        entities = {"PERSON": n % 2, "EMAIL_ADDRESS": int(n % 3 == 0), "FR_NIR": int(n % 7 == 1)}
        if n == 5:
            entities["person"] = 1  # spelt another way: counts once
        provider, jurisdiction = ("mistral", "FR") if n % 2 else ("openai-us", "US")
        if n % 10 in (1, 2):
            made.append(AuditEvent(f"{rid}/blocked", "blocked", rid, tenant, at, {
                "decision": "block", "entities": entities, "policy": policy,
                "classification": "sensitive", "purpose": "case-summary",
                "reasons": [{"code": "no-allowed-provider", "message": "m"}]}))
            continue
        made.append(AuditEvent(f"{rid}/admitted", "admitted", rid, tenant, at, {
            "decision": "forward", "entities": entities, "policy": policy,
            "classification": ("internal", "public")[n % 2], "purpose": "translation",
            "provider": provider, "provider_jurisdiction": jurisdiction,
            "reasons": [{"code": "routed", "message": "m"}]}))
        made.append(AuditEvent(f"{rid}/forwarded/{provider}", "forwarded", rid, tenant,
                               at + timedelta(seconds=1),
                               {"provider": provider, "jurisdiction": jurisdiction,
                                "policy": policy}))
        if n % 7 == 0:
            made.append(AuditEvent(f"{rid}/failed", "failed", rid, tenant,
                                   at + timedelta(seconds=2), {
                                       "provider": provider, "policy": policy,
                                       "reasons": [{"code": "provider-timeout", "message": "m"}]}))
        elif n % 13 != 0:  # a few stay in flight
            made.append(AuditEvent(f"{rid}/answered", "answered", rid, tenant,
                                   at + timedelta(seconds=2),
                                   {"provider": provider, "policy": policy}))
    return made


def varied_log(store: GroupCommitLog) -> None:
    store.append_many(varied_events(1, 60))
    store.append(AuditEvent("policy/x", "policy_changed", None, None,
                            T0 + timedelta(hours=301), {"event": "applied", "policy": {
                                "name": "p", "version": "2", "sha256": "bb" * 32}}))
    for start in range(61, 121, 20):  # several commits
        store.append_many(varied_events(start, start + 19))


def at(days: float, hours: float = 0) -> str:
    moment = T0.replace(hour=0) + timedelta(days=days, hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


SEARCHES = {
    "everything": AuditQuery(),
    "one tenant": AuditQuery(tenants=("lyon",)),
    "tenants and decision in another case": AuditQuery(tenants=("lyon", "gap"),
                                                       decisions=("BLOCK",)),
    "entity type": AuditQuery(entity_types=("person",)),
    "two entity types": AuditQuery(entity_types=("PERSON", "FR_NIR")),
    "provider": AuditQuery(providers=("openai-us",)),
    "jurisdiction": AuditQuery(jurisdictions=("fr",)),
    "reason": AuditQuery(reason_codes=("no-allowed-provider",)),
    "policy prefix": AuditQuery(policy_hashes=("bb",)),
    "whole policy hash": AuditQuery(policy_hashes=("aa" * 32,)),
    "two policy prefixes": AuditQuery(policy_hashes=("a", "bbbb"), tenants=("gap",)),
    "a policy prefix no record has": AuditQuery(policy_hashes=("cc",)),
    "request id": AuditQuery(request_ids=("req-7", "req-8")),
    "kinds": AuditQuery(kinds=("answered", "failed")),
    "classification and purpose": AuditQuery(classifications=("Public",),
                                             purposes=("translation",)),
    "time range, parts of days": AuditQuery(since=at(3, 7.5), until=at(12, 2)),
    "time range, whole days": AuditQuery(since=at(4), until=at(9)),
    "within one day": AuditQuery(since=at(6, 1), until=at(6, 20)),
    "since only": AuditQuery(since=at(20, 13)),
    "tenant, time, entity type, provider": AuditQuery(
        tenants=("gap",), since=at(2, 3), entity_types=("PERSON",), providers=("mistral",)),
    "tenant and kind over whole days": AuditQuery(tenants=("lille",), kinds=("blocked",),
                                                  until=at(15)),
    "nothing matches": AuditQuery(tenants=("nobody",)),
}


def all_pages(store: GroupCommitLog, filters: AuditQuery, limit: int) -> tuple[list[int], int]:
    seqs: list[int] = []
    before: int | None = None
    totals = set()
    while True:
        page = search(store, filters, before_seq=before, limit=limit)
        seqs += [row.seq for row in page.rows]
        totals.add(page.total)
        if page.next_before_seq is None:
            assert len(totals) == 1
            return seqs, totals.pop()
        before = page.next_before_seq


@pytest.mark.parametrize("name", list(SEARCHES))
def test_indexed_search_and_overview_equal_reading_every_record(
        store: GroupCommitLog, name: str) -> None:
    varied_log(store)
    assert store.index_covers_log()
    filters = SEARCHES[name]
    expected = list(store.scan(filters))  # every record read, no index
    assert [r.seq for r in store.query(filters)] == [r.seq for r in expected]
    seqs, total = all_pages(store, filters, limit=7)
    assert seqs == [r.seq for r in reversed(expected)]
    assert total == len(expected)
    assert overview(store, filters) == tally(contribution(r.payload) for r in expected)
    if name == "everything":
        assert len(expected) > 250 and overview(store, filters).total_requests > 100


def test_a_page_stays_put_while_records_are_appended(store: GroupCommitLog) -> None:
    varied_log(store)
    filters = AuditQuery(tenants=("lyon",))
    first = search(store, filters, limit=5)
    assert first.next_before_seq is not None
    expected = [r.seq for r in reversed(list(store.scan(filters)))]
    store.append_many(varied_events(121, 140))  # newer records, some of lyon
    second = search(store, filters, before_seq=first.next_before_seq, limit=5)
    assert [r.seq for r in first.rows + second.rows] == expected[:10]
    assert second.total == len(list(store.scan(filters))) > len(expected)
    again = search(store, filters, limit=5)
    assert again.rows[0].seq > first.rows[0].seq  # the newest first


def test_the_index_is_not_evidence_a_changed_index_is_found_and_rebuilt(
        store: GroupCommitLog, backend: Backend) -> None:
    varied_log(store)
    lyon = AuditQuery(tenants=("lyon",))
    target = next(iter(store.scan(lyon)))
    backend.sql("UPDATE audit_index SET tenant = 'gap' WHERE seq = ?", target.seq)
    # the search shows the record as it is signed; query() checks the signed payload
    page = search(store, AuditQuery(tenants=("gap",)), limit=1000)
    assert [row.tenant for row in page.rows if row.seq == target.seq] == ["lyon"]
    assert target.seq not in [r.seq for r in store.query(AuditQuery(tenants=("gap",)))]
    assert target.seq not in [r.seq for r in store.query(lyon)]  # hidden: the index chooses
    assert backend.verify(store).ok  # the records, the evidence, are intact
    found = store.check_index()
    assert found.problem == f"the index row of record {target.seq} does not match the record"
    store.rebuild_index()
    assert store.check_index().ok
    assert [r.seq for r in store.query(lyon)] == [r.seq for r in store.scan(lyon)]

    backend.sql("UPDATE audit_daily_counts SET records = records + 5 WHERE field = '' AND "
                "kind = 'answered' AND tenant = 'lyon'")
    assert "daily count" in str(store.check_index().problem)
    backend.sql("DELETE FROM audit_index_values WHERE seq = ?", target.seq)
    assert store.check_index().problem is not None


def test_an_older_log_is_indexed_when_a_writer_opens_it(
        backend: Backend, signer: Ed25519Signer) -> None:
    options: dict[str, Any] = {"checkpoint_every": 0, "checkpoint_interval_s": 0}
    with backend.open(signer, **options) as store:
        varied_log(store)
        expected = {name: list(store.scan(f)) for name, f in SEARCHES.items()}
    for table in ("audit_index", "audit_index_values", "audit_daily_counts"):
        backend.sql(f"DELETE FROM {table}")  # as a log of layout 2 opens: empty tables
    with backend.reader() as reader:
        assert not reader.index_covers_log()
        assert reader.indexed_page(AuditQuery(), None, 5) is None
        # read without the index: slower, the same answer
        assert search(reader, AuditQuery(tenants=("lyon",)), limit=1000).total == len(
            expected["one tenant"])
    seen: list[tuple[int, int]] = []
    with backend.open(signer, index_progress=lambda done, size: seen.append((done, size)),
                      **options) as store:
        assert seen and seen[-1][0] == seen[-1][1] == store.size()
        assert store.index_covers_log() and store.check_index().ok
        for name, filters in SEARCHES.items():
            assert [r.seq for r in store.query(filters)] == [r.seq for r in expected[name]]
            assert overview(store, filters) == tally(
                contribution(r.payload) for r in expected[name])


def test_records_appended_without_the_index_are_indexed_later(
        backend: Backend, signer: Ed25519Signer) -> None:
    options: dict[str, Any] = {"checkpoint_every": 0, "checkpoint_interval_s": 0}
    with backend.open(signer, **options) as store:
        varied_log(store)
        last = store.size()
        # as if a process of an older version had appended the last record: no index rows
        backend.sql("DELETE FROM audit_index WHERE seq = ?", last)
        backend.sql("DELETE FROM audit_index_values WHERE seq = ?", last)
        assert not store.index_covers_log()
        store.append_many(varied_events(121, 125))  # after a gap: left to the catch-up
        assert not store.index_covers_log()
        assert search(store, AuditQuery()).total == store.size()  # read without the index
        backend.sql("DELETE FROM audit_daily_counts")  # rebuilt below from the records
    with backend.open(signer, **options) as store:
        assert store.index_covers_log()
        store.rebuild_index()
        assert store.check_index().ok
        assert search(store, AuditQuery()).total == store.size()


def test_a_log_with_a_deleted_record_still_opens_and_is_searched_without_the_index(
        backend: Backend, signer: Ed25519Signer) -> None:
    options: dict[str, Any] = {"checkpoint_every": 0, "checkpoint_interval_s": 0}
    with backend.open(signer, **options) as store:
        fill(store, 10)
    backend.sql("DELETE FROM audit_records WHERE seq = 4")
    for table in ("audit_index", "audit_index_values", "audit_daily_counts"):
        backend.sql(f"DELETE FROM {table}")
    with backend.open(signer, **options) as store:  # the catch-up stops at the gap
        assert not store.index_covers_log()
        assert search(store, AuditQuery()).total == 9
        assert not backend.verify(store).ok
