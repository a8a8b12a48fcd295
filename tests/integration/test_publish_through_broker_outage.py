"""What a message produced is published even when the broker is away for longer than the
producer's request timeout, and what was already queued is published once.

Found by ``benchmarks/crash.py``: during broker restarts of about 50 s (a loaded machine) the
producer's ``send`` gave up with ``KafkaTimeoutError`` (not retriable, in aiokafka's terms)
after its 40 s request timeout, and the worker sent the requests it had just admitted to the
dead-letter topic: recorded as admitted, never forwarded, no response (99 of 1,500 requests).
Here the producer's request timeout is 2 s and the broker is started again only after
``send`` has timed out at least once. A broker of its own: the session's keeps running.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaTimeoutError

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.config import REJECTED_TOPIC, Settings, load_settings
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.ports import free_port
from streams.pipeline import Outgoing
from streams.runtime.parallel_consumer import ParallelConsumer
from streams.services.topics import ensure_topics, topic_names
from streams.worker import load_policy

pytestmark = pytest.mark.integration

MESSAGES = 40  # about 40 KB to one partition: more than the producer's 16 KB batches hold


@pytest_asyncio.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[Settings]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    settings = load_settings({**os.environ, "DOUANE_HOME": str(home),
                              "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}"})
    await start_broker(settings, timeout_s=180)
    try:
        await ensure_topics(kafka_connection(settings, "admin"),
                            topic_names(load_policy(settings.policy_path)))
        yield settings
    finally:
        await stop_broker(settings)


async def test_results_are_published_once_after_an_outage_longer_than_the_request_timeout(
    own_broker: Settings,
) -> None:
    settings = own_broker
    kafka = kafka_connection(settings, "admin")
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True,
                                request_timeout_ms=2000)
    await start_client(producer, kafka, "the test's producer")
    partitions = [TopicPartition(REJECTED_TOPIC, p)
                  for p in sorted(await producer.partitions_for(REJECTED_TOPIC))]
    refused = 0
    send = producer.send

    async def counting_send(*args: Any, **kwargs: Any) -> Any:
        nonlocal refused
        try:
            return await send(*args, **kwargs)
        except KafkaTimeoutError:
            refused += 1
            raise

    producer.send = counting_send  # type: ignore[method-assign]
    # only the publishing of results is exercised: the consumer and admin client stay idle
    stages = ParallelConsumer(
        AIOKafkaConsumer(**kafka.client_options()), producer,
        AIOKafkaAdminClient(**kafka.client_options()), "outage-test", [], _no_handler,
        lambda record: None, lambda topic: 1, dead_letter=_no_dead_letter)
    outgoing = [Outgoing(REJECTED_TOPIC, b"outage", json.dumps({"n": n, "pad": "x" * 1000})
                         .encode()) for n in range(MESSAGES)]
    try:
        assert await stop_broker(settings, timeout_s=60)
        publishing = asyncio.create_task(stages._publish(outgoing))
        for _ in range(1200):  # a bound for a slow machine, not part of what is checked
            if refused or publishing.done():
                break
            await asyncio.sleep(0.1)
        assert refused, "send never timed out while the broker was away"
        await start_broker(settings, timeout_s=180)
        # without the fix, _publish gave up at the first timeout: KafkaTimeoutError here
        await asyncio.wait_for(publishing, timeout=600)
    finally:
        # bounded: a producer whose queueing failed may not finish flushing
        await asyncio.wait_for(producer.stop(), timeout=120)

    published = Counter(body["n"] for body in await _everything_on(settings, partitions))
    assert published == Counter(range(MESSAGES)), "each message exactly once"


async def _everything_on(settings: Settings,
                         partitions: list[TopicPartition]) -> list[dict[str, Any]]:
    kafka = kafka_connection(settings, "admin")
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await start_client(consumer, kafka, "the test's reader")
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        bodies: list[dict[str, Any]] = []
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            batch = await consumer.getmany(timeout_ms=1000)
            bodies += [json.loads(r.value) for records in batch.values() for r in records]
        return bodies
    finally:
        await consumer.stop()


async def _no_handler(record: Any) -> list[Outgoing]:
    raise AssertionError("no message is consumed in this test")


def _no_dead_letter(record: Any, error: Exception) -> Outgoing:
    raise AssertionError(f"nothing may go to the dead-letter topic ({error!r})")
