"""Kafka's own files after topic retention, on the real broker: a personal value written to a
topic is in the broker's log segments, and once the retention douane set has passed, no file of
that topic holds it any more, although records keep arriving (issue 12, item 3)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from stack import KafkaClient, Stack, request

from streams.adapters.kafka_security import kafka_connection
from streams.adapters.topic_retention import apply_retention, read_topic_configs
from streams.core.retention import topic_retention_settings
from streams.services.topics import TopicsNotCreatedError, ensure_topics

pytestmark = pytest.mark.integration

RETENTION_MS = 2000
STEADY_TRAFFIC_S = 0.2  # a record this often, as a busy topic has


def files_holding(folder: Path, needle: bytes) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):  # the broker deletes as we scan
            if path.is_file() and needle in path.read_bytes():
                found.append(path.name)
    return sorted(found)


async def test_a_value_leaves_the_brokers_files_after_retention_under_steady_traffic(
        kafka: Stack) -> None:
    """Kafka deletes only closed segments whose newest record is older than the retention:
    with its defaults (segments of 7 days, producer timestamps) a topic written to every
    0.2 s keeps both values below for a week. The topic is created with Kafka's defaults and an
    operator's own setting; only douane's ``apply_retention`` sets what retention needs."""
    connection = kafka_connection(kafka.settings, "admin")
    topic = f"douane.retention-test-{uuid.uuid4().hex[:8]}"
    marker = uuid.uuid4().int % 10**6
    value = f"Jeanne Kovalenko, passport FX{marker:06d}".encode()
    # stamped 50 minutes ahead by the producer's clock (within what Kafka 4 accepts, 1 h):
    # with producer timestamps its segment would stay 50 minutes past the retention
    future_value = f"Taras Kovalenko, passport FY{marker:06d}".encode()
    admin = AIOKafkaAdminClient(**connection.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={
            "max.message.bytes": "2000000"})])  # an operator's setting douane must keep
        deadline = time.monotonic() + 30  # until the broker's metadata lists it
        while topic not in await admin.list_topics() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        await admin.close()

    await apply_retention(connection, {topic: RETENTION_MS})
    configs = (await read_topic_configs(connection, [topic]))[topic].values
    assert {k: configs[k] for k in ("retention.ms", "segment.ms", "file.delete.delay.ms",
                                    "message.timestamp.type", "max.message.bytes")} == {
        "retention.ms": "2000", "segment.ms": "1000", "file.delete.delay.ms": "1000",
        "message.timestamp.type": "LogAppendTime", "max.message.bytes": "2000000"}

    producer = AIOKafkaProducer(**connection.client_options(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"prompt": "' + value + b'"}')
        await producer.send_and_wait(topic, b'{"prompt": "' + future_value + b'"}',
                                     timestamp_ms=int(time.time() * 1000) + 50 * 60_000)
        partition = next(kafka.settings.kafka_data_dir.rglob(f"{topic}-0"))
        # the scan sees both while they are kept
        assert files_holding(partition, value) and files_holding(partition, future_value)
        # 2 s retention + a 1 s segment + the broker's 10 s check + 1 s delay, with margin
        deadline = time.monotonic() + 90
        sent = 0
        while (files_holding(partition, value) or files_holding(partition, future_value)) \
                and time.monotonic() < deadline:
            await producer.send_and_wait(topic, b'{"prompt": "filler %d"}' % sent)
            sent += 1
            await asyncio.sleep(STEADY_TRAFFIC_S)
    finally:
        await producer.stop()
    assert sent > 0  # records kept arriving while the values were on disk
    assert files_holding(partition, value) == [], "segment.ms: the value's segment never closed"
    assert files_holding(partition, future_value) == [], \
        "message.timestamp.type: a producer's future timestamp kept the segment"
    assert not [p for p in kafka.settings.kafka_data_dir.rglob("*")
                if p.is_file() and p.suffix == ".log"
                and (value in p.read_bytes() or future_value in p.read_bytes())]


async def test_a_topic_douane_creates_has_its_retention_from_the_first_record(
        kafka: Stack) -> None:
    """The front door, the demo and the worker create missing topics with their retention
    settings (no record waits under Kafka's defaults for the worker to set them)."""
    connection = kafka_connection(kafka.settings, "admin")
    topic = f"douane.retention-created-{uuid.uuid4().hex[:8]}"
    await ensure_topics(connection, [topic], partitions=1,
                        settings={topic: topic_retention_settings(3_600_000)})
    deadline = time.monotonic() + 30  # until the broker's metadata lists it
    while topic not in (configs := await read_topic_configs(connection, [topic])) \
            and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert {k: configs[topic].dynamic.get(k) for k in topic_retention_settings(3_600_000)} == \
        topic_retention_settings(3_600_000)


async def test_a_replication_factor_the_cluster_cannot_give_stops_with_the_topic_named(
        kafka: Stack) -> None:
    """aiokafka returns a refused CreateTopics instead of raising it: douane must not go on
    as if the topic existed (on one broker, a factor of 2 cannot be given)."""
    connection = kafka_connection(kafka.settings, "admin")
    topic = f"douane.replicated-{uuid.uuid4().hex[:8]}"
    with pytest.raises(TopicsNotCreatedError, match=f"{topic}: InvalidReplicationFactor"):
        await ensure_topics(connection, [topic], partitions=1, replication_factor=2)
    await ensure_topics(connection, [topic], partitions=1, replication_factor=1)  # one is fine


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
