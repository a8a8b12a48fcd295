"""The librdkafka worker's failure paths on the real broker (``parallel_consumer_librdkafka``),
which its unit tests only script:

- **deliveries timed out with the broker away**: the broker stopped longer than the producer's
  ``message.timeout.ms`` (``DOUANE_KAFKA_DELIVERY_TIMEOUT_S``, shortened here to 3 s) while
  responses (answers released by the model) and forward messages (admissions let through by
  the audit store) are being published. librdkafka reports them ``_MSG_TIMED_OUT``; the worker
  must queue them again until the broker is back, and commit nothing past them: afterwards each
  request has exactly one response, none reached the model twice, none was dead-lettered, and
  the worker never stopped.
- **a full window pauses partitions**: librdkafka drops what it had prefetched for a paused
  partition and fetches it again on ``resume`` from the last message handed over. With a
  window of 3 and 30 requests, partitions are paused (counted in
  ``douane_consumer_pauses_total``) and resumed; afterwards none is lost or handled twice.
- **a worker joining while the window is full**: the first worker's revocation waits for its
  messages at the (held) model (it says so), so the group cannot settle meanwhile; afterwards
  nothing was handled twice and the newcomer has partitions.

Each test runs its own worker on librdkafka (whatever the default) in the session's group, the
session worker stopped; nothing depends on how fast the machine is (states and counts are
waited for, with generous bounds).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from stack import KafkaClient, Stack, request, thread_names, wait_until
from test_many_in_flight import PATIENT_PROVIDER, more_than_one, probe, question, run_id
from test_observability import samples, value

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.ports import free_port

pytestmark = pytest.mark.integration

WORKER = "worker-rdk-failures"
JOINING = "worker-rdk-joining"
ON_LIBRDKAFKA = {**PATIENT_PROVIDER, "DOUANE_KAFKA_CLIENT": "librdkafka"}
HELD = "audit store unavailable; holding the message"
QUEUED_AGAIN = "broker not taking messages; queueing again"
REVOKING = "partitions revoked; finishing their messages in flight"


def log_entries(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


@pytest_asyncio.fixture
async def own_worker(douane: Stack) -> AsyncIterator[Stack]:
    """The session worker stopped (the test runs its own in the session's group); afterwards
    the broker runs, the model answers, and the session worker is back, answering."""
    douane.stop("worker")
    try:
        yield douane
    finally:
        await start_broker(douane.settings, timeout_s=180)  # at once if it runs
        for name in (WORKER, JOINING):
            if name in douane.processes:
                douane.stop(name, kill=True)
        with contextlib.suppress(Exception):
            await douane.stand_in().release()
        douane.start("worker", "worker")
        assert await probe(douane), douane.log_text("worker")[-3000:]


async def test_deliveries_timed_out_with_the_broker_away_are_sent_again_and_once(
        own_worker: Stack) -> None:
    stack = own_worker
    settings = stack.settings
    model = stack.stand_in()
    prefix = f"rdk-timeout-{run_id()}"
    to_answer = [f"{prefix}-answer-{n}" for n in range(8)]  # their responses will time out
    to_admit = [f"{prefix}-admit-{n}" for n in range(8)]  # their forward messages will
    ids = [*to_answer, *to_admit]
    log_start = len(stack.log_text(WORKER)) if (stack.logs / f"{WORKER}.log").exists() else 0
    await model.hold()
    holder = sqlite3.connect(settings.audit_db, isolation_level=None)
    try:
        async with KafkaClient(settings) as client:
            worker = stack.start(WORKER, "worker", env={
                **ON_LIBRDKAFKA, "DOUANE_KAFKA_DELIVERY_TIMEOUT_S": "3"})
            for n, request_id in enumerate(to_answer):
                await client.publish(request(request_id, question(n)))

            async def all_at_model() -> bool:
                assert worker.poll() is None, stack.log_text(WORKER)[log_start:][-3000:]
                return await model.in_flight() >= len(to_answer)

            await wait_until(all_at_model, 300, lambda: "the requests never reached the model:"
                             f"\n{stack.log_text(WORKER)[log_start:][-3000:]}")
            assert "rdk:main" in thread_names(worker.pid)  # librdkafka runs the clients

            # the next requests wait at the audit store (another process holds its lock)
            holder.execute("BEGIN EXCLUSIVE")
            for n, request_id in enumerate(to_admit):
                await client.publish(request(request_id, question(n)))

            def held() -> set[tuple[str, int, int]]:
                return {(e["topic"], e["partition"], e["offset"])
                        for e in log_entries(stack.log_text(WORKER)[log_start:])
                        if e.get("event") == HELD}

            async def all_held() -> bool:
                return len(held()) >= len(to_admit)

            await wait_until(all_held, 300, lambda: f"{len(held())} requests held, not "
                             f"{len(to_admit)}:\n{stack.log_text(WORKER)[log_start:][-3000:]}")

            # the broker goes away; then the store is back and the model answers: the forward
            # messages and the responses are produced with no broker to take them
            assert await stop_broker(settings, timeout_s=60)
            holder.execute("ROLLBACK")
            await model.release()

            def timed_out() -> int:
                """Publications whose first attempt failed with _MSG_TIMED_OUT."""
                return sum(e.get("count", 0)
                           for e in log_entries(stack.log_text(WORKER)[log_start:])
                           if e.get("event") == QUEUED_AGAIN and e.get("attempt") == 1
                           and e.get("error") == "_MSG_TIMED_OUT")

            async def all_timed_out() -> bool:
                assert worker.poll() is None, stack.log_text(WORKER)[log_start:][-3000:]
                return timed_out() >= len(ids)

            await wait_until(all_timed_out, 300, lambda: f"{timed_out()} deliveries timed "
                             f"out, not {len(ids)}:\n{stack.log_text(WORKER)[log_start:][-3000:]}")
            # nothing was answered meanwhile: the broker is away
            await start_broker(settings, timeout_s=180)
            responses = await client.responses(set(ids), timeout_s=600, settle_s=5)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()

    log = stack.log_text(WORKER)[log_start:]
    assert worker.poll() is None, "the worker stopped:\n" + log[-3000:]
    assert sorted(i for i, r in responses.items() if not r) == [], log[-3000:]
    assert more_than_one(responses) == {}, log[-3000:]
    assert {i: [r["status"] for r in rs] for i, rs in responses.items()
            if [r["status"] for r in rs] != ["answered"]} == {}
    received = await model.received_ids()
    assert {i: received.count(i) for i in ids if received.count(i) != 1} == {}
    assert {i: k for i, k in stack.audit_kinds(ids).items()
            if k != ["admitted", "forwarded", "answered"]} == {}
    assert not [e for e in log_entries(log) if "dead" in str(e.get("event", ""))]


async def metric(url: str, name: str, **labels: str) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        return value(samples((await client.get(f"{url}/metrics")).text), name, **labels) or 0.0


async def test_a_full_window_pauses_and_resumes_partitions_without_loss_or_repeat(
        own_worker: Stack) -> None:
    stack = own_worker
    model = stack.stand_in()
    window = 3
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    prefix = f"rdk-pause-{run_id()}"
    ids = [f"{prefix}-{n}" for n in range(30)]
    forward_topic = "douane.forward.sovereign-local"
    await model.hold()
    async with KafkaClient(stack.settings) as client:
        worker = stack.start(WORKER, "worker", env={
            **ON_LIBRDKAFKA, "DOUANE_MAX_IN_FLIGHT": str(window),
            "DOUANE_WORKER_HTTP_PORT": str(port)})
        for n, request_id in enumerate(ids):
            await client.publish(request(request_id, question(n)))

        peak, paused, scrape_error = 0, 0.0, ""

        async def window_full_and_paused() -> bool:
            nonlocal peak, paused, scrape_error
            assert worker.poll() is None, stack.log_text(WORKER)[-3000:]
            peak = max(peak, await model.in_flight())
            try:
                paused = await metric(url, "douane_consumer_pauses_total", topic=forward_topic)
            except httpx.TransportError as error:  # not serving yet
                scrape_error = repr(error)
                return False
            return peak >= window and paused >= 1

        await wait_until(window_full_and_paused, 300, lambda: (
            f"peak {peak} at the model, forward partitions paused {paused} times "
            f"({scrape_error}):\n" + stack.log_text(WORKER)[-3000:]))
        assert "rdk:main" in thread_names(worker.pid)
        # (the window is not exact: a poll takes up to every topic's room at once, so a few
        # more than ``window`` may reach the model; what is checked is the pause and resume)
        await model.release()
        responses = await client.responses(set(ids), timeout_s=600, settle_s=5)
        pauses = await metric(url, "douane_consumer_pauses_total")

    log = stack.log_text(WORKER)[-3000:]
    assert sorted(i for i, r in responses.items() if not r) == [], log
    assert more_than_one(responses) == {}, log
    assert {i for i, rs in responses.items() if rs[0]["status"] != "answered"} == set(), log
    received = await model.received_ids()
    assert {i: received.count(i) for i in ids if received.count(i) != 1} == {}
    assert pauses >= 2  # more than one pause: each resume was followed by a full window again


async def group_state(stack: Stack) -> tuple[str, int]:
    """The workers' group as the broker sees it: its state and how many members it has."""
    kafka = kafka_connection(stack.settings, "admin")
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "the test's admin client")
    try:
        for response in await admin.describe_consumer_groups([stack.settings.app_id]):
            for group in response.groups:
                if group[1] == stack.settings.app_id:
                    return str(group[2]), len(group[5])
        return "Dead", 0
    finally:
        await admin.close()


async def test_a_worker_joining_waits_for_the_revoked_messages_in_flight(
        own_worker: Stack) -> None:
    """A second worker joins while the first has every request at the (held) model: the
    first's revocation waits for them (it says so), the group cannot settle meanwhile, then
    settles once they are answered; nothing was handled twice and the two share the work."""
    stack = own_worker
    model = stack.stand_in()
    prefix = f"rdk-revoke-{run_id()}"
    ids = [f"{prefix}-{n}" for n in range(24)]
    await model.hold()
    async with KafkaClient(stack.settings) as client:
        first = stack.start(WORKER, "worker", env=ON_LIBRDKAFKA)
        for n, request_id in enumerate(ids):
            await client.publish(request(request_id, question(n)))

        async def all_at_model() -> bool:
            assert first.poll() is None, stack.log_text(WORKER)[-3000:]
            return await model.in_flight() >= len(ids)

        await wait_until(all_at_model, 300, lambda: "the requests never reached the model:\n"
                         + stack.log_text(WORKER)[-3000:])
        port = free_port()
        second = stack.start(JOINING, "worker", env={**ON_LIBRDKAFKA,
                                                     "DOUANE_WORKER_HTTP_PORT": str(port)})

        async def rebalancing() -> bool:
            assert second.poll() is None, stack.log_text(JOINING)[-3000:]
            return (await group_state(stack))[0] in ("PreparingRebalance",
                                                     "CompletingRebalance")

        await wait_until(rebalancing, 300, lambda: "the group never began to rebalance:\n"
                         + stack.log_text(JOINING)[-3000:], poll_s=0.5)

        async def revoking() -> bool:
            return any(e.get("event") == REVOKING
                       for e in log_entries(stack.log_text(WORKER)))

        # the first worker has been told: its revocation waits for the held answers...
        await wait_until(revoking, 300, lambda: "the first worker's revocation never waited "
                         "for its messages in flight:\n" + stack.log_text(WORKER)[-3000:])
        # ...so the rebalance cannot end (each look is a broker round trip; the model holds
        # until released, whatever the time)
        for _ in range(5):
            state = await group_state(stack)
            assert state[0] != "Stable", state
        assert await model.in_flight() == len(ids)

        await model.release()

        async def settled() -> bool:
            return await group_state(stack) == ("Stable", 2)

        await wait_until(settled, 300, lambda: "the group did not settle with two workers:\n"
                         + stack.log_text(JOINING)[-3000:], poll_s=0.5)
        responses = await client.responses(set(ids), timeout_s=600, settle_s=5)
        # and the two share the work afterwards
        later = [f"{ids[0]}-later-{n}" for n in range(24)]
        for n, request_id in enumerate(later):
            await client.publish(request(request_id, question(n)))
        later_responses = await client.responses(set(later), timeout_s=600, settle_s=5)
        owned = await metric(f"http://127.0.0.1:{port}", "douane_consumer_assigned_partitions")

    log = stack.log_text(WORKER)[-2000:] + stack.log_text(JOINING)[-2000:]
    assert first.poll() is None and second.poll() is None, log
    for found in (responses, later_responses):
        assert sorted(i for i, r in found.items() if not r) == [], log
        assert more_than_one(found) == {}, log
        assert {i for i, rs in found.items() if rs[0]["status"] != "answered"} == set(), log
    received = await model.received_ids()
    assert {i: received.count(i) for i in [*ids, *later] if received.count(i) != 1} == {}
    assert {i: k for i, k in stack.audit_kinds([*ids, *later]).items()
            if k != ["admitted", "forwarded", "answered"]} == {}
    assert owned >= 1  # the newcomer got partitions of its own
