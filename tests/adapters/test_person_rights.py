"""Person-level rights for a DPO, on real SQLite stores and through the ``douane`` command run
as a process: identifiers kept from one request are one person's, erasure and subject access
act on the person, a hold protects all of it, ambiguous links wait for a DPO's decision, and
every command names the policy the worker runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from streams import cli
from streams.adapters.audit.open import open_audit_reader
from streams.adapters.key_store import KeyStore, SubjectHeldError
from streams.adapters.personal_vault import NewValue, PersonalVault
from streams.adapters.policy_files import load_policy_set
from streams.adapters.policy_reload import policy_event
from streams.config import Settings, load_settings, project_root
from streams.core.keyring import WORKER
from streams.services.audit_log import open_writer
from streams.services.erasure import ErasureRefusedError, erase_subject
from streams.services.retention import retention_run
from streams.services.stores import open_stores

HOUR = 3_600
TENANT = "city-of-lyon"
JEANNE, JEANNE_MAIL, JEANNE_PHONE = "Jeanne Martin", "jeanne.martin@example.fr", "06 12 34 56 78"
PAUL, PAUL_MAIL, OFFICE = "Paul Durand", "paul.durand@example.fr", "accueil@mairie.example.fr"
SHARED = "famille.martin-durand@example.fr"
NIR = "2 84 05 75 123 456 78"
EVERY_VALUE = (JEANNE, JEANNE_MAIL, JEANNE_PHONE, PAUL, PAUL_MAIL, OFFICE, SHARED, NIR)


class Clock:
    def __init__(self) -> None:
        self.now = 1_764_000_000.0

    def __call__(self) -> float:
        return self.now


pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DOUANE_HOME", str(tmp_path / "home"))
    return load_settings({"DOUANE_HOME": str(tmp_path / "home")})


def keep(vault: PersonalVault, request_id: str, *values: tuple[str, str],
         retention_s: int = HOUR) -> None:
    """What the worker keeps of one request (its placeholders' values, one commit)."""
    vault.put_many(TENANT, [NewValue(value, kind) for value, kind in values],
                   retention_s=retention_s, request_id=request_id)


def douane(settings: Settings, *args: str,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args],
                          env={**os.environ, "DOUANE_HOME": str(settings.home), **(env or {})},
                          capture_output=True, text=True, timeout=120, cwd=project_root())


def readable(vault: PersonalVault, keys: KeyStore, value: str) -> bool:
    entries = vault.of_subject(TENANT, keys.fingerprint(TENANT, value))
    return bool(entries) and all(e.value == value for e in entries)


def records(settings: Settings, kind: str) -> list[dict[str, Any]]:
    with open_audit_reader(settings) as reader:
        return [r.payload for r in reader.iter_records() if r.kind == kind]


def whole_log(settings: Settings) -> str:
    with open_audit_reader(settings) as reader:
        return "".join(r.canonical.decode() for r in reader.iter_records())


def test_erasing_a_name_erases_the_person_and_subject_access_shows_the_erasure(
        settings: Settings) -> None:
    with open_stores(settings) as (_, vault):
        keep(vault, "req-1", (f"Madame {JEANNE}", "PERSON"), (JEANNE_MAIL, "EMAIL_ADDRESS"),
             (JEANNE_PHONE, "PHONE_NUMBER"))
        # a letter from Jeanne to Paul: links nobody
        keep(vault, "req-2", (JEANNE, "PERSON"), (PAUL, "PERSON"), (OFFICE, "EMAIL_ADDRESS"))
        keep(vault, "req-3", (PAUL, "PERSON"), (PAUL_MAIL, "EMAIL_ADDRESS"))

    dry = douane(settings, "erasure", "request", "--tenant", TENANT, "--value", JEANNE,
                 "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "person: 3 identifiers linked" in dry.stdout
    assert "3 data keys would be destroyed" in dry.stdout and "would proceed" in dry.stdout
    assert "not linked: 2 identifiers named beside the person" in dry.stdout
    assert not settings.audit_db.exists()  # a dry run records nothing

    done = douane(settings, "erasure", "request", "--tenant", TENANT, "--value",
                  "mme jeanne MARTIN", "--case", "DPO-2026-4")
    assert done.returncode == 0, done.stderr
    assert "3 data keys destroyed" in done.stdout and "3 identifiers of the person" in done.stdout
    assert "douane cannot erase:" in done.stdout
    assert "Kafka keeps messages in clear for 1h" in done.stdout
    assert f"douane.requests.{TENANT}" in done.stdout
    assert "policy: national-administration 1" in done.stdout
    with open_stores(settings) as (keys, vault):
        for value in (JEANNE, JEANNE_MAIL, JEANNE_PHONE):
            assert not readable(vault, keys, value)
        for value in (PAUL, PAUL_MAIL, OFFICE):  # the other person, and the letter's mailbox
            assert readable(vault, keys, value)

    # asked by her e-mail, subject access finds the erasure of the person: when, who, which case
    access = douane(settings, "subject-access", "--tenant", TENANT, "--value", JEANNE_MAIL)
    assert access.returncode == 0, access.stderr
    answer = json.loads(access.stdout)
    assert answer["values"] == []
    [erasure] = answer["erasures"]
    assert erasure["case"] == "DPO-2026-4" and "@" in erasure["requested_by"]
    assert erasure["erased_at"].endswith("Z") and erasure["identifiers"] == 3
    assert any("douane.requests.city-of-lyon" in line for line in answer["cannot_erase"])
    assert answer["policy"]["reference"]["name"] == "national-administration"

    [record] = records(settings, "erased")
    assert record["details"]["case"] == "DPO-2026-4"
    assert len(record["details"]["subjects"]) == 3
    printed = dry.stdout + dry.stderr + done.stdout + done.stderr + access.stdout
    assert not [v for v in EVERY_VALUE if v in printed or v in whole_log(settings)]


def test_a_hold_on_the_name_protects_the_whole_person(settings: Settings) -> None:
    clock = Clock()
    with open_stores(settings, clock) as (keys, vault):
        keep(vault, "req-1", (JEANNE, "PERSON"), (JEANNE_MAIL, "EMAIL_ADDRESS"))
        keep(vault, "req-3", (PAUL, "PERSON"), (PAUL_MAIL, "EMAIL_ADDRESS"))
    held = douane(settings, "hold", "add", "--tenant", TENANT, "--value", JEANNE,
                  "--reason", "case TA-117")
    assert held.returncode == 0, held.stderr
    assert "it protects the whole person" in held.stdout and "(2 identifiers now)" in held.stdout
    with open_stores(settings, clock) as (keys, vault):
        [hold] = keys.holds()

    refused = douane(settings, "erasure", "request", "--tenant", TENANT, "--value", JEANNE_MAIL)
    assert refused.returncode == 1
    assert f"under legal hold {hold.hold_id} (case TA-117)" in refused.stdout
    [refusal] = records(settings, "erasure_refused")
    assert refusal["details"]["hold_id"] == hold.hold_id
    assert refusal["details"]["hold_reason"] == "case TA-117"

    with open_stores(settings, clock) as (keys, vault):
        assert readable(vault, keys, JEANNE_MAIL)
        clock.now += 3 * HOUR  # every key's period has ended
        as_of = "2025-11-24T20:00Z"  # T0 + 4h, as an operator types it
        dry = douane(settings, "retention", "run", "--dry-run", "--as-of", as_of)
        assert dry.returncode == 0, dry.stderr
        assert "2 data keys would be destroyed" in dry.stdout
        assert f"hold       {hold.hold_id} (case TA-117) keeps 2 expired keys" in dry.stdout
        with open_writer(settings) as audit:
            run = retention_run(keys, vault, audit)
        assert (len(run.destroyed.keys), run.destroyed.held) == (2, 2)
        assert readable(vault, keys, JEANNE_MAIL) and readable(vault, keys, JEANNE)
        assert not readable(vault, keys, PAUL_MAIL)


def test_a_shared_mailbox_waits_for_a_dpo_and_a_confirmation_links_two_requests(
        settings: Settings) -> None:
    with open_stores(settings) as (_, vault):
        keep(vault, "req-4", (JEANNE, "PERSON"), (SHARED, "EMAIL_ADDRESS"))
        keep(vault, "req-5", (PAUL, "PERSON"), (SHARED, "EMAIL_ADDRESS"))
        keep(vault, "req-6", (NIR, "FR_NIR"))

    refused = douane(settings, "erasure", "request", "--tenant", TENANT, "--value", JEANNE)
    assert refused.returncode == 1 and "AMBIGUOUS" in refused.stdout
    assert "douane subject split --tenant TENANT --subject" in refused.stdout
    assert [r["details"]["refused_by"] for r in records(settings, "erasure_refused")] == [
        "ambiguous-person"]
    access = json.loads(douane(settings, "subject-access", "--tenant", TENANT, "--value",
                               JEANNE).stdout)
    assert [v["value"] for v in access["values"]] == [JEANNE]  # the others are withheld
    assert len(access["withheld"]) == 2 and access["person"]["ambiguous"] is True

    with open_stores(settings) as (keys, _):
        paul = keys.fingerprint(TENANT, PAUL)
    split = douane(settings, "subject", "split", "--tenant", TENANT, "--subject", paul,
                   "--value", SHARED, "--case", "DPO-9")
    assert split.returncode == 0, split.stderr
    confirm = douane(settings, "subject", "confirm", "--tenant", TENANT, "--value", JEANNE,
                     "--value", NIR, "--case", "DPO-9")
    assert confirm.returncode == 0, confirm.stderr
    assert "person: 3 identifiers linked" in confirm.stdout
    typo = douane(settings, "subject", "confirm", "--tenant", TENANT, "--value", JEANNE,
                  "--value", "Jeane Martin", "--case", "DPO-9")
    assert typo.returncode == 1 and "keeps no value for identifier 2" in typo.stderr
    assert "Jeane" not in typo.stderr

    with open_stores(settings) as (keys, vault), open_writer(settings) as audit:
        erased = erase_subject(keys, vault, audit, TENANT, keys.fingerprint(TENANT, JEANNE),
                               "request 12")
        assert len(erased.destroyed.keys) == 3  # her name, the mailbox, the confirmed NIR
        assert not readable(vault, keys, SHARED) and not readable(vault, keys, NIR)
        assert readable(vault, keys, PAUL)
    assert [r["details"]["decision"] for r in records(settings, "subject_linked")] == [
        "split", "confirmed"]
    assert not [v for v in EVERY_VALUE if v in whole_log(settings)]


def test_the_services_refuse_like_the_command(settings: Settings) -> None:
    with open_stores(settings) as (keys, vault):
        keep(vault, "req-4", (JEANNE, "PERSON"), (SHARED, "EMAIL_ADDRESS"))
        keep(vault, "req-5", (PAUL, "PERSON"), (SHARED, "EMAIL_ADDRESS"))
        with open_writer(settings) as audit:
            with pytest.raises(ErasureRefusedError, match="confirm or split"):
                erase_subject(keys, vault, audit, TENANT, keys.fingerprint(TENANT, JEANNE), "x")
            keys.add_hold(TENANT, keys.fingerprint(TENANT, PAUL), "case 3")
            with pytest.raises(SubjectHeldError, match="case 3"):
                erase_subject(keys, vault, audit, TENANT, keys.fingerprint(TENANT, SHARED), "x")
        assert readable(vault, keys, JEANNE) and readable(vault, keys, SHARED)


def _worker_loaded(settings: Settings, source: Path) -> None:
    """The record a worker writes when it starts on the set at ``source``."""
    loaded = load_policy_set(source)
    with open_writer(settings, WORKER) as audit:
        audit.append(policy_event("loaded", None, loaded, source, "douane-test"))


def test_dpo_commands_use_the_policy_the_worker_runs(settings: Settings,
                                                     tmp_path: Path) -> None:
    running, edited = tmp_path / "running", tmp_path / "edited"
    shutil.copytree(project_root() / "policies", running)
    shutil.copytree(project_root() / "policies", edited)
    guardrails = edited / "guardrails.yaml"
    guardrails.write_text(guardrails.read_text().replace("raw_topics: 1h", "raw_topics: 2h"))
    manifest = edited / "policy.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1", "version: 2"))
    _worker_loaded(settings, running)
    here = {"DOUANE_POLICY": str(edited)}  # what the DPO's folder holds: not in force

    status = douane(settings, "retention", "status", env=here)
    assert status.returncode == 0, status.stderr
    assert "policy: national-administration 1" in status.stdout
    assert "in force in the worker since" in status.stdout and str(running) in status.stdout
    assert f"douane.requests.{TENANT}: retention.ms 3600000 (1h)" in status.stdout

    # the worker's folder changed under it: no figure from a set no worker runs
    (running / "policy.yaml").write_text((edited / "policy.yaml").read_text())
    changed = douane(settings, "retention", "status", env=here)
    assert changed.returncode == 0, changed.stderr
    assert "no policy folder this command can read holds that set" in changed.stdout
    assert "retention.ms" not in changed.stdout

    # no worker has recorded a policy: the folder's set, said to be not known in force
    settings.audit_db.unlink()
    fresh = douane(settings, "retention", "status", env=here)
    assert "policy: national-administration 2" in fresh.stdout
    assert "not known to be in force" in fresh.stdout


def test_retention_dry_run_changes_nothing(settings: Settings,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with open_stores(settings) as (_, vault):
        keep(vault, "req-1", (JEANNE, "PERSON"))
    capsys.readouterr()
    assert cli.main(["retention", "run", "--dry-run", "--as-of", "2999-01-01"]) == 0
    out = capsys.readouterr().out
    assert "1 data keys would be destroyed, 1 vault entries pruned" in out
    assert not settings.audit_db.exists()
    assert cli.main(["retention", "run", "--as-of", "2999-01-01"]) == 2
    assert "--as-of only with --dry-run" in capsys.readouterr().err
    with open_stores(settings) as (keys, vault):
        assert readable(vault, keys, JEANNE)
