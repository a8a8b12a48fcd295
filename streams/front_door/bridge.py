"""Publishing a request to its tenant's ``douane.requests.<tenant>`` and waiting for its
response on ``douane.responses.<tenant>`` (and, for streamed answers, its pieces on
``douane.responses.chunks.<tenant>``), correlated by request id; in the single layout,
``douane.requests``, ``douane.responses`` and ``douane.responses.chunks``.

The front door serves the tenants of the policy it started with (its principal may write the
request topics of those tenants and read their answers; the tenant comes from the API key).
The consumer reads every partition of their answer topics from the moment the front door
started (no consumer group: every front door instance sees every response and picks its
own). A response that arrives after its caller gave up (504) is only logged: the pipeline has
already audited it, as every answer. Each request sent may come with an ``on_done`` callback,
called once when its final response passes by, whoever still waits for it, or after
``abandon_after_s`` if none ever comes (a stopped worker): the front door frees the request's
place in its caller's limits then (``streams.front_door.limits``).

The Kafka clients are aiokafka's here (``DOUANE_KAFKA_CLIENT=aiokafka``); the default,
librdkafka, is ``streams.front_door.bridge_librdkafka`` (confluent-kafka), which overrides only
the methods that touch a client (:func:`bridge_for`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.adapters import tracing
from streams.adapters.kafka_security import KafkaConnection, start_client
from streams.core.tenant_topics import (
    PER_TENANT,
    RESPONSE_CHUNKS,
    SINGLE,
    answer_topics,
    request_topic,
)
from streams.core.tenant_topics import REQUESTS as SINGLE_REQUESTS

log = structlog.get_logger(__name__)
Event = tuple[str, dict[str, Any]]  # ("chunk", {"id", "seq", "delta"}) or ("final", response)


class KafkaBridge:
    def __init__(self, kafka: KafkaConnection, tenants: list[str] | tuple[str, ...] = (),
                 layout: str = PER_TENANT, abandon_after_s: float = 600.0) -> None:
        self.kafka = kafka
        self.layout = layout
        self.tenants = frozenset(tenants)  # the tenants served (per-tenant layout)
        self.waiting: dict[str, asyncio.Queue[Event]] = {}
        self.timed_out: set[str] = set()
        self.abandon_after_s = abandon_after_s
        self._on_done: dict[str, tuple[Callable[[], None], asyncio.TimerHandle]] = {}
        self._task: asyncio.Task[None] | None = None
        self._create_clients()

    def _create_clients(self) -> None:
        self.producer = AIOKafkaProducer(**self.kafka.client_options(), acks="all", linger_ms=0)
        self.consumer = AIOKafkaConsumer(**self.kafka.client_options(),
                                         enable_auto_commit=False)

    async def start(self) -> None:
        await start_client(self.producer, self.kafka, "the front door's producer")
        await start_client(self.consumer, self.kafka, "the front door's consumer")
        partitions = [TopicPartition(topic, p)
                      for topic in answer_topics(self.layout, sorted(self.tenants))
                      for p in sorted(await self.producer.partitions_for(topic))]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for partition in partitions:  # fix the start offsets before the first request
            await self.consumer.position(partition)
        self._task = asyncio.create_task(self._dispatch(), name="front-door-responses")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for request_id in list(self._on_done):
            self._done(request_id)
        await self._stop_clients()

    async def _stop_clients(self) -> None:
        await self.producer.stop()
        await self.consumer.stop()

    @property
    def reading_answers(self) -> bool:
        """Whether responses are being read (the loop that hands them to callers runs)."""
        return self._task is not None and not self._task.done()

    def serves(self, tenant: str) -> bool:
        return self.layout == SINGLE or tenant in self.tenants

    def _request_topic(self, tenant: str) -> str:
        if self.layout == SINGLE:
            return SINGLE_REQUESTS
        if tenant not in self.tenants:
            raise LookupError("this front door does not serve the request's tenant")
        return request_topic(tenant)

    async def send(self, request: dict[str, Any],
                   on_done: Callable[[], None] | None = None) -> asyncio.Queue[Event]:
        """Publish; the returned queue receives the request's events until ``close``."""
        request_id = request["id"]
        topic = self._request_topic(request["tenant"])
        events: asyncio.Queue[Event] = asyncio.Queue()
        self.waiting[request_id] = events  # before publishing: the answer may be quick
        if on_done is not None:
            timer = asyncio.get_running_loop().call_later(
                self.abandon_after_s, self._done, request_id)
            self._on_done[request_id] = (on_done, timer)
        try:
            # the caller's span (the front door's request span) goes along, when traced
            await self._publish(
                topic, json.dumps(request, ensure_ascii=False).encode("utf-8"),
                request_id.encode(), list(tracing.kafka_headers()))
        except BaseException:
            self.waiting.pop(request_id, None)
            self._done(request_id)  # never published: nothing will answer it
            raise
        return events

    async def _publish(self, topic: str, value: bytes, key: bytes,
                       headers: list[tuple[str, bytes]]) -> None:
        """Once the broker has acknowledged it (acks=all)."""
        await self.producer.send_and_wait(topic, value, key=key, headers=headers or None)

    def _done(self, request_id: str) -> None:
        done = self._on_done.pop(request_id, None)
        if done is not None:
            callback, timer = done
            timer.cancel()
            callback()

    def close(self, request_id: str, timed_out: bool = False) -> None:
        self.waiting.pop(request_id, None)
        if timed_out:
            self.timed_out.add(request_id)

    async def ask(self, request: dict[str, Any], timeout_s: float,
                  on_done: Callable[[], None] | None = None) -> dict[str, Any]:
        """Publish and wait for the complete response; ``TimeoutError`` after ``timeout_s``."""
        events = await self.send(request, on_done)
        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                kind, body = await asyncio.wait_for(events.get(), max(0.0, remaining))
                if kind == "final":
                    self.close(request["id"])
                    return body
        except TimeoutError:
            self.close(request["id"], timed_out=True)
            raise

    async def _dispatch(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=1000)
            for partition, records in batch.items():
                for record in records:
                    self._received(partition.topic, record.value)

    def _received(self, topic: str, value: bytes | None) -> None:
        """A response or a piece of a streamed one: to whoever waits for it."""
        kind = ("chunk" if topic == RESPONSE_CHUNKS or topic.startswith(RESPONSE_CHUNKS + ".")
                else "final")
        try:
            body = json.loads(value or b"")
            request_id = body["id"]
        except (ValueError, KeyError, TypeError):
            return
        if kind == "final":
            self._done(request_id)
        events = self.waiting.get(request_id)
        if events is not None:
            events.put_nowait((kind, body))
        elif kind == "final" and request_id in self.timed_out:
            self.timed_out.discard(request_id)
            log.info("late response; its caller had timed out (already audited)",
                     request_id=request_id, status=body.get("status"))


def bridge_for(kafka: KafkaConnection, tenants: list[str] | tuple[str, ...], layout: str,
               abandon_after_s: float, client: str = "aiokafka") -> KafkaBridge:
    """The bridge on the Kafka client chosen by ``DOUANE_KAFKA_CLIENT``."""
    if client == "librdkafka":
        from streams.front_door.bridge_librdkafka import LibrdkafkaBridge

        return LibrdkafkaBridge(kafka, tenants, layout, abandon_after_s)
    return KafkaBridge(kafka, tenants, layout, abandon_after_s)
