"""Metrics and health on the real stack: real traffic through the front door and Kafka, then
the worker's and the front door's ``/metrics`` scraped (the expected series, plausible values,
no personal data, no request id); the front door's readiness follows the worker's group."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from stack import KafkaClient, Stack, request, wait_until
from test_many_in_flight import probe

from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port
from streams.worker import load_policy

pytestmark = pytest.mark.integration
NAME = "Jeanne Martin"
EMAIL = "jeanne.martin@example.fr"
PHONE = "06 12 34 56 78"
PLANTED = (NAME, EMAIL, PHONE, "Jeanne", "jeanne.martin")
WORKER = "worker-observed"
Samples = list[tuple[str, dict[str, str], float]]


def samples(text: str) -> Samples:
    return [(s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(text) for s in family.samples]


def value(scraped: Samples, name: str, **labels: str) -> float | None:
    """The sum of the samples of ``name`` whose labels include ``labels`` (None: no sample)."""
    found = [v for n, ls, v in scraped if n == name and labels.items() <= ls.items()]
    return sum(found) if found else None


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url)


@pytest_asyncio.fixture
async def observed_worker(front_door: tuple[str, str], douane: Stack, tmp_path: Path
                          ) -> AsyncIterator[tuple[Stack, str, Path]]:
    """The session worker replaced by one serving health and metrics, signing a checkpoint and
    running retention every second, with its own copy of the session's policy file; the
    session worker is back afterwards."""
    port = free_port()
    policy = tmp_path / "policy.yaml"
    shutil.copyfile(douane.settings.policy_path, policy)
    env = {"DOUANE_WORKER_HTTP_PORT": str(port), "DOUANE_CHECKPOINT_INTERVAL_S": "1",
           "DOUANE_RETENTION_INTERVAL_S": "1", "DOUANE_POLICY": str(policy)}
    douane.stop("worker")
    try:
        douane.start(WORKER, "worker", env=env)
        yield douane, f"http://127.0.0.1:{port}", policy
    finally:
        if WORKER in douane.processes:
            douane.stop(WORKER)
        douane.start("worker", "worker")
        # answering before the next test starts (its own bounds do not cover a start-up)
        assert await probe(douane), douane.log_text("worker")[-3000:]


async def ready(url: str) -> bool:
    try:
        return (await get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_metrics_after_real_traffic_and_readiness_following_the_worker(
    observed_worker: tuple[Stack, str, Path], front_door: tuple[str, str]
) -> None:
    stack, worker_url, policy = observed_worker
    door_api, key = front_door
    door_url = door_api.removesuffix("/v1")
    run = uuid.uuid4().hex[:8]
    await wait_until(lambda: ready(worker_url), 300,
                     lambda: "worker never ready:\n" + stack.log_text(WORKER)[-3000:], poll_s=1)
    live = await get(f"{worker_url}/livez")
    # the default loop, named from the running loop (DOUANE_EVENT_LOOP unset)
    assert live.status_code == 200 and live.json() == {"alive": True, "event_loop": "uvloop"}
    body = (await get(f"{worker_url}/readyz")).json()
    assert body["checks"] == {"consuming": True, "audit_store_writable": True,
                              "policy_loaded": True}
    await wait_until(lambda: ready(door_url), 120,
                     lambda: "front door never ready: " + str(stack.log_text("front-door")[-2000:]))
    assert (await get(f"{door_url}/livez")).json() == {"alive": True, "event_loop": "uvloop"}
    door_checks = (await get(f"{door_url}/readyz")).json()["checks"]
    assert door_checks["worker_consuming"] is True and door_checks["reading_answers"] is True

    # --- traffic: through the front door, and straight to Kafka as a producing system
    async with httpx.AsyncClient(timeout=180) as client:
        answered = await client.post(
            f"{door_api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
            json={"model": "auto", "messages": [
                {"role": "user", "content": f"Write to {NAME} ({EMAIL}, {PHONE})."}]})
        assert answered.status_code == 200, answered.text
        refused = await client.post(
            f"{door_api}/chat/completions", headers={"Authorization": f"Bearer {EMAIL}"},
            json={"model": "auto", "messages": [{"role": "user", "content": "Hello."}]})
        assert refused.status_code == 401
    named_id = f"obs-{run}-{NAME.replace(' ', '-')}"  # a producer-chosen id, with a name in it
    async with KafkaClient(stack.settings) as kafka:
        await kafka.publish(request(named_id, f"Call {NAME} on {PHONE}."))
        await kafka.publish(request(f"obs-{run}-mismatch", "Hello.", tenant=EMAIL),
                            tenant="city-of-lyon")
        await kafka.publish(f'{{"id": "{NAME}", not json'.encode(), key=b"obs-broken")
        responses = await kafka.responses({named_id}, timeout_s=180)
        assert responses[named_id][0]["status"] == "answered", responses
        # the mismatch owns its id: its response; the broken message has no id: a rejection
        mismatch = f"obs-{run}-mismatch"
        refused = await kafka.responses({mismatch}, timeout_s=120)
        assert [r["status"] for r in refused[mismatch]] == ["rejected"], refused
        copies = await kafka.rejected(1, timeout_s=120)
        assert [c["error"]["code"] for c in copies] == ["not-json"]

    # --- the worker's metrics; the checkpoint and retention timers run every second here
    # (each retention run appends a record: the log grows while we look)
    size = value(samples((await get(f"{worker_url}/metrics")).text), "douane_audit_log_records")
    assert size is not None and size >= 6  # admitted, forwarded, answered twice at least

    async def checkpointed() -> bool:
        scraped = samples((await get(f"{worker_url}/metrics")).text)
        covered = value(scraped, "douane_audit_checkpointed_records")
        return covered is not None and covered >= size

    await wait_until(checkpointed, 60, lambda: f"no checkpoint covering the first {size}")
    text = (await get(f"{worker_url}/metrics")).text
    assert [v for v in (*PLANTED, named_id, run) if v in text] == []
    scraped = samples(text)
    admitted = value(scraped, "douane_requests_total", stage="admit", tenant="city-of-lyon",
                     decision="forward", reason="none")
    assert admitted is not None and admitted >= 2
    answered_count = value(scraped, "douane_requests_total", stage="forward",
                           tenant="city-of-lyon", decision="answered", reason="none")
    assert answered_count is not None and answered_count >= 2
    # a producer's free text (a tenant that is an e-mail address) is never a label value
    assert (value(scraped, "douane_requests_total", decision="reject",
                  reason="tenant-mismatch") or 0) >= 1
    assert (value(scraped, "douane_rejected_messages_total", code="not-json") or 0) >= 1
    assert (value(scraped, "douane_detection_seconds_count", outcome="ok") or 0) >= 4
    assert (value(scraped, "douane_audit_append_seconds_count", kind="admitted") or 0) >= 2
    assert (value(scraped, "douane_provider_request_seconds_count",
                  provider="sovereign-local", outcome="ok") or 0) >= 2
    assert value(scraped, "douane_provider_in_flight", provider="sovereign-local") == 0
    assert value(scraped, "douane_provider_circuit_state", provider="sovereign-local",
                 state="closed") == 1
    assert value(scraped, "douane_audit_store_writable") == 1
    assert value(scraped, "douane_worker_ready") == 1
    records = value(scraped, "douane_audit_log_records")
    assert records is not None and records >= size
    assert (value(scraped, "douane_retention_runs_total", outcome="done") or 0) >= 1
    assert value(scraped, "douane_retention_keys_destroyed_total", kind="data") is not None
    age = value(scraped, "douane_audit_checkpoint_age_seconds")
    assert age is not None and 0 <= age < 3600
    partitions = value(scraped, "douane_consumer_assigned_partitions")
    assert partitions is not None and partitions > 0
    lags = [(ls, v) for n, ls, v in scraped if n == "douane_consumer_lag"]
    assert lags and all(v >= 0 for _, v in lags)
    assert {ls["topic"] for ls, _ in lags} >= {"douane.requests.city-of-lyon",
                                                "douane.forward.sovereign-local"}
    declared = load_policy(stack.settings.policy_path).policy.tenant_ids
    tenants = {ls["tenant"] for n, ls, _ in scraped if n == "douane_requests_total"}
    assert "city-of-lyon" in tenants and tenants <= {*declared, "unknown", "none"}

    # --- the front door's metrics
    text = (await get(f"{door_url}/metrics")).text
    assert [v for v in (*PLANTED, run) if v in text] == []
    scraped = samples(text)
    assert (value(scraped, "douane_front_door_requests_total", tenant="city-of-lyon",
                  status="200") or 0) >= 1
    assert (value(scraped, "douane_front_door_requests_total", tenant="none",
                  status="401") or 0) >= 1
    assert (value(scraped, "douane_front_door_refusals_total", code="invalid_api_key") or 0) >= 1
    assert value(scraped, "douane_front_door_worker_consuming") == 1

    # --- the worker is not ready while its policy files do not load (the set in force stays)
    in_force = policy.read_bytes()
    policy.write_text("tenants: [unfinished\n")
    await wait_until(lambda: not_ready(worker_url), 60,
                     lambda: "still ready with a broken policy file")
    broken = (await get(f"{worker_url}/readyz")).json()
    assert broken["checks"] == {"consuming": True, "audit_store_writable": True,
                                "policy_loaded": False}
    policy.write_bytes(in_force)
    await wait_until(lambda: ready(worker_url), 60, lambda: "not ready with the policy back")

    # --- readiness follows the worker: stopped, the front door is not ready; back, it is
    stack.stop(WORKER)
    await wait_until(lambda: not_ready(door_url), 120,
                     lambda: "the front door stayed ready with no worker")
    stopped = await get(f"{door_url}/readyz")
    assert stopped.status_code == 503
    assert stopped.json()["checks"]["worker_consuming"] is False
    health = await get(f"{door_url}/healthz")  # still up, and saying it is not ready
    assert health.status_code == 200 and health.json()["ready"] is False
    assert value(samples((await get(f"{door_url}/metrics")).text),
                 "douane_front_door_worker_consuming") == 0
    # back on the standard library's loop, the fallback an operator can choose
    stack.start(WORKER, "worker", env={"DOUANE_WORKER_HTTP_PORT": worker_url.rsplit(":", 1)[1],
                                       "DOUANE_POLICY": str(policy),
                                       "DOUANE_EVENT_LOOP": "asyncio"})
    await wait_until(lambda: ready(door_url), 300,
                     lambda: "the front door never became ready again:\n"
                     + stack.log_text(WORKER)[-3000:], poll_s=1)
    await wait_http(f"{worker_url}/livez", timeout_s=60)
    live = await get(f"{worker_url}/livez")
    assert live.json() == {"alive": True, "event_loop": "asyncio"}


async def not_ready(url: str) -> bool:
    return (await get(f"{url}/readyz")).status_code == 503
