"""Policies in the running system, on the real broker: topic retention read back from Kafka,
residency enforced end to end, and hot reload - a valid change applied, an invalid one
refused with the old policy kept - each audited as a policy_changed record."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack import KafkaClient, Stack, request

from streams.adapters.audit.open import open_audit_reader
from streams.adapters.kafka_security import kafka_connection
from streams.adapters.topic_retention import read_retention, read_topic_configs, retention_ms
from streams.core.retention import topic_retention_settings
from streams.worker import load_policy

pytestmark = pytest.mark.integration


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def policy_records(stack: Stack) -> list[dict[str, Any]]:
    reader = open_audit_reader(stack.settings)
    try:
        return [r.payload for r in reader.iter_records() if r.kind == "policy_changed"]
    finally:
        reader.close()


async def wait_for_policy_record(stack: Stack, event: str, after: str | None,
                                 seen: int, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for payload in policy_records(stack)[seen:]:
            details = payload["details"]
            if details["event"] == event and (
                    after is None or (details["after"] or {}).get("sha256") == after):
                return payload
        await asyncio.sleep(0.5)
    raise AssertionError(f"no '{event}' policy record within {timeout_s}s:\n"
                         + stack.log_text("worker")[-3000:])


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, "utf-8")
    temporary.replace(path)


async def test_topic_retention_follows_the_policy(douane: Stack) -> None:
    """The session's topics were created with Kafka's defaults (tests/integration/conftest.py):
    what the broker reports now is what the running worker set."""
    wanted = retention_ms(load_policy(douane.settings.policy_path))
    # secret-never-leaves: raw_topics 1h
    assert wanted["douane.requests.city-of-lyon"] == 3600 * 1000
    assert wanted["douane.forward.anthropic"] == 86400 * 1000  # only public data goes there
    on_broker = await read_topic_configs(kafka_connection(douane.settings, "admin"),
                                         list(wanted))
    assert {"douane.requests.city-of-lyon", "douane.responses.city-of-lyon",
            "douane.rejected.city-of-lyon", "douane.forward.sovereign-local"} <= set(on_broker)
    assert wanted["douane.rejected.city-of-lyon"] == wanted["douane.requests.city-of-lyon"]
    settings = ("retention.ms", "segment.ms", "file.delete.delay.ms", "message.timestamp.type")
    assert {name: {k: config.values[k] for k in settings}
            for name, config in on_broker.items()} == {
        name: topic_retention_settings(ms) for name, ms in wanted.items() if name in on_broker}
    lyon = on_broker["douane.requests.city-of-lyon"].values
    assert (lyon["segment.ms"], lyon["file.delete.delay.ms"]) == ("360000", "60000")

    status = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", "retention", "status"],
        env=douane.env, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    # read from the broker: its 10 s check (streams/devtools/kafka_broker.py) and each topic
    assert ("looks for expired segments every 10s (log.retention.check.interval.ms)"
            in status.stdout), status.stdout
    assert ("kafka      douane.requests.city-of-lyon: retention.ms 3600000 (1h), segment.ms 6m, "
            "file.delete.delay.ms 1m: at most 1h7m10s on disk with the broker's check every "
            "10s") in status.stdout, status.stdout
    assert "NOT known" not in status.stdout and "NO bound" not in status.stdout


async def test_residency_is_enforced_end_to_end(douane: Stack) -> None:
    prefix = f"res-{run_id()}"
    cases = {
        f"{prefix}-us-model": request(f"{prefix}-us-model", "Draft a reply to this patient.",
                                      "regional-health-agency", model="gpt-4.1"),
        f"{prefix}-secret": request(f"{prefix}-secret", "Summarise the plan.", "city-of-lyon",
                                    classification="secret"),
        f"{prefix}-fraud": request(f"{prefix}-fraud", "Did Jean Moreau pay the tax owed?",
                                   "tax-office", purpose="fraud-investigation",
                                   language="en"),
    }
    async with KafkaClient(douane.settings) as client:
        for raw in cases.values():
            await client.publish(raw)
        responses = await client.responses(set(cases), timeout_s=120)
    us, secret, fraud = (responses[i][0] for i in cases)
    assert us["status"] == "blocked" and us["reasons"][0]["code"] == "model-not-allowed"
    assert secret["status"] == "blocked"
    assert secret["reasons"][0]["code"] == "no-allowed-provider"
    # the rule that decided is named in the audit record, never to the caller
    assert "secret-never-leaves" not in json.dumps(secret["reasons"])
    reader = open_audit_reader(douane.settings)
    try:
        [blocked] = [r.payload for r in reader.iter_records()
                     if r.request_id == f"{prefix}-secret"]
    finally:
        reader.close()
    assert "secret-never-leaves" in blocked["details"]["reasons"][0]["message"]
    assert fraud["status"] == "answered" and fraud["provider"] == "sovereign-local"
    received = {r["request_id"]: r for r in await douane.received()}
    assert f"{prefix}-us-model" not in received and f"{prefix}-secret" not in received
    left = received[f"{prefix}-fraud"]["body"]["messages"][0]["content"]
    assert "Jean Moreau" not in left and "<PERSON#" in left  # keyed hash under the tenant key


async def test_hot_reload_applies_a_valid_set_and_refuses_an_invalid_one(douane: Stack) -> None:
    path = douane.settings.policy_path
    original = path.read_text("utf-8")
    old = load_policy(path)
    admin = kafka_connection(douane.settings, "admin")
    seen = len(policy_records(douane))
    assert any(p["details"]["event"] == "loaded" and p["details"]["after"]["sha256"] ==
               old.digest for p in policy_records(douane))  # the start is audited too
    try:
        # 1. a valid change: secret data may stay on the raw topics 30 minutes, not an hour
        changed = original.replace("raw_topics: 1h", "raw_topics: 30m").replace(
            "version: 1", "version: 2")
        assert changed != original
        write_atomically(path, changed)
        new = load_policy(path)
        applied = await wait_for_policy_record(douane, "applied", new.digest, seen)
        assert applied["details"]["before"]["sha256"] == old.digest
        assert applied["details"]["loaded_by"]["process"] == "douane worker"
        deadline = time.monotonic() + 30
        while (await read_retention(admin, ["douane.requests.city-of-lyon"])).get(
                "douane.requests.city-of-lyon") != 1800 * 1000 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert (await read_retention(admin, ["douane.requests.city-of-lyon"])) == \
            {"douane.requests.city-of-lyon": 1800 * 1000}
        # the segments follow the new retention too (a tenth of 30 minutes)
        reloaded = (await read_topic_configs(admin, ["douane.requests.city-of-lyon"]))[
            "douane.requests.city-of-lyon"].values
        assert reloaded["segment.ms"] == "180000"
        async with KafkaClient(douane.settings) as client:
            probe = f"reload-{run_id()}"
            await client.publish(request(probe, "Opening hours of the library?"))
            [answer] = (await client.responses({probe}, timeout_s=60))[probe]
        assert answer["policy_hash"] == new.digest

        # 2. an invalid change: refused, logged, audited; version 2 stays in force
        seen = len(policy_records(douane))
        write_atomically(path, changed.replace("version: 2", "version: two"))
        refused = await wait_for_policy_record(douane, "refused", None, seen)
        assert refused["details"]["policy"]["sha256"] == new.digest
        assert any(re.search(r"policy\.yaml:\d+:10: version: expected integer, got string", p)
                   for p in refused["details"]["problems"]), refused["details"]["problems"]
        assert "policy change refused" in douane.log_text("worker")
        async with KafkaClient(douane.settings) as client:
            probe = f"refused-{run_id()}"
            await client.publish(request(probe, "Opening hours of the library?"))
            [answer] = (await client.responses({probe}, timeout_s=60))[probe]
        assert answer["policy_hash"] == new.digest
    finally:
        seen = len(policy_records(douane))
        write_atomically(path, original)
        await wait_for_policy_record(douane, "applied", old.digest, seen)
    deadline = time.monotonic() + 30
    while (await read_retention(admin, ["douane.requests.city-of-lyon"])).get(
            "douane.requests.city-of-lyon") != 3600 * 1000 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert (await read_retention(admin, ["douane.requests.city-of-lyon"])) == \
        {"douane.requests.city-of-lyon": 3600 * 1000}


async def test_hot_reload_refuses_a_set_whose_own_cases_fail(douane: Stack) -> None:
    """The running worker runs the new set's own test cases before applying it: a set that
    fails one is refused and audited (case named, its text not), the old set stays."""
    path = douane.settings.policy_path
    original = path.read_text("utf-8")
    old = load_policy(path)
    cases = path.parent / "tests" / "rollout.yaml"
    cases.parent.mkdir(exist_ok=True)
    cases.write_text(yaml.safe_dump({"cases": [{
        "name": "city casework stays on our own servers",
        "request": {"tenant": "city-of-lyon", "purpose": "casework",
                    "text": "Reply to Jeanne Martin about her file."},
        "entities": {"PERSON": ["Jeanne Martin"]},
        "expect": {"decision": "forward", "provider": "sovereign-local"}}]}), "utf-8")
    seen = len(policy_records(douane))
    try:
        # valid, with a new version, but casework would now go to mistral-paris first
        document = yaml.safe_load(original)
        document["version"] = old.policy.version + 10
        rule = next(r for r in document["rules"] if r["id"] == "baseline-personal")
        rule["residency"]["providers"] = ["mistral-paris", "sovereign-local"]
        write_atomically(path, yaml.safe_dump(document, sort_keys=False))
        refused = await wait_for_policy_record(douane, "refused", None, seen)
        details = refused["details"]
        assert details["policy"]["sha256"] == old.digest
        assert details["after"]["version"] == old.policy.version + 10
        assert details["tests"]["failed"] == [{
            "file": details["tests"]["failed"][0]["file"], "line": 2,
            "name": "city casework stays on our own servers", "differs": ["provider"]}]
        assert "Jeanne Martin" not in str(refused)
        async with KafkaClient(douane.settings) as client:
            probe = f"own-cases-{run_id()}"
            await client.publish(request(probe, "Opening hours of the library?"))
            [answer] = (await client.responses({probe}, timeout_s=60))[probe]
        assert answer["policy_hash"] == old.digest
    finally:
        cases.unlink()
        write_atomically(path, original)  # the set in force: nothing to apply
