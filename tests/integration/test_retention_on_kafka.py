"""Kafka's own files after topic retention, on the real broker: a personal value written to a
topic is in the broker's log segments, and once ``retention.ms`` (set by douane's
``apply_retention``) has passed, no file of that topic holds it any more."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from stack import Stack

from streams.adapters.topic_retention import apply_retention, read_retention

pytestmark = pytest.mark.integration


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(str(p.name) for p in folder.rglob("*") if p.is_file()
                  and needle in p.read_bytes())


async def test_a_value_leaves_the_brokers_segment_files_after_retention(kafka: Stack) -> None:
    bootstrap = kafka.settings.kafka_bootstrap
    topic = f"douane.retention-test-{uuid.uuid4().hex[:8]}"
    value = f"Jeanne Kovalenko, passport FX{uuid.uuid4().int % 10**6:06d}".encode()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:  # small segments, deleted at once: only retention.ms decides how long data lives
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={
            "segment.ms": "1000", "file.delete.delay.ms": "0"})])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"prompt": "' + value + b'"}')
    finally:
        await producer.stop()
    partition = next(kafka.settings.kafka_data_dir.rglob(f"{topic}-0"))
    assert files_holding(partition, value)  # the scan sees it while it is kept

    await apply_retention(bootstrap, {topic: 2000})
    assert (await read_retention(bootstrap, [topic]))[topic] == 2000
    deadline = time.monotonic() + 90  # 2 s retention + the broker's 10 s check, with margin
    while files_holding(partition, value) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert files_holding(partition, value) == []
    assert not [p for p in kafka.settings.kafka_data_dir.rglob("*")
                if p.is_file() and p.suffix == ".log" and value in p.read_bytes()]
