"""The worker's Kafka wiring: douane's topics to the two pipeline stages, many messages at once.

Each tenant's ``douane.requests.<tenant>`` (or, in the single layout, ``douane.requests``)
goes to ``Pipeline.admit``, each ``douane.forward.<provider>`` to
``Pipeline.forward``; ``runtime.parallel_consumer`` runs them concurrently and commits offsets
safely. This module adds what every message gets whatever its stage: fail-closed holding while
the audit store cannot write, a dead letter after repeated unexpected failures, and the key
that keeps the turns of one conversation in order.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from streams.adapters import metrics, tracing
from streams.adapters.audit.protocols import AUDIT_UNAVAILABLE
from streams.adapters.kafka_security import KafkaConnection, kafka_connection, start_client
from streams.adapters.published_responses import published_responses
from streams.answer_chunks import ChunkSink
from streams.config import (
    DEAD_LETTER_TOPIC,
    FORWARD_TOPIC_PREFIX,
    Settings,
)
from streams.core.kept_bytes import kept_bytes_for, kept_original
from streams.core.loaded_policy import LoadedPolicy
from streams.core.tenant_topics import is_request_topic, tenant_of_request_topic
from streams.pipeline import Outgoing, Pipeline, Source
from streams.runtime.parallel_consumer import DeadLetter, ParallelConsumer, ParallelStages
from streams.services.topics import consumed_topics

log = structlog.get_logger(__name__)
Stage = Callable[[bytes, Source], Awaitable[list[Outgoing]]]
MAX_UNEXPECTED_FAILURES = 3
SHUTDOWN_GRACE_S = 20.0


def dead_letter(raw: bytes, source: Source, error: Exception, kept_bytes: int) -> Outgoing:
    """A message douane could not process (three unexpected failures) or whose results could
    not be published: kept for an operator, never lost (within Kafka's size: ``kept_bytes``)."""
    body = {"source": source.as_json(), "error_type": type(error).__name__,
            **kept_original(raw, kept_bytes)}
    return Outgoing(DEAD_LETTER_TOPIC, f"{source.topic}/{source.partition}/{source.offset}"
                    .encode(), json.dumps(body).encode())


def conversation_key(record: ConsumerRecord[bytes, bytes]) -> Hashable | None:
    """Messages of one conversation (or, without one, of one request id) run in order; a
    message that is not a JSON object has nothing to keep in order with."""
    body = json.loads(record.value)
    if not isinstance(body, dict):
        return None
    tenant = tenant_of_request_topic(record.topic) or body.get("tenant")
    conversation = body.get("conversation") or body.get("id")
    if not isinstance(conversation, str):
        return None
    return (str(tenant), conversation)


async def hold_or_dead_letter(stage: Stage, raw: bytes, source: Source,
                              kept_bytes: int) -> list[Outgoing]:
    """Run one stage on one message until it gives its outgoing messages.

    Fail closed: nothing leaves while the audit store cannot write; the message waits (its
    offset stays uncommitted, other messages carry on) until the store is back. Any other
    error is tried three times, then the message goes whole to the dead-letter topic."""
    failures = 0
    while True:
        try:
            return await stage(raw, source)
        except AUDIT_UNAVAILABLE as error:
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
                metrics.DEAD_LETTERS.labels("processing-failed").inc()
                return [dead_letter(raw, source, error, kept_bytes)]
            await asyncio.sleep(0.5)


def topic_window(settings: Settings, pipeline: Pipeline) -> Callable[[str], int]:
    """How many messages of a topic may be in flight: the worker's window for requests; for a
    provider's forward topic, that provider's own limit from the policy (never above the
    worker's window), so a slow provider fills only its own topic's window.

    Kept per topic for the policy set in force, and worked out again once another set is put
    in force (``Pipeline.replace_policy`` assigns a new object): the parallel consumer asks for
    the window of every assigned partition each time it takes a batch or messages finish (168
    partitions with 6 tenants and 8 providers), and the search of the policy's providers was
    about a tenth of the event loop's thread (issue 10, docs/benchmarks.md "workercpu2")."""
    windows: dict[str, int] = {}
    computed_for: list[object] = [None]  # the policy set ``windows`` was computed for

    def window(topic: str) -> int:
        policy = pipeline.policy
        if policy is not computed_for[0]:
            windows.clear()
            computed_for[0] = policy
        found = windows.get(topic)
        if found is None:
            found = windows[topic] = _window_of(topic, policy, settings.max_in_flight)
        return found
    return window


def _window_of(topic: str, policy: LoadedPolicy, worker_window: int) -> int:
    if topic.startswith(FORWARD_TOPIC_PREFIX):
        provider_id = topic[len(FORWARD_TOPIC_PREFIX):]
        provider = next((p for p in policy.policy.providers if p.id == provider_id), None)
        if provider is not None and provider.max_in_flight is not None:
            return min(provider.max_in_flight, worker_window)
    return worker_window


async def run_stages(settings: Settings, pipeline: Pipeline,
                     timers: list[Callable[[], Coroutine[Any, Any, None]]],
                     on_running: Callable[[ParallelStages], None] | None = None) -> None:
    """Consume douane's topics until SIGTERM/SIGINT, then finish what is in flight.
    ``on_running`` receives the consumer (to follow the topics of a reloaded policy)."""
    connection = kafka_connection(settings, "worker")
    kept_bytes = kept_bytes_for(settings.kafka_max_request_bytes)
    pipeline_handle = _handler(pipeline, kept_bytes)

    def unpublishable(record: ConsumerRecord[bytes, bytes], error: Exception) -> Outgoing:
        source = Source(record.topic, record.partition, record.offset, record.key)
        metrics.DEAD_LETTERS.labels("unpublishable").inc()
        return dead_letter(record.value, source, error, kept_bytes)

    topics = consumed_topics(pipeline.policy, settings.topic_layout)
    stages: ParallelStages
    publish_chunk: ChunkSink
    partitions_for: Callable[[str], Awaitable[set[int]]]
    close_clients: Callable[[], Awaitable[None]]
    if settings.kafka_client == "librdkafka":
        from streams.runtime.parallel_consumer_librdkafka import LibrdkafkaParallelConsumer

        rdk = LibrdkafkaParallelConsumer.for_worker(
            connection, settings, topics, pipeline_handle, conversation_key,
            topic_window(settings, pipeline), dead_letter=unpublishable)
        await rdk.start(connection)
        stages, publish_chunk, partitions_for, close_clients = (
            rdk, rdk.send_unawaited, rdk.partitions_for, rdk.close)
    else:
        stages, publish_chunk, partitions_for, close_clients = await _aiokafka_stages(
            settings, connection, topics, pipeline_handle, topic_window(settings, pipeline),
            unpublishable)
    pipeline.chunk_sink = publish_chunk  # streamed answers leave piece by piece
    # the producer partitions keys with murmur2 on either client, as this reader assumes;
    # the reader is on the same client as the stages
    published = published_responses(settings.kafka_client, connection, settings.app_id,
                                    partitions_for)
    pipeline.published_check = published.contains  # exactly one response after a crash

    if on_running is not None:
        on_running(stages)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running: list[asyncio.Task[Any]] = [asyncio.create_task(t()) for t in timers]
    consuming = asyncio.create_task(stages.run(), name="stages")
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({consuming, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if consuming.done():
            consuming.result()  # the consumer loop ended by itself: raise its error
        log.info("worker stopping")
        await stages.drain(SHUTDOWN_GRACE_S)
    finally:
        for task in (*running, consuming, stopped):
            task.cancel()
        await asyncio.gather(*running, consuming, stopped, return_exceptions=True)
        await close_clients()
        await published.close()
        pipeline.detection.close()


def _handler(pipeline: Pipeline,
             kept_bytes: int) -> Callable[[ConsumerRecord[bytes, bytes]],
                                          Awaitable[list[Outgoing]]]:
    async def handle(record: ConsumerRecord[bytes, bytes]) -> list[Outgoing]:
        source = Source(record.topic, record.partition, record.offset, record.key,
                        tracing.carrier_of(record.headers))
        # the worker subscribes only to request topics of the layout in force and forward
        # topics, so the name says the stage
        stage = pipeline.admit if is_request_topic(record.topic) else pipeline.forward
        return await hold_or_dead_letter(stage, record.value, source, kept_bytes)
    return handle


async def _aiokafka_stages(
    settings: Settings, connection: KafkaConnection, topics: list[str] | tuple[str, ...],
    handle: Callable[[ConsumerRecord[bytes, bytes]], Awaitable[list[Outgoing]]],
    window: Callable[[str], int], unpublishable: DeadLetter,
) -> tuple[ParallelStages, ChunkSink, Callable[[str], Awaitable[set[int]]],
           Callable[[], Awaitable[None]]]:
    """The worker's clients on aiokafka (``DOUANE_KAFKA_CLIENT=aiokafka``): the stages, how a
    streamed piece is queued, a topic's partitions, and how the clients stop."""
    kafka = connection.client_options()
    # idempotent: a batch sent again after a lost acknowledgement (a broker restart) is
    # written once, so a response is never duplicated by the producer's own retries.
    # linger_ms=0: aiokafka sends one produce request per broker at a time, and what is sent
    # meanwhile queues into the next batch, so batches fill under load anyway; a linger only
    # held every forward message and response back at light load (two hops per request)
    producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True, linger_ms=0,
                                max_request_size=settings.kafka_max_request_bytes)
    consumer = AIOKafkaConsumer(
        **kafka, group_id=settings.app_id, enable_auto_commit=False,
        auto_offset_reset="earliest",
        # after a crash, the restarted worker gets the partitions back once this has passed
        session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
        # ... unless it is a static member: then it gets them back as soon as it rejoins
        group_instance_id=settings.kafka_group_instance_id,
        heartbeat_interval_ms=int(min(3.0, settings.kafka_session_timeout_s / 4) * 1000),
        # a revocation waits for the model answers in flight; give it the provider timeout
        rebalance_timeout_ms=int(max(60.0, 3 * settings.provider_timeout_s) * 1000))
    admin = AIOKafkaAdminClient(**kafka)
    await start_client(producer, connection, "the worker's producer")
    await start_client(admin, connection, "the worker's admin client")
    await start_client(consumer, connection, "the worker's consumer")

    async def publish_chunk(topic: str, key: bytes, value: bytes) -> None:
        # queued, not awaited one by one: a broker round trip per piece would slow the stream;
        # the pieces of one answer keep their order (same key, same partition) and the
        # complete response, awaited as every response, carries the whole text anyway
        await producer.send(topic, value, key=key)

    async def close() -> None:
        await consumer.stop()
        await producer.stop()
        await admin.close()

    stages = ParallelConsumer(consumer, producer, admin, settings.app_id, topics, handle,
                              conversation_key, window, dead_letter=unpublishable,
                              commit_interval_s=settings.kafka_commit_interval_s)
    return stages, publish_chunk, producer.partitions_for, close
