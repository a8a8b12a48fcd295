"""Commit points, finished-offset metadata and per-key order for many messages in flight."""

from __future__ import annotations

import random

import pytest

from streams.runtime.in_flight import (
    MAX_METADATA_CHARS,
    KeyedQueue,
    PartitionProgress,
    decode_finished,
    encode_finished,
)

# (offsets taken, offsets finished in this order, expected commit point, finished above it)
COMMIT_CASES = [
    ([], [], None, []),
    ([5], [], 5, []),
    ([5], [5], 6, []),
    ([5, 6, 7], [7], 5, [7]),
    ([5, 6, 7], [7, 6], 5, [6, 7]),
    ([5, 6, 7], [7, 6, 5], 8, []),
    ([5, 6, 7, 8], [6, 5], 7, []),
    ([5, 6, 7, 8], [8, 5], 6, [8]),
    ([10, 20, 30], [20], 10, [20]),   # offsets with gaps (compacted or transactional topics)
    ([10, 20, 30], [10], 20, []),
]


@pytest.mark.parametrize(("taken", "finished", "point", "above"), COMMIT_CASES)
def test_the_commit_point_never_passes_an_unfinished_message(
    taken: list[int], finished: list[int], point: int | None, above: list[int],
) -> None:
    progress = PartitionProgress()
    for offset in taken:
        progress.take(offset)
    for offset in finished:
        progress.finish(offset)
    assert progress.commit_point() == point
    assert progress.finished_above() == above
    assert progress.in_flight == len(taken) - len(finished)


def test_random_completion_orders_commit_only_below_the_lowest_unfinished() -> None:
    rng = random.Random(7)
    for _ in range(200):
        progress = PartitionProgress()
        offsets = list(range(100, 100 + rng.randint(1, 40)))
        for offset in offsets:
            progress.take(offset)
        order = offsets[:]
        rng.shuffle(order)
        done: set[int] = set()
        for offset in order:
            progress.finish(offset)
            done.add(offset)
            point = progress.commit_point()
            assert point is not None
            assert all(o in done for o in offsets if o < point)
            assert point > max(offsets) or point not in done
            restart_skips = decode_finished(point, encode_finished(point,
                                                                   progress.finished_above()))
            # what a restart reads again and does not skip is exactly what is unfinished
            assert {o for o in offsets if o >= point} - restart_skips == \
                {o for o in offsets if o not in done}


def test_taking_an_offset_out_of_order_is_a_bug_that_is_refused() -> None:
    progress = PartitionProgress()
    progress.take(4)
    with pytest.raises(ValueError, match="read in order"):
        progress.take(3)
    with pytest.raises(KeyError):
        progress.finish(99)


def test_a_skipped_offset_counts_as_finished() -> None:
    progress = PartitionProgress()
    progress.take(1)
    progress.skip(2)
    assert progress.commit_point() == 1
    assert progress.finished_above() == [2]
    progress.finish(1)
    assert progress.commit_point() == 3


def test_commit_due_only_when_something_changed() -> None:
    progress = PartitionProgress()
    assert progress.commit_due() is None
    progress.take(0)
    progress.take(1)
    assert progress.commit_due() == (0, "")
    assert progress.commit_due() is None
    progress.finish(1)
    offset, metadata = progress.commit_due() or (None, "")
    assert offset == 0 and decode_finished(0, metadata) == {1}
    assert progress.commit_due() is None
    progress.finish(0)
    assert progress.commit_due() == (2, "")


def test_span_is_what_a_restart_would_read_again() -> None:
    progress = PartitionProgress()
    for offset in range(10):
        progress.take(offset)
    for offset in range(1, 10):
        progress.finish(offset)
    assert progress.span() == 10
    progress.finish(0)
    assert progress.span() == 0


@pytest.mark.parametrize("finished", [set(), {101}, {101, 102, 150}, set(range(101, 5000, 3))])
def test_finished_offsets_survive_the_commit_metadata(finished: set[int]) -> None:
    metadata = encode_finished(100, finished)
    assert len(metadata) <= MAX_METADATA_CHARS
    assert decode_finished(100, metadata) == finished


def test_metadata_that_does_not_fit_is_left_out_so_nothing_is_skipped_wrongly() -> None:
    rng = random.Random(3)
    scattered = {101 + rng.randrange(2_000_000) for _ in range(20_000)}
    assert encode_finished(100, scattered) == ""


@pytest.mark.parametrize("metadata", [None, "", "someone-else", "douane-finished-v1:!!!",
                                      "douane-finished-v1:AAAA"])
def test_foreign_or_damaged_metadata_skips_nothing(metadata: str | None) -> None:
    assert decode_finished(10, metadata) == set()


def test_items_of_one_key_run_one_after_the_other_in_arrival_order() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    assert queue.arrive("conv-1", "a1") is True
    assert queue.arrive("conv-2", "b1") is True
    assert queue.arrive("conv-1", "a2") is False
    assert queue.arrive("conv-1", "a3") is False
    assert queue.arrive(None, "n1") is True
    assert queue.waiting == 2
    assert queue.done("conv-2") is None
    assert queue.done("conv-1") == "a2"
    assert queue.done("conv-1") == "a3"
    assert queue.done("conv-1") is None
    assert queue.arrive("conv-1", "a4") is True  # the key was released


def test_dropped_items_never_start() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    queue.arrive("k", "first")
    queue.arrive("k", "second")
    queue.arrive("k", "third")
    queue.drop(["second"])
    assert queue.done("k") == "third"
    assert queue.done("k") is None
