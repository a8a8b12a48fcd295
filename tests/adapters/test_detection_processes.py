"""Detection in a separate process: the real detector, and a process that dies is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from streams.core.model import ChatMessage
from streams.runtime.batched_detection import (
    BatchedDetector,
    DetectionProcessDied,
    ProcessBatches,
)

TEXT = "Please write to Jeanne Martin at jeanne.martin@example.fr about her renewal."


@pytest_asyncio.fixture
async def detection() -> AsyncIterator[BatchedDetector]:
    batched = BatchedDetector(ProcessBatches(1, ("en", "fr"), frozenset(
        {"PERSON", "EMAIL_ADDRESS"}), ("FR",)), timeout_s=300)
    yield batched
    batched.close()


def all_processes() -> list[tuple[int, int, bytes]]:
    """(pid, parent pid, command line) of every process, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        found.append((int(entry), int(stat.rsplit(")", 1)[1].split()[1]), cmdline))
    return found


def detection_processes() -> list[int]:
    """Process ids of this test's spawned children (not multiprocessing's resource tracker)."""
    return [pid for pid, parent, cmdline in all_processes()
            if parent == os.getpid() and b"spawn_main" in cmdline]


async def test_a_detection_process_finds_what_the_detector_finds(
        detection: BatchedDetector) -> None:
    found = await asyncio.gather(*(detection.detect((ChatMessage("user", TEXT),), "en")
                                   for _ in range(5)))
    for detection_result in found:
        kinds = {f.entity_type for f in detection_result.findings}
        assert kinds == {"PERSON", "EMAIL_ADDRESS"}


async def test_closing_lets_a_detection_process_exit_by_itself() -> None:
    """The end of its pipe stops it: closing never has to kill it (that took 30 s each)."""
    batched = BatchedDetector(ProcessBatches(1, ("en", "fr"), frozenset(
        {"PERSON", "EMAIL_ADDRESS"}), ("FR",)), timeout_s=300)
    await batched.detect((ChatMessage("user", TEXT),), "en")  # its pipe is the loop's stream
    batches = batched.batches
    assert isinstance(batches, ProcessBatches)
    batched.close()
    assert [p.process.exitcode for p in batches._processes] == [0]  # not -SIGKILL


async def test_a_detection_process_that_dies_holding_a_batch_fails_it_closed_and_is_replaced(
        detection: BatchedDetector) -> None:
    await detection.detect((ChatMessage("user", TEXT),), "en")  # the process is up
    (process,) = detection_processes()
    batches = detection.batches
    assert isinstance(batches, ProcessBatches)
    os.kill(process, signal.SIGSTOP)  # it cannot answer: the batch stays held until the kill
    held = asyncio.create_task(detection.detect((ChatMessage("user", TEXT),), "en"))
    while batches.held == 0:
        await asyncio.sleep(0.01)
    os.kill(process, signal.SIGKILL)
    with pytest.raises(DetectionProcessDied):
        await held
    again = await detection.detect((ChatMessage("user", TEXT),), "en")
    assert {f.entity_type for f in again.findings} == {"PERSON", "EMAIL_ADDRESS"}
    assert len(detection_processes()) == 1 and detection_processes() != [process]


async def test_a_detection_process_that_died_idle_is_replaced_without_failing_a_request(
        detection: BatchedDetector) -> None:
    await detection.detect((ChatMessage("user", TEXT),), "en")
    (process,) = detection_processes()
    batches = detection.batches
    assert isinstance(batches, ProcessBatches)
    os.kill(process, signal.SIGKILL)
    while batches.exited == 0:  # the end of its pipe, read by the event loop
        await asyncio.sleep(0.01)
    again = await detection.detect((ChatMessage("user", TEXT),), "en")
    assert {f.entity_type for f in again.findings} == {"PERSON", "EMAIL_ADDRESS"}
    assert len(detection_processes()) == 1 and detection_processes() != [process]


async def test_a_batch_over_its_time_limit_leaves_the_next_results_in_order() -> None:
    """A batch abandoned at its time limit keeps its place in the process's queue: its result,
    when it comes, is dropped, and the next batch gets its own."""
    batched = BatchedDetector(ProcessBatches(1, ("en", "fr"), frozenset(
        {"PERSON", "EMAIL_ADDRESS"}), ("FR",)), timeout_s=300)
    try:
        await batched.detect((ChatMessage("user", TEXT),), "en")
        (process,) = detection_processes()
        batches = batched.batches
        assert isinstance(batches, ProcessBatches)
        os.kill(process, signal.SIGSTOP)
        # a short limit for this batch only: the stopped process cannot answer within any
        # limit, and the batch after it gets the long one again
        batched.timeout_s = 1
        abandoned = asyncio.create_task(batched.detect((ChatMessage("user", "nothing here"),),
                                                       "en"))
        while batches.held == 0:
            await asyncio.sleep(0.01)
        batched.timeout_s = 300
        with pytest.raises(TimeoutError):
            await abandoned
        following = asyncio.create_task(batched.detect((ChatMessage("user", TEXT),), "en"))
        while batches.held < 2:
            await asyncio.sleep(0.01)
        os.kill(process, signal.SIGCONT)
        result = await following
        assert {f.entity_type for f in result.findings} == {"PERSON", "EMAIL_ADDRESS"}
    finally:
        batched.close()


def test_detection_processes_stop_when_their_worker_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(
        "import asyncio, os, sys\n"
        "from streams.core.model import ChatMessage\n"
        "from streams.runtime.batched_detection import BatchedDetector, ProcessBatches\n"
        "async def main():\n"
        "    d = BatchedDetector(ProcessBatches(1, ('en',), frozenset({'EMAIL_ADDRESS'}),"
        " ('FR',)), 300)\n"
        "    await d.detect((ChatMessage('user', 'a@example.org'),), 'en')\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(3600)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n")
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == b"ready"
    spawned = [p for p in all_processes() if p[1] == worker.pid and b"spawn_main" in p[2]]
    assert len(spawned) == 1
    worker.kill()  # SIGKILL: no cleanup in the worker
    worker.wait()
    child = spawned[0][0]
    deadline = time.monotonic() + 120
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists(), "the detection process outlived its worker"
