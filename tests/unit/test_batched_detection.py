"""Detection batched across the requests in flight: batches form, failures stay local."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from streams.core.model import DETECTED_ALONE_CHARS, ChatMessage, Detection, DetectionRequest
from streams.runtime.batched_detection import BatchedDetector, batch_size


def messages(text: str) -> tuple[ChatMessage, ...]:
    return (ChatMessage("user", text),)


class RecordingDetector:
    """Answers with the text's first word as language; 'bad' texts fail; a gate can hold it."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def detect(self, msgs: tuple[ChatMessage, ...], language: str | None) -> Detection:
        if "bad" in msgs[0].content:
            raise ValueError("unreadable")
        return Detection(msgs[0].content.split()[0], "test", ())

    def detect_batch(self, requests: Sequence[DetectionRequest]) -> list[Detection]:
        self.gate.wait()
        self.batches.append(len(requests))
        return [self.detect(r.messages, r.language) for r in requests]


async def test_requests_arriving_during_a_batch_form_the_next_batch() -> None:
    detector = RecordingDetector()
    detector.gate.clear()  # the first batch is held in its thread
    batched = BatchedDetector.in_thread(detector, timeout_s=60)
    first = asyncio.create_task(batched.detect(messages("one"), None))
    await asyncio.sleep(0)
    others = [asyncio.create_task(batched.detect(messages(f"r{n} text"), None))
              for n in range(10)]
    await asyncio.sleep(0)
    detector.gate.set()
    assert (await first).language == "one"
    assert [(await o).language for o in others] == [f"r{n}" for n in range(10)]
    # the ten waited for the first batch; then served in batches of about sqrt(queue)
    assert detector.batches == [1, 4, 3, 2, 1]


@pytest.mark.parametrize(("waiting", "parallel", "size"), [
    (0, 1, 0), (1, 1, 1), (2, 1, 2), (8, 1, 3), (10, 1, 4), (100, 1, 10), (5000, 1, 32),
    (1, 2, 1), (8, 2, 2), (200, 2, 10), (3, 4, 1),
])
def test_a_batch_grows_with_the_square_root_of_the_queue(
        waiting: int, parallel: int, size: int) -> None:
    assert batch_size(waiting, parallel) == size


def test_a_batch_never_exceeds_its_cap() -> None:
    assert batch_size(10_000, 1, max_batch=4) == 4


async def test_batches_are_capped() -> None:
    detector = RecordingDetector()
    detector.gate.clear()
    batched = BatchedDetector.in_thread(detector, timeout_s=60, max_batch=4)
    tasks = [asyncio.create_task(batched.detect(messages(f"r{n}"), None)) for n in range(10)]
    await asyncio.sleep(0)
    detector.gate.set()
    await asyncio.gather(*tasks)
    assert max(detector.batches) <= 4 and sum(detector.batches) == 10


async def test_one_failing_request_does_not_fail_its_neighbours() -> None:
    batched = BatchedDetector.in_thread(RecordingDetector(), timeout_s=60)
    good = asyncio.create_task(batched.detect(messages("fine text"), None))
    bad = asyncio.create_task(batched.detect(messages("bad text"), None))
    other = asyncio.create_task(batched.detect(messages("also fine"), None))
    assert (await good).language == "fine"
    assert (await other).language == "also"
    with pytest.raises(ValueError, match="unreadable"):
        await bad


async def test_a_batch_over_its_time_limit_fails_closed() -> None:
    detector = RecordingDetector()
    detector.gate.clear()
    batched = BatchedDetector.in_thread(detector, timeout_s=0.05)
    try:
        with pytest.raises(TimeoutError):
            await batched.detect(messages("slow text"), None)
    finally:
        detector.gate.set()


async def test_a_detector_without_batches_is_called_per_request() -> None:
    class Plain:
        def detect(self, msgs: tuple[ChatMessage, ...], language: str | None) -> Detection:
            return Detection(language or "xx", "plain", ())

    batched = BatchedDetector.in_thread(Plain(), timeout_s=60)
    found = await asyncio.gather(*(batched.detect(messages("t"), lang) for lang in ("en", "fr")))
    assert [d.language for d in found] == ["en", "fr"]


async def test_a_long_request_is_detected_in_a_batch_of_its_own() -> None:
    """A long request's batch waits for all of it (and fails with it on the time limit): the
    short requests queued beside it go in other batches."""
    detector = RecordingDetector()
    detector.gate.clear()
    contents: list[list[int]] = []
    real = detector.detect_batch

    def recording(requests: Sequence[DetectionRequest]) -> list[Detection]:
        contents.append([len(r.messages[0].content) for r in requests])
        return real(requests)

    detector.detect_batch = recording  # type: ignore[method-assign]
    batched = BatchedDetector.in_thread(detector, timeout_s=60)
    first = asyncio.create_task(batched.detect(messages("one"), None))
    await asyncio.sleep(0)
    long = "long " + "x" * DETECTED_ALONE_CHARS
    tasks = [asyncio.create_task(batched.detect(messages(text), None))
             for text in ("a b", long, "c d", "e f")]
    await asyncio.sleep(0)
    detector.gate.set()
    await first
    await asyncio.gather(*tasks)
    assert contents == [[3], [3, 3], [len(long)], [3]]
