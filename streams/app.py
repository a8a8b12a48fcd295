"""The faust application: agents that wire Kafka topics to the pipeline, nothing more.

One agent admits requests (``douane.requests``), one forwards each provider's topic
(``douane.forward.<provider>``). Agents run with concurrency 1 so that faust never commits an
offset past a message still in flight; scale out with partitions and more workers instead.
Every outgoing message is awaited until the broker acknowledged it, before the agent takes the
next event (and so before its offset can be committed).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import faust
import structlog
from faust.types import StreamT

from streams.adapters.audit_store import AuditStoreError
from streams.config import DEAD_LETTER_TOPIC, REQUESTS_TOPIC, Settings, forward_topic
from streams.pipeline import Outgoing, Pipeline, Source

log = structlog.get_logger(__name__)
Stage = Callable[[bytes, Source], Awaitable[list[Outgoing]]]
AUDIT_UNAVAILABLE = (sqlite3.Error, OSError, AuditStoreError)
MAX_UNEXPECTED_FAILURES = 3


def dead_letter(raw: bytes, source: Source, error: Exception) -> Outgoing:
    """A message douane failed to process three times: kept whole for an operator, never lost."""
    body = {"source": source.as_json(), "error_type": type(error).__name__,
            "original_base64": base64.b64encode(raw).decode("ascii")}
    return Outgoing(DEAD_LETTER_TOPIC, f"{source.topic}/{source.offset}".encode(),
                    json.dumps(body).encode())


def create_app(settings: Settings, pipeline: Pipeline) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        store="memory://",
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        topic_disable_leader=True,
        producer_acks=-1,
        # after a crash, the restarted worker gets the partitions back once this has passed
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 4),
    )

    def raw_topic(name: str) -> Any:
        return app.topic(name, key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw")

    async def publish(outgoing: Iterable[Outgoing]) -> None:
        for message in outgoing:
            await app.producer.send_and_wait(message.topic, message.key, message.value,
                                             partition=None, timestamp=None, headers=None)

    async def publish_chunk(topic: str, key: bytes, value: bytes) -> None:
        # queued, not awaited one by one: a broker round trip per piece would slow the stream;
        # the pieces of one answer keep their order (same key, same partition) and the
        # complete response, awaited as every response, carries the whole text anyway
        await app.producer.send(topic, key, value, partition=None, timestamp=None,
                                headers=None)

    pipeline.chunk_sink = publish_chunk  # streamed answers leave piece by piece

    def source_of(event: Any) -> Source:
        msg = event.message
        return Source(msg.topic, msg.partition, msg.offset, msg.key)

    async def handle(stage: Stage, event: Any) -> None:
        source = source_of(event)
        failures = 0
        while True:
            try:
                outgoing = await stage(event.value, source)
                break
            except AUDIT_UNAVAILABLE as error:
                # Fail closed: nothing leaves while the audit store cannot write. The partition
                # waits (and its offset stays uncommitted) until the store is back.
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.error("audit store unavailable; holding the message", attempt=failures,
                          error_type=type(error).__name__, retry_in_s=delay, **source.as_json())
                await asyncio.sleep(delay)
            except Exception as error:
                failures += 1
                log.exception("unexpected error while processing", attempt=failures,
                              error_type=type(error).__name__, **source.as_json())
                if failures >= MAX_UNEXPECTED_FAILURES:
                    outgoing = [dead_letter(event.value, source, error)]
                    break
                await asyncio.sleep(0.5)
        await publish(outgoing)

    @app.agent(raw_topic(REQUESTS_TOPIC), concurrency=1)
    async def admit(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            await handle(pipeline.admit, event)

    provider_topics = [forward_topic(p.id) for p in pipeline.policy.policy.providers]

    @app.agent(app.topic(*provider_topics, key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw"),
               concurrency=1)
    async def forward(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            await handle(pipeline.forward, event)

    return app
