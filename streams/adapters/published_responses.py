"""Whether a response is already on its topic: the last check before publishing it again.

A forward message redelivered after a crash whose outcome is recorded may or may not have had
its response acknowledged by Kafka before the crash (the offset commit comes after the
acknowledgement, so a kill between the two redelivers a message whose response did arrive).
Publishing again in both cases gives no loss but a second, identical response; looking first
gives exactly one. The response's key is its request id, so the partition is the one the
producer's default partitioner chose (murmur2 of the key over all partitions, as the Java
client does), and the response was published after its outcome record was written: reading
that one partition from a little before the record's time to its end finds it.

This is only on the path of a redelivered message (after a crash or a lost commit), never on a
normal request's path. One reader serves the process, one check at a time: after a crash the
redelivered messages queue here instead of opening a connection each.

The reader is on the worker's Kafka client (``DOUANE_KAFKA_CLIENT``): :func:`published_responses`
is where the choice is made. Both read the same partition (murmur2, computed here, whichever
client published) from the same offset to the same end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from streams.adapters.kafka_security import KafkaConnection

log = structlog.get_logger(__name__)

# clocks of the worker that wrote the record and the one that published may differ (two
# machines); the record is written before the publish, so only a slow clock matters
CLOCK_MARGIN = timedelta(minutes=2)
FETCH_WAIT_MS = 500
# a bound, not a timing the outcome depends on: past it the response is published again
READ_LIMIT_S = 120.0
PartitionsFor = Callable[[str], Awaitable[set[int]]]


class ResponseLookup(Protocol):
    """What the worker asks before publishing a response again (either client)."""

    async def contains(self, topic: str, key: bytes, since: datetime) -> bool: ...

    async def close(self) -> None: ...


def published_responses(client: str, connection: KafkaConnection, group_id: str,
                        partitions_for: PartitionsFor) -> ResponseLookup:
    """The reader on the worker's Kafka client (``Settings.kafka_client``)."""
    if client == "librdkafka":
        return LibrdkafkaPublishedResponses(connection.librdkafka_options(), group_id,
                                            partitions_for)
    return PublishedResponses(connection.client_options(), partitions_for)


def partition_of(key: bytes, partitions: set[int]) -> int:
    """The partition a key went to: murmur2 over the topic's partitions, as Java's client,
    aiokafka's and the worker's librdkafka producer (``murmur2_random``) choose it."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(key, ordered, ordered))


class PublishedResponses:
    """Looks for a key on a topic, from a moment on, with a consumer of no group.

    ``partitions_for`` is the publishing producer's (``AIOKafkaProducer.partitions_for``): the
    partitions it chose among, from its own metadata."""

    def __init__(self, client_options: dict[str, Any],
                 partitions_for: Callable[[str], Awaitable[set[int]]]) -> None:
        self._options = client_options
        self._partitions_for = partitions_for
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def contains(self, topic: str, key: bytes, since: datetime) -> bool:
        """True if a message with ``key`` is on ``topic`` at or after ``since`` (less the
        clock margin). Errors propagate: the caller then publishes again (a duplicate is
        better than a loss)."""
        async with self._lock:
            consumer = await self._started()
            partitions = await self._partitions_for(topic)
            if not partitions:
                return False
            partition = TopicPartition(topic, partition_of(key, partitions))
            consumer.assign([partition])
            moment = int((since - CLOCK_MARGIN).timestamp() * 1000)
            start = (await consumer.offsets_for_times({partition: moment}))[partition]
            if start is None:  # nothing on the partition from that moment on
                return False
            end = (await consumer.end_offsets([partition]))[partition]
            consumer.seek(partition, start.offset)
            position = start.offset
            deadline = asyncio.get_running_loop().time() + READ_LIMIT_S
            while position < end:
                # an empty batch only means the fetch is not back yet
                batch = await consumer.getmany(partition, timeout_ms=FETCH_WAIT_MS)
                if any(record.key == key for record in batch.get(partition, [])):
                    return True
                position = await consumer.position(partition)
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{partition.topic} partition {partition.partition} "
                                       f"not read to its end within {READ_LIMIT_S:.0f} s")
            return False

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**self._options, group_id=None,
                                        enable_auto_commit=False)
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class LibrdkafkaPublishedResponses:
    """:class:`PublishedResponses` on confluent-kafka: the same look, its blocking calls in a
    worker thread. The consumer is given partitions (``assign``), never subscribes and never
    commits: its ``group.id`` (librdkafka requires one) is the worker's, whose ACLs it has,
    and the group is never joined."""

    def __init__(self, options: dict[str, str], group_id: str,
                 partitions_for: PartitionsFor) -> None:
        self._options = options
        self._group_id = group_id
        self._partitions_for = partitions_for
        self._consumer: Any = None  # confluent_kafka.Consumer, made on first use
        self._lock = asyncio.Lock()

    async def contains(self, topic: str, key: bytes, since: datetime) -> bool:
        """As :meth:`PublishedResponses.contains`; errors propagate (``KafkaException``)."""
        async with self._lock:
            partitions = await self._partitions_for(topic)
            if not partitions:
                return False
            number = partition_of(key, partitions)
            moment = int((since - CLOCK_MARGIN).timestamp() * 1000)
            return await asyncio.to_thread(self._look, topic, number, key, moment)

    def _look(self, topic: str, number: int, key: bytes, moment: int) -> bool:
        from confluent_kafka import Consumer, KafkaException
        from confluent_kafka import TopicPartition as RdPartition

        if self._consumer is None:
            self._consumer = Consumer({
                **self._options, "group.id": self._group_id, "client.id": "douane-worker",
                "enable.auto.commit": False, "enable.auto.offset.store": False,
                "enable.partition.eof": False})
        consumer = self._consumer
        wait = READ_LIMIT_S / 4  # each call's bound; the whole look's is READ_LIMIT_S
        [start] = consumer.offsets_for_times([RdPartition(topic, number, moment)], wait)
        if start.error is not None:
            raise KafkaException(start.error)
        if start.offset < 0:  # nothing on the partition from that moment on
            return False
        _low, end = consumer.get_watermark_offsets(RdPartition(topic, number), wait, False)
        consumer.assign([RdPartition(topic, number, start.offset)])
        try:
            position = start.offset
            deadline = time.monotonic() + READ_LIMIT_S
            while position < end:
                # an empty batch only means the fetch is not back yet
                for message in consumer.consume(num_messages=500,
                                                timeout=FETCH_WAIT_MS / 1000):
                    if message.error() is not None:
                        raise KafkaException(message.error())
                    if message.key() == key:
                        return True
                    position = max(position, (message.offset() or 0) + 1)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic} partition {number} not read to its end "
                                       f"within {READ_LIMIT_S:.0f} s")
            return False
        finally:
            consumer.unassign()

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await asyncio.to_thread(consumer.close)
