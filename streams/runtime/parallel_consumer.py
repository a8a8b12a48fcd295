"""Many Kafka messages in flight per worker, with offsets committed safely.

Why not faust agents: a faust agent with ``concurrency > 1`` commits offsets past messages still
being processed (faust-streaming #606), so a crash loses them; with ``concurrency=1`` a worker
waits for each model answer (1-30 s) before taking the next message. This module uses aiokafka
directly, in the pattern of Confluent's parallel consumer:

- Each message runs as its own task as soon as it is fetched, except that messages with the
  same ordering key (the turns of one conversation) run one after the other.
- A message is finished once every message it produced has been acknowledged by the broker.
  Per partition, the commit point is the lowest offset not yet finished
  (``in_flight.PartitionProgress``), so a crash never skips a message; the finished offsets
  above it travel in the commit's metadata, so the next owner of the partition does not do them
  again.
- Each topic has a window (how many of its messages may be in flight). When a topic's window is
  full, or a partition's span of uncommitted offsets is too long, its partitions are *paused*
  (nothing more is fetched) instead of buffering without limit; one provider's topic filling up
  never holds back another's.
- When partitions are taken away (another worker joins), their running messages are finished
  first and committed, and their waiting ones dropped (the new owner reads them again).
- **Nothing stalls on one message.** When what a message produced cannot be published (too
  large, not authorised, attempts exhausted) or its handler fails outright, a dead letter for
  it (``dead_letter``) is published instead, retried until the broker acknowledges it, and
  only then is the message finished; a message whose offset could never be committed would
  hold back its whole partition.

The rules above live in :class:`ParallelStages`, which touches no Kafka client; it leaves to
a subclass what does: ``parallel_consumer_librdkafka.LibrdkafkaParallelConsumer``
(confluent-kafka, the default) and :class:`ParallelConsumer` here (aiokafka, selected by
``DOUANE_KAFKA_CLIENT=aiokafka``). Both commit the same offsets with the same metadata, so a
group moves from one client to the other by restarting its workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, KafkaTimeoutError, OutOfOrderSequenceNumber
from aiokafka.structs import OffsetAndMetadata

from streams.adapters import metrics
from streams.pipeline import Outgoing
from streams.runtime.in_flight import KeyedQueue, PartitionProgress, decode_finished

log = structlog.get_logger(__name__)

Handler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[list[Outgoing]]]
OrderKey = Callable[[ConsumerRecord[bytes, bytes]], Hashable | None]
DeadLetter = Callable[[ConsumerRecord[bytes, bytes], Exception], Outgoing]
PUBLISH_ATTEMPTS = 5
MAX_DEAD_LETTER_DELAY_S = 30.0


@dataclass(eq=False)
class _Message:
    record: ConsumerRecord[bytes, bytes]
    partition: TopicPartition
    key: Hashable | None


def _worth_retrying(error: KafkaError) -> bool:
    """A publish failure that sending again can cure. aiokafka marks
    ``OutOfOrderSequenceNumber`` not retriable, but the broker refused the whole batch (nothing
    of it was written) and the idempotent producer starts a new sequence after it: found by
    ``benchmarks/crash.py``, where 70 admitted requests of one broker restart were sent to the
    dead-letter topic instead (never forwarded, never answered). Sending again can at worst
    write a forward message twice, and a second copy is answered by nothing."""
    return bool(getattr(error, "retriable", False)) or isinstance(error, OutOfOrderSequenceNumber)


def count_pauses(partitions: Iterable[TopicPartition]) -> None:
    """Each partition paused for backpressure, in ``douane_consumer_pauses_total``."""
    for partition in partitions:
        metrics.CONSUMER_PAUSES.labels(partition.topic).inc()


class ParallelStages:
    """Runs ``handler`` on every message of the subscribed topics, many at once: the rules,
    with no Kafka client. A subclass fetches (handing each record to ``_take``), publishes
    (``_publish``, ``_publish_dead_letter``), commits (``_commit``) and says what is assigned
    (``assignment``)."""

    # errors after which the client cannot publish any more (the worker must stop and be
    # restarted): the message is then neither dead-lettered nor finished
    _unrecoverable: tuple[type[Exception], ...] = ()
    # commit errors that the commit loop logs and retries at the next change
    _commit_errors: tuple[type[Exception], ...] = ()

    def __init__(
        self, group_id: str, topics: Iterable[str], handler: Handler, order_key: OrderKey,
        window: Callable[[str], int], max_span: int = 16_384, commit_interval_s: float = 0.1,
        *, dead_letter: DeadLetter,
    ) -> None:
        self.group_id = group_id
        self.topics = tuple(topics)
        self.handler, self.order_key, self.window = handler, order_key, window
        self.dead_letter = dead_letter
        self.max_span = max_span
        self.commit_interval_s = commit_interval_s
        self.progress: dict[TopicPartition, PartitionProgress] = {}
        self.skip: dict[TopicPartition, set[int]] = {}
        self.queue: KeyedQueue[_Message] = KeyedQueue()
        self.running: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self.waiting: dict[TopicPartition, list[_Message]] = {}
        self.in_flight_by_topic: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._stopping = False
        self._running = False

    # ------------------------------------------------------------------ client-specific
    def assignment(self) -> set[TopicPartition]:
        """The partitions assigned to this worker now."""
        raise NotImplementedError

    def follow(self, topics: Iterable[str]) -> None:
        """Consume these topics from now on (a reloaded policy added or removed a tenant)."""
        raise NotImplementedError

    async def run(self) -> None:
        raise NotImplementedError

    async def lag(self, timeout_s: float = 5.0) -> dict[TopicPartition, int]:
        """Per assigned partition, the messages not finished yet (see the subclasses)."""
        raise NotImplementedError

    async def _publish(self, outgoing: list[Outgoing]) -> None:
        raise NotImplementedError

    async def _publish_dead_letter(self, letter: Outgoing) -> None:
        raise NotImplementedError

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle
    async def drain(self, grace_s: float) -> None:
        """Stop taking messages; let those in flight finish (up to ``grace_s``), commit."""
        self._stopping = True
        tasks = [t for ts in self.running.values() for t in ts]
        if tasks:
            log.info("finishing messages in flight before stopping", count=len(tasks))
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:  # not committed: the next owner takes them again
                task.cancel()
        await self._commit()

    @property
    def in_flight(self) -> int:
        return sum(self.in_flight_by_topic.values())

    @property
    def consuming(self) -> bool:
        """Fetching messages with at least one partition assigned (not stopping)."""
        return self._running and not self._stopping and bool(self.assignment())

    def _lag_from(self, ends: dict[TopicPartition, int],
                  positions: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Per partition whose end is known, the end minus the commit point (or, when nothing
        was taken since it was assigned, minus where fetching stands, if known)."""
        lag = {}
        for partition, end in ends.items():
            progress = self.progress.get(partition)
            point = progress.commit_point() if progress is not None else None
            if point is None:
                point = positions.get(partition)
                if point is None:
                    continue
            lag[partition] = max(0, end - point)
        return lag

    # ------------------------------------------------------------------ messages
    def _take(self, partition: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        progress = self.progress.setdefault(partition, PartitionProgress())
        if record.offset in self.skip.get(partition, ()):
            progress.skip(record.offset)  # a previous owner finished it
            return
        progress.take(record.offset)
        self.in_flight_by_topic[partition.topic] = \
            self.in_flight_by_topic.get(partition.topic, 0) + 1
        try:
            key = self.order_key(record)
        except Exception:  # an unreadable message has no conversation to keep in order
            key = None
        message = _Message(record, partition, key)
        if self.queue.arrive(key, message):
            self._start(message)
        else:
            self.waiting.setdefault(partition, []).append(message)

    def _start(self, message: _Message) -> None:
        task = asyncio.create_task(self._process(message))
        self.running.setdefault(message.partition, set()).add(task)
        task.add_done_callback(self.running[message.partition].discard)

    async def _process(self, message: _Message) -> None:
        try:
            try:
                await self._publish(await self.handler(message.record))
            except self._unrecoverable:
                raise
            except Exception as error:  # whatever it was, the message is kept
                log.error("message could not be processed or its results published; sending "
                          "it to the dead-letter topic", error_type=type(error).__name__,
                          topic=message.record.topic, partition=message.record.partition,
                          offset=message.record.offset)
                await self._publish_dead_letter(self.dead_letter(message.record, error))
        except asyncio.CancelledError:
            self._release_key(message)
            raise
        except self._unrecoverable as error:
            # not finished, so not committed: the restarted worker reads it again
            log.error("the producer cannot publish any more; message left for the restarted "
                      "worker", error_type=type(error).__name__, topic=message.record.topic,
                      partition=message.record.partition, offset=message.record.offset)
            self._release_key(message)
            return
        self._finish(message)

    def _finish(self, message: _Message) -> None:
        progress = self.progress.get(message.partition)
        if progress is not None:  # absent: the partition was taken away meanwhile
            progress.finish(message.record.offset)
        topic = message.partition.topic
        self.in_flight_by_topic[topic] = self.in_flight_by_topic.get(topic, 1) - 1
        self._release_key(message)
        self._changed.set()

    def _release_key(self, message: _Message) -> None:
        following = self.queue.done(message.key)
        if following is not None:
            waiting = self.waiting.get(following.partition, [])
            if following in waiting:
                waiting.remove(following)
            self._start(following)

    # ------------------------------------------------------------------ flow control
    def _full(self, partition: TopicPartition) -> bool:
        """Whether a partition must be paused: its topic's window is full, or its span of
        uncommitted offsets too long."""
        progress = self.progress.get(partition)
        return (self.in_flight_by_topic.get(partition.topic, 0) >= self.window(partition.topic)
                or (progress is not None and progress.span() >= self.max_span))

    def _room(self) -> int:
        """How many messages may be fetched now (at least one: the fetch also keeps the
        consumer alive)."""
        return max(1, sum(max(0, self.window(t) - self.in_flight_by_topic.get(t, 0))
                          for t in self.topics))

    # ------------------------------------------------------------------ commits
    async def _commit_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._commit()
            except self._commit_errors as error:  # retried at the next change
                log.warning("offset commit failed", error_type=type(error).__name__)
            await asyncio.sleep(self.commit_interval_s)

    def _due(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, tuple[int, str]]:
        """(offset, metadata) to commit per partition whose commit point or finished set
        changed since the last commit handed out."""
        offsets = {}
        for partition in partitions:
            progress = self.progress.get(partition)
            due = progress.commit_due() if progress is not None else None
            if due is not None:
                offsets[partition] = due
        return offsets

    # ------------------------------------------------------------------ rebalances
    def _adopted(self, partition: TopicPartition, offset: int | None,
                 metadata: str | None) -> None:
        """A newly assigned partition and what is committed for it (``offset`` None or
        negative when nothing is): learn which offsets a previous owner already finished."""
        self.progress.pop(partition, None)
        self.skip[partition] = (decode_finished(offset, metadata)
                                if offset is not None and offset >= 0 else set())
        if self.skip[partition]:
            log.info("offsets finished by the previous owner will be skipped",
                     topic=partition.topic, partition=partition.partition,
                     count=len(self.skip[partition]))

    async def _finish_revoked(self, partitions: set[TopicPartition]) -> None:
        """Partitions taken away: drop their waiting messages and let the running ones
        finish (the caller then commits where they ended and calls ``_forget``)."""
        dropped = [m for p in partitions for m in self.waiting.pop(p, [])]
        self.queue.drop(dropped)
        for message in dropped:
            topic = message.partition.topic
            self.in_flight_by_topic[topic] = self.in_flight_by_topic.get(topic, 1) - 1
        running = [t for p in partitions for t in self.running.get(p, ())]
        if running:
            log.info("partitions revoked; finishing their messages in flight",
                     count=len(running))
            await asyncio.gather(*running, return_exceptions=True)

    def _forget(self, partitions: set[TopicPartition]) -> None:
        for partition in partitions:
            self.progress.pop(partition, None)
            self.skip.pop(partition, None)
            self.running.pop(partition, None)


class ParallelConsumer(ParallelStages):
    """:class:`ParallelStages` on aiokafka."""

    _commit_errors = (KafkaError,)

    def __init__(
        self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient,
        group_id: str, topics: Iterable[str], handler: Handler, order_key: OrderKey,
        window: Callable[[str], int], max_span: int = 16_384, commit_interval_s: float = 0.1,
        *, dead_letter: DeadLetter,
    ) -> None:
        super().__init__(group_id, topics, handler, order_key, window, max_span,
                         commit_interval_s, dead_letter=dead_letter)
        self.consumer, self.producer, self.admin = consumer, producer, admin

    def assignment(self) -> set[TopicPartition]:
        return set(self.consumer.assignment())

    # ------------------------------------------------------------------ lifecycle
    def follow(self, topics: Iterable[str]) -> None:
        """Consume these topics from now on (a reloaded policy added or removed a tenant).
        Kafka rebalances the group: partitions of topics no longer followed are revoked like
        any others (what is in flight finishes and is committed first)."""
        wanted = tuple(topics)
        if set(wanted) == set(self.topics):
            return
        self.topics = wanted
        self.consumer.subscribe(topics=list(self.topics), listener=_Listener(self))

    async def run(self) -> None:
        self.consumer.subscribe(topics=list(self.topics), listener=_Listener(self))
        committer = asyncio.create_task(self._commit_loop(), name="offset-commits")
        self._running = True
        try:
            while not self._stopping:
                self._apply_backpressure()
                batch = await self.consumer.getmany(timeout_ms=200, max_records=self._room())
                for partition, records in batch.items():
                    for record in records:
                        self._take(partition, record)
        finally:
            self._running = False
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer

    async def lag(self, timeout_s: float = 5.0) -> dict[TopicPartition, int]:
        """Per assigned partition, the messages not finished yet: its end offset minus its
        commit point (what a restart would read again, the ones in flight included). The end
        comes from the broker (a paused partition's fetch high watermark would be stale);
        partitions whose end or position cannot be known now are left out."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return {}
        try:
            ends: dict[TopicPartition, int] = await asyncio.wait_for(
                self.consumer.end_offsets(assigned), timeout_s)
        except (KafkaError, TimeoutError):
            ends = {p: end for p in assigned if (end := self.consumer.highwater(p)) is not None}
        positions = {}
        for partition in ends:
            progress = self.progress.get(partition)
            if progress is None or progress.commit_point() is None:
                # nothing taken since it was assigned: where fetching stands
                try:
                    positions[partition] = int(
                        await asyncio.wait_for(self.consumer.position(partition), 1.0))
                except (KafkaError, TimeoutError):
                    continue
        return self._lag_from(ends, positions)

    # ------------------------------------------------------------------ publishing
    async def _publish_dead_letter(self, letter: Outgoing) -> None:
        """Until the broker acknowledges it: the message is finished only then."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await (await self.producer.send(letter.topic, letter.value, key=letter.key))
                return
            except KafkaError as error:
                delay = min(MAX_DEAD_LETTER_DELAY_S, 0.5 * 2 ** min(attempt, 6))
                log.error("dead letter not published; retrying", attempt=attempt,
                          error_type=type(error).__name__, retry_in_s=delay)
                await asyncio.sleep(delay)

    async def _publish(self, outgoing: list[Outgoing]) -> None:
        """Send everything a message produced and wait for the broker's acknowledgements (all
        at once, not one by one); only then may its offset be committed.

        While the broker is away the producer's batches are not drained, and ``send`` gives
        up after the request timeout with ``KafkaTimeoutError`` without having queued the
        message. That is the broker's absence, not the message's fault: the rest is queued
        again, for as long as it takes (a dead letter could not be published either), and
        never what is already queued (the idempotent producer delivers that once). Giving up
        instead sent every request admitted during a broker restart longer than the request
        timeout to the dead-letter topic: recorded as admitted, never forwarded, no response.
        """
        queued: list[asyncio.Future[Any]] = []
        attempt = refused = 0
        while True:
            sending = True
            try:
                for message in outgoing[len(queued):]:
                    queued.append(await self.producer.send(
                        message.topic, message.value, key=message.key,
                        headers=list(message.headers) or None))
                sending = False
                await asyncio.gather(*queued)
                return
            except KafkaError as error:
                if sending and isinstance(error, KafkaTimeoutError):
                    refused += 1
                    log.warning("broker not taking messages; queueing again", attempt=refused,
                                error_type=type(error).__name__)
                    await asyncio.sleep(min(10.0, 0.5 * 2 ** min(refused, 5)))
                    continue
                attempt += 1
                if attempt == PUBLISH_ATTEMPTS or not _worth_retrying(error):
                    raise
                log.warning("publish failed; retrying", attempt=attempt,
                            error_type=type(error).__name__)
                if not sending:
                    queued.clear()  # a delivery failed: all of them again, as before
                await asyncio.sleep(min(10.0, 0.5 * 2 ** attempt))

    # ------------------------------------------------------------------ flow control
    def _apply_backpressure(self) -> None:
        assigned = self.consumer.assignment()
        paused = self.consumer.paused()
        stop, go = [], []
        for partition in assigned:
            full = self._full(partition)
            if full and partition not in paused:
                stop.append(partition)
            elif not full and partition in paused:
                go.append(partition)
        if stop:
            count_pauses(stop)
            self.consumer.pause(*stop)
        if go:
            self.consumer.resume(*go)

    # ------------------------------------------------------------------ commits
    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        wanted = set(self.consumer.assignment() if partitions is None else partitions)
        offsets = {partition: OffsetAndMetadata(offset, metadata)
                   for partition, (offset, metadata) in self._due(wanted).items()}
        if offsets:
            await self.consumer.commit(offsets)

    # ------------------------------------------------------------------ rebalances
    async def adopt(self, partitions: set[TopicPartition]) -> None:
        """Newly assigned partitions: learn which offsets a previous owner already finished."""
        if not partitions:
            return
        committed: dict[TopicPartition, Any] = await self.admin.list_consumer_group_offsets(
            self.group_id, partitions=list(partitions))
        for partition in partitions:
            done = committed.get(partition)
            self._adopted(partition, done.offset if done is not None else None,
                          done.metadata if done is not None else None)

    async def release(self, partitions: set[TopicPartition]) -> None:
        """Partitions taken away: drop their waiting messages, finish the running ones, and
        commit where they ended, so the next owner starts exactly there."""
        await self._finish_revoked(partitions)
        try:
            await self._commit(partitions)
        except KafkaError as error:
            log.warning("offset commit on revocation failed", error_type=type(error).__name__)
        self._forget(partitions)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: ParallelConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner.release(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner.adopt(set(assigned))


__all__ = ["DeadLetter", "Handler", "OrderKey", "ParallelConsumer", "ParallelStages"]
