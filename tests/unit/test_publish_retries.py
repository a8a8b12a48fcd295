"""Which publish failures the worker sends again before it gives a message up to the
dead-letter topic (``ParallelConsumer._publish``), on a producer that fails as told."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, RecordTooLargeError

from streams.pipeline import Outgoing
from streams.runtime.parallel_consumer import ParallelConsumer


class ScriptedProducer:
    """Each delivery fails with the next scripted error, then succeeds."""

    def __init__(self, failures: list[KafkaError]) -> None:
        self.failures = failures
        self.sent: list[bytes] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[None]:
        self.sent.append(value)
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failures:
            delivered.set_exception(self.failures.pop(0))
        else:
            delivered.set_result(None)
        return delivered


def stages(producer: ScriptedProducer) -> ParallelConsumer:
    return ParallelConsumer(
        None, producer, None, "douane", (), handler=None, order_key=None,  # type: ignore[arg-type]
        window=lambda _: 1, dead_letter=None)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def at_once(_: float) -> None:
        return None
    monkeypatch.setattr(asyncio, "sleep", at_once)  # the retries wait with asyncio.sleep


async def test_a_batch_refused_for_its_sequence_is_sent_again() -> None:
    producer = ScriptedProducer([OutOfOrderSequenceNumber()])
    await stages(producer)._publish([Outgoing("douane.forward.x", b"k", b"request")])
    assert producer.sent == [b"request", b"request"]


async def test_a_message_too_large_is_not_sent_again() -> None:
    producer = ScriptedProducer([RecordTooLargeError()])
    with pytest.raises(RecordTooLargeError):
        await stages(producer)._publish([Outgoing("douane.forward.x", b"k", b"request")])
    assert producer.sent == [b"request"]
