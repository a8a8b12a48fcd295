"""Witnesses: cosign only what extends what was seen; verifiers can require a quorum.

Real SQLite stores, real keys, the real CLI for the exit codes; the same quorum table runs
against ``douane audit verify`` (check_quorum over the store) and the offline verifier.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from streams import offline_verifier
from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log, open_sqlite_reader
from streams.adapters.audit.verify import load_audit_schema, verify_store
from streams.adapters.signer import load_keyring, load_or_create_signer, verifier_for_raw
from streams.adapters.witness import (
    STATE_FILE,
    Witness,
    WitnessError,
    cosign_latest,
    init_witness,
    load_witness,
)
from streams.cli import main
from streams.core.audit import AuditEvent
from streams.core.checkpoint import (
    CheckpointError,
    format_note,
    key_hash,
    parse_verifier_key,
    split_note,
    verifier_key,
)
from streams.core.cosignature import (
    WitnessKey,
    WitnessRefusal,
    cosign,
    cosigned_message,
    cosigner_key_id,
    cosigners,
    parse_witness_verifier_key,
    witness_verifier_key,
)
from streams.services.evidence import build_bundle, check_quorum

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
NOW = 1_740_000_000


class Log:
    """A SQLite audit log in ``root``; logs in sibling dirs may share one signing key."""

    def __init__(self, root: Path, key: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.db = root / "audit.sqlite3"
        self.key, self.pub = key, key.with_suffix(".pub.pem")
        self.now = T0

    def open(self) -> GroupCommitLog:
        return open_sqlite_log(self.db, load_or_create_signer(self.key, self.pub),
                                checkpoint_every=0, checkpoint_interval_s=0, clock=self.tick)

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def grow(self, start: int, end: int, tenant: str = "city-of-lyon") -> None:
        """Append records ``start .. end-1`` and sign a checkpoint."""
        with self.open() as store:
            for i in range(start, end):
                store.append(AuditEvent(f"req-{i}/admitted", "admitted", f"req-{i}", tenant,
                                        self.tick(), {"decision": "forward", "entities": {},
                                                      "provider": "p1"}))
            store.issue_checkpoint()

    def cosign(self, witness: Witness) -> int:
        with self.open() as store:
            return cosign_latest(store, load_keyring(store.keyring_path), witness,
                                 now=NOW).checkpoint.size

    def notes(self) -> list[bytes]:
        with open_sqlite_reader(self.db) as reader:
            return [c.note for c in reader.checkpoints()]


@pytest.fixture
def log(tmp_path: Path) -> Log:
    log = Log(tmp_path / "log", tmp_path / "keys" / "log.pem")
    log.grow(1, 7)
    return log


@pytest.fixture
def witnesses(tmp_path: Path) -> dict[str, Witness]:
    return {n: init_witness(tmp_path / n, f"dpo.example.org/{n}") for n in ("w1", "w2", "w3")}


def vkey(witness: Witness) -> Path:
    return witness.directory / "witness.vkey"


# --------------------------------------------------------------------------- format


def test_cosignature_follows_c2sp_tlog_cosignature_v1() -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosigned_message(body, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + body
    public = bytes(range(32))
    signed: list[bytes] = []
    line = cosign(body, "witness.example.com/w1", public, 1679315147,
                  lambda m: signed.append(m) or b"S" * 64)
    assert signed == [cosigned_message(body, 1679315147)]
    # key ID uses algorithm byte 0x04, unlike a log key (0x01)
    assert line.key_hash == cosigner_key_id("witness.example.com/w1", public)
    assert line.key_hash != key_hash("witness.example.com/w1", public)
    assert line.signature == struct.pack(">Q", 1679315147) + b"S" * 64
    # the spec's example line decodes to key ID, then the timestamp 1679315147, then 64 bytes
    blob = base64.b64decode("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
                            "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")
    assert len(blob) == 4 + 8 + 64 and struct.unpack(">Q", blob[4:12]) == (1679315147,)


# Made with the reference Go code (github.com/transparency-dev/formats v0.1.1 note
# NewSignerForCosignatureV1, golang.org/x/mod/sumdb/note Sign) from a fixed seed.
GO_VKEY = "go.example/witness+fbf92cec+BADQWh0eolE5bVV6+9RYizxtmdvrly/tEKMlYuom3Nz6"
GO_NOTE = ("douane.example/audit/douane\n5\nVqXxbCFTqkuk+jPjY4yA7sCoJxxNq/TDhxHDM8ANTFw=\n\n"
           "\u2014 go.example/witness +/ks7AAAAABrB1q2p2UbVne/c6AxOxT59dp2dpFeKjWjOWbKFoexfVNUbBW"
           "MNjC6zBlkTxwyR97haXsVspn4iAV0Ypgp0EfxFWzVCg==\n")


def test_a_cosignature_made_by_the_reference_go_code_verifies() -> None:
    name, public = parse_witness_verifier_key(GO_VKEY)
    keys = [WitnessKey(name, public, verifier_for_raw(public))]
    assert cosigners(GO_NOTE.encode(), keys) == {public}
    assert offline_verifier.cosigned_by(GO_NOTE, [offline_verifier.load_witness(GO_VKEY)]) \
        == {public}
    forged = GO_NOTE.replace("p2UbVne", "p2UbVnf")
    with pytest.raises(CheckpointError, match="does not verify"):
        cosigners(forged.encode(), keys)
    with pytest.raises(offline_verifier.Invalid, match="does not verify"):
        offline_verifier.cosigned_by(forged, [offline_verifier.load_witness(GO_VKEY)])


def test_verifier_keys_round_trip_even_with_plus_in_base64() -> None:
    public = b"\xfb" * 32  # base64 of 0x04/0x01 || 0xfb... contains '+'
    vk = witness_verifier_key("dpo.example.org/w1", public)
    assert "+" in vk.split("+", 2)[2]
    assert parse_witness_verifier_key(vk) == ("dpo.example.org/w1", public)
    assert parse_verifier_key(verifier_key("log.example", public)) == ("log.example", public)
    with pytest.raises(CheckpointError, match="type 0x04"):
        parse_witness_verifier_key(verifier_key("log.example", public))  # a log key, not a
    with pytest.raises(CheckpointError, match="key ID"):                 # cosigner key
        parse_witness_verifier_key(vk.replace("dpo.example.org/w1", "dpo.example.org/w9"))


def test_witness_init_writes_a_private_key_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    witness = init_witness(tmp_path / "w", "dpo.example.org/w")
    assert (tmp_path / "w" / "witness.key").stat().st_mode & 0o777 == 0o600
    assert load_witness(tmp_path / "w").public_key == witness.public_key
    with pytest.raises(WitnessError, match="already exists"):
        init_witness(tmp_path / "w", "dpo.example.org/w")
    with pytest.raises(CheckpointError):
        init_witness(tmp_path / "bad", "has space")


# --------------------------------------------------------------------------- cosign


def test_cosign_happy_path(log: Log, witnesses: dict[str, Witness]) -> None:
    w1 = witnesses["w1"]
    assert log.cosign(w1) == 6
    keys = [WitnessKey(w1.name, w1.public_key, verifier_for_raw(w1.public_key))]
    assert cosigners(log.notes()[-1], keys) == {w1.public_key}
    assert w1.last_seen("douane.example/audit/douane").size == 6  # type: ignore[union-attr]
    log.grow(7, 12)
    assert log.cosign(w1) == 11  # extends 6: consistency proof checked
    assert log.cosign(w1) == 11  # re-cosigning the same checkpoint replaces the line
    _text, lines = split_note(log.notes()[-1])
    assert [line.name for line in lines] == ["douane.example/audit/douane", w1.name]
    # the log's own verification ignores the witness lines
    assert verify_store(log.db, [], load_audit_schema()).ok


def test_two_cosigns_by_one_witness_take_turns(log: Log, witnesses: dict[str, Witness]) -> None:
    """While one cosign holds the witness's turn (reading and advancing its state), another
    waits; so the slower one can never write back an older state."""
    w1 = witnesses["w1"]
    finished: list[int] = []
    with w1.turn():
        other = threading.Thread(target=lambda: finished.append(log.cosign(w1)))
        other.start()
        other.join(timeout=1.5)
        assert other.is_alive() and finished == []  # waiting for its turn
        assert w1.last_seen("douane.example/audit/douane") is None
    other.join(timeout=30)
    assert finished == [6]
    assert w1.last_seen("douane.example/audit/douane").size == 6  # type: ignore[union-attr]


def _fork_same_size(other: Log) -> None:
    other.grow(1, 7, tenant="someone-else")


def _fork_longer(other: Log) -> None:
    other.grow(1, 10, tenant="someone-else")


def _rollback(other: Log) -> None:
    other.grow(1, 4)


@pytest.mark.parametrize(("build", "expected"), [
    (_fork_same_size, r"fork: the log's checkpoint at size 6 has root .* but this witness "
                      r"cosigned root .* for the same size"),
    (_fork_longer, r"fork: the log's checkpoint at size 9 .* does not extend the one this "
                   r"witness cosigned at size 6"),
    (_rollback, r"rollback: the log's checkpoint has size 3 .* already cosigned size 6"),
])
def test_cosign_refuses_a_fork_or_rollback(
    log: Log, witnesses: dict[str, Witness], tmp_path: Path,
    build: Callable[[Log], None], expected: str,
) -> None:
    w1 = witnesses["w1"]
    log.cosign(w1)
    other = Log(tmp_path / "other", log.key)  # same origin, same log key, another history
    build(other)
    with pytest.raises(WitnessRefusal, match=expected):
        other.cosign(w1)
    assert len(split_note(other.notes()[-1])[1]) == 1  # nothing cosigned
    assert w1.last_seen("douane.example/audit/douane").size == 6  # type: ignore[union-attr]


@pytest.fixture
def plain_logging() -> Iterator[None]:
    """``main`` configures structlog on the captured stderr; later tests must not log to it."""
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("plain_logging")
def test_cosign_cli_exit_codes(
    log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOUANE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOUANE_AUDIT_DB", str(log.db))
    monkeypatch.setenv("DOUANE_SIGNING_KEY", str(log.key))
    assert main(["audit", "witness", "init", "--name", "dpo.example.org/cli",
                 "--dir", str(tmp_path / "wcli")]) == 0
    monkeypatch.setenv("DOUANE_AUDIT_DB", str(tmp_path / "nowhere.sqlite3"))
    assert main(["audit", "cosign", "--witness-dir", str(tmp_path / "wcli")]) == 2
    assert "no audit database" in capsys.readouterr().out
    assert not (tmp_path / "nowhere.sqlite3").exists()
    monkeypatch.setenv("DOUANE_AUDIT_DB", str(log.db))
    monkeypatch.setenv("DOUANE_SIGNING_KEY", str(tmp_path / "not-the-workers.pem"))
    assert main(["audit", "cosign", "--witness-dir", str(tmp_path / "wcli")]) == 0
    assert "cosigned checkpoint at size 6" in capsys.readouterr().out
    vk = str(tmp_path / "wcli" / "witness.vkey")
    assert main(["audit", "verify", "--witness", vk, "--quorum", "1"]) == 0
    assert "witnessed by at least 1 witnesses up to record 6" in capsys.readouterr().out
    assert not (tmp_path / "not-the-workers.pem").exists()  # cosign needs no worker key
    # the log is rewritten (same size, other root): the witness refuses
    other = Log(tmp_path / "other", log.key)
    _fork_same_size(other)
    monkeypatch.setenv("DOUANE_AUDIT_DB", str(other.db))
    assert main(["audit", "cosign", "--witness-dir", str(tmp_path / "wcli")]) == 1
    out = capsys.readouterr().out
    assert "REFUSED - fork" in out and "size 6" in out
    assert main(["audit", "verify", "--witness", vk, "--quorum", "1"]) == 1
    assert "no checkpoint is cosigned by 1" in capsys.readouterr().out


# --------------------------------------------------------------------------- quorum


def _tamper_w1(note: bytes) -> bytes:
    """Flip one bit in w1's Ed25519 signature (after key ID and timestamp)."""
    text, lines = split_note(note)
    changed = []
    for line in lines:
        if line.name.endswith("/w1"):
            sig = bytearray(line.signature)
            sig[20] ^= 1
            line = type(line)(line.name, line.key_hash, bytes(sig))
        changed.append(line)
    return format_note(text, changed)


@pytest.fixture
def cosigned(log: Log, witnesses: dict[str, Witness]) -> Log:
    """Checkpoint at 6 cosigned by w1, w2 and w3."""
    for witness in witnesses.values():
        log.cosign(witness)
    return log


QUORUM_CASES = [
    # (witness keys given to the verifier, quorum, tamper w1, expected problem or None)
    (["w1", "w2"], 2, False, None),
    (["w1", "w2", "w3"], 3, False, None),
    (["w1"], 1, False, None),
    (["w1", "w2"], 3, False, "more than the 2 distinct"),
    (["w1", "w1"], 2, False, "more than the 1 distinct"),
    (["w1", "w2", "w4"], 3, False, "no checkpoint is cosigned by 3 .*at most 2"),
    (["w4"], 1, False, "no checkpoint is cosigned by 1 .*at most 0"),
    (["w2", "w3"], 2, True, None),  # w1's bad line is not from a key we were given
    (["w1", "w2"], 1, True, "cosignature by witness dpo.example.org/w1 .*does not verify"),
]


def _vkeys(names: list[str], witnesses: dict[str, Witness], tmp_path: Path) -> list[Path]:
    if "w4" in names:  # a witness that never cosigned (unknown to the log)
        witnesses = {**witnesses, "w4": init_witness(tmp_path / "w4", "dpo.example.org/w4")}
    return [vkey(witnesses[n]) for n in names]


@pytest.mark.parametrize(("given", "quorum", "tamper", "problem"), QUORUM_CASES)
def test_verify_requires_a_quorum(
    cosigned: Log, witnesses: dict[str, Witness], tmp_path: Path,
    given: list[str], quorum: int, tamper: bool, problem: str | None,
) -> None:
    if tamper:
        with sqlite3.connect(cosigned.db) as conn:
            conn.execute("UPDATE audit_checkpoints SET note = ? WHERE size = 6",
                         (_tamper_w1(cosigned.notes()[-1]),))
    with open_sqlite_reader(cosigned.db) as reader:
        ok, message = check_quorum(reader, _vkeys(given, witnesses, tmp_path), quorum, 6)
    if problem is None:
        assert ok, message
        assert "up to record 6" in message
    else:
        assert not ok
        assert re.search(problem, message), message


def _bundle(log: Log) -> dict[str, Any]:
    with log.open() as store:
        return json.loads(json.dumps(build_bundle(store, None, None)))


@pytest.mark.parametrize(("given", "quorum", "tamper", "problem"), QUORUM_CASES)
def test_offline_verifier_enforces_the_quorum(
    cosigned: Log, witnesses: dict[str, Witness], tmp_path: Path,
    given: list[str], quorum: int, tamper: bool, problem: str | None,
) -> None:
    bundle = _bundle(cosigned)
    if tamper:
        bundle["checkpoint"] = _tamper_w1(bundle["checkpoint"].encode()).decode()
    keys = [path.read_text() for path in _vkeys(given, witnesses, tmp_path)]
    if problem is None:
        assert "witnessed by" in offline_verifier.verify_bundle(bundle, None, None, keys, quorum)
    else:
        with pytest.raises(offline_verifier.Invalid, match=problem):
            offline_verifier.verify_bundle(bundle, None, None, keys, quorum)


def test_offline_quorum_must_cover_every_exported_record(
    cosigned: Log, witnesses: dict[str, Witness],
) -> None:
    cosigned.grow(7, 9)  # records 7-8 and a checkpoint at 8 that no witness has seen yet
    bundle = _bundle(cosigned)
    assert [c["size"] for c in bundle["checkpoints"]] == [6]  # the cosigned one is exported
    keys = [vkey(witnesses[n]).read_text() for n in ("w1", "w2")]
    with pytest.raises(offline_verifier.Invalid, match=r"records after 6 \(up to 8\) are not"):
        offline_verifier.verify_bundle(bundle, None, None, keys, 2)
    assert "\nOK: " in offline_verifier.verify_bundle(bundle, None, None, keys, 0)
    for name in ("w1", "w2"):
        cosigned.cosign(witnesses[name])
    assert "up to size 8" in offline_verifier.verify_bundle(_bundle(cosigned), None, None,
                                                            keys, 2)


def test_offline_verifier_cli_quorum(cosigned: Log, witnesses: dict[str, Witness],
                                     tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle(cosigned)))
    args = [str(path), "--witness", str(vkey(witnesses["w1"])), "--witness",
            str(vkey(witnesses["w2"]))]
    assert offline_verifier.main([*args, "--quorum", "2"]) == 0
    state = json.loads((witnesses["w1"].directory / STATE_FILE).read_text())
    assert list(state) == ["douane.example/audit/douane"]
    with sqlite3.connect(cosigned.db) as conn:  # the store loses the witness lines
        conn.execute("UPDATE audit_checkpoints SET note = ?",
                     (format_note(*[split_note(cosigned.notes()[-1])[0],
                                    split_note(cosigned.notes()[-1])[1][:1]]),))
    path.write_text(json.dumps(_bundle(cosigned)))
    assert offline_verifier.main([*args, "--quorum", "1"]) == 1
