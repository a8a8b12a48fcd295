"""Three workers in one consumer group share one PostgreSQL audit log; one is killed with
``kill -9`` under load (issue 19, "Many workers, shared stores").

Afterwards every request has exactly one response (answered, or, for a request the killed
worker had sent to the model, ``failed`` with ``delivery-uncertain``: docs/concurrency.md), no
request reached the model twice, the audit records match the responses, the log is one chain
that ``douane audit verify`` accepts, and its checkpoints were each signed once. Three workers
each sign a checkpoint every 10 records and every second (the timer in ``streams.worker``);
a second signing of a size already checkpointed would be a failed insert
(``audit_checkpoints.size`` is the key), logged as "checkpoint signing failed", or a second
signature line in a note.

A broker of its own: the session's worker (SQLite audit log, group ``douane-it``) must not
answer these requests. Dynamic membership (no ``DOUANE_KAFKA_GROUP_INSTANCE_ID``): the killed
worker is not restarted, so what is tested is that the two survivors take its partitions over
(after its 10 s session times out) and finish its in-flight requests without answering twice;
a static member's partitions would wait for it for the same session timeout. The workers
detect in-process (``DOUANE_DETECTION_PROCESSES=0``): three more processes loading the
language models would not fit beside the rest of the test suite on two cores, and detection's
isolation is not what is tested here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError
from stack import KafkaClient, Stack, request, wait_until

from streams.adapters.audit.postgres import open_postgres_reader
from streams.adapters.kafka_security import kafka_connection
from streams.config import load_settings
from streams.core.checkpoint import SIGNATURE_PREFIX
from streams.core.tenant_topics import request_topic
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.local_stack import wait_http, write_local_policy
from streams.devtools.ports import free_port
from streams.front_door.readiness import WorkerGroupWatch
from streams.services.topics import ensure_topics, topic_names
from streams.worker import load_policy

pytestmark = pytest.mark.integration

GROUP = "douane-many"
WORKERS = ("worker-a", "worker-b", "worker-c")
KILLED = "worker-b"
REQUESTS = 150
PUBLISH_PAUSE_S = 0.1  # a modest rate (about 10 requests/s), so that work is spread out
KILL_AFTER = 75  # requests published before the kill
MODEL_LATENCY_MS = 1500  # requests wait at the stand-in: several are in flight at the kill
TENANT = "city-of-lyon"


@pytest_asyncio.fixture
async def three_workers(tmp_path: Path, postgres_database: str) -> AsyncIterator[Stack]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    model_port = free_port()
    write_local_policy(home / "policy.yaml", model_port)
    env = {**os.environ,
           "DOUANE_HOME": str(home), "DOUANE_POLICY": str(home / "policy.yaml"),
           "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
           "DOUANE_APP_ID": GROUP, "DOUANE_LOG_FORMAT": "json",
           "DOUANE_AUDIT_DSN": postgres_database,
           "DOUANE_DETECTION_PROCESSES": "0",
           # every worker signs checkpoints often, so that they meet at the same sizes
           "DOUANE_CHECKPOINT_EVERY": "10", "DOUANE_CHECKPOINT_INTERVAL_S": "1",
           "DOUANE_KAFKA_SESSION_TIMEOUT_S": "10",
           "DOUANE_DETECTOR_TIMEOUT_S": "120", "DOUANE_PROVIDER_TIMEOUT_S": "120",
           "DOUANE_AUDIT_BUSY_TIMEOUT_S": "60"}
    settings = load_settings(env)
    (home / "logs").mkdir()
    stack = Stack(settings, env, f"http://127.0.0.1:{model_port}", home / "logs")
    await start_broker(settings, timeout_s=120)
    try:
        await ensure_topics(kafka_connection(settings, "admin"),
                            topic_names(load_policy(settings.policy_path)))
        stack.start("model-server", "model-server", "--port", str(model_port),
                    "--latency-ms", str(MODEL_LATENCY_MS))
        await wait_http(f"{stack.model_url}/v1/models")
        for name in WORKERS:
            stack.start(name, "worker")
        yield stack
    finally:
        for name in list(stack.processes):
            stack.stop(name, kill=True)
        await stop_broker(settings)


async def each_member_consumes(stack: Stack, topic: str, members: int) -> bool:
    """The group is stable with ``members`` members, each assigned partitions of ``topic``."""
    watch = WorkerGroupWatch(kafka_connection(stack.settings, "admin"), GROUP, [topic])
    await watch.admin.start()
    try:
        view = await watch.describe()
    except KafkaError:  # e.g. the group's coordinator not elected yet: ask again
        return False
    finally:
        await watch.admin.close()
    if view.state != "Stable" or len(view.assignments) != members:
        return False
    return all(
        raw and any(t == topic and partitions
                    for t, partitions in ConsumerProtocolMemberAssignment.decode(raw).assignment)
        for raw in view.assignments)


def all_logs(stack: Stack) -> str:
    return "\n".join(f"--- {name}\n{stack.log_text(name)[-2000:]}" for name in WORKERS)


async def test_three_workers_one_killed_give_one_response_each_in_one_verified_log(
        three_workers: Stack, postgres_database: str) -> None:
    stack = three_workers
    topic = request_topic(TENANT)
    await wait_until(lambda: each_member_consumes(stack, topic, len(WORKERS)), 600,
                     lambda: "the three workers did not all join the group\n" + all_logs(stack),
                     poll_s=1)
    ids = [f"many-{n:03d}-{uuid.uuid4().hex[:6]}" for n in range(REQUESTS)]
    async with KafkaClient(stack.settings) as client:
        half_sent = asyncio.Event()

        async def publish_all() -> None:
            for n, request_id in enumerate(ids):
                await client.publish(request(request_id, f"Summarise case {n} in one line."))
                if n + 1 == KILL_AFTER:
                    half_sent.set()
                await asyncio.sleep(PUBLISH_PAUSE_S)

        publishing = asyncio.create_task(publish_all())
        await half_sent.wait()
        stand_in = stack.stand_in()

        async def requests_in_flight() -> bool:
            return await stand_in.in_flight() >= 3

        await wait_until(requests_in_flight, 600,
                         lambda: "no request reached the stand-in\n" + all_logs(stack))
        stack.stop(KILLED, kill=True)
        await publishing
        responses = await client.responses(set(ids), timeout_s=900, settle_s=10)

    # one response each: answered, or (a request the killed worker had sent to the model, whose
    # answer nobody received) failed as delivery-uncertain, never sent again. A response the
    # killed worker had published but not committed may come twice, identical (at-least-once,
    # docs/concurrency.md): copies are one response, a different second one is not
    outcomes = {i: [_outcome(r) for r in _copies_as_one(found)]
                for i, found in responses.items()}
    wrong = {i: o for i, o in outcomes.items()
             if o not in (["answered"], ["failed:delivery-uncertain"])}
    assert not wrong, (f"{len(wrong)} of {REQUESTS} requests without exactly one response: "
                       f"{dict(list(wrong.items())[:10])}\n" + all_logs(stack))
    sent = Counter(await stack.stand_in().received_ids())
    assert not [i for i in ids if sent[i] > 1], "a request was sent to the model twice"
    uncertain = {i for i, o in outcomes.items() if o == ["failed:delivery-uncertain"]}
    print(f"{len(uncertain)} request(s) with the model at the kill ended delivery-uncertain")

    with open_postgres_reader(postgres_database) as reader:
        kinds = {i: [r.kind for r in reader.records_for_request(i)] for i in ids}
        ending = {i: "failed" if i in uncertain else "answered" for i in ids}
        unlike = {i: k for i, k in kinds.items()
                  if sorted(k) != sorted(["admitted", "forwarded", ending[i]])}
        assert not unlike, f"audit records unlike the responses: {dict(list(unlike.items())[:5])}"

        async def checkpoint_covers_log() -> bool:
            latest = reader.latest_checkpoint()
            return latest is not None and latest.size == reader.size()

        await wait_until(checkpoint_covers_log, 300,
                         lambda: "no checkpoint of the whole log\n" + all_logs(stack))
        checkpoints = reader.checkpoints()

    verified = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", "audit", "verify"],
        env=stack.env, capture_output=True, text=True, timeout=600)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    sizes = [c.size for c in checkpoints]
    assert len(sizes) > len(WORKERS), f"too few checkpoints to have met: {sizes}"
    assert sizes == sorted(set(sizes))
    signature_lines = [sum(line.startswith(SIGNATURE_PREFIX)
                           for line in c.note.decode().split("\n\n", 1)[1].splitlines())
                       for c in checkpoints]
    assert set(signature_lines) == {1}, "a checkpoint signed more than once"
    failures = [line for name in WORKERS for line in stack.log_text(name).splitlines()
                if _event(line) == "checkpoint signing failed"]
    assert not failures, "\n".join(failures[:5])


def _outcome(response: dict[str, Any]) -> str:
    if response["status"] != "failed":
        return str(response["status"])
    return "failed:" + ",".join(str(r.get("code")) for r in response.get("reasons", []))


def _event(line: str) -> str | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry.get("event") if isinstance(entry, dict) else None


def _copies_as_one(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The responses of one id, identical copies counted once."""
    distinct: list[dict[str, Any]] = []
    for response in found:
        if response not in distinct:
            distinct.append(response)
    return distinct
