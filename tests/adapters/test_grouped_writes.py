"""Writes of many threads share one SQLite transaction and one durable commit (the vault's and
the key store's, ``GroupedWrites``), on real SQLite files: a write that fails fails alone.

Each test holds a first write inside its transaction until the other threads are queued
behind it (``waiting()``), so what goes into which commit never depends on timing."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.adapters.grouped_writes import GroupedWrites
from streams.adapters.personal_vault import NewValue, PersonalVault
from streams.adapters.sqlite_files import open_wal_database
from streams.core.key_periods import period_for

WRITERS = 8
HOUR = 3_600
WAIT_S = 30.0  # only ever reached when the code under test is broken


class Commits:
    """The commits SQLite made to a database file, read from its write-ahead log: the last
    frame of each commit records the database's size (other frames hold 0). Not counted with
    a trace callback: one on a connection shared by threads can deadlock."""

    def __init__(self, path: Path) -> None:
        self.wal = path.with_name(path.name + "-wal")
        self.before = self._in_wal()

    @property
    def count(self) -> int:
        return self._in_wal() - self.before

    def _in_wal(self) -> int:
        data = self.wal.read_bytes() if self.wal.exists() else b""
        if len(data) < 32:
            return 0
        page_size = int.from_bytes(data[8:12], "big")
        salts = data[16:24]
        commits, offset = 0, 32
        while offset + 24 + page_size <= len(data):
            header = data[offset:offset + 24]
            if header[8:16] != salts:  # a frame of before the log was last restarted
                break
            commits += int.from_bytes(header[4:8], "big") != 0
            offset += 24 + page_size
        return commits


class Gate:
    """A first write (of nothing), held inside its transaction until ``open()``."""

    def __init__(self, writes: GroupedWrites) -> None:
        self.inside, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=writes.run, args=(self._held,))
        self.thread.start()
        assert self.inside.wait(WAIT_S)

    def _held(self, db: sqlite3.Connection) -> None:
        self.inside.set()
        assert self.release.wait(WAIT_S)

    def open(self) -> None:
        self.release.set()
        self.thread.join(WAIT_S)


def queued_behind(gate_writes: GroupedWrites, calls: list[Callable[[], Any]],
                  ) -> list[Any]:
    """Run each call in its own thread while a gate holds ``gate_writes``; once all of them
    wait for it, open the gate. Returns each call's result or exception."""
    gate = Gate(gate_writes)
    results: list[Any] = [None] * len(calls)

    def call(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    waited, polls = threading.Event(), 0
    while gate_writes.waiting() < len(calls):  # each thread queues once, then waits
        polls += 1
        assert polls < WAIT_S / 0.005, f"{gate_writes.waiting()} of {len(calls)} queued"
        waited.wait(0.005)
    gate.open()
    for thread in threads:
        thread.join(WAIT_S)
    return results


@pytest.fixture
def table(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, GroupedWrites]]:
    db = open_wal_database(tmp_path / "t.sqlite3", 30.0)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)")
    db.execute("INSERT INTO t VALUES (0, 'there before')")
    yield db, GroupedWrites(db, threading.Lock())
    db.close()


def rows_on_disk(path: Path) -> set[int]:
    """What another connection (another process) reads: only what was committed."""
    other = sqlite3.connect(path)
    try:
        return {int(r[0]) for r in other.execute("SELECT id FROM t")}
    finally:
        other.close()


def insert(writes: GroupedWrites, row: int) -> Callable[[], int]:
    def write(db: sqlite3.Connection) -> int:
        db.execute("INSERT INTO t VALUES (?, 'x')", (row,))
        return row
    return lambda: writes.run(write)


def test_writes_of_many_threads_at_once_share_one_commit(
        tmp_path: Path, table: tuple[sqlite3.Connection, GroupedWrites]) -> None:
    _db, writes = table
    commits = Commits(tmp_path / "t.sqlite3")
    results = queued_behind(writes, [insert(writes, n) for n in range(1, WRITERS + 1)])
    assert results == list(range(1, WRITERS + 1))  # each caller gets its own result
    assert commits.count == 1  # one for the eight queued behind the gate (which wrote nothing)
    assert writes.commits == 2  # transactions: the gate's and theirs
    assert rows_on_disk(tmp_path / "t.sqlite3") == set(range(WRITERS + 1))


def test_a_failing_write_fails_alone_and_the_others_are_committed(
        tmp_path: Path, table: tuple[sqlite3.Connection, GroupedWrites]) -> None:
    _db, writes = table
    commits = Commits(tmp_path / "t.sqlite3")
    calls = [insert(writes, n) for n in range(1, WRITERS + 1)]
    calls[3] = insert(writes, 0)  # row 0 exists: a constraint error, this write's own
    results = queued_behind(writes, calls)

    assert isinstance(results[3], sqlite3.IntegrityError)
    assert [r for i, r in enumerate(results) if i != 3] == [1, 2, 3, 5, 6, 7, 8]
    assert commits.count == 1  # they were one group, and it was committed
    assert rows_on_disk(tmp_path / "t.sqlite3") == {0, 1, 2, 3, 5, 6, 7, 8}


def test_a_write_that_fails_half_way_leaves_nothing_of_itself(
        tmp_path: Path, table: tuple[sqlite3.Connection, GroupedWrites]) -> None:
    _db, writes = table

    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES (50, 'first half')")
        raise ValueError("the second half cannot be written")

    def failing() -> None:
        writes.run(half_then_fail)

    results = queued_behind(writes, [insert(writes, 1), failing, insert(writes, 2)])
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], ValueError)
    assert rows_on_disk(tmp_path / "t.sqlite3") == {0, 1, 2}  # not 50


def test_a_transaction_that_cannot_commit_fails_each_of_its_writes_and_the_next_one_works(
        tmp_path: Path, table: tuple[sqlite3.Connection, GroupedWrites]) -> None:
    _db, writes = table

    def ends_the_transaction(db: sqlite3.Connection) -> None:
        db.execute("ROLLBACK")  # the group's transaction is gone: its commit fails

    def breaking() -> None:
        writes.run(ends_the_transaction)

    results = queued_behind(writes, [insert(writes, 1), breaking, insert(writes, 2)])
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert rows_on_disk(tmp_path / "t.sqlite3") == {0}
    assert insert(writes, 3)() == 3
    assert rows_on_disk(tmp_path / "t.sqlite3") == {0, 3}


def test_one_thread_alone_commits_at_once(
        tmp_path: Path, table: tuple[sqlite3.Connection, GroupedWrites]) -> None:
    """With nothing under way, a write leads its own group: it never waits for company."""
    _db, writes = table
    assert insert(writes, 1)() == 1
    assert writes.waiting() == 0
    assert rows_on_disk(tmp_path / "t.sqlite3") == {0, 1}


def test_the_vaults_writes_of_many_requests_share_one_commit(vault: PersonalVault) -> None:
    """Values and kept responses of eight requests at once: one commit, each readable."""
    commits = Commits(vault.path)

    def keep_value(n: int) -> Callable[[], Any]:
        return lambda: vault.put_many("city-of-lyon", [NewValue(f"Personne {n}", "PERSON")],
                                      retention_s=HOUR, request_id=f"req-{n}")[0]

    def keep_response(n: int) -> Callable[[], Any]:
        return lambda: vault.keep_response("city-of-lyon", f"req-{n}", b"answer %d" % n,
                                           values=[f"Personne {n}"], retention_s=HOUR)

    calls = [keep_value(n) if n % 2 else keep_response(n) for n in range(WRITERS)]
    results = queued_behind(vault._writes, calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert commits.count == 1
    for n in range(WRITERS):
        if n % 2:
            assert vault.read(results[n].entry_id) == f"Personne {n}"
        else:
            assert vault.kept_response("city-of-lyon", f"req-{n}") == b"answer %d" % n


def test_the_keys_of_many_requests_share_one_commit_and_existing_keys_need_none(
        vault: PersonalVault) -> None:
    keys = vault.keys
    commits = Commits(keys.path)
    period = period_for(keys.clock(), HOUR)
    # what data_keys does for the keys its read (under the connection's lock, so it waits for
    # a group in progress instead of queueing behind it) did not find
    calls = [(lambda n=n: keys._writes.run(functools.partial(
        keys._create_keys, tenant="city-of-lyon", subjects=[f"subject-{n}"], period=period)))
        for n in range(WRITERS)]
    created = [found[f"subject-{n}"] for n, found in enumerate(queued_behind(keys._writes,
                                                                             calls))]
    assert commits.count == 1
    assert len({k.key_id for k in created}) == WRITERS
    again = [keys.data_key("city-of-lyon", f"subject-{n}", HOUR) for n in range(WRITERS)]
    assert again == created  # read back, the same keys
    assert commits.count == 1  # and no write transaction for that
