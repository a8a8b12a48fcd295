"""Kafka's own files after topic retention, on the real broker: a personal value written to a
topic is in the broker's log segments, and once ``retention.ms`` (set by douane's
``apply_retention``) has passed, no file of that topic holds it any more."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from stack import KafkaClient, Stack, request

from streams.adapters.kafka_security import kafka_connection
from streams.adapters.topic_retention import apply_retention, read_retention

pytestmark = pytest.mark.integration


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(str(p.name) for p in folder.rglob("*") if p.is_file()
                  and needle in p.read_bytes())


async def test_a_value_leaves_the_brokers_segment_files_after_retention(kafka: Stack) -> None:
    connection = kafka_connection(kafka.settings, "admin")
    topic = f"douane.retention-test-{uuid.uuid4().hex[:8]}"
    value = f"Jeanne Kovalenko, passport FX{uuid.uuid4().int % 10**6:06d}".encode()
    admin = AIOKafkaAdminClient(**connection.client_options())
    await admin.start()
    try:  # small segments, deleted at once: only retention.ms decides how long data lives
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={
            "segment.ms": "1000", "file.delete.delay.ms": "0"})])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**connection.client_options(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"prompt": "' + value + b'"}')
    finally:
        await producer.stop()
    partition = next(kafka.settings.kafka_data_dir.rglob(f"{topic}-0"))
    assert files_holding(partition, value)  # the scan sees it while it is kept

    await apply_retention(connection, {topic: 2000})
    assert (await read_retention(connection, [topic]))[topic] == 2000
    deadline = time.monotonic() + 90  # 2 s retention + the broker's 10 s check, with margin
    while files_holding(partition, value) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert files_holding(partition, value) == []
    assert not [p for p in kafka.settings.kafka_data_dir.rglob("*")
                if p.is_file() and p.suffix == ".log" and value in p.read_bytes()]


async def test_only_the_raw_topics_hold_a_submitted_value_in_clear(douane: Stack) -> None:
    """After a request with personal data went through douane: the audit log, key store, vault
    and every log file are scanned for its values; only Kafka's files (bounded by retention.ms,
    see above) may hold them."""
    request_id = f"scan-{uuid.uuid4().hex[:8]}"
    email = f"jeanne.martin.{request_id}@example.fr"
    planted = ["Jeanne Martin", email, "+33 6 12 34 56 78"]
    text = (f"Please write a polite reply to Jeanne Martin ({email}, +33 6 12 34 56 78) "
            "confirming her appointment.")
    async with KafkaClient(douane.settings) as client:
        await client.publish(request(request_id, text))
        responses = await client.responses({request_id}, timeout_s=120)
    assert [r["status"] for r in responses[request_id]] == ["answered"]

    home = douane.settings.home
    kafka_dir = douane.settings.kafka_data_dir
    scanned = [p for p in home.rglob("*") if p.is_file() and kafka_dir not in p.parents]
    assert any(p.name.endswith("-wal") or p.suffix == ".sqlite3" for p in scanned)
    assert any(p.parent == douane.logs for p in scanned)  # the worker's own log output
    needles = [v.encode() for v in planted] + [json.dumps(v).encode() for v in planted]
    leaks = {str(p.relative_to(home)): [n for n in needles if n in p.read_bytes()]
             for p in scanned}
    assert {name: found for name, found in leaks.items() if found} == {}
    # ... while the broker's files do have it (the scan would see it)
    assert any(email.encode() in p.read_bytes()
               for p in kafka_dir.rglob("*.log") if "douane.requests" in str(p))
