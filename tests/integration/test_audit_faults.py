"""Faults on the audit path, on the real broker: the audit store unavailable when a request
arrives, and ``kill -9`` of the worker right after an audit write.

What must hold: nothing reaches the model without its durable audit record, nothing is lost
(every request gets exactly one response), and nothing is sent to the model twice.
The kill tests use the test-only hook ``DOUANE_FAULT=crash-after:<kind>``
(``streams.adapters.fault``), which sends the worker SIGKILL right after that audit write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from stack import KafkaClient, Stack, request

from streams.adapters.audit.sqlite import open_sqlite_reader

pytestmark = pytest.mark.integration
UNAVAILABLE = "audit store unavailable; holding the message"


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def audit_kinds(douane: Stack, request_id: str) -> list[str]:
    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        return [r.kind for r in store.records_for_request(request_id)]
    finally:
        store.close()


async def times_received(douane: Stack, request_id: str) -> int:
    return [r["request_id"] for r in await douane.received()].count(request_id)


async def wait_for_log(douane: Stack, name: str, text: str, count: int, after: int,
                       timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if douane.log_text(name)[after:].count(text) >= count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} did not log {text!r} {count} times within {timeout_s} s:\n"
                         + douane.log_text(name)[after:][-3000:])


async def wait_for_exit(process: subprocess.Popen[bytes], timeout_s: float = 180) -> int:
    deadline = time.monotonic() + timeout_s
    while process.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not crash at the fault point")
        await asyncio.sleep(0.2)
    return process.returncode


async def test_audit_store_unavailable_holds_the_request_until_it_is_back(douane: Stack) -> None:
    request_id = f"locked-{run_id()}"
    log_start = len(douane.log_text("worker"))
    # Another process holds the write lock (a backup, a stuck writer): the worker cannot audit.
    holder = sqlite3.connect(douane.settings.audit_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        async with KafkaClient(douane.settings) as client:
            await client.publish(request(request_id, "What are the library opening hours?"))
            # two failed attempts: the message is held and retried, not dropped nor dead-lettered
            await wait_for_log(douane, "worker", UNAVAILABLE, count=2, after=log_start)
            early = await client.responses({request_id}, timeout_s=0.5, settle_s=0)
            assert early[request_id] == []
            assert await times_received(douane, request_id) == 0
            assert audit_kinds(douane, request_id) == []

            holder.execute("ROLLBACK")  # the store is back
            responses = await client.responses({request_id}, timeout_s=90, settle_s=3)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()

    assert [r["status"] for r in responses[request_id]] == ["answered"]
    assert await times_received(douane, request_id) == 1
    assert audit_kinds(douane, request_id) == ["admitted", "forwarded", "answered"]
    assert "dead-letter" not in douane.log_text("worker")[log_start:]


@pytest_asyncio.fixture
async def worker_stopped(douane: Stack) -> AsyncIterator[Stack]:
    """The session worker stopped (it leaves its group cleanly), restarted afterwards."""
    douane.stop("worker")
    try:
        yield douane
    finally:
        for name in [n for n in douane.processes if n.startswith("worker-fault")]:
            douane.stop(name, kill=True)
        if "worker" not in douane.processes:
            douane.start("worker", "worker")
        async with KafkaClient(douane.settings) as client:  # ready for others
            probe_id = f"probe-{run_id()}"
            await client.publish(request(probe_id, "Say hello."))
            await client.responses({probe_id}, timeout_s=180, settle_s=0)


async def crash_then_restart(
    stack: Stack, client: KafkaClient, fault: str, request_id: str, text: str
) -> None:
    """A worker with ``fault`` takes the request and dies by SIGKILL; a clean one restarts."""
    crashing = stack.start("worker-fault", "worker", env={"DOUANE_FAULT": fault})
    await client.publish(request(request_id, text))
    assert await wait_for_exit(crashing) == -9, stack.log_text("worker-fault")[-3000:]
    stack.processes.pop("worker-fault")
    assert "fault injection: SIGKILL" in stack.log_text("worker-fault")
    assert audit_kinds(stack, request_id) == ["admitted", "forwarded"][
        :1 if fault.endswith("admitted") else 2]
    assert await times_received(stack, request_id) == 0
    stack.start("worker", "worker")


async def test_kill_9_between_admitted_record_and_forward_forwards_exactly_once(
    worker_stopped: Stack,
) -> None:
    stack = worker_stopped
    request_id = f"kill-admitted-{run_id()}"
    async with KafkaClient(stack.settings) as client:
        await crash_then_restart(stack, client, "crash-after:admitted", request_id,
                                 "Please summarise the opening hours of the town hall.")
        responses = await client.responses({request_id}, timeout_s=240, settle_s=4)

    assert [r["status"] for r in responses[request_id]] == ["answered"], \
        stack.log_text("worker")[-3000:]
    assert await times_received(stack, request_id) == 1
    assert audit_kinds(stack, request_id) == ["admitted", "forwarded", "answered"]


async def test_kill_9_between_forwarded_record_and_the_call_never_sends_twice(
    worker_stopped: Stack,
) -> None:
    # The worker died after recording 'forwarded' but before the HTTP call: douane cannot know
    # whether the provider got the request, so it is not sent again (personal data leaves at
    # most once) and the producer hears back: failed, delivery-uncertain.
    stack = worker_stopped
    request_id = f"kill-forwarded-{run_id()}"
    async with KafkaClient(stack.settings) as client:
        await crash_then_restart(stack, client, "crash-after:forwarded", request_id,
                                 "What documents do I need for a library card?")
        responses = await client.responses({request_id}, timeout_s=240, settle_s=4)

    assert [r["status"] for r in responses[request_id]] == ["failed"], \
        stack.log_text("worker")[-3000:]
    assert [c["code"] for c in responses[request_id][0]["reasons"]] == ["delivery-uncertain"]
    assert await times_received(stack, request_id) == 0
    assert audit_kinds(stack, request_id) == ["admitted", "forwarded", "failed"]
