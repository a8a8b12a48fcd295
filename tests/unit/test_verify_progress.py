"""A long ``douane audit verify`` tells how far it has got, on stderr, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.adapters.audit.protocols import StoredCheckpoint
from streams.cli.audit import VerifyProgress
from streams.core.audit import ChainEntry


class Reader:
    def __init__(self, count: int) -> None:
        self.entries = [ChainEntry(i, b"{}", b"sig", "key") for i in range(1, count + 1)]

    def iter_entries(self) -> Iterator[ChainEntry]:
        return iter(self.entries)

    def checkpoints(self) -> list[StoredCheckpoint]:
        return []


class Clock:
    """Each look at the clock is one more second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.parametrize(("count", "every_s", "lines"), [
    (3, 5.0, 0),  # a short log: silent
    (10, 5.0, 2),  # 10 s of work at 1 s a record: after 5 and 10 s
    (10, 2.0, 5),
])
def test_progress_lines_come_every_few_seconds(
        count: int, every_s: float, lines: int, capsys: pytest.CaptureFixture[str]) -> None:
    reader = Reader(count)
    progress = VerifyProgress(reader, count, every_s=every_s, clock=Clock())
    assert list(progress.iter_entries()) == reader.entries
    err = capsys.readouterr()
    assert err.out == ""
    printed = err.err.splitlines()
    assert len(printed) == lines
    assert all(line.startswith("audit verify: ") and f"of {count} records checked" in line
               for line in printed)


def test_a_progress_line_says_how_far_and_how_long_is_left(
        capsys: pytest.CaptureFixture[str]) -> None:
    list(VerifyProgress(Reader(4), 8, every_s=4.0, clock=Clock()).iter_entries())
    assert capsys.readouterr().err.splitlines() == [
        "audit verify: 4 of 8 records checked (50%, about 4 s left)"]
