"""Many requests in flight at once (issue 10), on the real broker: the crash tests with the
window full, and two providers of different speeds used at the same time.

What must hold with hundreds of requests in flight per worker:
- ``kill -9`` of a worker with at least 100 requests waiting at the provider: afterwards every
  request id has exactly one response, none reached the model twice, and only those in flight
  at the kill may end ``failed`` / ``delivery-uncertain``; the audit log verifies.
- a broker restart while requests are being published and processed: nothing lost, nothing
  answered twice, nothing sent to the model twice, and the running worker carries on.
- a provider that holds its answers does not hold back the requests bound for another one.

Nothing here depends on how fast the machine is: the tests wait for states and counts (the
stand-in model server holds its answers until told to release them), with generous bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from stack import KafkaClient, Stack, request, wait_until

from streams.adapters.policy_files import policy_document, policy_yaml
from streams.config import project_root
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port

pytestmark = pytest.mark.integration

IN_FLIGHT_AT_KILL = 100
# A held answer must never time out and be retried (that would send a request twice for a
# reason other than the one under test): the workers here wait for the provider this long.
PATIENT_PROVIDER = {"DOUANE_PROVIDER_TIMEOUT_S": "900"}
OUR_PROCESSES = ("worker-many", "worker-doors", "model-slow", "model-fast")


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def question(n: int) -> str:
    return f"What are the opening hours of library number {n} on Saturdays?"


def to_translate(n: int) -> str:
    return f"Translate into French: the library number {n} opens at nine on Saturdays."


def statuses(responses: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {i: [r["status"] for r in rs] for i, rs in responses.items()}


def more_than_one(responses: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Request ids answered more than once, saying whether the copies are identical (one
    response published twice, e.g. a producer retrying after a lost acknowledgement) or not (the
    request processed twice)."""
    return {i: (f"{len(rs)} identical copies" if all(r == rs[0] for r in rs)
                else f"{len(rs)} different responses: {[r['status'] for r in rs]}")
            for i, rs in responses.items() if len(rs) > 1}


def reason_codes(response: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in response["reasons"]]


async def probe(stack: Stack, timeout_s: float = 240) -> bool:
    """Whether the worker answers a fresh request within ``timeout_s``."""
    async with KafkaClient(stack.settings) as client:
        probe_id = f"probe-{run_id()}"
        await client.publish(request(probe_id, "Say hello."))
        found = await client.responses({probe_id}, timeout_s=timeout_s, settle_s=0)
        return bool(found[probe_id])


@pytest_asyncio.fixture
async def session_worker_stopped(douane: Stack) -> AsyncIterator[Stack]:
    """The session worker stopped (it leaves its group cleanly) so that a test can run its own
    workers on the session's group; afterwards the model server answers again and the session
    worker is back, answering."""
    douane.stop("worker")
    try:
        yield douane
    finally:
        for name in OUR_PROCESSES:
            if name in douane.processes:
                douane.stop(name, kill=True)
        with contextlib.suppress(Exception):  # the test may have failed before holding
            await douane.stand_in().release()
        if "worker" not in douane.processes:
            douane.start("worker", "worker")
        assert await probe(douane), douane.log_text("worker")[-3000:]


async def test_kill_9_with_the_window_full_loses_nothing_and_sends_nothing_twice(
    session_worker_stopped: Stack,
) -> None:
    stack = session_worker_stopped
    model = stack.stand_in()
    prefix = f"many-kill-{run_id()}"
    ids = [f"{prefix}-{n}" for n in range(150)]
    await model.hold()
    async with KafkaClient(stack.settings) as client:
        worker = stack.start("worker-many", "worker", env=PATIENT_PROVIDER)
        for n, request_id in enumerate(ids):
            await client.publish(request(request_id, question(n)))

        peak = 0

        async def window_full() -> bool:
            nonlocal peak
            assert worker.poll() is None, stack.log_text("worker-many")[-3000:]
            peak = max(peak, await model.in_flight())
            return peak >= IN_FLIGHT_AT_KILL

        await wait_until(window_full, timeout_s=300, failure=lambda: (
            f"at most {peak} requests were in flight at the model server at once (needs "
            f">= {IN_FLIGHT_AT_KILL} of {len(ids)} published): the worker does not forward "
            "many requests at a time\n" + stack.log_text("worker-many")[-2000:]))

        stack.stop("worker-many", kill=True)
        assert worker.returncode == -9
        # What the dead worker left behind: requests recorded as forwarded (at the model, or
        # about to be sent) have an uncertain fate; they alone may end delivery-uncertain.
        kinds_at_kill = stack.audit_kinds(ids)
        uncertain = {i for i, kinds in kinds_at_kill.items() if "forwarded" in kinds}
        at_model = set(await model.received_ids()) & set(ids)
        assert at_model <= uncertain
        assert len(at_model) >= IN_FLIGHT_AT_KILL
        assert not any("answered" in kinds for kinds in kinds_at_kill.values())

        await model.release()
        stack.start("worker", "worker")  # a clean worker, with the session's settings
        responses = await client.responses(set(ids), timeout_s=600, settle_s=5)

    log = stack.log_text("worker")[-3000:]
    assert sorted(i for i, r in responses.items() if not r) == [], log
    assert more_than_one(responses) == {}, log
    received = await model.received_ids()
    assert {i: received.count(i) for i in ids if received.count(i) > 1} == {}
    for request_id in ids:
        [response] = responses[request_id]
        if response["status"] == "answered":
            continue
        assert request_id in uncertain, (request_id, response)
        assert (response["status"], reason_codes(response)) == \
            ("failed", ["delivery-uncertain"]), (request_id, response)
    answered = {i for i in ids if responses[i][0]["status"] == "answered"}
    assert set(ids) - uncertain <= answered  # nothing the dead worker had not sent failed
    # a request sent before the kill is never sent again; an unsent one is sent exactly once
    assert {i for i in answered if received.count(i) != 1} == set()
    assert {i for i in uncertain - at_model if received.count(i) != 0} == set()
    for request_id, kinds in stack.audit_kinds(ids).items():
        terminal = responses[request_id][0]["status"]
        assert kinds == ["admitted", "forwarded", terminal], (request_id, kinds)

    verify = await stack.audit_verify()
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest_asyncio.fixture
async def broker_back(douane: Stack) -> AsyncIterator[Stack]:
    """Whatever happens in the test, the broker runs afterwards and a worker answers."""
    try:
        yield douane
    finally:
        await start_broker(douane.settings, timeout_s=180)
        if not await probe(douane, timeout_s=120):
            # the session worker did not come back by itself: give the next tests a fresh one
            douane.stop("worker")
            douane.start("worker", "worker")
            assert await probe(douane), douane.log_text("worker")[-3000:]


async def test_a_broker_restart_under_load_loses_and_duplicates_nothing(
    broker_back: Stack,
) -> None:
    stack = broker_back
    settings = stack.settings
    model = stack.stand_in()
    prefix = f"many-broker-{run_id()}"
    ids = [f"{prefix}-{n}" for n in range(200)]
    worker = stack.processes["worker"]
    log_start = len(stack.log_text("worker"))
    async with KafkaClient(settings) as client:
        for n, request_id in enumerate(ids[:100]):  # the worker is busy with these...
            await client.publish(request(request_id, question(n)))

        async def publish_the_rest() -> int:
            attempts = 0
            for n, request_id in enumerate(ids[100:], start=100):
                attempts += await client.publish_until_sent(request(request_id, question(n)))
            return attempts

        # ...while the rest is being published, the broker stops and starts again
        publisher = asyncio.create_task(publish_the_rest())
        assert await stop_broker(settings, timeout_s=60)
        await start_broker(settings, timeout_s=180)
        attempts = await asyncio.wait_for(publisher, timeout=600)
        responses = await client.responses(set(ids), timeout_s=600, settle_s=5)

    log = stack.log_text("worker")[log_start:][-3000:]
    assert worker.poll() is None, "the session worker died with the broker:\n" + log
    missing = sorted(i for i, r in responses.items() if not r)
    assert missing == [], f"{len(missing)} of {len(ids)} without a response " \
        f"({attempts} publish attempts for 100 requests):\n{log}"
    assert more_than_one(responses) == {}, log
    assert {i: s for i, s in statuses(responses).items() if s != ["answered"]} == {}, log
    received = await model.received_ids()
    assert {i: received.count(i) for i in ids if received.count(i) != 1} == {}
    # a message published twice (a retry while the broker was away) leaves its second copy
    # recorded as rejected (duplicate-id); the request itself went through once
    assert {i: k for i, k in stack.audit_kinds(ids).items()
            if [kind for kind in k if kind != "rejected"]
            != ["admitted", "forwarded", "answered"]} == {}

    verify = await stack.audit_verify()
    assert verify.returncode == 0, verify.stdout + verify.stderr


def two_doors_policy(slow_url: str, fast_url: str) -> dict[str, Any]:
    """The shipped policy set plus two local model servers: the city's translations go to the
    slow one, the national portal's to the fast one (rules placed first, so they decide)."""
    policy = policy_document(project_root() / "policies")
    door = {"kind": "openai-compatible", "models": ["douane-echo-1"], "jurisdiction": "FR",
            "region": "on-premises", "hosting": "on-premises", "retains_data": False,
            "trains_on_data": False, "retention_days": 0}
    policy["providers"] += [
        {"id": "slow-door", "endpoint": f"{slow_url}/v1", **door},
        {"id": "fast-door", "endpoint": f"{fast_url}/v1", **door},
    ]
    policy["rules"] = [
        {"id": "city-to-the-slow-door",
         "when": {"tenants": ["city-of-lyon"], "purposes": ["translation"]},
         "residency": {"providers": ["slow-door"]}},
        {"id": "portal-to-the-fast-door",
         "when": {"tenants": ["service-public"], "purposes": ["translation"]},
         "residency": {"providers": ["fast-door"]}},
        *policy["rules"],
    ]
    return policy


async def test_a_slow_provider_does_not_hold_back_a_fast_one(
    session_worker_stopped: Stack, tmp_path: Path,
) -> None:
    stack = session_worker_stopped
    slow_url, fast_url = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    slow, fast = stack.stand_in(slow_url), stack.stand_in(fast_url)
    stack.start("model-slow", "model-server", "--port", slow_url.rsplit(":", 1)[1],
                "--check-audit", "--latency-ms", "200")
    stack.start("model-fast", "model-server", "--port", fast_url.rsplit(":", 1)[1],
                "--check-audit")
    await wait_http(f"{slow_url}/v1/models")
    await wait_http(f"{fast_url}/v1/models")
    await slow.hold()
    policy_path = tmp_path / "two-doors.yaml"
    policy_path.write_text(policy_yaml(two_doors_policy(slow_url, fast_url)))
    stack.start("worker-doors", "worker",
                env={**PATIENT_PROVIDER, "DOUANE_POLICY": str(policy_path)})

    prefix = f"many-doors-{run_id()}"
    slow_ids = [f"{prefix}-city-{n}" for n in range(40)]
    fast_ids = [f"{prefix}-portal-{n}" for n in range(40)]
    async with KafkaClient(stack.settings) as client:
        # the slow door's requests first, so that they are ahead in every partition
        for n, request_id in enumerate(slow_ids):
            await client.publish(request(request_id, to_translate(n), "city-of-lyon",
                                         purpose="translation"))
        for n, request_id in enumerate(fast_ids):
            await client.publish(request(request_id, to_translate(n), "service-public",
                                         purpose="translation"))

        fast_responses = await client.responses(set(fast_ids), timeout_s=300, settle_s=0)
        log = stack.log_text("worker-doors")[-3000:]
        unanswered = sorted(i for i, r in fast_responses.items() if not r)
        held = await slow.in_flight()
        assert unanswered == [], f"{len(unanswered)} of the fast door's {len(fast_ids)} " \
            f"requests unanswered while the slow door held {held}:\n{log}"
        assert {r[0]["provider"] for r in fast_responses.values()} == {"fast-door"}
        assert {i: s for i, s in statuses(fast_responses).items() if s != ["answered"]} == {}

        # meanwhile the slow door's requests wait at the slow door, none answered yet
        async def all_held() -> bool:
            return await slow.in_flight() >= len(slow_ids)

        await wait_until(all_held, timeout_s=300, failure=lambda: (
            "the slow door's requests did not all reach it while it held its answers\n"
            + stack.log_text("worker-doors")[-3000:]))
        early = await client.responses(set(slow_ids), timeout_s=0, settle_s=1)
        assert {i: r for i, r in early.items() if r} == {}

        await slow.release()
        responses = await client.responses(set(slow_ids) | set(fast_ids), timeout_s=300,
                                           settle_s=3)

    log = stack.log_text("worker-doors")[-3000:]
    assert {i: s for i, s in statuses(responses).items() if s != ["answered"]} == {}, log
    assert {responses[i][0]["provider"] for i in slow_ids} == {"slow-door"}
    slow_received, fast_received = await slow.received_ids(), await fast.received_ids()
    assert sorted(slow_received) == sorted(slow_ids)
    assert sorted(fast_received) == sorted(fast_ids)
    assert all(entry["audit_verified"] for entry in [*await slow.received(),
                                                     *await fast.received()])
