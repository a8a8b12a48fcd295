"""Checkpoints, key windows, proofs and the evidence bundle; every tampering must be caught.

Each tamper case runs against both verifiers: ``douane audit verify`` (verify_store) and the
standalone offline verifier on an exported bundle, where the case applies to a bundle.
"""

from __future__ import annotations

import ast
import base64
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams import offline_verifier
from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.protocols import AuditStoreError
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.audit.verify import load_audit_schema, verify_store
from streams.adapters.signer import Ed25519Signer, load_or_create_signer
from streams.core import merkle
from streams.core.audit import AuditEvent, canonical_bytes, pae, signing_input
from streams.core.checkpoint import parse_checkpoint, split_note
from streams.services.evidence import build_bundle, inclusion_proof

SCHEMA = load_audit_schema()
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def event(i: int, when: datetime) -> AuditEvent:
    return AuditEvent(f"req-{i}/admitted", "admitted", f"req-{i}", "city-of-lyon", when,
                      {"decision": "forward", "entities": {"PERSON": 1}, "provider": "p1",
                       "policy": {"sha256": "ab" * 32}})


class Log:
    def __init__(self, root: Path) -> None:
        self.db = root / "audit.sqlite3"
        self.key = root / "keys" / "signing.pem"
        self.pub = root / "audit.pub.pem"
        self.keyring = root / "audit.keyring.json"
        self.clock = Clock()

    def open(self, **kw: Any) -> GroupCommitLog:
        return open_sqlite_log(self.db, load_or_create_signer(self.key, self.pub),
                                checkpoint_every=0, checkpoint_interval_s=0, clock=self.clock,
                                **kw)

    def fill(self, start: int, end: int, store: GroupCommitLog) -> None:
        for i in range(start, end):
            store.append(event(i, self.clock()))

    def verify(self, trusted: bytes | None = None) -> Any:
        return verify_store(self.db, [], SCHEMA, trusted_checkpoint=trusted)

    def sql(self, statement: str, *params: object) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute(statement, params)


@pytest.fixture
def log(tmp_path: Path) -> Log:
    """10 records, a checkpoint at 6 and one at 10."""
    log = Log(tmp_path)
    with log.open() as store:
        log.fill(1, 7, store)
        store.issue_checkpoint()
        log.fill(7, 11, store)
        store.issue_checkpoint()
    return log


def test_intact_log_verifies_with_its_checkpoints(log: Log) -> None:
    report = log.verify()
    assert (report.ok, report.records_checked, report.checkpoints_checked) == (True, 10, 2)
    assert report.latest_checkpoint == 10 and report.uncovered == 0


def test_checkpoint_is_a_c2sp_signed_note(log: Log) -> None:
    with log.open() as store:
        latest = store.checkpoints()[-1]
        leaves = store.leaf_hashes(10)
    text, signatures = split_note(latest.note)
    assert text.decode().splitlines()[:2] == ["douane.example/audit/douane", "10"]
    assert parse_checkpoint(text).root_hash == merkle.root(leaves) == latest.root_hash
    assert latest.note.decode().splitlines()[-1].startswith("\u2014 douane.example/audit/douane ")
    assert len(signatures) == 1 and len(signatures[0].key_hash) == 4


def test_checkpoints_are_issued_every_n_records(tmp_path: Path) -> None:
    log = Log(tmp_path)
    with open_sqlite_log(log.db, load_or_create_signer(log.key, log.pub), checkpoint_every=4,
                          checkpoint_interval_s=0) as store:
        log.fill(1, 11, store)
        assert [c.size for c in store.checkpoints()] == [4, 8]


def test_origin_is_configurable_and_fixed_once_chosen(tmp_path: Path) -> None:
    log = Log(tmp_path)
    with log.open(origin="ville.example/audit/prod") as store:
        log.fill(1, 3, store)
        assert store.issue_checkpoint().checkpoint.origin == "ville.example/audit/prod"
    with pytest.raises(AuditStoreError, match="origin"):
        log.open(origin="other.example/audit")


# --- tampering with the database: verify_store must fail, naming what is wrong -------------


def flip_checkpoint_byte(log: Log) -> None:
    with sqlite3.connect(log.db) as conn:
        note = bytes(conn.execute("SELECT note FROM audit_checkpoints WHERE size=6").fetchone()[0])
        i = note.index(b"\n", note.index(b"\n") + 1) + 3  # inside the root hash line
        conn.execute("UPDATE audit_checkpoints SET note=? WHERE size=6",
                     (note[:i] + bytes([note[i] ^ 1]) + note[i + 1:],))


def truncate_end(log: Log) -> None:  # drop the last 2 records; the checkpoint at 10 remains
    log.sql("DELETE FROM audit_records WHERE seq > 8")


def duplicate_record(log: Log) -> None:
    log.sql("INSERT INTO audit_records SELECT 11, record_id || 'x', kind, request_id, tenant, "
            "occurred_at, canonical, leaf_hash, signature, key_id FROM audit_records WHERE seq=10")


def rewrite_tail_with_the_key(log: Log) -> None:
    """An operator with the key re-signs record 10 differently (a fork at size 10)."""
    signer = load_or_create_signer(log.key, log.pub)
    with sqlite3.connect(log.db) as conn:
        canonical = bytes(conn.execute("SELECT canonical FROM audit_records WHERE seq=10")
                          .fetchone()[0])
        payload = json.loads(canonical)
        payload["details"]["decision"] = "block"
        body = canonical_bytes(payload)
        conn.execute("UPDATE audit_records SET canonical=?, signature=?, leaf_hash=? WHERE seq=10",
                     (body, signer.sign(signing_input(body)), merkle.hash_leaf(body).hex()))


def foreign_origin_checkpoint(log: Log) -> None:
    from streams.core.checkpoint import Checkpoint, sign_checkpoint

    signer = load_or_create_signer(log.key, log.pub)
    with sqlite3.connect(log.db) as conn:
        root = bytes.fromhex(conn.execute("SELECT root_hash FROM audit_checkpoints WHERE size=6")
                             .fetchone()[0])
        other = "elsewhere.example/log"
        note = sign_checkpoint(Checkpoint(other, 6, root), other,
                               signer.public_key.public_bytes_raw(), signer.sign)
        conn.execute("UPDATE audit_checkpoints SET note=? WHERE size=6", (note,))


DB_TAMPERING: list[tuple[str, Callable[[Log], None], str]] = [
    ("byte flipped in a checkpoint", flip_checkpoint_byte, "checkpoint at size 6"),
    ("records cut from the end", truncate_end, "covers 10 records but the log has only 8"),
    ("record duplicated", duplicate_record, "record 11"),
    ("tail rewritten with the real key", rewrite_tail_with_the_key,
     "not the Merkle root of the log's first 10 records"),
    ("checkpoint for another origin", foreign_origin_checkpoint, "checkpoint at size 6"),
]


@pytest.mark.parametrize(("case", "tamper", "expected"), DB_TAMPERING,
                         ids=[c[0] for c in DB_TAMPERING])
def test_database_tampering_is_detected(
    log: Log, case: str, tamper: Callable[[Log], None], expected: str
) -> None:
    assert log.verify().ok
    tamper(log)
    report = log.verify()
    assert not report.ok, case
    assert expected in (report.problem or "") + f" record {report.first_bad_seq}", report.problem


def test_rollback_and_fork_against_a_checkpoint_the_auditor_kept(log: Log) -> None:
    with log.open() as store:
        trusted = store.checkpoints()[-1].note  # the auditor saved this at size 10
    assert log.verify(trusted).ok
    truncate_end(log)
    log.sql("DELETE FROM audit_checkpoints WHERE size = 10")  # the operator hides it too
    report = log.verify(trusted)
    assert not report.ok and "rollback" in (report.problem or "")
    assert log.verify().ok  # without the kept checkpoint, a clean cut is invisible


def test_fork_same_size_other_root_against_a_kept_checkpoint(log: Log) -> None:
    with log.open() as store:
        trusted = store.checkpoints()[-1].note
    rewrite_tail_with_the_key(log)
    log.sql("DELETE FROM audit_checkpoints WHERE size = 10")
    report = log.verify(trusted)
    assert not report.ok and "forked" in (report.problem or "")


# --- keys: windows and rotation --------------------------------------------------------------


def rotated(log: Log) -> tuple[Ed25519Signer, Ed25519Signer]:
    with log.open() as store:
        old = store.signer
        new = Ed25519Signer.generate()
        record = store.rotate_key(new)
        assert record.kind == "key_rotated" and record.key_id == old.key_id
        log.key.write_bytes(new.private_key_pem())
        store.append(event(11, log.clock()))
    return old, new


def test_rotation_is_a_signed_record_and_old_records_still_verify(log: Log) -> None:
    old, new = rotated(log)
    keyring = json.loads(log.keyring.read_text())
    windows = {k["key_id"]: (k["not_before"], k["not_after"]) for k in keyring["keys"]}
    assert windows[old.key_id][1] == windows[new.key_id][0] is not None
    report = log.verify()
    assert report.ok, report.problem
    assert report.records_checked == 12 and report.checkpoints_checked == 3


def test_a_record_signed_by_the_retired_key_fails(log: Log) -> None:
    old, _new = rotated(log)
    with sqlite3.connect(log.db) as conn:  # a thief with the old key adds a backdated-key record
        canonical = bytes(conn.execute("SELECT canonical FROM audit_records WHERE seq=12")
                          .fetchone()[0])
        payload = json.loads(canonical)
        payload["key_id"] = old.key_id
        body = canonical_bytes(payload)
        conn.execute("UPDATE audit_records SET canonical=?, signature=?, key_id=?, leaf_hash=? "
                     "WHERE seq=12", (body, old.sign(signing_input(body)), old.key_id,
                                      merkle.hash_leaf(body).hex()))
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 12
    assert "outside its key's window" in (report.problem or "")


def test_a_stale_process_cannot_sign_after_rotation(log: Log) -> None:
    stale = log.open()
    rotated(log)
    with pytest.raises(AuditStoreError, match="rotated"):
        stale.append(event(99, log.clock()))
    stale.close()
    assert log.verify().ok


# --- group commit ------------------------------------------------------------------------------


def test_concurrent_appends_stay_contiguous_and_idempotent(tmp_path: Path) -> None:
    import threading

    log = Log(tmp_path)
    store = log.open()
    def worker(n: int) -> None:
        for i in range(50):
            store.append(event(i * 10 + n % 5, T0))  # ids repeat across threads
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [r.seq for r in store.iter_records()]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 250
    store.close()
    assert log.verify().ok


# --- the bundle and the standalone verifier ---------------------------------------------------


def bundle_of(log: Log) -> dict[str, Any]:
    with log.open() as store:
        bundle = build_bundle(store, None, None)
    KEYRINGS[id(bundle)] = json.loads(log.keyring.read_text())
    return bundle


def check(bundle: dict[str, Any], trusted: str | None = None) -> str:
    """The offline verdict with the keyring as the auditor got it from the operator (at
    export time, before anyone could tamper with the bundle)."""
    copy = json.loads(json.dumps(bundle))
    return offline_verifier.verify_bundle(copy, KEYRINGS.get(id(bundle), copy["keyring"]),
                                          trusted, keyring_source="audit.keyring.json")


KEYRINGS: dict[int, dict[str, Any]] = {}


def test_bundle_verifies_offline_including_after_rotation(log: Log) -> None:
    rotated(log)
    bundle = bundle_of(log)
    assert check(bundle).startswith("OK: 12 records")
    with log.open() as store:
        since = store.get("req-4/admitted").payload["occurred_at"]  # type: ignore[union-attr]
        part = build_bundle(store, since, None)
    assert part["records"][0]["seq"] == 4
    assert check(part).startswith("OK: 9 records")


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _swap(bundle: dict[str, Any]) -> None:
    r = bundle["records"]
    r[2]["canonical"], r[3]["canonical"] = r[3]["canonical"], r[2]["canonical"]
    r[2]["signature"], r[3]["signature"] = r[3]["signature"], r[2]["signature"]


def _non_canonical(log: Log) -> Callable[[dict[str, Any]], None]:
    signer = load_or_create_signer(log.key, log.pub)

    def tamper(bundle: dict[str, Any]) -> None:
        record = bundle["records"][1]
        body = json.dumps(json.loads(base64.b64decode(record["canonical"])), indent=1).encode()
        record["canonical"] = base64.b64encode(body).decode()
        record["signature"] = base64.b64encode(signer.sign(signing_input(body))).decode()
    return tamper


def _unknown_key(bundle: dict[str, Any]) -> None:
    intruder = Ed25519Signer.generate()
    record = bundle["records"][0]
    body = base64.b64decode(record["canonical"])
    record["key_id"] = intruder.key_id
    record["signature"] = base64.b64encode(intruder.sign(signing_input(body))).decode()


BUNDLE_TAMPERING: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("byte flipped in a record",
     lambda b: b["records"][4].update(canonical=_flip(b["records"][4]["canonical"])),
     "record 5: signature does not verify"),
    ("byte flipped in a signature",
     lambda b: b["records"][4].update(signature=_flip(b["records"][4]["signature"])),
     "record 5: signature does not verify"),
    ("byte flipped in the checkpoint",
     lambda b: b.update(checkpoint=b["checkpoint"].replace("\n10\n", "\n11\n")),
     "does not verify"),
    ("record deleted", lambda b: b["records"].pop(5),
     "record 7 (req-7/admitted): follows record 5"),
    ("records swapped", _swap, "signed seq/key id differ"),
    ("record duplicated", lambda b: b["records"].insert(3, dict(b["records"][2])), "record 3"),
    ("signed by an unknown key", _unknown_key, "not in the keyring"),
    ("checkpoint for a different origin",
     lambda b: b.update(origin="elsewhere.example/log"), "origin"),
]


@pytest.mark.parametrize(("case", "tamper", "expected"), BUNDLE_TAMPERING,
                         ids=[c[0] for c in BUNDLE_TAMPERING])
def test_bundle_tampering_is_detected_offline(
    log: Log, case: str, tamper: Callable[[dict[str, Any]], None], expected: str
) -> None:
    bundle = bundle_of(log)
    check(bundle)
    tamper(bundle)
    with pytest.raises(offline_verifier.Invalid) as caught:
        check(bundle)
    assert expected in str(caught.value), case


def test_non_canonical_record_is_caught_offline(log: Log) -> None:
    bundle = bundle_of(log)
    _non_canonical(log)(bundle)
    with pytest.raises(offline_verifier.Invalid, match="canonical"):
        check(bundle)


def resign_statement(log: Log, bundle: dict[str, Any], **changes: Any) -> None:
    """What an operator holding the key could do: sign a new export statement."""
    signer = load_or_create_signer(log.key, log.pub)
    statement = json.loads(base64.b64decode(bundle["statement"]["payload"]))
    if isinstance(changes.get("checkpoint_root"), bytes):
        changes["checkpoint_root"] = base64.b64encode(changes["checkpoint_root"]).decode()
    payload = json.dumps({**statement, **changes}).encode()
    signature = signer.sign(pae(offline_verifier.STATEMENT_PAYLOAD_TYPE, payload))
    bundle["statement"] = {"payload": base64.b64encode(payload).decode(),
                           "key_id": signer.key_id,
                           "signature": base64.b64encode(signature).decode()}


def test_offline_rollback_and_fork(log: Log) -> None:
    bundle = bundle_of(log)
    with log.open() as store:
        at_6 = store.checkpoints()[0].note.decode()
    assert check(bundle, at_6).startswith("OK")  # the bundle extends what the auditor saw
    later = bundle_of(log)
    small = dict(later, checkpoint=at_6, checkpoints=[],
                 records=[r for r in later["records"] if r["seq"] <= 6])
    with log.open() as store:
        tree = merkle.MerkleTree(store.leaf_hashes(6))
    for r in small["records"]:
        r["inclusion_proof"] = [base64.b64encode(p).decode()
                                for p in tree.inclusion_proof(r["seq"] - 1)]
    resign_statement(log, small, checkpoint_size=6, checkpoint_root=tree.root(), last_seq=6)
    assert check(small).startswith("OK")
    with pytest.raises(offline_verifier.Invalid, match="rollback"):
        check(small, bundle["checkpoint"])


def test_offline_verifier_is_standalone(log: Log, tmp_path: Path) -> None:
    source = Path(offline_verifier.__file__).read_text("utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}, imported
    # and it runs as a lone file, away from the douane checkout
    alone = tmp_path / "elsewhere" / "verifier.py"
    alone.parent.mkdir()
    alone.write_text(source)
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(json.dumps(bundle_of(log)))
    ok = subprocess.run([sys.executable, "-I", str(alone), str(bundle_path), "--keyring",
                         str(log.keyring)], capture_output=True, text=True, cwd=alone.parent)
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    data = json.loads(bundle_path.read_text())
    data["records"][0]["signature"] = _flip(data["records"][0]["signature"])
    bundle_path.write_text(json.dumps(data))
    bad = subprocess.run([sys.executable, "-I", str(alone), str(bundle_path)],
                         capture_output=True, text=True, cwd=alone.parent)
    assert bad.returncode == 1 and "INVALID: record 1" in bad.stdout
    # verify-proof too, saving the checkpoint it trusted
    with log.open() as store:
        proof = inclusion_proof(store, "req-4/admitted")
    proof_path, saved = tmp_path / "proof.json", tmp_path / "last.txt"
    proof_path.write_text(json.dumps(proof))
    checked = subprocess.run([sys.executable, "-I", str(alone), "verify-proof", str(proof_path),
                              "--keyring", str(log.keyring), "--save-checkpoint", str(saved)],
                             capture_output=True, text=True, cwd=alone.parent)
    assert checked.returncode == 0 and checked.stdout.startswith("OK: record 4"), checked.stdout
    assert saved.read_text() == proof["checkpoint"]  # type: ignore[index]


# --- what the standalone verifier says it trusted and covered (issue 16) --------------------


def test_without_a_keyring_the_verifier_says_loudly_it_trusted_the_bundles_own_keys(
        log: Log) -> None:
    bundle = bundle_of(log)
    own = offline_verifier.verify_bundle(json.loads(json.dumps(bundle)))
    first, *_, last = own.splitlines()
    key_id = bundle["keyring"]["keys"][0]["key_id"]
    for line in (first, last):  # first, before "OK", and again at the end
        assert line.startswith("WARNING: no --keyring was given") and key_id in line
        assert "INSIDE THE BUNDLE" in line and "run again with --keyring" in line
    given = check(bundle)
    assert "WARNING" not in given
    assert given.splitlines()[0].startswith("OK: 10 records")
    assert f"Keys trusted: the keyring audit.keyring.json (log 'douane.example/audit/douane'; " \
           f"key ids {key_id})" in given


def test_the_verifier_prints_the_records_covered(log: Log) -> None:
    lines = check(bundle_of(log)).splitlines()
    assert lines[1].startswith("Records covered: 1 to 10 (10 records, written 2025-03-01T09:30:")
    assert "from the first record to the checkpoint (no end date)" in lines[1]
    with log.open() as store:
        part = build_bundle(store, "2025-03-01T09:30:04.000000Z", "2025-03-01T09:30:07.000000Z")
    KEYRINGS[id(part)] = json.loads(log.keyring.read_text())
    covered = check(part).splitlines()[1]
    assert covered.startswith("Records covered: 4 to 6 (3 records")
    assert "from 2025-03-01T09:30:04.000000Z to 2025-03-01T09:30:07.000000Z" in covered


def bounded_bundle(log: Log) -> dict[str, Any]:
    with log.open() as store:
        part = build_bundle(store, "2025-03-01T09:30:03.000000Z", "2025-03-01T09:30:08.000000Z")
    KEYRINGS[id(part)] = json.loads(log.keyring.read_text())
    assert [r["seq"] for r in part["records"]] == [3, 4, 5, 6]
    return part


EXPORT_TAMPERING: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("period widened", lambda b: b.update(since="2025-01-01T00:00:00Z"),
     "the bundle says since = '2025-01-01T00:00:00Z' but its signed export statement says "
     "'2025-03-01T09:30:03.000000Z': the period was edited"),
    ("end date removed", lambda b: b.update(until=None), "the period was edited after"),
    ("last record removed", lambda b: b["records"].pop(),
     "says records 3 to 6 were exported, the bundle holds records 3 to 5"),
    ("first record removed", lambda b: b["records"].pop(0),
     "says records 3 to 6 were exported, the bundle holds records 4 to 6"),
    ("statement removed", lambda b: b.pop("statement"), "no signed export statement"),
    ("statement signature flipped",
     lambda b: b["statement"].update(signature=_flip(b["statement"]["signature"])),
     "export statement: signature does not verify"),
]


@pytest.mark.parametrize(("case", "tamper", "expected"), EXPORT_TAMPERING,
                         ids=[c[0] for c in EXPORT_TAMPERING])
def test_the_exported_period_and_range_are_signed(
    log: Log, case: str, tamper: Callable[[dict[str, Any]], None], expected: str
) -> None:
    bundle = bounded_bundle(log)
    check(bundle)
    tamper(bundle)
    with pytest.raises(offline_verifier.Invalid) as caught:
        check(bundle)
    assert expected in str(caught.value), case


def test_the_last_record_cut_from_an_open_ended_bundle_is_found_against_the_checkpoint(
        log: Log) -> None:
    bundle = bundle_of(log)
    bundle["records"].pop()
    with pytest.raises(offline_verifier.Invalid, match="it must run to the last record of its "
                       r"checkpoint \(10\), but it stops at record 9"):
        check(bundle)
