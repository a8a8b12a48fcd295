"""Detection for many requests in flight: gathered into batches, each batch run at once.

Detection is CPU-bound and holds the GIL most of the time, so running it in many threads of the
worker only adds switching. Run as a batch, the NER model sees all waiting texts together (about
15 % less CPU per text than one by one with the shipped models). Requests arriving while the
batches run form the next ones.

How big a batch is: the square root of the queue (per detection process), at most ``MAX_BATCH``.
Every request in a batch waits for the whole batch, so one big batch of a burst of 8 makes all
8 wait for 8 detections; batches of 3, 3 and 2 give the first answers after 3. A short queue
(light load, where latency is what callers notice) is served almost one by one; a long queue
(saturation, where CPU is what counts) in batches that save the CPU.

Where batches run:
- ``ThreadBatches``: one thread of the worker process (tests, small deployments);
- ``ProcessBatches``: detection processes (``DOUANE_DETECTION_PROCESSES``), each with its own
  copy of the models. The worker's event loop (Kafka, audit, provider calls) and detection then
  use separate cores instead of taking turns on the GIL. A process that dies is replaced; the
  batch it held is blocked (fail closed).

The time limit (``timeout_s``) applies to a batch from the moment it starts, not to the time a
request waits for its turn: under load, waiting is normal and must not block a request. A batch
over its limit blocks its requests (fail closed); if a batch fails, its requests are detected
one by one so that one unreadable request does not block its neighbours.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from typing import Protocol, runtime_checkable

import structlog

from streams.adapters.metrics import DETECTION_SECONDS
from streams.core.model import ChatMessage, Detection, DetectionRequest, Detector

__all__ = ["MAX_BATCH", "BatchedDetector", "ProcessBatches", "ThreadBatches", "batch_size"]

log = structlog.get_logger(__name__)
MAX_BATCH = 32
Results = list[Detection | Exception]


@runtime_checkable
class BatchDetector(Protocol):
    def detect_batch(self, requests: Sequence[DetectionRequest]) -> list[Detection]: ...


def detect_each(detector: Detector, batch: Sequence[DetectionRequest]) -> Results:
    """The whole batch at once; if that fails, one by one (only the culprit fails)."""
    if isinstance(detector, BatchDetector):
        try:
            return list(detector.detect_batch(batch))
        except Exception:
            pass
    results: Results = []
    for request in batch:
        try:
            results.append(detector.detect(request.messages, request.language))
        except Exception as error:
            results.append(error)
    return results


def batch_size(waiting: int, parallel: int, max_batch: int = MAX_BATCH) -> int:
    """How many of ``waiting`` requests the next batch takes (see the module's docstring)."""
    if waiting <= 0:
        return 0
    return max(1, min(max_batch, waiting, math.ceil(math.sqrt(waiting / parallel))))


class Batches(Protocol):
    """Where batches run, how many may run at the same time, and what they detect (the
    languages and entity types their detectors loaded; ``None`` when not known)."""

    parallel: int
    languages: tuple[str, ...] | None
    entities: frozenset[str] | None

    async def run(self, batch: list[DetectionRequest]) -> Results: ...

    def close(self) -> None: ...


class ThreadBatches:
    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.parallel = 1
        self.languages: tuple[str, ...] | None = getattr(detector, "languages", None)
        self.entities: frozenset[str] | None = getattr(detector, "entities", None)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="detect")

    async def run(self, batch: list[DetectionRequest]) -> Results:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, detect_each, self.detector, batch)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


# ------------------------------------------------------------------ in a detection process
_CHILD_DETECTOR: Detector | None = None


def _load_in_child(parent: int, languages: tuple[str, ...], entities: frozenset[str],
                   phone_regions: tuple[str, ...]) -> None:
    global _CHILD_DETECTOR
    from streams.adapters.presidio_detector import PresidioDetector

    # a worker killed with SIGKILL cannot stop its detection processes: they stop themselves
    threading.Thread(target=_exit_without, args=(parent,), daemon=True,
                     name="parent-watch").start()
    _CHILD_DETECTOR = PresidioDetector(languages, entities, phone_regions)


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _detect_in_child(batch: list[DetectionRequest]) -> Results:
    assert _CHILD_DETECTOR is not None, "the detection process has no detector"
    return detect_each(_CHILD_DETECTOR, batch)


def _ready() -> bool:
    return _CHILD_DETECTOR is not None


class ProcessBatches:
    def __init__(self, processes: int, languages: tuple[str, ...], entities: frozenset[str],
                 phone_regions: tuple[str, ...]) -> None:
        self.parallel = processes
        self.languages: tuple[str, ...] | None = languages
        self.entities: frozenset[str] | None = entities
        self._setup = (os.getpid(), languages, entities, phone_regions)
        self._loading: list[Future[bool]] = []
        self._pool = self._start()

    def _start(self) -> Executor:
        # spawned, not forked: the worker has threads (Kafka, stores) a fork would copy mid-way
        pool = ProcessPoolExecutor(self.parallel, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_load_in_child, initargs=self._setup)
        # load the models now, not on the first request
        self._loading = [pool.submit(_ready) for _ in range(self.parallel)]
        return pool

    def wait_until_loaded(self) -> None:
        """Block until every detection process has loaded its models: a request must not
        spend its detection time limit waiting for a model to load. Raises if one fails."""
        for loading in self._loading:
            loading.result()

    async def run(self, batch: list[DetectionRequest]) -> Results:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, _detect_in_child, batch)
        except BrokenProcessPool:
            if pool is self._pool:
                log.error("a detection process died; starting new ones")
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()
            raise

    def close(self) -> None:
        """Stop the detection processes and wait for them to exit (a few seconds at most: a
        process still loading its models finishes that first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------ the batcher
class _Waiting:
    def __init__(self, request: DetectionRequest, answer: asyncio.Future[Detection]) -> None:
        self.request, self.answer = request, answer


class BatchedDetector:
    def __init__(self, batches: Batches, timeout_s: float, max_batch: int = MAX_BATCH) -> None:
        self.batches = batches
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._running = 0

    @classmethod
    def in_thread(cls, detector: Detector, timeout_s: float,
                  max_batch: int = MAX_BATCH) -> BatchedDetector:
        return cls(ThreadBatches(detector), timeout_s, max_batch)

    async def detect(self, messages: tuple[ChatMessage, ...],
                     language: str | None) -> Detection:
        """The findings for one request; raises (fail closed) if its detection failed."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(DetectionRequest(messages, language), loop.create_future())
        self._waiting.append(waiting)
        self._start_batches()
        started = time.perf_counter()
        outcome = "failed"
        try:
            detection = await waiting.answer
            outcome = "ok"
            return detection
        finally:
            DETECTION_SECONDS.labels(outcome).observe(time.perf_counter() - started)

    @property
    def languages(self) -> tuple[str, ...] | None:
        return self.batches.languages

    @property
    def entities(self) -> frozenset[str] | None:
        return self.batches.entities

    def _start_batches(self) -> None:
        while self._waiting and self._running < self.batches.parallel:
            size = batch_size(len(self._waiting), self.batches.parallel, self.max_batch)
            batch = self._waiting[:size]
            del self._waiting[:size]
            self._running += 1
            asyncio.get_running_loop().create_task(self._run(batch), name="detection-batch")

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            results: Results = await asyncio.wait_for(
                self.batches.run([w.request for w in batch]), timeout=self.timeout_s)
        except Exception as error:  # over time, or the thread or process itself failed
            results = [error] * len(batch)
        finally:
            self._running -= 1
        for waiting, result in zip(batch, results, strict=True):
            if waiting.answer.done():  # its caller gave up (cancelled)
                continue
            if isinstance(result, Exception):
                waiting.answer.set_exception(result)
            else:
                waiting.answer.set_result(result)
        self._start_batches()

    def close(self) -> None:
        self.batches.close()
