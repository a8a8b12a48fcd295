"""``douane audit prove`` and ``export`` as an auditor checks them with the standalone verifier
alone: ``verify-proof``, a checkpoint saved exactly as signed and used next time to check the
log only grew (as rekor-cli keeps its last log info), and the files' newline pitfalls."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from streams import cli, offline_verifier
from streams.adapters.signer import load_or_create_signer
from streams.config import Settings, load_settings
from streams.core import merkle
from streams.core.audit import AuditEvent, canonical_bytes, signing_input
from streams.core.keyring import WORKER
from streams.services.audit_log import open_writer

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    home = tmp_path / "home"
    monkeypatch.setenv("DOUANE_HOME", str(home))
    settings = load_settings({"DOUANE_HOME": str(home)})
    grow(settings, 1, 6)
    yield settings
    structlog.reset_defaults()


def grow(settings: Settings, start: int, end: int) -> None:
    with open_writer(settings, WORKER) as log:  # the worker's records, with its key
        for i in range(start, end):
            log.append(AuditEvent(f"req-{i}/admitted", "admitted", f"req-{i}", "city-of-lyon",
                                  T0 + timedelta(minutes=i),
                                  {"decision": "forward", "provider": "sovereign-local"}))


def keyring(settings: Settings) -> str:
    return str(settings.audit_db.with_name("audit.keyring.json"))


def douane(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def verifier(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = offline_verifier.main(list(args))
    return code, capsys.readouterr().out


def prove(capsys: pytest.CaptureFixture[str], tmp_path: Path, record_id: str,
          *more: str) -> Path:
    out = tmp_path / f"proof-{record_id.replace('/', '_')}.json"
    code, said = douane(capsys, "audit", "prove", record_id, "--out", str(out), *more)
    assert code == 0, said
    assert f"python offline_verifier.py verify-proof {out} --keyring audit.keyring.json" in said
    return out


def test_a_proof_from_audit_prove_checks_with_the_standalone_verifier(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings) -> None:
    proof = prove(capsys, tmp_path, "req-3/admitted")
    code, said = verifier(capsys, "verify-proof", str(proof), "--keyring", keyring(settings))
    assert code == 0, said
    lines = said.splitlines()
    assert lines[0].startswith("OK: record 3 (req-3/admitted, admitted, written "
                               "2026-11-24T09:03:00.000000Z) is in log 'douane.example/audit/")
    assert "inclusion proof leads to the signed checkpoint of 5 records" in lines[0]
    assert lines[1].startswith("No --trusted-checkpoint given")
    assert lines[2].startswith(f"Keys trusted: the keyring {keyring(settings)}")
    # the printed form (no --out) is the same document
    code, printed = douane(capsys, "audit", "prove", "req-3/admitted")
    assert json.loads(printed)["envelope"] == json.loads(proof.read_text())["envelope"]


def test_a_tampered_proof_is_invalid(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     settings: Settings) -> None:
    path = prove(capsys, tmp_path, "req-3/admitted")
    proof = json.loads(path.read_text())
    proof["record_id"] = "req-4/admitted"  # relabelled for another record
    path.write_text(json.dumps(proof))
    code, said = verifier(capsys, "verify-proof", str(path), "--keyring", keyring(settings))
    assert code == 1 and said.startswith("INVALID: record 3 (req-3/admitted): the proof is "
                                         "labelled for record 'req-4/admitted'")
    proof = json.loads(prove(capsys, tmp_path, "req-3/admitted").read_text())
    proof["leaf_index"] = 3  # claims another position in the log
    path.write_text(json.dumps(proof))
    code, said = verifier(capsys, "verify-proof", str(path), "--keyring", keyring(settings))
    assert code == 1 and "signed seq/key id differ" in said


def test_verify_proof_needs_a_keyring(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      settings: Settings) -> None:
    proof = prove(capsys, tmp_path, "req-3/admitted")
    with pytest.raises(SystemExit) as exit_info:
        offline_verifier.main(["verify-proof", str(proof)])
    assert exit_info.value.code == 2
    assert "--keyring" in capsys.readouterr().err


def test_a_saved_checkpoint_is_kept_exactly_and_proves_the_log_only_grew(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings) -> None:
    saved = tmp_path / "auditor" / "last-checkpoint.txt"
    saved.parent.mkdir()
    first = prove(capsys, tmp_path, "req-3/admitted")
    code, said = verifier(capsys, "verify-proof", str(first), "--keyring", keyring(settings),
                          "--save-checkpoint", str(saved))
    assert code == 0 and f"Saved the checkpoint (5 records) to {saved}, exactly as signed" in said
    assert saved.read_bytes() == json.loads(first.read_text())["checkpoint"].encode()

    grow(settings, 6, 9)
    later = prove(capsys, tmp_path, "req-7/admitted", "--trusted-checkpoint", str(saved))
    assert json.loads(later.read_text())["consistency"]["from_size"] == 5
    code, said = verifier(capsys, "verify-proof", str(later), "--keyring", keyring(settings),
                          "--trusted-checkpoint", str(saved), "--save-checkpoint", str(saved))
    assert code == 0, said
    assert "Consistent with your trusted checkpoint of 5 records" in said
    assert saved.read_bytes() == json.loads(later.read_text())["checkpoint"].encode()
    # an older proof checked later does not move the saved checkpoint back
    code, said = verifier(capsys, "verify-proof", str(first), "--keyring", keyring(settings),
                          "--save-checkpoint", str(saved))
    assert "Not saved" in said and saved.read_bytes() == json.loads(
        later.read_text())["checkpoint"].encode()


@pytest.mark.parametrize("damage", [
    lambda note: note.rstrip(b"\n"),                 # kept with echo "$(...)" > file
    lambda note: note.replace(b"\n", b"\r\n"),       # copied through a Windows editor
    lambda note: b"\xef\xbb\xbf" + note + b"\n\n",   # a byte order mark, blank lines added
], ids=["no-final-newline", "crlf", "bom-and-blank-lines"])
def test_a_saved_checkpoint_survives_newline_pitfalls(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings,
        damage: object) -> None:
    first = prove(capsys, tmp_path, "req-3/admitted")
    saved = tmp_path / "last.txt"
    saved.write_bytes(damage(json.loads(first.read_text())["checkpoint"].encode()))  # type: ignore[operator]
    grow(settings, 6, 8)
    later = prove(capsys, tmp_path, "req-6/admitted", "--trusted-checkpoint", str(saved))
    code, said = verifier(capsys, "verify-proof", str(later), "--keyring", keyring(settings),
                          "--trusted-checkpoint", str(saved))
    assert code == 0 and "Consistent with your trusted checkpoint of 5 records" in said, said


def test_a_proof_that_does_not_extend_the_saved_checkpoint_is_invalid(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings) -> None:
    saved = tmp_path / "last.txt"
    verifier(capsys, "verify-proof", str(prove(capsys, tmp_path, "req-3/admitted")),
             "--keyring", keyring(settings), "--save-checkpoint", str(saved))
    grow(settings, 6, 8)
    without = prove(capsys, tmp_path, "req-6/admitted")  # no --trusted-checkpoint: no proof
    code, said = verifier(capsys, "verify-proof", str(without), "--keyring", keyring(settings),
                          "--trusted-checkpoint", str(saved))
    assert code == 1 and "does not show the log extends your checkpoint of 5 records" in said
    # the operator rewrites record 5 with the real key and drops the old checkpoints: a fork
    signer = load_or_create_signer(settings.signing_key, settings.public_key)
    with sqlite3.connect(settings.audit_db) as conn:
        payload = json.loads(bytes(conn.execute(
            "SELECT canonical FROM audit_records WHERE seq=5").fetchone()[0]))
        payload["details"]["decision"] = "block"
        body = canonical_bytes(payload)
        conn.execute("UPDATE audit_records SET canonical=?, signature=?, leaf_hash=? WHERE "
                     "seq=5", (body, signer.sign(signing_input(body)),
                               merkle.hash_leaf(body).hex()))
        conn.execute("DELETE FROM audit_checkpoints")
    code, said = douane(capsys, "audit", "prove", "req-6/admitted", "--trusted-checkpoint",
                        str(saved))
    assert code == 1 and "REFUSED - the audit log does not verify" in said
    forked = prove(capsys, tmp_path, "req-6/admitted", "--trusted-checkpoint", str(saved),
                   "--even-if-invalid")
    code, said = verifier(capsys, "verify-proof", str(forked), "--keyring", keyring(settings),
                          "--trusted-checkpoint", str(saved))
    assert code == 1 and "does not extend" in said, said


def test_an_export_for_a_saved_checkpoint_proves_the_log_extends_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings) -> None:
    saved = tmp_path / "last.txt"
    verifier(capsys, "verify-proof", str(prove(capsys, tmp_path, "req-3/admitted")),
             "--keyring", keyring(settings), "--save-checkpoint", str(saved))
    grow(settings, 6, 9)
    bundle = tmp_path / "bundle.json"
    for extra, expected in (([], 1), (["--trusted-checkpoint", str(saved)], 0)):
        code, said = douane(capsys, "audit", "export", "--since", "2026-11-24T09:06:00Z",
                            "--until", "2026-11-24T10:00:00Z", "--out", str(bundle), *extra)
        assert code == 0, said
        code, said = verifier(capsys, str(bundle), "--keyring", keyring(settings),
                              "--trusted-checkpoint", str(saved))
        assert code == expected, said
    assert "Records covered: 6 to 8" in said


# --- evidence is made only from a log that verifies -----------------------------------------


def damage_record_2(settings: Settings) -> None:
    """A byte changed in a stored record (what verification must name: record 2)."""
    with sqlite3.connect(settings.audit_db) as conn:
        body = bytes(conn.execute("SELECT canonical FROM audit_records WHERE seq=2")
                     .fetchone()[0])
        conn.execute("UPDATE audit_records SET canonical=? WHERE seq=2",
                     (body.replace(b"sovereign-local", b"sovereign-loca1"),))


@pytest.mark.parametrize("command", [
    ["audit", "export", "--since", "2026-11-24T09:03:00Z", "--out", "{tmp}/bundle.json"],
    ["audit", "prove", "req-4/admitted", "--out", "{tmp}/proof.json"],
], ids=["export", "prove"])
def test_evidence_is_refused_from_a_log_that_does_not_verify(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings,
        command: list[str]) -> None:
    damage_record_2(settings)
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, said = douane(capsys, *args)
    assert code == 1
    assert said.startswith(f"audit {args[1]}: REFUSED - the audit log does not verify")
    assert "What is wrong: first bad record: seq 2 (req-2/admitted)" in said
    assert f"run `douane audit {args[1]}` again with --even-if-invalid" in said
    assert not list(tmp_path.glob("*.json"))  # nothing handed over


def test_an_export_of_a_damaged_log_says_so_to_the_auditor(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings) -> None:
    bundle = tmp_path / "bundle.json"
    code, said = douane(capsys, "audit", "export", "--out", str(bundle))
    code, said = verifier(capsys, str(bundle), "--keyring", keyring(settings))
    assert "The operator's own check of the whole log passed just before this export." in said
    damage_record_2(settings)
    capsys.readouterr()
    assert cli.main(["audit", "export", "--since", "2026-11-24T09:03:00Z", "--out", str(bundle),
                     "--even-if-invalid"]) == 0
    assert "audit export: WARNING - the audit log does NOT verify (first bad record: seq 2" \
        in capsys.readouterr().err
    code, said = verifier(capsys, str(bundle), "--keyring", keyring(settings))
    # the damage reaches the records exported (the checkpoint was signed over the damaged log),
    # and the auditor is told the operator's own check had already failed, and where
    assert code == 1 and said.startswith("INVALID: record 3")
    assert ("(note: the signed export statement says douane's own check of the whole log had "
            "already FAILED (first bad record: seq 2 (req-2/admitted)") in said
    code, said = douane(capsys, "audit", "prove", "req-4/admitted", "--even-if-invalid")
    assert code == 1 and "damage reaches this record's proof: no proof was written" in said


def test_a_proof_from_a_damaged_log_says_so_to_the_auditor(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, settings: Settings) -> None:
    with sqlite3.connect(settings.audit_db) as conn:  # a search column no longer matches
        conn.execute("UPDATE audit_records SET tenant='tax-office' WHERE seq=2")
    proof = prove(capsys, tmp_path, "req-4/admitted", "--even-if-invalid")
    assert json.loads(proof.read_text())["operator_check"].startswith(
        "failed: first bad record: seq 2")
    code, said = verifier(capsys, "verify-proof", str(proof), "--keyring", keyring(settings))
    assert code == 0 and said.startswith("OK: record 4")
    assert ("WARNING: the proof file says douane's own check of the whole log FAILED when it was "
            "made (first bad record: seq 2 (req-2/admitted)") in said
    data = json.loads(proof.read_text())
    data["inclusion_proof"] = data["inclusion_proof"][1:]  # and the proof itself goes wrong
    proof.write_text(json.dumps(data))
    code, said = verifier(capsys, "verify-proof", str(proof), "--keyring", keyring(settings))
    assert code == 1 and said.startswith("INVALID: record 4 (req-4/admitted): inclusion proof")
    assert "(note: the proof file says douane's own check of the whole log had already FAILED " \
           "(first bad record: seq 2" in said
