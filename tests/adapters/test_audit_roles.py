"""One key per role (issue 12, item 4): the worker's key signs decisions, the DPO tools' key
the records their commands write; neither forges the other's records, and both private keys
live outside the data folder. Real SQLite stores, real keys, the real ``audit verify``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams import offline_verifier
from streams.adapters.audit import group_commit
from streams.adapters.signer import (
    Ed25519Signer,
    load_keyring,
    load_or_create_signer,
    raw_public_key,
)
from streams.cli import main
from streams.cli.audit import run_verify
from streams.config import Settings, load_settings
from streams.core.audit import AuditEvent, AuditPayloadError
from streams.core.keyring import DPO, WORKER, KeyringError, parse_keyring, role_may_sign
from streams.services.audit_log import open_writer
from streams.services.evidence import build_bundle

pytestmark = pytest.mark.usefixtures("restore_logging")



def decision(request_id: str) -> AuditEvent:
    return AuditEvent(f"{request_id}/blocked", "blocked", request_id, "city-of-lyon",
                      datetime.now(UTC), {"decision": "block"})


def erasure(record_id: str) -> AuditEvent:
    return AuditEvent(f"erased/{record_id}", "erased", None, "city-of-lyon", datetime.now(UTC),
                      {"subject_fingerprint": "ab" * 32, "reason": "test", "data_keys": [],
                       "vault_entries_pruned": 0, "as_of": "2026-01-01T00:00:00.000000Z"})


def log_written_by_both(settings: Settings) -> None:
    with open_writer(settings, WORKER) as worker:
        worker.append(decision("r-1"))
    with open_writer(settings, DPO) as dpo:
        dpo.append(erasure("e-1"))
    with open_writer(settings, WORKER) as worker:
        worker.append(decision("r-2"))


def test_each_role_signs_with_its_own_key_kept_outside_the_data_folder(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    log_written_by_both(settings)
    keyring = load_keyring(settings.audit_db.with_suffix(".keyring.json"))
    assert sorted(k.role or "" for k in keyring.keys) == [DPO, WORKER]
    worker_key, dpo_key = keyring.active_for(WORKER), keyring.active_for(DPO)
    assert worker_key is not None and dpo_key is not None
    assert worker_key.key_id != dpo_key.key_id
    for private in (settings.signing_key, settings.dpo_signing_key):
        assert private.exists() and not private.is_relative_to(settings.home)
    assert run_verify(settings) == 0
    assert "audit verify: OK" in capsys.readouterr().out


def test_a_writer_refuses_a_kind_its_role_may_not_sign(settings: Settings) -> None:
    with open_writer(settings, WORKER) as worker, pytest.raises(AuditPayloadError,
                                                                match="worker key may not"):
        worker.append(erasure("e-1"))
    with open_writer(settings, DPO) as dpo, pytest.raises(AuditPayloadError,
                                                          match="dpo key may not"):
        dpo.append(decision("r-1"))


@pytest.mark.parametrize(("role", "forge"), [(WORKER, erasure), (DPO, decision)])
def test_a_record_forged_with_the_other_roles_key_fails_verification(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        role: str, forge: Callable[[str], AuditEvent]) -> None:
    """A script holding one role's key signs a record of the other role's kind (it goes
    around the writer's own check): ``audit verify`` names it."""
    log_written_by_both(settings)
    monkeypatch.setattr(group_commit, "role_may_sign", lambda _role, _kind: True)
    with open_writer(settings, role) as stolen:
        stolen.append(forge("forged"))
    capsys.readouterr()
    assert run_verify(settings) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and f"a {role} key, which may not sign that kind" in out


def test_a_worker_key_left_in_the_data_folder_is_moved_out(settings: Settings) -> None:
    legacy = settings.legacy_signing_key
    old = load_or_create_signer(legacy, settings.public_key)
    with open_writer(settings, WORKER) as worker:
        assert worker.signer.key_id == old.key_id
        worker.append(decision("r-1"))
    assert not legacy.exists()
    assert settings.signing_key.exists()
    assert run_verify(settings) == 0


def test_rotating_the_dpo_key_leaves_the_workers_in_place(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    log_written_by_both(settings)
    keyring = load_keyring(settings.audit_db.with_suffix(".keyring.json"))
    before = {role: keyring.active_for(role) for role in (WORKER, DPO)}
    monkeypatch.setenv("DOUANE_HOME", str(settings.home))
    assert main(["audit", "rotate-key", "--role", "dpo"]) == 0
    with open_writer(settings, DPO) as dpo:
        dpo.append(erasure("e-2"))
    with open_writer(settings, WORKER) as worker:
        worker.append(decision("r-3"))
    after = load_keyring(settings.audit_db.with_suffix(".keyring.json"))
    assert after.active_for(WORKER) == before[WORKER]
    new_dpo = after.active_for(DPO)
    assert new_dpo is not None and before[DPO] is not None
    assert new_dpo.key_id != before[DPO].key_id
    capsys.readouterr()
    assert run_verify(settings) == 0


@pytest.mark.parametrize(("role", "forge"), [(WORKER, erasure), (DPO, decision)])
def test_the_offline_verifier_refuses_the_same_forgeries(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, role: str,
        forge: Callable[[str], AuditEvent]) -> None:
    log_written_by_both(settings)
    with open_writer(settings, DPO) as store:
        offline_verifier.verify_bundle(build_bundle(store, None, None))  # the honest log
    monkeypatch.setattr(group_commit, "role_may_sign", lambda _role, _kind: True)
    with open_writer(settings, role) as stolen:
        stolen.append(forge("forged"))
    with open_writer(settings, DPO) as store:
        bundle = build_bundle(store, None, None)
    with pytest.raises(offline_verifier.Invalid, match=f"signed by a {role} key"):
        offline_verifier.verify_bundle(bundle)


def test_verify_says_plainly_what_it_could_not_check_without_a_witness(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    log_written_by_both(settings)
    with open_writer(settings, DPO) as store:
        store.issue_checkpoint()
    assert run_verify(settings) == 0
    alone = capsys.readouterr().out
    assert "WARNING - run without a trusted checkpoint or witness" in alone
    assert "NOT that it is the log seen before" in alone

    kept = tmp_path / "last.txt"
    assert run_verify(settings, save=kept) == 0
    capsys.readouterr()
    assert run_verify(settings, trusted=kept) == 0
    against_kept = capsys.readouterr().out
    assert "WARNING" not in against_kept and "checked against the checkpoint you kept" in (
        against_kept)

    # the documented default: witnesses configured once, required by every verify
    monkeypatch.setenv("DOUANE_HOME", str(settings.home))
    assert main(["audit", "witness", "init", "--name", "dpo.example.org/w",
                 "--dir", str(tmp_path / "w")]) == 0
    witnessed = load_settings({"DOUANE_HOME": str(settings.home),
                               "DOUANE_AUDIT_WITNESSES": str(tmp_path / "w" / "witness.vkey")})
    assert witnessed.audit_quorum == 1
    capsys.readouterr()
    assert run_verify(witnessed) == 1  # not cosigned yet: the configured quorum is required
    assert "no checkpoint is cosigned by 1" in capsys.readouterr().out
    assert main(["audit", "cosign", "--witness-dir", str(tmp_path / "w")]) == 0
    capsys.readouterr()
    assert run_verify(witnessed) == 0
    out = capsys.readouterr().out
    assert "WARNING" not in out and "checked against 1 independent witness" in out


def test_a_keyring_from_before_roles_still_verifies_and_rotation_gives_its_key_a_role() -> None:
    """Keys written before roles have none: they keep signing every kind (old logs verify);
    the key a rotation brings in is the worker's."""
    old = Ed25519Signer.generate()
    document: dict[str, Any] = {"format": "douane.keyring/v1", "origin": "douane.example/audit/x",
                "keys": [{"key_id": old.key_id,
                          "public_key": base64.b64encode(raw_public_key(old)).decode(),
                          "not_before": None, "not_after": None}]}
    keyring = parse_keyring(json.dumps(document).encode())
    [entry] = keyring.keys
    assert entry.role is None and keyring.active_for(WORKER) == entry
    assert role_may_sign(entry.role, "erased") and role_may_sign(entry.role, "admitted")
    new = Ed25519Signer.generate()
    rotated = keyring.rotated(old.key_id, raw_public_key(new), "2026-01-01T00:00:00.000000Z")
    successor = rotated.active_for(WORKER)
    assert successor is not None and successor.role == WORKER
    assert not role_may_sign(WORKER, "erased") and not role_may_sign(DPO, "admitted")
    document["keys"][0]["role"] = "root"
    with pytest.raises(KeyringError, match="role 'root'"):
        parse_keyring(json.dumps(document).encode())
