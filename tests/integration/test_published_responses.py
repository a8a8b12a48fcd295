"""The worker's look at a response topic before publishing a response again (after a crash):
on a real broker, with the worker's own principal, a key published after a moment is found,
one published before it, another key, or a topic with nothing is not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from stack import Stack

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.adapters.published_responses import CLOCK_MARGIN, PublishedResponses

pytestmark = pytest.mark.integration

TOPIC = "douane.responses.city-of-lyon"


async def test_a_response_is_found_on_its_topic_only_when_it_was_published(
        kafka: Stack) -> None:
    worker = kafka_connection(kafka.settings, "worker")
    producer = AIOKafkaProducer(**worker.client_options(), acks="all",
                                enable_idempotence=True)
    await start_client(producer, worker, "the test's producer")
    published = PublishedResponses(worker.client_options(), producer.partitions_for)
    ours, theirs = (f"look-{uuid.uuid4().hex[:8]}".encode() for _ in range(2))
    try:
        before = datetime.now(UTC)
        for n in range(30):  # others' responses around it, on every partition
            await producer.send_and_wait(TOPIC, b"{}", key=f"other-{n}".encode())
        await producer.send_and_wait(TOPIC, b"{}", key=ours)

        assert await published.contains(TOPIC, ours, before)
        assert not await published.contains(TOPIC, theirs, before)
        # from a moment after it (beyond the clock margin), it is not looked for
        later = datetime.now(UTC) + CLOCK_MARGIN + timedelta(minutes=1)
        assert not await published.contains(TOPIC, ours, later)
        assert not await published.contains("douane.responses.tax-office", ours, before)
    finally:
        await published.close()
        await producer.stop()
