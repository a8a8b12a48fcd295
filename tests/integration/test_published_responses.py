"""The worker's look at a response topic before publishing a response again (after a crash):
on a real broker, with the worker's own principal, a key published after a moment is found,
one published before it, another key, or a topic with nothing is not. On both Kafka clients,
each reading what a producer of the same client published (the worker's settings: idempotent,
murmur2 partitioning)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import KafkaException, Producer
from stack import Stack

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.adapters.published_responses import (
    CLOCK_MARGIN,
    LibrdkafkaPublishedResponses,
    PublishedResponses,
    published_responses,
)
from streams.config import KAFKA_CLIENTS

pytestmark = pytest.mark.integration

TOPIC = "douane.responses.city-of-lyon"
Send = Callable[[str, bytes, bytes], Awaitable[None]]


@pytest.mark.parametrize("client", KAFKA_CLIENTS)
async def test_a_response_is_found_on_its_topic_only_when_it_was_published(
        kafka: Stack, client: str) -> None:
    worker = kafka_connection(kafka.settings, "worker")
    send: Send
    partitions_for: Callable[[str], Awaitable[set[int]]]
    if client == "librdkafka":
        producer = Producer({**worker.librdkafka_options(), "acks": "all",
                             "enable.idempotence": True, "partitioner": "murmur2_random"})

        async def send(topic: str, key: bytes, value: bytes) -> None:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            loop = asyncio.get_running_loop()

            def settle(error: object) -> None:
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(KafkaException(error))

            def report(error: object, _message: object) -> None:  # inside poll's thread
                loop.call_soon_threadsafe(settle, error)

            producer.produce(topic, value, key, on_delivery=report)
            while not done.done():
                await asyncio.to_thread(producer.poll, 0.1)
            await done

        async def partitions_for(topic: str) -> set[int]:
            found = (await asyncio.to_thread(producer.list_topics, topic, 30)).topics[topic]
            return set(found.partitions) if found.error is None else set()

        async def stop() -> None:
            await asyncio.to_thread(producer.flush, 10)
    else:
        aio = AIOKafkaProducer(**worker.client_options(), acks="all", enable_idempotence=True)
        await start_client(aio, worker, "the test's producer")

        async def send(topic: str, key: bytes, value: bytes) -> None:
            await aio.send_and_wait(topic, value, key=key)

        partitions_for, stop = aio.partitions_for, aio.stop

    published = published_responses(client, worker, kafka.settings.app_id, partitions_for)
    expected = LibrdkafkaPublishedResponses if client == "librdkafka" else PublishedResponses
    assert type(published) is expected  # the choice follows the client
    ours, theirs = (f"look-{uuid.uuid4().hex[:8]}".encode() for _ in range(2))
    try:
        before = datetime.now(UTC)
        for n in range(30):  # others' responses around it, on every partition
            await send(TOPIC, f"other-{n}".encode(), b"{}")
        await send(TOPIC, ours, b"{}")
        for n in range(30, 40):  # and after it: the look reads to the end, not to the key
            await send(TOPIC, f"other-{n}".encode(), b"{}")

        assert await published.contains(TOPIC, ours, before)
        assert not await published.contains(TOPIC, theirs, before)
        # from a moment after it (beyond the clock margin), it is not looked for
        later = datetime.now(UTC) + CLOCK_MARGIN + timedelta(minutes=1)
        assert not await published.contains(TOPIC, ours, later)
        assert not await published.contains("douane.responses.tax-office", ours, before)
        assert await published.contains(TOPIC, ours, before)  # the reader is reused
    finally:
        await published.close()
        await stop()
