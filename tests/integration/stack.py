"""Helpers for integration tests: the process stack and a plain Kafka client.

Everything lives under a temporary DOUANE_HOME, so tests never touch the developer's broker,
audit log or keys. Requests are published with a plain aiokafka producer, as any producing
system would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.config import (
    REJECTED_TOPIC,
    REQUESTS_TOPIC,
    RESPONSE_CHUNKS_TOPIC,
    RESPONSES_TOPIC,
    Settings,
)
from streams.core.tenant_topics import SINGLE, request_topic, tenant_of_request_topic
from streams.devtools.local_stack import spawn_douane, stop_process

MAX_MESSAGE_BYTES = 64 * 1024


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    model_url: str
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``douane <args>`` as ``name``; ``env`` adds to (or overrides) the stack's."""
        log_file = (self.logs / f"{name}.log").open("ab")
        process = spawn_douane(args, {**self.env, **(env or {})}, log_file)
        self.processes[name] = process
        return process

    def stop(self, name: str, kill: bool = False) -> None:
        stop_process(self.processes.pop(name), timeout_s=30, kill=kill)

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    async def received(self) -> list[dict[str, Any]]:
        """What the session's stand-in model server received."""
        return await self.stand_in().received()

    def stand_in(self, url: str | None = None) -> StandIn:
        """Control of the stand-in model server at ``url`` (default: the session's)."""
        return StandIn(url or self.model_url)

    def audit_kinds(self, request_ids: Iterable[str]) -> dict[str, list[str]]:
        """The kinds of the audit records of each request, in the order they were written."""
        from streams.adapters.audit.sqlite import open_sqlite_reader

        store = open_sqlite_reader(self.settings.audit_db)
        try:
            return {i: [r.kind for r in store.records_for_request(i)] for i in request_ids}
        finally:
            store.close()

    async def audit_verify(self) -> subprocess.CompletedProcess[str]:
        """``douane audit verify`` as an operator runs it, with the stack's environment."""
        return await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "streams.cli", "audit", "verify"],
            env=self.env, capture_output=True, text=True, timeout=600)


@dataclass(frozen=True)
class StandIn:
    """The stand-in model server's test controls (``/_stand-in/...``)."""

    url: str

    async def _post(self, path: str) -> None:
        async with httpx.AsyncClient() as client:
            (await client.post(f"{self.url}/_stand-in/{path}")).raise_for_status()

    async def hold(self) -> None:
        """Requests are received (and listed) but not answered until :meth:`release`."""
        await self._post("hold")

    async def release(self) -> None:
        await self._post("release")

    async def in_flight(self) -> int:
        """Requests received and not answered yet."""
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/_stand-in/in-flight")
            response.raise_for_status()
            return int(response.json()["in_flight"])

    async def received(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            data: list[dict[str, Any]] = (
                await client.get(f"{self.url}/_stand-in/received")
            ).json()
            return data

    async def received_ids(self) -> list[str]:
        return [str(entry["request_id"]) for entry in await self.received()]


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float,
                     failure: Callable[[], str], poll_s: float = 0.2) -> None:
    """Poll ``condition`` until it holds; AssertionError with ``failure()`` after ``timeout_s``
    (a generous bound for slow machines, never part of what a test checks)."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure())
        await asyncio.sleep(poll_s)


def request(request_id: str, text: str, tenant: str = "city-of-lyon", **extra: Any) -> bytes:
    body = {"id": request_id, "tenant": tenant,
            "messages": [{"role": "user", "content": text}], **extra}
    return json.dumps(body).encode()


def thread_names(pid: int) -> set[str]:
    """The names of a process's threads (librdkafka's are ``rdk:*``)."""
    names = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as comm:
                names.add(comm.read().strip())
        except OSError:  # a thread that ended meanwhile
            continue
    return names


class KafkaClient:
    """A plain aiokafka producer and consumer, as a producing system would use them."""

    def __init__(self, settings: Settings, role: str = "admin") -> None:
        # the admin principal by default: the tests read every tenant's topics and the
        # operators' douane.rejected (tests/integration/test_kafka_security.py uses the others)
        kafka = kafka_connection(settings, role)
        self.kafka, self.settings = kafka, settings
        self.producer = AIOKafkaProducer(**kafka.client_options(), acks="all")
        self.consumer = AIOKafkaConsumer(**kafka.client_options())

    async def __aenter__(self) -> KafkaClient:
        await start_client(self.producer, self.kafka, "the test's producer")
        await start_client(self.consumer, self.kafka, "the test's consumer")
        # every tenant's responses (douane.responses.<tenant>), or the single layout's topic;
        # every rejection (the tenants' douane.rejected.<tenant> and the operators' one)
        existing = await self.consumer.topics()
        self.request_topics = {t for t in existing if tenant_of_request_topic(t)}
        answers = sorted(t for t in existing
                         if t == RESPONSES_TOPIC or (t.startswith(RESPONSES_TOPIC + ".")
                                                     and not t.startswith(RESPONSE_CHUNKS_TOPIC)))
        rejections = sorted(t for t in existing
                            if t == REJECTED_TOPIC or t.startswith(REJECTED_TOPIC + "."))
        partitions = [
            TopicPartition(topic, p)
            for topic in (*answers, *rejections)
            for p in sorted(await self.producer.partitions_for(topic))
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self.consumer.position(partition)
        self.seen: dict[str, list[dict[str, Any]]] = {RESPONSES_TOPIC: [], REJECTED_TOPIC: []}
        # every response as it was published: (topic, key, value)
        self.published: list[tuple[str, bytes | None, bytes]] = []
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()
        await self.consumer.stop()

    def request_topic(self, value: bytes, tenant: str | None = None) -> str:
        """Where a producing system of the message's tenant publishes it: its own
        ``douane.requests.<tenant>``; a message naming no tenant that has a topic (malformed,
        unknown) goes to city-of-lyon's, as if that tenant's producer had sent it."""
        if self.settings.topic_layout == SINGLE:
            return REQUESTS_TOPIC
        if tenant is None:
            try:
                claimed = json.loads(value).get("tenant")
            except (ValueError, AttributeError):
                claimed = None
            tenant = (claimed if isinstance(claimed, str)
                      and request_topic(claimed) in self.request_topics else "city-of-lyon")
        return request_topic(tenant)

    async def publish(self, value: bytes, key: bytes | None = None,
                      tenant: str | None = None) -> RecordMetadata:
        if key is None:
            try:
                key = str(json.loads(value)["id"]).encode()
            except (ValueError, KeyError, TypeError):
                key = None
        return await self.producer.send_and_wait(self.request_topic(value, tenant), value,
                                                 key=key)

    async def publish_until_sent(self, value: bytes, timeout_s: float = 300) -> int:
        """Publish, trying again while the broker is unreachable (as a producing system that
        waits for the broker to come back would); returns the number of attempts. A message
        may then be on the topic twice: douane answers a request id once."""
        deadline = time.monotonic() + timeout_s
        attempts = 0
        while True:
            attempts += 1
            try:
                await self.publish(value)
                return attempts
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _drain(self, timeout_ms: int = 300) -> None:
        batch = await self.consumer.getmany(timeout_ms=timeout_ms)
        for partition, records in batch.items():
            for record in records:
                topic = (REJECTED_TOPIC if partition.topic.startswith(REJECTED_TOPIC)
                         else RESPONSES_TOPIC)
                self.seen[topic].append(json.loads(record.value))
                if topic == RESPONSES_TOPIC:
                    self.published.append((partition.topic, record.key, record.value))

    async def responses(
        self, ids: set[str], timeout_s: float = 60, settle_s: float = 2.0
    ) -> dict[str, list[dict[str, Any]]]:
        """Every response for these ids; waits for one each, then ``settle_s`` for extras."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            await self._drain()
            got = {r["id"] for r in self.seen[RESPONSES_TOPIC]}
            if ids <= got:
                break
        settle_until = time.monotonic() + settle_s
        while time.monotonic() < settle_until:
            await self._drain()
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for response in self.seen[RESPONSES_TOPIC]:
            if response["id"] in ids:
                found[response["id"]].append(response)
        return found

    async def published_responses(self, request_id: str, count: int,
                                  timeout_s: float = 60) -> list[tuple[str, bytes | None, bytes]]:
        """The responses published for ``request_id`` as they were published (topic, key,
        value), once there are ``count`` of them or ``timeout_s`` has passed."""
        deadline = time.monotonic() + timeout_s

        def ours() -> list[tuple[str, bytes | None, bytes]]:
            return [p for p in self.published if p[1] == request_id.encode()]

        while len(ours()) < count and time.monotonic() < deadline:
            await self._drain()
        return ours()

    async def rejected(self, count: int, timeout_s: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.seen[REJECTED_TOPIC]) < count and time.monotonic() < deadline:
            await self._drain()
        return list(self.seen[REJECTED_TOPIC])
