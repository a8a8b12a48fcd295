"""The librdkafka consumer's own rules (``streams/runtime/parallel_consumer_librdkafka.py``), on
a producer that reports as told: which failed deliveries are queued again, which go to the
dead-letter topic, which stop the worker; which commits reach the polling thread; when a
topic's partitions are paused and resumed. No broker: librdkafka's clients are created but
never polled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord, TopicPartition
from confluent_kafka import KafkaError, KafkaException

from streams.pipeline import Outgoing
from streams.runtime.parallel_consumer_librdkafka import (
    ClientFailed,
    LibrdkafkaParallelConsumer,
    _settle,
    commit_offsets,
    send_again,
)

FORWARD = "douane.forward.x"


class ScriptedProducer:
    """``produce`` raises, or reports each delivery with the next scripted outcome (None:
    delivered), as librdkafka's delivery thread would."""

    def __init__(self, owner: LibrdkafkaParallelConsumer,
                 outcomes: list[KafkaError | BaseException | None]) -> None:
        self.owner, self.outcomes = owner, outcomes
        self.sent: list[bytes] = []

    def produce(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None,
                on_delivery: Any = None) -> None:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, BaseException):
            raise outcome  # refused before queueing: nothing sent
        self.sent.append(value)
        on_delivery(outcome, None)  # appends to the owner's reports of this poll
        reports, self.owner._reports = self.owner._reports, []
        asyncio.get_running_loop().call_soon(_settle, reports)


@pytest_asyncio.fixture
async def stages() -> AsyncIterator[LibrdkafkaParallelConsumer]:
    # never contacted for real (nothing is polled); its connection attempts are not logged
    conf = {"bootstrap.servers": "127.0.0.1:9", "log_level": 0}
    owner = LibrdkafkaParallelConsumer(
        conf, conf, "douane", [FORWARD], handler=None, order_key=lambda r: None,  # type: ignore[arg-type]
        window=lambda _: 2, dead_letter=lambda record, error: Outgoing("dead", b"k", b"letter"))
    owner._loop = asyncio.get_running_loop()
    yield owner
    owner.consumer.close()


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    sleep = asyncio.sleep

    async def at_once(_: float) -> None:
        await sleep(0)
    monkeypatch.setattr(asyncio, "sleep", at_once)  # the retries wait with asyncio.sleep


def out(value: bytes) -> Outgoing:
    return Outgoing(FORWARD, b"k", value)


async def test_a_delivery_timed_out_while_the_broker_was_away_is_sent_again_alone(
        stages: LibrdkafkaParallelConsumer) -> None:
    producer = ScriptedProducer(stages, [None, KafkaError(KafkaError._MSG_TIMED_OUT)])
    stages.producer = producer  # type: ignore[assignment]
    await stages._publish([out(b"first"), out(b"second")])
    # the first was acknowledged: the idempotent producer wrote it once, not sent again
    assert producer.sent == [b"first", b"second", b"second"]


async def test_a_full_local_queue_waits_and_queues_again(
        stages: LibrdkafkaParallelConsumer) -> None:
    producer = ScriptedProducer(stages, [BufferError(), BufferError(), None])
    stages.producer = producer  # type: ignore[assignment]
    await stages._publish([out(b"one")])
    assert producer.sent == [b"one"]


@pytest.mark.parametrize("code", [KafkaError.MSG_SIZE_TOO_LARGE,
                                  KafkaError.TOPIC_AUTHORIZATION_FAILED])
async def test_a_message_that_cannot_go_is_not_sent_again(
        stages: LibrdkafkaParallelConsumer, code: int) -> None:
    producer = ScriptedProducer(stages, [KafkaError(code)])
    stages.producer = producer  # type: ignore[assignment]
    with pytest.raises(KafkaException):
        await stages._publish([out(b"one")])
    assert producer.sent == [b"one"]


async def test_a_message_refused_before_queueing_is_not_sent_again(
        stages: LibrdkafkaParallelConsumer) -> None:
    producer = ScriptedProducer(stages, [KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))])
    stages.producer = producer  # type: ignore[assignment]
    with pytest.raises(KafkaException):
        await stages._publish([out(b"huge")])
    assert producer.sent == []


def fatal() -> KafkaError:
    return KafkaError(KafkaError._FATAL, "fenced", fatal=True)


async def test_a_fatal_delivery_error_stops_instead_of_dead_lettering(
        stages: LibrdkafkaParallelConsumer) -> None:
    stages.producer = ScriptedProducer(stages, [fatal()])  # type: ignore[assignment]

    async def handle(record: Any) -> list[Outgoing]:
        return [out(b"one")]

    stages.handler = handle
    partition = TopicPartition(FORWARD, 0)
    record = ConsumerRecord(FORWARD, 0, 7, 0, 0, b"k", b"v", None, 1, 1, [])
    stages._take(partition, record)
    await asyncio.gather(*stages.running[partition])
    # neither finished (committed) nor sent to the dead-letter topic: read again after restart
    assert stages.producer.sent == [b"one"]  # type: ignore[attr-defined]
    assert stages.progress[partition].commit_point() == 7
    stages.producer.outcomes.append(fatal())  # type: ignore[attr-defined]
    with pytest.raises(ClientFailed):
        await stages._publish([out(b"two")])


def test_which_delivery_errors_are_the_brokers_absence() -> None:
    assert send_again(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert send_again(KafkaError(KafkaError._TRANSPORT))
    assert send_again(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS))
    assert not send_again(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    assert not send_again(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))


def test_a_commit_queued_before_a_revocation_leaves_the_revoked_partition_alone() -> None:
    kept, plain, revoked = TopicPartition("t", 0), TopicPartition("t", 2), TopicPartition("t", 1)
    offsets = commit_offsets({kept: (5, "meta"), plain: (3, ""), revoked: (9, "")},
                             {kept, plain})
    assert [(tp.topic, tp.partition, tp.offset, tp.metadata) for tp in offsets] == \
        [("t", 0, 5, "meta"), ("t", 2, 3, "")]


def commands(stages: LibrdkafkaParallelConsumer) -> list[tuple[str, Any]]:
    found = []
    while not stages._commands.empty():
        found.append(stages._commands.get_nowait())
    return found


async def test_a_full_window_pauses_its_partitions_and_a_finished_message_resumes_them(
        stages: LibrdkafkaParallelConsumer) -> None:
    held = asyncio.Event()

    async def handle(record: Any) -> list[Outgoing]:
        await held.wait()
        return []

    stages.handler = handle
    p0, p1 = TopicPartition(FORWARD, 0), TopicPartition(FORWARD, 1)
    stages._assigned = frozenset({p0, p1})
    stages._adopt([(p0, None, None), (p1, None, None)])
    assert commands(stages) == []
    assert stages._room_now == 2
    stages._take_batch([])  # nothing: still room
    stages._take(p0, ConsumerRecord(FORWARD, 0, 0, 0, 0, None, b"a", None, 1, 1, []))
    stages._take(p1, ConsumerRecord(FORWARD, 1, 0, 0, 0, None, b"b", None, 1, 1, []))
    stages._apply_backpressure()
    [(command, partitions)] = commands(stages)
    assert (command, sorted(partitions)) == ("pause", [p0, p1])
    assert stages._room_now == 1  # at least one: the poll also keeps the consumer alive
    held.set()
    await asyncio.gather(*stages.running[p0], *stages.running[p1])
    await asyncio.sleep(0)  # the flow check scheduled by the finished messages
    [(command, partitions)] = commands(stages)
    assert (command, sorted(partitions)) == ("resume", [p0, p1])
    await stages._commit()
    [(command, due)] = commands(stages)
    assert command == "commit" and due == {p0: (1, ""), p1: (1, "")}


async def test_revocation_lets_running_messages_finish_drops_waiting_ones_and_gives_the_commit(
        stages: LibrdkafkaParallelConsumer) -> None:
    held = asyncio.Event()
    handled: list[int] = []

    async def handle(record: Any) -> list[Outgoing]:
        await held.wait()
        handled.append(record.offset)
        return []

    stages.handler = handle
    stages.order_key = lambda record: "one conversation"
    p0 = TopicPartition(FORWARD, 0)
    stages._assigned = frozenset({p0})
    stages._adopt([(p0, None, None)])
    for offset in (3, 4):  # 4 waits behind 3 (same conversation)
        stages._take(p0, ConsumerRecord(FORWARD, 0, offset, 0, 0, None, b"v", None, 1, 1, []))
    releasing = asyncio.create_task(stages._release({p0}))
    await asyncio.sleep(0)
    assert not releasing.done()  # waits for offset 3
    held.set()
    due = await releasing
    assert handled == [3]  # 4 was dropped: the next owner reads it
    assert due == {p0: (4, "")}
    assert stages.progress == {} and stages.in_flight == 0


def test_the_producer_gives_up_a_delivery_after_the_configured_time() -> None:
    """``DOUANE_KAFKA_DELIVERY_TIMEOUT_S`` is librdkafka's ``message.timeout.ms`` (the
    integration test shortens it to see the broker away for longer)."""
    from streams.adapters.kafka_security import KafkaConnection
    from streams.config import load_settings
    from streams.runtime.parallel_consumer_librdkafka import worker_confs

    connection = KafkaConnection("127.0.0.1:9")
    _, producer = worker_confs(connection, load_settings({}))
    assert producer["message.timeout.ms"] == 300_000  # librdkafka's own default
    _, producer = worker_confs(connection,
                               load_settings({"DOUANE_KAFKA_DELIVERY_TIMEOUT_S": "3"}))
    assert producer["message.timeout.ms"] == 3000
    assert producer["enable.idempotence"] is True and producer["acks"] == "all"


async def test_the_lag_is_read_without_calling_into_the_polled_consumer(
        stages: LibrdkafkaParallelConsumer) -> None:
    """confluent-kafka lets one thread at a time into a Consumer and the polling thread is
    nearly always in ``poll``: the lag gauge must not call ``stages.consumer`` (a scrape
    waited for ever). Ends from a reader of its own; where fetching stands from what the event
    loop saw (the committed offset, then past the last message taken)."""
    from confluent_kafka import Message
    from confluent_kafka import TopicPartition as RdPartition

    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the polled consumer was called: {name}")

    class Ends:
        def offsets_for_times(self, asked: list[Any], timeout: float) -> list[Any]:
            return [RdPartition(tp.topic, tp.partition, 0 if tp.partition == 2 else 10)
                    for tp in asked]

    p0, p1, p2 = (TopicPartition(FORWARD, n) for n in range(3))
    stages._assigned = frozenset({p0, p1, p2})
    stages._adopt([(p0, 4, ""), (p1, None, None), (p2, -1001, None)])
    polled, stages.consumer = stages.consumer, Untouchable()  # type: ignore[assignment]
    stages._ends_reader = Ends()  # type: ignore[assignment]
    try:
        # nothing committed on p1: not known yet; p2 is empty: nothing behind
        assert await stages.lag() == {p0: 6, p2: 0}
        stages.handler = lambda record: asyncio.sleep(3600)  # type: ignore[assignment,return-value]
        stages._take_batch([Message(topic=FORWARD, partition=1, offset=7, key=b"k", value=b"a",
                                    headers=None, error=None, timestamp=(1, 0))])
        lag = await stages.lag()
        assert lag == {p0: 6, p1: 3, p2: 0}  # p1: its commit point, 7, the message running
    finally:
        stages.consumer = polled
        stages._ends_reader = None
        for task in stages.running.get(p1, set()):
            task.cancel()
