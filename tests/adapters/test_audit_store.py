"""The SQLite audit store and the Ed25519 signer, on real files in tmp_path."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log, open_sqlite_reader
from streams.adapters.audit.verify import find_verified, load_audit_schema, verify_store
from streams.adapters.signer import Ed25519Signer, load_or_create_signer, load_public_key
from streams.core.audit import GENESIS_HASH, AuditEvent, leaf_hash, signing_input

SCHEMA = load_audit_schema()
SENTINEL = "Anna Kovalenko 3012345678"  # stands for personal data that must never be echoed
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def event(name: str, n: int = 0, kind: str = "admitted") -> AuditEvent:
    return AuditEvent(
        record_id=f"{name}/{kind}",
        kind=kind,
        request_id=name,
        tenant="registry-ua",
        occurred_at=T0 + timedelta(milliseconds=n),
        details={"entities": {"PERSON": 1, "UA_RNOKPP": 1}, "note": SENTINEL},
    )


class Paths:
    def __init__(self, root: Path) -> None:
        self.db = root / "audit" / "audit.sqlite3"
        self.key = root / "keys" / "audit-signing.pem"
        self.pub = root / "audit" / "audit.pub.pem"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path)


@pytest.fixture
def store(paths: Paths) -> Iterator[GroupCommitLog]:
    s = open_sqlite_log(paths.db, load_or_create_signer(paths.key, paths.pub))
    yield s
    s.close()


def fill(paths: Paths, n: int = 8) -> None:
    with open_sqlite_log(paths.db, load_or_create_signer(paths.key, paths.pub)) as s:
        for i in range(1, n + 1):
            s.append(event(f"req-{i}", i))


def verify(paths: Paths, *extra_keys: Path) -> Any:
    return verify_store(paths.db, [paths.pub, *extra_keys], SCHEMA)


# --- appending ---------------------------------------------------------------------------


def test_append_is_idempotent_by_record_id(store: GroupCommitLog) -> None:
    first = store.append(event("req-1"))
    again = store.append(event("req-1", n=999))  # a retry after a crash: later clock, same id
    assert first.created and not again.created
    assert again.record == first.record
    assert [r.seq for r in store.iter_records()] == [1]


def test_a_reused_record_id_returns_the_first_record_unchanged(store: GroupCommitLog) -> None:
    first = store.append(AuditEvent("req-1/x", "admitted", "req-1", "t", T0, {}))
    again = store.append(AuditEvent("req-1/x", "blocked", "req-1", "u", T0, {"note": 1}))
    assert not again.created and again.record == first.record
    assert len(list(store.iter_records())) == 1


def test_records_chain_and_carry_a_dsse_envelope(store: GroupCommitLog, paths: Paths) -> None:
    one = store.append(event("req-1", 1)).record
    two = store.append(event("req-2", 2)).record
    assert (one.seq, two.seq) == (1, 2)
    assert one.payload["prev_hash"] == GENESIS_HASH
    assert two.payload["prev_hash"] == one.leaf_hash == leaf_hash(one.canonical).hex()
    envelope = two.envelope
    assert envelope["payloadType"] == "application/vnd.douane.audit+json"
    assert base64.b64decode(envelope["payload"]) == two.canonical
    key_id, check = load_public_key(paths.pub)
    assert envelope["signatures"][0]["keyid"] == key_id == two.key_id
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    assert check(signing_input(two.canonical), sig)
    assert not check(two.canonical, sig)  # the signature covers the DSSE PAE, not bare bytes


def test_lookups(store: GroupCommitLog) -> None:
    store.append(event("req-1", 1))
    store.append(event("req-1", 2, kind="answered"))
    store.append(event("req-2", 3))
    assert [r.kind for r in store.records_for_request("req-1")] == ["admitted", "answered"]
    assert store.get("req-2/admitted") is not None
    assert store.get("req-9/admitted") is None
    assert store.records_for_request("req-9") == []


def test_durable_across_reopen(paths: Paths) -> None:
    fill(paths, 3)
    with open_sqlite_log(paths.db, load_or_create_signer(paths.key, paths.pub)) as reopened:
        assert [r.record_id for r in reopened.iter_records()] == [
            "req-1/admitted",
            "req-2/admitted",
            "req-3/admitted",
        ]
        assert not reopened.append(event("req-2")).created
        fourth = reopened.append(event("req-4")).record
    assert fourth.seq == 4
    report = verify(paths)
    assert (report.ok, report.records_checked, report.head_seq) == (True, 4, 4)
    assert report.head_leaf_hash == fourth.leaf_hash


def test_wal_and_full_sync(store: GroupCommitLog, paths: Paths) -> None:
    with sqlite3.connect(paths.db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._backend.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_readonly_reader_sees_new_records_and_cannot_write(store: GroupCommitLog) -> None:
    store.append(event("req-1"))
    reader = open_sqlite_reader(store_path(store))
    store.append(event("req-2"))
    assert [r.seq for r in reader.iter_records()] == [1, 2]
    with pytest.raises(sqlite3.OperationalError):
        reader._db.conn.execute("DELETE FROM audit_records")
    reader.close()


def store_path(store: GroupCommitLog) -> Path:
    return Path(store._backend.conn.execute("PRAGMA database_list").fetchone()[2])


def test_iteration_crosses_batches(paths: Paths) -> None:
    fill(paths, 1203)  # more than two read batches
    report = verify(paths)
    assert (report.ok, report.records_checked) == (True, 1203)


# --- find_verified -----------------------------------------------------------------------


def test_find_verified(paths: Paths, tmp_path: Path) -> None:
    fill(paths, 3)
    found = find_verified(paths.db, paths.pub, "req-2/admitted")
    assert found is not None and found.seq == 2
    assert find_verified(paths.db, paths.pub, "req-9/admitted") is None
    assert find_verified(tmp_path / "missing.sqlite3", paths.pub, "req-2/admitted") is None
    other_pub = tmp_path / "other.pub.pem"
    load_or_create_signer(tmp_path / "other" / "key.pem", other_pub)
    assert find_verified(paths.db, other_pub, "req-2/admitted") is None
    with sqlite3.connect(paths.db) as conn:
        conn.execute("UPDATE audit_records SET signature = zeroblob(64) WHERE seq = 2")
    assert find_verified(paths.db, paths.pub, "req-2/admitted") is None
    assert find_verified(paths.db, paths.pub, "req-3/admitted") is not None


# --- tampering: every case must fail verification and name the record --------------------


def sql(paths: Paths, statement: str, *params: object) -> None:
    with sqlite3.connect(paths.db) as conn:
        conn.execute(statement, params)


def row(paths: Paths, seq: int) -> tuple[bytes, bytes]:
    with sqlite3.connect(paths.db) as conn:
        found = conn.execute(
            "SELECT canonical, signature FROM audit_records WHERE seq = ?", (seq,)
        ).fetchone()
    return bytes(found[0]), bytes(found[1])


def flip_payload_byte(paths: Paths) -> None:
    canonical, _ = row(paths, 4)
    i = canonical.index(b"registry-ua") + 3
    sql(
        paths,
        "UPDATE audit_records SET canonical = ? WHERE seq = 4",
        canonical[:i] + b"X" + canonical[i + 1 :],
    )


def change_signature(paths: Paths) -> None:
    _, signature = row(paths, 6)
    sql(
        paths,
        "UPDATE audit_records SET signature = ? WHERE seq = 6",
        bytes([signature[0] ^ 1]) + signature[1:],
    )


def delete_middle(paths: Paths) -> None:
    sql(paths, "DELETE FROM audit_records WHERE seq = 5")


def swap_seq(paths: Paths) -> None:
    with sqlite3.connect(paths.db) as conn:
        conn.execute("UPDATE audit_records SET seq = -1 WHERE seq = 3")
        conn.execute("UPDATE audit_records SET seq = 3 WHERE seq = 4")
        conn.execute("UPDATE audit_records SET seq = 4 WHERE seq = -1")


def other_key(paths: Paths, *, relabel: bool) -> None:
    intruder = Ed25519Signer.generate()
    intruder_pub = paths.db.parent / "intruder.pub.pem"
    intruder_pub.write_bytes(intruder.public_key_pem())
    canonical, _ = row(paths, 5)
    sql(
        paths,
        "UPDATE audit_records SET signature = ?, key_id = ? WHERE seq = 5",
        intruder.sign(signing_input(canonical)),
        intruder.key_id if relabel else load_public_key(paths.pub)[0],
    )


def non_canonical(paths: Paths) -> None:
    # A buggy writer holding the real key stores pretty-printed JSON: signature valid, bytes not.
    signer = load_or_create_signer(paths.key, paths.pub)
    canonical, _ = row(paths, 3)
    body = json.dumps(json.loads(canonical), indent=2).encode()
    sql(
        paths,
        "UPDATE audit_records SET canonical = ?, signature = ? WHERE seq = 3",
        body,
        signer.sign(signing_input(body)),
    )


def edit_index_column(paths: Paths) -> None:
    sql(paths, "UPDATE audit_records SET request_id = 'req-99' WHERE seq = 7")


TAMPERING: list[tuple[str, Callable[[Paths], None], bool, int, str, str]] = [
    (
        "byte flipped in a payload",
        flip_payload_byte,
        False,
        4,
        "req-4/admitted",
        "record 4 (req-4/admitted): signature does not verify with key ",
    ),
    (
        "signature changed",
        change_signature,
        False,
        6,
        "req-6/admitted",
        "record 6 (req-6/admitted): signature does not verify with key ",
    ),
    (
        "middle record deleted",
        delete_middle,
        False,
        6,
        "req-6/admitted",
        "gap: record 6 (req-6/admitted) follows record 4",
    ),
    (
        "two records swap seq",
        swap_seq,
        False,
        3,
        "req-4/admitted",
        "record 3 (req-4/admitted): stored as seq 3 but its signed payload says seq 4",
    ),
    (
        "signed by an unknown key",
        lambda p: other_key(p, relabel=True),
        False,
        5,
        "req-5/admitted",
        "record 5 (req-5/admitted): unknown key id ",
    ),
    (
        "signed by another key, our key id kept",
        lambda p: other_key(p, relabel=False),
        False,
        5,
        "req-5/admitted",
        "record 5 (req-5/admitted): signature does not verify with key ",
    ),
    (
        "signed by another trusted key",
        lambda p: other_key(p, relabel=True),
        True,
        5,
        "req-5/admitted",
        "record 5 (req-5/admitted): stored key id differs from the signed key id",
    ),
    (
        "payload not canonical",
        non_canonical,
        False,
        3,
        "req-3/admitted",
        "record 3 (req-3/admitted): payload is not canonical JSON",
    ),
    (
        "indexed column edited",
        edit_index_column,
        False,
        7,
        "req-7/admitted",
        "record 7 (req-7/admitted): stored column request_id does not match the signed payload",
    ),
]


@pytest.mark.parametrize(
    ("tamper", "trust_intruder", "bad_seq", "bad_id", "problem"),
    [case[1:] for case in TAMPERING],
    ids=[case[0] for case in TAMPERING],
)
def test_tampering_fails_verification_at_the_right_record(
    paths: Paths,
    tamper: Callable[[Paths], None],
    trust_intruder: bool,
    bad_seq: int,
    bad_id: str,
    problem: str,
) -> None:
    fill(paths, 8)
    assert verify(paths).ok
    tamper(paths)
    extra = [paths.db.parent / "intruder.pub.pem"] if trust_intruder else []
    report = verify(paths, *extra)
    assert not report.ok
    assert (report.first_bad_seq, report.first_bad_record_id) == (bad_seq, bad_id)
    assert report.problem is not None and report.problem.startswith(problem), report.problem
    assert SENTINEL not in report.problem


def test_missing_database_does_not_verify(paths: Paths) -> None:
    load_or_create_signer(paths.key, paths.pub)
    report = verify(paths)
    assert not report.ok and report.problem == "no audit database found"


# --- several processes appending to one file ---------------------------------------------


def _append_worker(root: str, worker: int, count: int, shared: int, barrier: Any) -> int:
    paths = Paths(Path(root))
    signer = load_or_create_signer(paths.key, paths.pub)  # all four race to create the key
    with open_sqlite_log(paths.db, signer) as s:
        barrier.wait()
        created = 0
        for i in range(count):
            s.append(event(f"w{worker}-{i}", i))
            if i < shared:  # every worker also appends the same shared ids
                created += s.append(event(f"shared-{i}", i)).created
    return created


def test_concurrent_appends_from_four_processes(tmp_path: Path) -> None:
    workers, count, shared = 4, 100, 25
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, like separate services
    with ctx.Manager() as manager, ctx.Pool(workers) as pool:
        barrier = manager.Barrier(workers)
        created = pool.starmap(
            _append_worker, [(str(tmp_path), w, count, shared, barrier) for w in range(workers)]
        )
    assert sum(created) == shared  # each shared id was written exactly once
    paths = Paths(tmp_path)
    with sqlite3.connect(paths.db) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_records ORDER BY seq")]
    assert seqs == list(range(1, workers * count + shared + 1))
    report = verify(paths)
    assert report.ok, report.problem
    assert report.records_checked == workers * count + shared


# --- the signer --------------------------------------------------------------------------


def test_signer_key_files(paths: Paths) -> None:
    signer = load_or_create_signer(paths.key, paths.pub)
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.key.parent.stat().st_mode) == 0o700
    assert paths.key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    raw = signer.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    paths.pub.unlink()
    again = load_or_create_signer(paths.key, paths.pub)  # same key, public key rewritten
    assert again.key_id == signer.key_id
    assert paths.pub.read_bytes() == signer.public_key_pem()
    key_id, check = load_public_key(paths.pub)
    assert key_id == signer.key_id
    assert check(b"m", signer.sign(b"m")) and not check(b"n", signer.sign(b"m"))


def test_load_public_key_rejects_other_key_types(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "ec.pem").write_bytes(pem)
    with pytest.raises(ValueError, match="Ed25519"):
        load_public_key(tmp_path / "ec.pem")


# --- evidence of a walk-around (issue 12, item 1) ------------------------------------------


def forwarding(name: str, kind: str, n: int, **details: Any) -> AuditEvent:
    return AuditEvent(record_id=f"{name}/{kind}/{n}", kind=kind, request_id=name,
                      tenant="registry-ua", occurred_at=T0 + timedelta(milliseconds=n),
                      details=details)


def test_forwarding_after_an_admission_that_allowed_it_verifies(
        store: GroupCommitLog, paths: Paths) -> None:
    store.append(forwarding("r", "admitted", 1, decision="forward", provider="home",
                            fallbacks=["mistral"]))
    store.append(forwarding("r", "forwarded", 2, provider="home"))
    store.append(forwarding("r", "forwarded", 3, provider="mistral"))  # the fallback
    assert verify(paths).ok


@pytest.mark.parametrize(("admission", "problem"), [
    (None, "without an earlier 'admitted' record"),
    ({"decision": "block", "provider": None, "fallbacks": []}, "without an earlier"),
    ({"decision": "forward", "provider": "home", "fallbacks": []}, "did not allow"),
])
def test_forwarding_without_an_admission_that_allowed_it_fails_verification(
        store: GroupCommitLog, paths: Paths, admission: dict[str, Any] | None,
        problem: str) -> None:
    if admission is not None:
        store.append(forwarding("r", "admitted", 1, **admission))
    store.append(forwarding("r", "forwarded", 2, provider="us-cloud"))
    report = verify(paths)
    assert not report.ok
    assert report.problem is not None and problem in report.problem
