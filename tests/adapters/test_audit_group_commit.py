"""Group commit with records signed ahead of their transaction (on a guessed chain head).

A batch is signed while the batch before it is still being written; its records are stored
only if the guess proves right inside the transaction. These tests make the guess go wrong
(another process appended, a commit failed, the key was rotated, a record id was stored by a
retry) and check the log stays contiguous, chained and verifiable, with nothing lost.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.audit.verify import load_audit_schema, verify_store
from streams.adapters.signer import Ed25519Signer, load_or_create_signer
from streams.core.audit import AuditEvent

SCHEMA = load_audit_schema()


def event(name: str) -> AuditEvent:
    return AuditEvent(record_id=f"{name}/admitted", kind="admitted", request_id=name,
                      tenant="t", occurred_at=datetime.now(UTC),
                      details={"entities": {"PERSON": 1}})


def open_store(tmp_path: Path) -> tuple[GroupCommitLog, Path]:
    signer = load_or_create_signer(tmp_path / "key.pem", tmp_path / "audit.pub.pem")
    return open_sqlite_log(tmp_path / "audit.sqlite3", signer), tmp_path / "audit.pub.pem"


def seqs(store: GroupCommitLog) -> list[int]:
    return [record.seq for record in store.iter_records()]


def test_two_processes_many_threads_keep_one_contiguous_verifiable_chain(
        tmp_path: Path) -> None:
    first, pub = open_store(tmp_path)
    second, _ = open_store(tmp_path)  # a second worker on the same file: guesses go wrong
    names: list[str] = []

    def work(store: GroupCommitLog, prefix: str) -> None:
        for i in range(40):
            result = store.append(event(f"{prefix}-{i}"))
            assert result.created and result.record.record_id == f"{prefix}-{i}/admitted"

    threads = [threading.Thread(target=work, args=(store, f"{n}-{t}"))
               for n, store in enumerate((first, second)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [record.record_id for record in first.iter_records()]
    assert seqs(first) == list(range(1, 16 * 40 + 1))
    assert len(set(names)) == 16 * 40
    first.close()
    second.close()
    report = verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA)
    assert report.ok, report.problem


def count_signatures(store: GroupCommitLog, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    signed: list[int] = []
    build = store._build

    def counted(*args: Any) -> Any:
        record = build(*args)
        signed.append(record.seq)
        return record

    monkeypatch.setattr(store, "_build", counted)
    return signed


def test_in_one_process_each_record_is_signed_once_ahead_of_its_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, pub = open_store(tmp_path)
    signed = count_signatures(store, monkeypatch)
    signed_ahead = store._sign_batch
    ahead: list[int] = []

    def counted(*args: Any) -> Any:
        batch = signed_ahead(*args)
        ahead.extend(row[0] for row in batch.rows)
        return batch

    monkeypatch.setattr(store, "_sign_batch", counted)
    for i in range(5):
        store.append(event(f"r{i}"))
    assert signed == [1, 2, 3, 4, 5]  # no record signed twice
    assert ahead == [2, 3, 4, 5]  # the first one waits for the real head, then all guess right
    store.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok


def test_a_record_appended_elsewhere_between_two_batches_is_chained_not_overwritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, pub = open_store(tmp_path)
    second, _ = open_store(tmp_path)
    first.append(event("a"))  # first now guesses the head is record 1
    second.append(event("b"))  # ... but record 2 is written by another process
    signed = count_signatures(first, monkeypatch)
    third = first.append(event("c"))  # signed on the wrong guess, then again on the real head
    assert signed == [2, 3]
    assert third.created and third.record.seq == 3
    assert third.record.payload["prev_hash"] == second.get("b/admitted").leaf_hash  # type: ignore[union-attr]
    first.close()
    second.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok


def test_a_failed_commit_loses_nothing_and_the_next_append_chains_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, pub = open_store(tmp_path)
    store.append(event("a"))
    real_insert = store._backend.insert_rows
    calls = {"n": 0}

    def failing_once(rows: list[tuple[object, ...]]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        real_insert(rows)

    monkeypatch.setattr(store._backend, "insert_rows", failing_once)
    with pytest.raises(OSError):
        store.append(event("b"))
    assert store.get("b/admitted") is None
    retried = store.append(event("b"))
    assert retried.created and retried.record.seq == 2
    assert store.append(event("c")).record.seq == 3
    store.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok


def test_a_retry_stored_meanwhile_is_returned_not_written_twice(tmp_path: Path) -> None:
    first, pub = open_store(tmp_path)
    second, _ = open_store(tmp_path)
    first.append(event("a"))
    stored = second.append(event("b"))  # the retry of "b" lands through the other process
    again = first.append(event("b"))
    assert not again.created and again.record == stored.record
    assert seqs(first) == [1, 2]
    first.close()
    second.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok


def test_after_a_key_rotation_batches_are_signed_with_the_new_key(tmp_path: Path) -> None:
    store, pub = open_store(tmp_path)
    store.append(event("a"))
    new = Ed25519Signer.generate()
    store.rotate_key(new)
    after = store.append(event("b"))
    assert after.record.key_id == new.key_id
    assert after.record.seq == 3  # 1: a, 2: the rotation record
    store.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok


def test_after_a_wrong_guess_batches_are_signed_inside_their_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, pub = open_store(tmp_path)
    second, _ = open_store(tmp_path)  # two worker processes taking turns
    first.append(event("a0"))
    signed = count_signatures(first, monkeypatch)
    for i in range(1, 5):
        second.append(event(f"b{i}"))
        first.append(event(f"a{i}"))
    # a1 was signed on a guess and again; a2..a4 once each, inside the transaction
    assert signed == [2, 3, 5, 7, 9]
    first.close()
    second.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok


def test_checkpoints_from_remembered_leaves_match_the_stored_log(tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path / "key.pem", tmp_path / "audit.pub.pem")
    first = open_sqlite_log(tmp_path / "audit.sqlite3", signer, checkpoint_every=4)
    second = open_sqlite_log(tmp_path / "audit.sqlite3", signer, checkpoint_every=0,
                              checkpoint_interval_s=0)
    for i in range(9):  # checkpoints at 4 and 8 from the leaves first remembers
        first.append(event(f"a{i}"))
    second.append(event("b"))  # a record first did not write: it reads the log for that one
    for i in range(9, 12):
        first.append(event(f"a{i}"))
    sizes = [checkpoint.size for checkpoint in first.checkpoints()]
    assert sizes == [4, 8, 12]
    first.close()
    second.close()
    report = verify_store(tmp_path / "audit.sqlite3", [tmp_path / "audit.pub.pem"], SCHEMA)
    assert report.ok, report.problem


class _Stop(BaseException):
    """Stands for KeyboardInterrupt or SystemExit while a batch is being signed."""


def test_an_interruption_while_signing_fails_that_batch_and_later_ones_still_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, pub = open_store(tmp_path)
    store.append(event("a"))  # from now on batches are signed ahead

    def interrupted(*args: Any) -> Any:
        raise _Stop

    monkeypatch.setattr(store, "_sign_batch", interrupted)
    with pytest.raises(_Stop):
        store.append(event("b"))
    monkeypatch.undo()
    outcome: list[int] = []
    later = threading.Thread(target=lambda: outcome.append(store.append(event("c")).record.seq),
                             daemon=True)
    later.start()
    later.join(timeout=10)
    assert outcome == [2], "the next batch waited for a turn that never came"
    store.close()
    assert verify_store(tmp_path / "audit.sqlite3", [pub], SCHEMA).ok
