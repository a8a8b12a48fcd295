"""The worker's parallel consumer on confluent-kafka: ``DOUANE_KAFKA_CLIENT=librdkafka``.

The rules are :class:`~streams.runtime.parallel_consumer.ParallelStages`' (commit points,
finished offsets in the commit metadata, windows, order per conversation, dead letters); only
the clients differ. confluent-kafka's calls block and its callbacks run on the thread that
polls, so:

- a **polling thread** is the only one to poll the consumer. It takes at most the windows'
  room per poll and hands each batch to the event loop in one ``call_soon_threadsafe``; the
  event loop's commits, pauses, resumes and subscriptions are queued to it as commands.
  ``enable.auto.commit`` *and* ``enable.auto.offset.store`` are off: otherwise librdkafka
  would store, and commit, every offset it hands over, past messages still in flight.
- **Pause drops what was prefetched**: librdkafka forgets the messages it had fetched for a
  paused partition and fetches them again from the last one handed over when it is resumed
  (librdkafka #1849). Correct, but a wasted fetch: partitions are paused only when their
  topic's window is full, each poll takes at most the room left, and librdkafka's own prefetch
  is bounded (``queued.max.messages.kbytes``).
- **Revocation** (``on_revoke``, called inside ``poll`` on the polling thread) blocks that
  thread until the event loop has let the revoked partitions' running messages finish and
  dropped their waiting ones, then commits where they ended, synchronously, there (the event
  loop never waits for the polling thread, so this cannot deadlock). librdkafka heartbeats
  from its own thread meanwhile; ``max.poll.interval.ms`` bounds the wait as aiokafka's
  rebalance timeout does. Partitions *lost* (the session expired) are not committed.
- **One thread per Consumer**: confluent-kafka lets one thread at a time into a Consumer
  (other threads wait at a gate), and the polling thread is nearly always inside ``poll``: no
  other thread calls ``self.consumer`` (its commands go through the polling thread). The lag
  gauge reads the partitions' ends with a consumer handle of its own (never joining the group)
  and takes where fetching stands from what the event loop saw.
- a **delivery thread** serves the producer's delivery reports; each settles an asyncio future
  (acks=all, idempotent), one hand-off to the event loop per poll. A message is finished once
  all its futures are settled, as with aiokafka.
- ``produce`` only queues; ``BufferError`` (librdkafka's local queue full: the broker is
  behind or away) waits and queues again. A delivery that failed because the broker was away
  (``_MSG_TIMED_OUT`` after ``message.timeout.ms``, transport errors, retriable codes) is
  queued again for as long as it takes, as aiokafka's path does after ``KafkaTimeoutError``;
  any other failure (too large, not authorised) sends the message to the dead-letter topic.
- A **fatal** error (the idempotent producer's, a fenced static member's) means the client
  cannot carry on: ``run`` raises, the worker exits and its supervisor restarts it; messages
  in flight are not committed and are read again (and recognised) by the next owner.

The producer partitions keys with murmur2, as Java's and aiokafka's clients do (librdkafka's
default is CRC32): a request id's response must land on the partition
``PublishedResponses`` reads, and one conversation's messages on one partition whichever
client published them. The group's assignor is ``roundrobin``, which aiokafka's workers also
use, so one group may mix both clients during an upgrade.

Logs name Kafka errors by their code name only.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future as ThreadFuture
from typing import Any

import structlog
from aiokafka import ConsumerRecord, TopicPartition
from confluent_kafka import (
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
)
from confluent_kafka import TopicPartition as RdPartition

from streams.adapters.kafka_security import KafkaConnectError, KafkaConnection, diagnose
from streams.adapters.librdkafka_refusals import LOOK_S, RefusalWatch
from streams.config import Settings
from streams.errors import DouaneError
from streams.pipeline import Outgoing
from streams.runtime.parallel_consumer import (
    MAX_DEAD_LETTER_DELAY_S,
    DeadLetter,
    Handler,
    OrderKey,
    ParallelStages,
    _Message,
    count_pauses,
)

log = structlog.get_logger(__name__)

BATCH = 500  # messages handed to the event loop at once, at most
POLL_S = 0.2  # how long a thread waits in librdkafka before looking at its commands
BUFFER_FULL_WAIT_S = 0.05
START_TIMEOUT_S = 60.0
COMMITTED_TIMEOUT_S = 30.0
# librdkafka's prefetch per consumer (its default is 64 MB): what a pause throws away
PREFETCH_KBYTES = 16 * 1024
# delivery failures that mean "the broker was not there", not "this message cannot go"
BROKER_AWAY = frozenset({
    KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN, KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError._QUEUE_FULL})


class ClientFailed(DouaneError, RuntimeError):
    """A librdkafka client hit a fatal error: it cannot carry on, the worker must restart."""

    def __init__(self, error_name: str) -> None:
        super().__init__(f"fatal Kafka client error {error_name}")
        self.error_name = error_name


def error_name(error: Any) -> str:
    """A Kafka error's code name (``_MSG_TIMED_OUT``), never its text."""
    if isinstance(error, KafkaException) and error.args:
        error = error.args[0]
    return error.name() if isinstance(error, KafkaError) else type(error).__name__


def send_again(error: KafkaError) -> bool:
    """Whether a failed delivery is the broker's absence (queue it again, however long it
    takes) rather than the message's fault (dead letter)."""
    return error.code() in BROKER_AWAY or bool(error.retriable())


def is_fatal(error: KafkaError) -> bool:
    return bool(error.fatal())


def record_of(message: Message) -> ConsumerRecord[bytes, bytes]:
    """A confluent-kafka message as the record the handlers read (aiokafka's shape)."""
    key, value = message.key(), message.value()
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None
    timestamp_type, timestamp = message.timestamp()
    found = message.headers() or []  # a consumed message's are a list of pairs
    pairs = found.items() if isinstance(found, dict) else found
    headers = [(name, data if isinstance(data, bytes) else (data or "").encode())
               for name, data in pairs]
    return ConsumerRecord(
        topic=topic, partition=partition, offset=offset, timestamp=timestamp,
        timestamp_type=timestamp_type, key=bytes(key) if key is not None else None,
        value=bytes(value) if value is not None else None, checksum=None,
        serialized_key_size=len(key) if key is not None else -1,
        serialized_value_size=len(value) if value is not None else -1, headers=headers)


def commit_offsets(due: dict[TopicPartition, tuple[int, str]],
                   assigned: Iterable[TopicPartition]) -> list[RdPartition]:
    """The commit for librdkafka, limited to the partitions still assigned: a commit queued
    before a revocation must not move a partition another worker now owns."""
    owned = set(assigned)
    return [RdPartition(p.topic, p.partition, offset, metadata=metadata)
            for p, (offset, metadata) in sorted(due.items()) if p in owned]


def worker_confs(connection: KafkaConnection,
                 settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The worker's consumer and producer configuration (librdkafka's names)."""
    common: dict[str, Any] = {**connection.librdkafka_options(),
                              "client.id": "douane-worker"}
    producer = {**common, "acks": "all", "enable.idempotence": True, "linger.ms": 0,
                "message.max.bytes": settings.kafka_max_request_bytes,
                "partitioner": "murmur2_random",
                "message.timeout.ms": int(settings.kafka_delivery_timeout_s * 1000)}
    # a revocation waits for the model answers in flight; give it the provider timeout
    rebalance_ms = int(max(60.0, 3 * settings.provider_timeout_s) * 1000)
    consumer = {
        **common, "auto.offset.reset": "earliest",
        "session.timeout.ms": int(settings.kafka_session_timeout_s * 1000),
        "heartbeat.interval.ms": int(min(3.0, settings.kafka_session_timeout_s / 4) * 1000),
        "max.poll.interval.ms": max(rebalance_ms, int(settings.kafka_session_timeout_s
                                                      * 1000)),
        "partition.assignment.strategy": "roundrobin",
        "queued.max.messages.kbytes": PREFETCH_KBYTES}
    if settings.kafka_group_instance_id:
        consumer["group.instance.id"] = settings.kafka_group_instance_id
    return consumer, producer


class LibrdkafkaParallelConsumer(ParallelStages):
    """:class:`ParallelStages` on confluent-kafka's ``Consumer`` and ``Producer``."""

    _commit_errors = (KafkaException,)

    def __init__(
        self, consumer_conf: dict[str, Any], producer_conf: dict[str, Any], group_id: str,
        topics: Iterable[str], handler: Handler, order_key: OrderKey,
        window: Callable[[str], int], max_span: int = 16_384, commit_interval_s: float = 0.1,
        *, dead_letter: DeadLetter,
    ) -> None:
        super().__init__(group_id, topics, handler, order_key, window, max_span,
                         commit_interval_s, dead_letter=dead_letter)
        self._unrecoverable = (ClientFailed,)
        self._refusals = RefusalWatch()
        self.producer = Producer({**producer_conf, "error_cb": self._producer_error})
        self.consumer = Consumer({
            **consumer_conf, "group.id": group_id, "enable.auto.commit": False,
            "enable.auto.offset.store": False, "error_cb": self._consumer_error,
            "on_commit": self._committed})
        # the lag gauge's reader of the partitions' ends: confluent-kafka lets one thread at a
        # time into a Consumer (a gate other threads wait at), and the polling thread is
        # nearly always inside poll(), so a call from another thread on ``self.consumer`` waited
        # for ever (seen: a /metrics scrape that never answered). A handle of its own, given
        # partitions only, never joining the group (made on the first scrape)
        self._ends_conf = {key: value for key, value in consumer_conf.items()
                           if key != "group.instance.id"}
        self._ends_conf.update({"group.id": group_id, "enable.auto.commit": False})
        self._ends_reader: Consumer | None = None
        self._ends_lock = asyncio.Lock()
        # where fetching stands per partition, as the event loop saw it (the committed offset
        # at assignment, then the one after the last message taken): the consumer's position
        # without a call into it
        self._fetch_from: dict[TopicPartition, int] = {}
        self._assigned: frozenset[TopicPartition] = frozenset()  # replaced, never mutated
        self._paused: set[TopicPartition] = set()  # the event loop's view
        self._room_now = 1  # read by the polling thread, written by the event loop
        self._commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._stop_threads = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reports: list[tuple[asyncio.Future[None], KafkaError | None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failed: asyncio.Future[None] | None = None
        self._flow_scheduled = False

    @classmethod
    def for_worker(cls, connection: KafkaConnection, settings: Settings, topics: Iterable[str],
                   handler: Handler, order_key: OrderKey, window: Callable[[str], int], *,
                   dead_letter: DeadLetter) -> LibrdkafkaParallelConsumer:
        """With the worker's settings, the same as aiokafka's in ``streams/app.py``."""
        consumer, producer = worker_confs(connection, settings)
        return cls(consumer, producer, settings.app_id, topics, handler, order_key, window,
                   commit_interval_s=settings.kafka_commit_interval_s, dead_letter=dead_letter)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, connection: KafkaConnection) -> None:
        """Check that the cluster answers (as aiokafka's start does), with the same error."""
        try:
            await asyncio.to_thread(self._cluster_answers)
        except KafkaException as error:
            reason = await diagnose(connection, timeout_s=15.0)
            who = connection.security.username or "an anonymous client"
            raise KafkaConnectError(
                f"the worker's Kafka clients (librdkafka) cannot connect to Kafka at "
                f"{connection.bootstrap} as {who} ({error_name(error)}): {reason} "
                f"[{connection.security.describe()}]") from None

    def _cluster_answers(self) -> None:
        """Metadata in short looks, the refusals looked at between them (a wrong password is
        reported at once, not after START_TIMEOUT_S)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self._refusals.raise_if_refused(self.producer)
            try:
                self.producer.list_topics(timeout=LOOK_S)
                return
            except KafkaException:
                if time.monotonic() > deadline:
                    raise

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def follow(self, topics: Iterable[str]) -> None:
        wanted = tuple(topics)
        if set(wanted) == set(self.topics):
            return
        self.topics = wanted
        self._commands.put(("subscribe", list(wanted)))

    async def run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        failed = self._failed = loop.create_future()
        self._room_now = self._room()
        self._threads = [
            threading.Thread(target=self._poll_thread, name="worker-consumer", daemon=True),
            threading.Thread(target=self._delivery_thread, name="worker-deliveries",
                             daemon=True)]
        for thread in self._threads:
            thread.start()
        committer = asyncio.create_task(self._commit_loop(), name="offset-commits")
        self._running = True
        try:
            await failed  # until cancelled (stopping) or a client fails
        finally:
            self._running = False
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer

    async def close(self) -> None:
        """After ``drain`` (or a failure): cancel what still runs (not committed: read again
        by the next owner), commit, leave the group, flush the producer."""
        for task in [t for ts in self.running.values() for t in ts]:
            task.cancel()
        self._stopping = True
        self._stop_threads.set()
        for thread in self._threads:
            await asyncio.to_thread(thread.join)
        if not self._threads:  # never run: the consumer was not subscribed
            await asyncio.to_thread(self.consumer.close)
        with contextlib.suppress(KafkaException):
            await asyncio.to_thread(self.producer.flush, 10.0)
        async with self._ends_lock:
            if self._ends_reader is not None:
                reader, self._ends_reader = self._ends_reader, None
                await asyncio.to_thread(reader.close)

    async def lag(self, timeout_s: float = 5.0) -> dict[TopicPartition, int]:
        """As aiokafka's: each end read from the broker (a ListOffsets for the latest offset,
        one request per broker, on a handle of its own), the commit point or else where
        fetching stands."""
        assigned = sorted(self._assigned)
        if not assigned:
            return {}
        asked = [RdPartition(p.topic, p.partition, OFFSET_END) for p in assigned]
        async with self._ends_lock:  # one scrape at a time on the reader's handle
            if self._ends_reader is None:
                self._ends_reader = Consumer(self._ends_conf)
            try:
                found = await asyncio.to_thread(self._ends_reader.offsets_for_times, asked,
                                                timeout_s)
            except KafkaException:
                return {}
        ends = {TopicPartition(tp.topic, tp.partition): tp.offset
                for tp in found if tp.error is None and tp.offset >= 0}
        # a partition never written to and never committed: nothing behind, whatever its start
        positions = {p: 0 for p, end in ends.items() if end == 0}
        return self._lag_from(ends, {**positions, **self._fetch_from})

    async def partitions_for(self, topic: str) -> set[int]:
        """A topic's partitions, from the producer's metadata (``PublishedResponses``)."""
        metadata = await asyncio.to_thread(self.producer.list_topics, topic, START_TIMEOUT_S)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            return set()
        return set(found.partitions)

    async def send_unawaited(self, topic: str, key: bytes, value: bytes) -> None:
        """Queue a message without waiting for its acknowledgement (streamed pieces)."""
        await self._queue(Outgoing(topic, key, value), None)

    @property
    def threads_alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # ------------------------------------------------------------------ the polling thread
    def _poll_thread(self) -> None:
        consumer = self.consumer
        try:
            consumer.subscribe(list(self.topics), on_assign=self._on_assign,
                               on_revoke=self._on_revoke, on_lost=self._on_lost)
            while not self._stop_threads.is_set():
                self._run_commands(asynchronous=True)
                first = consumer.poll(POLL_S)  # at the first message, or after POLL_S
                if first is None:
                    continue
                # the rest of what is already fetched, without waiting: never more than the
                # windows' room (what is left behind stays in librdkafka's queue)
                room = min(BATCH, self._room_now) - 1
                batch = [first, *consumer.consume(num_messages=room, timeout=0)] if room \
                    else [first]
                self._to_loop(self._take_batch, batch)
            self._run_commands(asynchronous=False)  # the last commit, before leaving
            consumer.close()  # revokes (and commits) what is still assigned
        except BaseException as error:  # the worker must not run on without its consumer
            if isinstance(error, KafkaException):
                log.error("the consumer's thread stopped", error=error_name(error))
            else:  # a bug here: where it is (douane's code; no message content in it)
                log.exception("the consumer's thread stopped", error=error_name(error))
            self._to_loop(self._fail, error_name(error))
            with contextlib.suppress(Exception):
                consumer.close()

    def _run_commands(self, asynchronous: bool) -> None:
        while True:
            try:
                command, value = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                if command == "commit":
                    offsets = commit_offsets(value, self._assigned)
                    if offsets:
                        if asynchronous:
                            self.consumer.commit(offsets=offsets, asynchronous=True)
                        else:
                            self.consumer.commit(offsets=offsets, asynchronous=False)
                elif command in ("pause", "resume"):
                    owned = [RdPartition(p.topic, p.partition) for p in value
                             if p in self._assigned]
                    if owned:
                        (self.consumer.pause if command == "pause" else self.consumer.resume)(
                            owned)
                elif command == "subscribe":
                    self.consumer.subscribe(value, on_assign=self._on_assign,
                                            on_revoke=self._on_revoke, on_lost=self._on_lost)
            except KafkaException as error:  # a commit is retried at the next change
                log.warning("kafka command failed", command=command, error=error_name(error))

    def _on_assign(self, consumer: Consumer, partitions: list[RdPartition]) -> None:
        """Newly assigned partitions: what a previous owner committed (and finished above
        it), handed to the event loop before any of their messages (same hand-off queue)."""
        try:
            committed = consumer.committed(partitions, timeout=COMMITTED_TIMEOUT_S)
        except KafkaException as error:  # nothing skipped: at worst processed again
            log.warning("committed offsets not read; nothing will be skipped",
                        error=error_name(error))
            committed = [RdPartition(p.topic, p.partition) for p in partitions]
        adopted = [(TopicPartition(tp.topic, tp.partition),
                    tp.offset if tp.error is None else None, tp.metadata) for tp in committed]
        self._assigned = self._assigned | {p for p, _, _ in adopted}
        self._to_loop(self._adopt, adopted)

    def _on_revoke(self, consumer: Consumer, partitions: list[RdPartition]) -> None:
        """Blocks the polling thread until the event loop has finished the revoked
        partitions' messages, then commits where they ended, here, synchronously."""
        revoked = {TopicPartition(tp.topic, tp.partition) for tp in partitions}
        due = self._on_loop(self._release(revoked))
        offsets = commit_offsets(due or {}, self._assigned)
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as error:
                log.warning("offset commit on revocation failed", error=error_name(error))
        self._assigned = self._assigned - revoked
        self._to_loop(self._forget_paused, revoked)

    def _on_lost(self, _consumer: Consumer, partitions: list[RdPartition]) -> None:
        """Partitions lost (the session expired): another worker may already own them, so
        nothing is committed; their messages are dropped or let finish all the same."""
        lost = {TopicPartition(tp.topic, tp.partition) for tp in partitions}
        log.warning("partitions lost; their progress is not committed", count=len(lost))
        self._assigned = self._assigned - lost
        self._on_loop(self._release(lost, commit=False))
        self._to_loop(self._forget_paused, lost)

    def _on_loop(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the event loop and wait for it here (None if the loop has
        stopped: nothing left to finish)."""
        assert self._loop is not None
        try:
            future: ThreadFuture[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        except RuntimeError:  # the event loop has closed
            coroutine.close()
            return None
        try:
            return future.result()
        except Exception as error:
            log.error("revocation on the event loop failed", error_type=type(error).__name__)
            return None

    def _to_loop(self, callback: Callable[..., None], *args: Any) -> None:
        if self._loop is None:  # a callback before ``run`` (nothing polls then): nothing to do
            return
        with contextlib.suppress(RuntimeError):  # the event loop has closed: stopping
            self._loop.call_soon_threadsafe(callback, *args)

    # ------------------------------------------------------------------ the delivery thread
    def _delivery_thread(self) -> None:
        while not self._stop_threads.is_set():
            reports: list[tuple[asyncio.Future[None], KafkaError | None]] = []
            self._reports = reports
            self.producer.poll(POLL_S)
            if reports:
                self._to_loop(_settle, reports)

    # ------------------------------------------------------------------ librdkafka's threads
    def _producer_error(self, error: KafkaError) -> None:
        log.warning("kafka producer error", error=error.name(), fatal=error.fatal())
        self._refusals.note(error)
        if error.fatal():
            self._to_loop(self._fail, error.name())

    def _consumer_error(self, error: KafkaError) -> None:
        log.warning("kafka consumer error", error=error.name(), fatal=error.fatal())
        if error.fatal():
            self._to_loop(self._fail, error.name())

    def _committed(self, error: KafkaError | None, partitions: list[RdPartition]) -> None:
        failed = [tp for tp in partitions if tp.error is not None]
        if error is not None or failed:
            log.warning("offset commit failed", error=error_name(error or failed[0].error),
                        partitions=len(failed) or len(partitions))

    # ------------------------------------------------------------------ the event loop
    def _fail(self, name: str) -> None:
        if self._failed is not None and not self._failed.done():
            log.error("kafka client failed; the worker stops (its supervisor restarts it)",
                      error=name)
            self._failed.set_exception(ClientFailed(name))

    def _take_batch(self, batch: list[Message]) -> None:
        for message in batch:
            error = message.error()
            if error is not None:
                log.warning("consumer error", error=error_name(error))
                if is_fatal(error):
                    self._fail(error_name(error))
                continue
            record = record_of(message)
            partition = TopicPartition(record.topic, record.partition)
            self._fetch_from[partition] = record.offset + 1
            self._take(partition, record)
        self._apply_backpressure()

    def _adopt(self, adopted: list[tuple[TopicPartition, int | None, str | None]]) -> None:
        for partition, offset, metadata in adopted:
            self._paused.discard(partition)  # a partition assigned anew is not paused
            if offset is not None and offset >= 0:
                self._fetch_from[partition] = offset
            else:  # nothing committed: where fetching starts is not known here yet
                self._fetch_from.pop(partition, None)
            self._adopted(partition, offset, metadata)
        self._apply_backpressure()

    async def _release(self, partitions: set[TopicPartition],
                       commit: bool = True) -> dict[TopicPartition, tuple[int, str]]:
        await self._finish_revoked(partitions)
        due = self._due(partitions) if commit else {}
        self._forget(partitions)
        return due

    def _forget_paused(self, partitions: set[TopicPartition]) -> None:
        self._paused -= partitions
        for partition in partitions:
            self._fetch_from.pop(partition, None)

    def _finish(self, message: _Message) -> None:
        super()._finish(message)
        if not self._flow_scheduled and self._loop is not None:
            # once per turn of the loop, however many messages finished in it
            self._flow_scheduled = True
            self._loop.call_soon(self._apply_backpressure)

    def _apply_backpressure(self) -> None:
        self._flow_scheduled = False
        self._room_now = self._room()
        stop, go = [], []
        for partition in self._assigned:
            full = self._full(partition)
            if full and partition not in self._paused:
                stop.append(partition)
            elif not full and partition in self._paused:
                go.append(partition)
        if stop:
            count_pauses(stop)
            self._paused.update(stop)
            self._commands.put(("pause", stop))
        if go:
            self._paused.difference_update(go)
            self._commands.put(("resume", go))

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        due = self._due(self._assigned if partitions is None else partitions)
        if due:
            self._commands.put(("commit", due))  # the polling thread commits

    # ------------------------------------------------------------------ publishing
    async def _queue(self, message: Outgoing,
                     delivered: asyncio.Future[None] | None) -> None:
        """``produce``, waiting while librdkafka's local queue is full."""
        reports = self

        def report(error: KafkaError | None, _message: Message) -> None:  # delivery thread
            if delivered is not None:
                reports._reports.append((delivered, error))
            elif error is not None:
                log.warning("message not delivered", error=error.name())

        while True:
            try:
                self.producer.produce(message.topic, message.value, message.key,
                                      headers=list(message.headers) or None,
                                      on_delivery=report)
                return
            except BufferError:  # the broker is behind or away
                await asyncio.sleep(BUFFER_FULL_WAIT_S)

    async def _send(self, message: Outgoing) -> asyncio.Future[None]:
        assert self._loop is not None
        delivered: asyncio.Future[None] = self._loop.create_future()
        try:
            await self._queue(message, delivered)
        except KafkaException as error:  # refused before queueing (too large, unknown topic)
            delivered.set_exception(error)
        return delivered

    async def _publish(self, outgoing: list[Outgoing]) -> None:
        """Send everything a message produced and wait for the broker's acknowledgements (all
        at once); a delivery that failed for the broker's absence is sent again, for as long
        as it takes (the others are not: librdkafka's idempotent producer delivered them
        once); any other failure raises (the caller dead-letters the message); a fatal one
        raises ``ClientFailed``."""
        pending = list(outgoing)
        refused = 0
        while pending:
            futures = [await self._send(message) for message in pending]
            results = await asyncio.gather(*futures, return_exceptions=True)
            again, why = [], ""
            for message, result in zip(pending, results, strict=True):
                if result is None:
                    continue
                error = _kafka_error(result)
                if error is None:
                    raise result
                if is_fatal(error):
                    raise ClientFailed(error.name())
                if not send_again(error):
                    raise result
                again.append(message)
                why = error.name()
            if again:
                refused += 1
                log.warning("broker not taking messages; queueing again", attempt=refused,
                            error=why, count=len(again))
                await asyncio.sleep(min(10.0, 0.5 * 2 ** min(refused, 5)))
            pending = again

    async def _publish_dead_letter(self, letter: Outgoing) -> None:
        """Until the broker acknowledges it: the message is finished only then."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await (await self._send(letter))
                return
            except KafkaException as exc:
                error = _kafka_error(exc)
                if error is not None and is_fatal(error):
                    raise ClientFailed(error.name()) from None
                delay = min(MAX_DEAD_LETTER_DELAY_S, 0.5 * 2 ** min(attempt, 6))
                log.error("dead letter not published; retrying", attempt=attempt,
                          error=error_name(exc), retry_in_s=delay)
                await asyncio.sleep(delay)


def _kafka_error(result: BaseException | None) -> KafkaError | None:
    if isinstance(result, KafkaException) and result.args \
            and isinstance(result.args[0], KafkaError):
        return result.args[0]
    return None


def _settle(reports: list[tuple[asyncio.Future[None], KafkaError | None]]) -> None:
    for future, error in reports:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(KafkaException(error))


__all__ = ["ClientFailed", "LibrdkafkaParallelConsumer", "commit_offsets", "send_again",
           "worker_confs"]
