"""The front door's bridge on librdkafka (confluent-kafka): ``DOUANE_KAFKA_CLIENT=librdkafka``.

Same behaviour as :class:`~streams.front_door.bridge.KafkaBridge` (whose request and response
handling it inherits); only the Kafka clients differ. librdkafka encodes and decodes Kafka's
protocol in C, in threads of its own, and keeps fetch sessions (KIP-227), so the fetches of
the front door's 144 answer partitions no longer cost Python work per partition
(``benchmarks/kafka_clients.py``: about 1.6-2.7 ms of CPU less per consumed and produced
message with 168 partitions, 0.7-0.9 with 12).

How it meets asyncio: confluent-kafka's calls block, so

- a **reading thread** polls the consumer (the only thread that touches it) and hands each
  batch of responses to the event loop in one ``call_soon_threadsafe``;
- a **delivery thread** serves the producer's delivery reports; each request's publication is
  an asyncio future settled by its report, so ``send`` returns, as before, once the broker
  has acknowledged the request (acks=all);
- ``produce`` itself only queues (it raises ``BufferError`` when librdkafka's local queue is
  full: the call waits and queues again).

The consumer reads the answer partitions from their ends at start (no consumer group: each
front door sees every response); the ends are read from the broker before the first request
(high watermarks), so a quick answer is never skipped. librdkafka needs a ``group.id`` even
so: one under the front door's prefix, never joined and never committed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from streams.adapters.kafka_security import KafkaConnectError, diagnose
from streams.adapters.librdkafka_refusals import LOOK_S, RefusalWatch
from streams.core.kafka_acls import FRONT_DOOR_GROUP_PREFIX
from streams.core.tenant_topics import answer_topics
from streams.front_door.bridge import KafkaBridge

log = structlog.get_logger(__name__)
START_TIMEOUT_S = 60.0
NOT_READY_YET = {KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION,
                 KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TRANSPORT,
                 KafkaError._TIMED_OUT}
Result = TypeVar("Result")
POLL_S = 0.2  # how long a thread waits in librdkafka before looking at the stop flag
BATCH = 500  # responses handed to the event loop at once, at most


class LibrdkafkaBridge(KafkaBridge):
    def _create_clients(self) -> None:
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rd_producer: Producer | None = None
        self._rd_consumer: Consumer | None = None
        self._refusals = RefusalWatch()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        conf: dict[str, Any] = {**self.kafka.librdkafka_options(),
                                "client.id": "douane-front-door", "error_cb": self._error}
        self._rd_producer = Producer({**conf, "acks": "all", "linger.ms": 0})
        self._rd_consumer = Consumer({
            **conf, "group.id": f"{FRONT_DOOR_GROUP_PREFIX}.librdkafka.{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False, "enable.auto.offset.store": False})
        try:
            partitions = await asyncio.to_thread(self._answer_partitions)
        except KafkaException as error:
            await self._stop_clients()
            reason = await diagnose(self.kafka, timeout_s=15.0)
            raise KafkaConnectError(
                f"the front door's Kafka clients (librdkafka) cannot connect to Kafka at "
                f"{self.kafka.bootstrap} as {self.kafka.security.username or 'an anonymous client'}"
                f" ({_name(error)}): {reason} [{self.kafka.security.describe()}]") from None
        self._rd_consumer.assign(partitions)
        self._threads = [
            threading.Thread(target=self._read, name="front-door-responses", daemon=True),
            threading.Thread(target=self._deliveries, name="front-door-deliveries",
                             daemon=True)]
        for thread in self._threads:
            thread.start()

    def _answer_partitions(self) -> list[TopicPartition]:
        """Every partition of the answer topics, at its current end (read from the broker).
        Topics the front door has just created have no leader for a moment: asked again
        until ``START_TIMEOUT_S`` (found by ``benchmarks/concurrency.py``, where the front door
        starts on a new broker: NOT_LEADER_FOR_PARTITION, and the front door exited)."""
        assert self._rd_producer is not None and self._rd_consumer is not None
        producer, consumer = self._rd_producer, self._rd_consumer
        deadline = time.monotonic() + START_TIMEOUT_S
        partitions = []
        for topic in answer_topics(self.layout, sorted(self.tenants)):
            def numbers(topic: str = topic) -> list[int]:
                found = producer.list_topics(topic, timeout=LOOK_S).topics.get(topic)
                if found is None or found.error is not None or not found.partitions:
                    raise KafkaException(found.error if found is not None and found.error
                                         else KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
                return sorted(found.partitions)

            for number in _until_ready(numbers, deadline, self._refused):
                def end(topic: str = topic, number: int = number) -> int:
                    _low, high = consumer.get_watermark_offsets(
                        TopicPartition(topic, number), timeout=LOOK_S, cached=False)
                    return int(high)

                partitions.append(TopicPartition(topic, number,
                                                 _until_ready(end, deadline, self._refused)))
        return partitions

    async def _stop_clients(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            await asyncio.to_thread(thread.join)
        if self._rd_consumer is not None:
            await asyncio.to_thread(self._rd_consumer.close)
        if self._rd_producer is not None:
            await asyncio.to_thread(self._rd_producer.flush, 10.0)
        # librdkafka's threads end with the objects, not before
        self._rd_consumer = self._rd_producer = None

    @property
    def reading_answers(self) -> bool:
        return any(t.name == "front-door-responses" and t.is_alive() for t in self._threads)

    async def _publish(self, topic: str, value: bytes, key: bytes,
                       headers: list[tuple[str, bytes]]) -> None:
        kafka_headers: list[tuple[str, str | bytes | None]] = list(headers)
        assert self._rd_producer is not None, "the bridge was not started"
        delivered: asyncio.Future[None] = self._loop.create_future()

        def report(error: KafkaError | None, _message: Message) -> None:  # delivery thread
            with contextlib.suppress(RuntimeError):  # the event loop has closed: stopping
                self._loop.call_soon_threadsafe(_settle, delivered, error)

        while True:
            try:
                self._rd_producer.produce(topic, value, key, headers=kafka_headers or None,
                                          on_delivery=report)
                break
            except BufferError:  # librdkafka's local queue is full: the broker is behind
                await asyncio.sleep(0.05)
        await delivered

    # ------------------------------------------------------------------ threads
    def _read(self) -> None:
        assert self._rd_consumer is not None
        consumer = self._rd_consumer
        while not self._stopping.is_set():
            first = consumer.poll(POLL_S)  # at the first response, or after POLL_S
            if first is None:
                continue
            batch = [first, *consumer.consume(num_messages=BATCH - 1, timeout=0)]
            try:
                self._loop.call_soon_threadsafe(self._take, batch)
            except RuntimeError:  # the event loop has closed: stopping
                return

    def _take(self, batch: list[Message]) -> None:
        for message in batch:
            error = message.error()
            topic = message.topic()
            if error is not None or topic is None:
                log.warning("response topic error", error=_name(error))
                continue
            self._received(topic, message.value())

    def _deliveries(self) -> None:
        assert self._rd_producer is not None
        while not self._stopping.is_set():
            self._rd_producer.poll(POLL_S)

    def _error(self, error: KafkaError) -> None:  # librdkafka's thread: connection trouble
        log.warning("kafka client error", error=error.name(), fatal=error.fatal())
        self._refusals.note(error)

    def _refused(self) -> None:  # before the threads start: serves error_cb here
        self._refusals.raise_if_refused(self._rd_producer)


def _until_ready(call: Callable[[], Result], deadline: float,
                 refused: Callable[[], None] = lambda: None) -> Result:
    """``call()``, again after a short wait while Kafka answers that it is not ready yet;
    ``refused`` raises when the broker has refused the connection for good."""
    while True:
        refused()
        try:
            return call()
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            not_yet = isinstance(error, KafkaError) and (
                error.code() in NOT_READY_YET or error.retriable())
            if not not_yet or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _settle(delivered: asyncio.Future[None], error: KafkaError | None) -> None:
    if delivered.done():
        return
    if error is None:
        delivered.set_result(None)
    else:
        delivered.set_exception(KafkaException(error))


def _name(error: Any) -> str:
    if isinstance(error, KafkaException) and error.args:
        error = error.args[0]
    return error.name() if isinstance(error, KafkaError) else type(error).__name__
