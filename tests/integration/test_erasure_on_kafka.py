"""Erasure and retention with the running worker on the real broker: the values behind a
conversation's placeholders are listed to a DPO's subject-access with their decisions, an
erasure makes them unreadable at once (answers keep the placeholder), and the worker's own
retention timer destroys expired keys and audits the run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from stack import KafkaClient, Stack, request

from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.services.stores import open_stores

pytestmark = pytest.mark.integration
TENANT = "city-of-lyon"


def douane_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=stack.env,
                          capture_output=True, text=True, timeout=120)


def subject_access(stack: Stack, value: str) -> dict[str, Any]:
    done = douane_cli(stack, "subject-access", "--tenant", TENANT, "--value", value)
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def ask(client: KafkaClient, request_id: str, text: str, conversation: str) -> str:
    await client.publish(request(request_id, text, TENANT, conversation=conversation))
    responses = await client.responses({request_id}, timeout_s=180)
    [response] = responses[request_id]
    assert response["status"] == "answered", response
    content: str = response["messages"][0]["content"]
    return content


async def test_a_dpo_sees_then_erases_a_person_of_a_conversation(douane: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    name = "Margaux Delacroix-Vidal"
    conversation = f"case-{run}"
    async with KafkaClient(douane.settings) as client:
        first = await ask(client, f"erase-{run}-1", f"Rédige une lettre pour {name}.",
                          conversation)
        assert name in first  # restored for the producing system

        held = subject_access(douane, name)
        assert [(v["value"], v["request_id"]) for v in held["values"]] == [
            (name, f"erase-{run}-1")]
        assert [d["kind"] for d in held["decisions"]] == ["admitted", "forwarded", "answered"]

        erased = douane_cli(douane, "erasure", "request", "--tenant", TENANT, "--value", name,
                            "--reason", f"ticket {run}")
        assert erased.returncode == 0, erased.stderr[-2000:]
        assert "1 vault entries pruned" in erased.stdout and name not in erased.stdout
        assert subject_access(douane, name)["values"] == []

        # the person's placeholder is no longer restored in that conversation's answers
        later = await ask(client, f"erase-{run}-2", "Relance <PERSON_1> demain.", conversation)
        assert "<PERSON_1>" in later and name not in later

    verified = douane_cli(douane, "audit", "verify")
    assert verified.returncode == 0, verified.stdout[-2000:]
    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        erasures = [r for r in store.iter_records() if r.kind == "erased"
                    and r.payload["details"]["reason"] == f"ticket {run}"]
    finally:
        store.close()
    assert len(erasures) == 1 and name not in erasures[0].canonical.decode()


async def test_erasing_a_name_erases_the_e_mail_and_phone_of_its_request(douane: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    name, mail, phone = "Apolline Marchetti", f"contact.{run}@example.fr", "06 12 34 56 78"
    async with KafkaClient(douane.settings) as client:
        await ask(client, f"person-{run}", f"Rédige une lettre pour Madame {name} ({mail}, "
                  f"tél. {phone}).", f"person-{run}")

    # asked with an honorific and another case, subject access finds all three
    held = subject_access(douane, f"MME {name.upper()}")
    assert {v["kind"] for v in held["values"]} >= {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"}
    assert held["policy"]["in_force_since"] is not None  # the worker's record, not the folder

    erased = douane_cli(douane, "erasure", "request", "--tenant", TENANT, "--value", name,
                        "--case", f"DPO-{run}")
    assert erased.returncode == 0, erased.stdout[-2000:] + erased.stderr[-2000:]
    assert "in force in the worker since" in erased.stdout
    assert not [v for v in (name, mail, phone) if v in erased.stdout]
    after = subject_access(douane, mail)
    assert after["values"] == []
    assert [e["case"] for e in after["erasures"]] == [f"DPO-{run}"]


async def test_the_workers_timers_run_retention_and_sign_checkpoints(douane: Stack) -> None:
    with open_stores(douane.settings) as (keys, vault):
        entry = vault.put(TENANT, f"Timer Person {uuid.uuid4().hex[:6]}", kind="PERSON",
                          retention_s=2)
    log_start = len(douane.log_text("worker-retention")) if (
        douane.logs / "worker-retention.log").exists() else 0
    # a second worker of the same group, its retention and checkpoint timers every second
    douane.start("worker-retention", "worker", env={"DOUANE_RETENTION_INTERVAL_S": "1",
                                                    "DOUANE_CHECKPOINT_INTERVAL_S": "1"})
    try:
        deadline = time.monotonic() + 240
        destroyed = False
        while time.monotonic() < deadline and not destroyed:
            await asyncio.sleep(1)
            with open_stores(douane.settings) as (keys, _):
                destroyed = entry.key_id not in keys.live_key_ids()
        assert destroyed, douane.log_text("worker-retention")[log_start:][-3000:]
        logged = douane.log_text("worker-retention")[log_start:]
        assert "retention run" in logged
        # a later signed checkpoint covers the record of the run that destroyed the key (not
        # "the whole log": each one-second run appends a record, racing the checkpoint timer)
        covered = False
        while time.monotonic() < deadline and not covered:
            await asyncio.sleep(1)
            store = open_sqlite_reader(douane.settings.audit_db)
            try:
                destroying_runs = [
                    r.seq for r in store.iter_records() if r.kind == "retention_run"
                    and r.payload["details"]["stores"]["key_store"]["data_keys_destroyed"] >= 1]
                latest = store.latest_checkpoint()
                covered = bool(destroying_runs) and latest is not None and (
                    latest.size >= destroying_runs[-1])
            finally:
                store.close()
        assert covered, douane.log_text("worker-retention")[log_start:][-3000:]
    finally:
        douane.stop("worker-retention")

    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        runs = [r.payload["details"] for r in store.iter_records() if r.kind == "retention_run"]
    finally:
        store.close()
    assert any(d["stores"]["key_store"]["data_keys_destroyed"] >= 1
               and d["stores"]["vault"]["entries_pruned"] >= 1 for d in runs)
    with open_stores(douane.settings) as (_, vault):
        assert vault.placeholders_of(TENANT, "none") == {}
        assert entry.entry_id not in {v.entry.entry_id
                                      for v in vault.of_subject(TENANT, entry.subject)}
