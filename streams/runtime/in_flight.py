"""Bookkeeping for many Kafka messages in flight at once: which offset of a partition may be
committed, which finished messages above it a restarted worker must skip, and which messages
must wait for an earlier one with the same ordering key.

Pure values in, values out (no Kafka, no clock), so the rules can be tested with tables:

- **Commit point.** A partition's committed offset is the next message a restarted consumer
  reads. It may only move up to the lowest offset *not yet finished*: messages finish out of
  order (a model answer takes 1 s for one request and 30 s for the next), and committing past a
  slow one would skip it after a crash. This is the rule of Confluent's parallel consumer.
- **Finished above the commit point.** The messages that finished after the lowest unfinished
  one would be processed again after a restart. Their offsets travel in the commit's metadata
  (``encode_finished``), so the next owner of the partition skips them: a response is not
  published twice because a slower neighbour held the commit point back.
- **Order per key.** Messages with the same key (the turns of one conversation) run one after
  the other, in offset order; different keys overlap freely (``KeyedQueue``).
"""

from __future__ import annotations

import base64
import zlib
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "MAX_METADATA_CHARS",
    "METADATA_PREFIX",
    "KeyedQueue",
    "PartitionProgress",
    "decode_finished",
    "encode_finished",
]

METADATA_PREFIX = "douane-finished-v1:"
# Kafka's offset.metadata.max.bytes defaults to 4096; stay well under it
MAX_METADATA_CHARS = 3000


@dataclass
class PartitionProgress:
    """The messages of one partition taken by this worker and whether each has finished."""

    # offsets taken and not finished, in the order taken (ascending: a partition is read in
    # order), so the first key is the lowest unfinished offset
    _unfinished: dict[int, None] = field(default_factory=dict)
    _finished_above: set[int] = field(default_factory=set)
    _next_to_read: int | None = None  # one past the highest offset taken
    _last_commit: tuple[int, str] | None = None  # the last (offset, metadata) handed out

    def take(self, offset: int) -> None:
        if self._next_to_read is not None and offset < self._next_to_read:
            raise ValueError(f"offset {offset} taken after {self._next_to_read - 1}: "
                             "a partition is read in order")
        self._unfinished[offset] = None
        self._next_to_read = offset + 1

    def skip(self, offset: int) -> None:
        """An offset a previous owner already finished: counts as taken and finished."""
        self.take(offset)
        self.finish(offset)

    def finish(self, offset: int) -> None:
        if offset not in self._unfinished:
            raise KeyError(f"offset {offset} was not in flight")
        lowest = next(iter(self._unfinished))
        del self._unfinished[offset]
        if offset != lowest:
            self._finished_above.add(offset)
            return
        # the lowest finished: forget every finished offset below the new lowest
        floor = self.commit_point()
        if floor is not None:
            self._finished_above = {o for o in self._finished_above if o >= floor}

    @property
    def in_flight(self) -> int:
        return len(self._unfinished)

    def span(self) -> int:
        """How many offsets lie between the commit point and the next one to read: what a
        restart would read again. The consumer pauses a partition whose span grows too large,
        so that the finished set always fits in the commit's metadata."""
        point = self.commit_point()
        return 0 if point is None or self._next_to_read is None else self._next_to_read - point

    def commit_point(self) -> int | None:
        """The offset to commit: the lowest unfinished one, or one past the last taken."""
        if self._unfinished:
            return next(iter(self._unfinished))
        return self._next_to_read

    def finished_above(self) -> list[int]:
        """Finished offsets at or above the commit point, ascending."""
        point = self.commit_point()
        return sorted(o for o in self._finished_above if point is None or o >= point)

    def commit_due(self) -> tuple[int, str] | None:
        """(offset, metadata) to commit if anything changed since the last call, else None."""
        point = self.commit_point()
        if point is None:
            return None
        state = (point, encode_finished(point, self.finished_above()))
        if state == self._last_commit:
            return None
        self._last_commit = state
        return state


def encode_finished(commit_point: int, finished: Iterable[int]) -> str:
    """The finished offsets above ``commit_point`` as commit metadata: a bitmap of offsets
    relative to the commit point, deflated and base64-encoded (often a few dozen bytes).
    Empty when there are none, or when they do not fit (then a restart processes them again,
    which the pipeline's idempotency absorbs)."""
    relative = sorted(o - commit_point for o in finished if o > commit_point)
    if not relative:
        return ""
    bitmap = bytearray(relative[-1] // 8 + 1)
    for r in relative:
        bitmap[r // 8] |= 1 << (r % 8)
    text = METADATA_PREFIX + base64.b64encode(zlib.compress(bytes(bitmap), 9)).decode("ascii")
    return text if len(text) <= MAX_METADATA_CHARS else ""


def decode_finished(commit_point: int, metadata: str | None) -> set[int]:
    """The offsets ``encode_finished`` recorded; empty for foreign or damaged metadata (a
    commit made by another tool: nothing is skipped, so nothing can be lost)."""
    if not metadata or not metadata.startswith(METADATA_PREFIX):
        return set()
    try:
        bitmap = zlib.decompress(base64.b64decode(metadata[len(METADATA_PREFIX):],
                                                  validate=True))
    except (ValueError, zlib.error):
        return set()
    return {commit_point + i * 8 + bit for i, byte in enumerate(bitmap)
            for bit in range(8) if byte >> bit & 1}


Item = TypeVar("Item")


class KeyedQueue(Generic[Item]):
    """At most one item per key running; later items of a busy key wait in arrival order.
    ``None`` as a key means "no order to keep": such items run at once."""

    def __init__(self) -> None:
        self._waiting: dict[Hashable, deque[Item]] = {}

    def arrive(self, key: Hashable | None, item: Item) -> bool:
        """True if ``item`` may start now; otherwise it waits behind its key."""
        if key is None:
            return True
        if key in self._waiting:
            self._waiting[key].append(item)
            return False
        self._waiting[key] = deque()
        return True

    def done(self, key: Hashable | None) -> Item | None:
        """The item of ``key`` that may start now that the previous one finished."""
        if key is None:
            return None
        queue = self._waiting.get(key)
        if queue is None:
            return None
        if queue:
            return queue.popleft()
        del self._waiting[key]
        return None

    def drop(self, unwanted: Iterable[Item]) -> None:
        """Forget waiting items (their partition was taken away); keys with nothing running
        and nothing waiting are released by their running item's ``done``."""
        gone = {id(i) for i in unwanted}
        for key, queue in self._waiting.items():
            self._waiting[key] = deque(i for i in queue if id(i) not in gone)

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())
