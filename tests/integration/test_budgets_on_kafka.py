"""Budgets on the real broker with two workers in one consumer group sharing one PostgreSQL
audit log (issue 17, "Budgets").

Two stand-in providers speak Chat Completions and report usage as OpenAI does (one prompt and one
completion token per answer): ``cloud``, priced so that every answer costs 2.000000 EUR, first in
the rule's order, and ``local``, priced at zero. Requests are sent one after the other, so that
each is decided after the previous one's answer is in the ledger, whichever worker took it:
- purpose ``casework`` has a 10 EUR budget with ``when_exhausted: route``: the first five
  answers come from ``cloud`` (the fifth is decided at 8 EUR, past the 80 % warning), then the
  spend is 10 EUR and the next requests go to ``local``;
- purpose ``letters`` has a 4 EUR budget with ``when_exhausted: block``: two answers from
  ``cloud``, then ``budget-exhausted``.
Afterwards the ledger equals the sum recomputed from the signed records, the log verifies, and
each budget's warning and exhaustion were recorded and logged once, although both workers
decided requests past them.

The month is the calendar month (UTC) of the run: a run that crosses midnight at the end of a
month starts a new month's spend half-way, and fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError
from stack import KafkaClient, Stack, request, wait_until

from streams.adapters.audit.postgres import open_postgres_reader
from streams.adapters.audit.spend_ledger import ledger_rows
from streams.adapters.kafka_security import kafka_connection
from streams.config import load_settings
from streams.core.budgets import ledger_of
from streams.core.tenant_topics import request_topic
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.ports import free_port
from streams.devtools.stand_ins.common import StandIn
from streams.devtools.stand_ins.server import RunningStandIn, running
from streams.front_door.readiness import WorkerGroupWatch
from streams.services.topics import ensure_topics, topic_names
from streams.worker import load_policy

pytestmark = pytest.mark.integration

GROUP = "douane-budgets"
WORKERS = ("worker-a", "worker-b")
TENANT = "city-of-lyon"
PER_ANSWER = "2.000000"  # one token in, one out, at 1 000 000 EUR per million each


def policy(cloud: str, local: str) -> dict[str, Any]:
    def price(per_million: int) -> list[dict[str, Any]]:
        return [{"valid_from": "2025-01-01", "currency": "EUR",
                 "input_per_million": per_million, "output_per_million": per_million}]
    return {
        "policy": "budgets-it", "version": 1,
        "providers": [
            {"id": "cloud", "kind": "openai-compatible", "endpoint": cloud, "models": ["big"],
             "jurisdiction": "FR", "prices": price(1_000_000)},
            {"id": "local", "kind": "openai-compatible", "endpoint": local,
             "models": ["small"], "jurisdiction": "FR", "hosting": "on-premises",
             "prices": price(0)},
        ],
        "tenants": [{"id": TENANT, "default_classification": "internal"}],
        "purposes": [{"id": "casework"}, {"id": "letters"}],
        "rules": [{"id": "everything", "residency": {"providers": ["cloud", "local"]}}],
        "budgets": [
            {"id": "casework", "tenant": TENANT, "purpose": "casework", "monthly": 10,
             "currency": "EUR", "warn_at_percent": 80, "when_exhausted": "route"},
            {"id": "letters", "tenant": TENANT, "purpose": "letters", "monthly": 4,
             "currency": "EUR", "when_exhausted": "block"},
        ],
    }


@pytest_asyncio.fixture
async def two_workers(tmp_path: Path, postgres_database: str
                      ) -> AsyncIterator[tuple[Stack, RunningStandIn, RunningStandIn]]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    async with running("openai-chat", StandIn("cloud", ("big",))) as cloud, \
            running("openai-chat", StandIn("local", ("small",))) as local:
        (home / "policy.yaml").write_text(
            yaml.safe_dump(policy(cloud.base_url, local.base_url), sort_keys=False))
        env = {**os.environ,
               "DOUANE_HOME": str(home), "DOUANE_POLICY": str(home / "policy.yaml"),
               "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
               "DOUANE_APP_ID": GROUP, "DOUANE_LOG_FORMAT": "json",
               "DOUANE_AUDIT_DSN": postgres_database,
               "DOUANE_DETECTION_PROCESSES": "0",
               "DOUANE_KAFKA_SESSION_TIMEOUT_S": "10",
               "DOUANE_DETECTOR_TIMEOUT_S": "120", "DOUANE_PROVIDER_TIMEOUT_S": "120",
               "DOUANE_AUDIT_BUSY_TIMEOUT_S": "60"}
        settings = load_settings(env)
        (home / "logs").mkdir()
        stack = Stack(settings, env, cloud.base_url, home / "logs")
        await start_broker(settings, timeout_s=120)
        try:
            await ensure_topics(kafka_connection(settings, "admin"),
                                topic_names(load_policy(settings.policy_path)))
            for name in WORKERS:
                stack.start(name, "worker")
            yield stack, cloud, local
        finally:
            for name in list(stack.processes):
                stack.stop(name, kill=True)
            await stop_broker(settings)


def all_logs(stack: Stack) -> str:
    return "\n".join(f"--- {name}\n{stack.log_text(name)[-3000:]}" for name in WORKERS)


def log_events(stack: Stack, event: str) -> list[dict[str, Any]]:
    found = []
    for name in WORKERS:
        for line in stack.log_text(name).splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == event:
                found.append({**entry, "worker": name})
    return found


async def test_budgets_route_then_block_across_two_workers_and_match_the_log(
        two_workers: tuple[Stack, RunningStandIn, RunningStandIn],
        postgres_database: str) -> None:
    stack, cloud, local = two_workers
    topic = request_topic(TENANT)
    seen: dict[str, object] = {}

    async def both_consume() -> bool:
        """The group is stable, each worker assigned partitions of the tenant's request
        topic (so that the requests below are spread over both)."""
        watch = WorkerGroupWatch(kafka_connection(stack.settings, "admin"), GROUP, [topic])
        await watch.admin.start()
        try:
            view = await watch.describe()
        except KafkaError as error:  # e.g. no coordinator elected yet: ask again
            seen.update(error=repr(error))
            return False
        finally:
            await watch.admin.close()
        assigned = [{t: len(p) for t, p in ConsumerProtocolMemberAssignment.decode(raw).assignment}
                    if raw else {} for raw in view.assignments]
        seen.update(state=view.state, assigned=assigned)
        return (view.state == "Stable" and len(assigned) == len(WORKERS)
                and all(member.get(topic) for member in assigned))

    await wait_until(both_consume, 900,
                     lambda: f"the two workers did not both join the group (last seen: {seen})\n"
                     + all_logs(stack), poll_s=2)
    outcomes: dict[str, list[str]] = {"casework": [], "letters": []}
    ids: list[str] = []
    async with KafkaClient(stack.settings) as client:
        for purpose, count in (("casework", 8), ("letters", 4)):
            for n in range(count):
                # fixed ids: fixed partitions, spread over both workers' shares (a fresh broker
                # and log each run, so no id is ever seen twice)
                request_id = f"budget-{purpose}-{n}"
                ids.append(request_id)
                await client.publish(request(request_id, f"Summarise note {n} in one line.",
                                             purpose=purpose))
                found = (await client.responses({request_id}, timeout_s=600,
                                                settle_s=0))[request_id]
                assert len(found) == 1, (request_id, found, all_logs(stack))
                response = found[0]
                outcomes[purpose].append(
                    response.get("provider", "?") if response["status"] == "answered"
                    else f"{response['status']}:"
                    + ",".join(r["code"] for r in response["reasons"]))
    assert outcomes == {
        "casework": ["cloud"] * 5 + ["local"] * 3,
        "letters": ["cloud", "cloud", "blocked:budget-exhausted", "blocked:budget-exhausted"],
    }, all_logs(stack)
    # both workers decided requests (the partitions are shared), so each saw the other's spend
    deciders = {e["worker"] for e in log_events(stack, "decided")}
    assert deciders == set(WORKERS), deciders
    assert len(cloud.state.received) == 7 and len(local.state.received) == 3

    with open_postgres_reader(postgres_database) as reader:
        records = list(reader.iter_records())
        with reader._lock:
            ledger = ledger_rows(reader._db)
    recomputed = ledger_of(r.payload for r in records)
    month = next(r.payload["occurred_at"][:7] for r in records if r.kind == "answered")
    assert {key: micros for key, (micros, _) in ledger.items()} == recomputed == {
        (TENANT, "casework", month, "EUR"): 10_000_000,
        (TENANT, "letters", month, "EUR"): 4_000_000,
    }
    assert {key: answers for key, (_, answers) in ledger.items()} == {
        (TENANT, "casework", month, "EUR"): 8, (TENANT, "letters", month, "EUR"): 2}
    alerts = sorted(r.record_id for r in records if r.kind == "budget_alert")
    assert alerts == [f"budget/casework/{month}/exhausted", f"budget/casework/{month}/warn",
                      f"budget/letters/{month}/exhausted"]
    logged = sorted((e["event"], e["budget"]) for e in log_events(stack, "budget exhausted")
                    + log_events(stack, "budget warning"))
    assert logged == [("budget exhausted", "casework"), ("budget exhausted", "letters"),
                      ("budget warning", "casework")]
    blocked = [r for r in records if r.kind == "blocked"]
    assert [r.payload["details"]["reasons"][0]["code"] for r in blocked] == \
        ["budget-exhausted"] * 2

    verified = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", "audit", "verify"],
        env=stack.env, capture_output=True, text=True, timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr
