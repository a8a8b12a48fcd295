"""A worker restarted after ``kill -9`` gets its partitions back at once when it is a static
member of its group (``DOUANE_KAFKA_GROUP_INSTANCE_ID``, Kafka's KIP-345), issue 13 item 6.

Without static membership the group waits for the dead worker's session to time out, or for
the rebalance to give up on it, before the restarted worker gets any partition. Here both are
set far beyond the test's wait (10 and 15 minutes), so the restarted worker answers within the
wait only if it took its partitions back at once. A broker of its own: a static member does not
leave its group, and the session's group must not keep a dead member for ten minutes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from stack import KafkaClient, Stack, request

from streams.adapters.kafka_security import kafka_connection
from streams.config import load_settings
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.local_stack import wait_http, write_local_policy
from streams.devtools.ports import free_port
from streams.services.topics import ensure_topics, topic_names
from streams.worker import load_policy

pytestmark = pytest.mark.integration

STATIC = {
    "DOUANE_KAFKA_GROUP_INSTANCE_ID": "douane-worker-static-1",
    "DOUANE_KAFKA_SESSION_TIMEOUT_S": "600",
    "DOUANE_PROVIDER_TIMEOUT_S": "300",  # the rebalance timeout is three times this
    "DOUANE_DETECTOR_TIMEOUT_S": "120",
}
ANSWER_WITHIN_S = 240  # far less than the 600 s a dynamic member would wait


@pytest_asyncio.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[Stack]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    model_port = free_port()
    write_local_policy(home / "policy.yaml", model_port)
    env = {"DOUANE_HOME": str(home), "DOUANE_POLICY": str(home / "policy.yaml"),
           "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
           "DOUANE_APP_ID": "douane-static", "DOUANE_LOG_FORMAT": "json", **STATIC}
    settings = load_settings({**os.environ, **env})
    (home / "logs").mkdir()
    stack = Stack(settings, {**os.environ, **env}, f"http://127.0.0.1:{model_port}",
                  home / "logs")
    await start_broker(settings, timeout_s=120)
    try:
        await ensure_topics(kafka_connection(settings, "admin"),
                            topic_names(load_policy(settings.policy_path)))
        stack.start("model-server", "model-server", "--port", str(model_port))
        await wait_http(f"{stack.model_url}/v1/models")
        yield stack
    finally:
        for name in list(stack.processes):
            stack.stop(name, kill=True)
        await stop_broker(settings)


async def answered(stack: Stack, timeout_s: float) -> bool:
    async with KafkaClient(stack.settings) as client:
        request_id = f"static-{uuid.uuid4().hex[:8]}"
        await client.publish(request(request_id, "Say hello."))
        found = await client.responses({request_id}, timeout_s=timeout_s, settle_s=0)
        return [r["status"] for r in found[request_id]] == ["answered"]


async def test_a_static_member_restarted_after_kill_9_answers_at_once(own_broker: Stack) -> None:
    stack = own_broker
    stack.start("worker", "worker")
    assert await answered(stack, timeout_s=300), stack.log_text("worker")[-3000:]

    stack.stop("worker", kill=True)
    stack.start("worker", "worker")  # same instance id: the same member, back
    assert await answered(stack, timeout_s=ANSWER_WITHIN_S), (
        "the restarted worker did not answer within "
        f"{ANSWER_WITHIN_S} s although its session timeout is 600 s: it did not take its "
        "partitions back as a static member\n" + stack.log_text("worker")[-3000:])
