"""Shared fixtures for integration tests: a real Kafka broker, a stand-in model server and a
douane worker, each a real process on 127.0.0.1, started once per test session.

Everything lives under a temporary DOUANE_HOME, so tests never touch the developer's broker,
audit log or keys.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from stack import MAX_MESSAGE_BYTES, KafkaClient, Stack, request

from streams.adapters.kafka_security import kafka_connection
from streams.config import load_settings
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.local_stack import wait_http, write_local_policy
from streams.devtools.ports import free_port
from streams.services.topics import ensure_topics, topic_names
from streams.worker import load_policy


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("douane-home")
    model_port = free_port()
    # the shipped policy set as one file, its sovereign door (providers[0]) on the test port
    policy_path = write_local_policy(home / "policy.yaml", model_port)
    env = {
        **os.environ,
        "DOUANE_HOME": str(home),
        "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
        "DOUANE_POLICY": str(policy_path),
        "DOUANE_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
        "DOUANE_APP_ID": "douane-it",
        "DOUANE_LOG_FORMAT": "json",
        # the fault tests hold the audit store's lock and kill -9 workers: fail and recover fast
        "DOUANE_AUDIT_BUSY_TIMEOUT_S": "2",
        "DOUANE_KAFKA_SESSION_TIMEOUT_S": "10",
        # the first detection after start took over the default 10 s on a loaded 2-core
        # machine (the probe below came back "blocked"); the tests check what douane does,
        # not how fast it does it
        "DOUANE_DETECTOR_TIMEOUT_S": "120",
    }
    logs = home / "logs"
    logs.mkdir()
    stack = Stack(load_settings(env), env, f"http://127.0.0.1:{model_port}", logs)
    yield stack
    for name in list(stack.processes):
        stack.stop(name)


@pytest_asyncio.fixture(scope="session")
async def kafka(stack_settings: Stack) -> AsyncIterator[Stack]:
    settings = stack_settings.settings
    await start_broker(settings, timeout_s=120)
    policy = load_policy(settings.policy_path)
    await ensure_topics(kafka_connection(settings, "admin"), topic_names(policy))
    yield stack_settings
    await stop_broker(settings)


@pytest_asyncio.fixture(scope="session")
async def douane(kafka: Stack) -> AsyncIterator[Stack]:
    """Broker + stand-in model server (checking audit records) + worker, ready to answer."""
    kafka.start("model-server", "model-server", "--port", kafka.model_url.rsplit(":", 1)[1],
                "--check-audit", "--chunk-delay-ms", "40")  # streamed answers take time
    await wait_http(f"{kafka.model_url}/v1/models")
    kafka.start("worker", "worker")
    async with KafkaClient(kafka.settings) as client:
        probe_id = f"probe-{uuid.uuid4().hex[:8]}"
        await client.publish(request(probe_id, "Say hello."))
        responses = await client.responses({probe_id}, timeout_s=180)
        assert responses[probe_id][0]["status"] == "answered", kafka.log_text("worker")[-3000:]
    yield kafka




@pytest_asyncio.fixture(scope="session")
async def front_door(douane: Stack) -> AsyncIterator[tuple[str, str]]:
    """The OpenAI-compatible front door on the session's broker: (base URL, a tenant's key)."""
    from streams.front_door.keys import KeyStore, keys_path

    key, _ = KeyStore(keys_path(douane.settings.home)).add("city-of-lyon", "integration")
    port = free_port()
    douane.start("front-door", "front-door", "--port", str(port), "--timeout", "60")
    await wait_http(f"http://127.0.0.1:{port}/healthz")
    yield f"http://127.0.0.1:{port}/v1", key
