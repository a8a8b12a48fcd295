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
  batch it held is blocked (fail closed). Detection runs in the process's main thread, so its
  recognizers are bounded by a CPU timer (``recognizers.base.CpuTimer``), not by a timeout on
  every search as in a thread.

The time limit (``timeout_s``) applies to a batch from the moment it starts, not to the time a
request waits for its turn: under load, waiting is normal and must not block a request. A batch
over its limit blocks its requests (fail closed). A request whose own CPU limit ran out in the
batch (``PresidioDetector.detect_results``: the recognizers', the NER's, the steps') is failed
alone and not run again, the others' detection going on; if a batch fails otherwise, its
requests are detected one by one so that one unreadable request does not block its
neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import pickle
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Protocol, runtime_checkable

import structlog

from streams.adapters.metrics import DETECTION_SECONDS
from streams.core.model import (
    DETECTED_ALONE_CHARS,
    ChatMessage,
    Detection,
    DetectionRequest,
    Detector,
)
from streams.errors import DouaneError

__all__ = ["MAX_BATCH", "BatchedDetector", "DetectionProcessDied", "ProcessBatches",
           "ThreadBatches", "batch_size"]

log = structlog.get_logger(__name__)
MAX_BATCH = 32
Results = list[Detection | Exception]


@runtime_checkable
class BatchDetector(Protocol):
    def detect_batch(self, requests: Sequence[DetectionRequest]) -> list[Detection]: ...


@runtime_checkable
class ResultsDetector(Protocol):
    """A detector that tells which requests of a batch failed on their own (a limit spent on
    their text) and goes on with the others: ``PresidioDetector.detect_results``."""

    def detect_results(self, requests: Sequence[DetectionRequest],
                       ) -> Sequence[Detection | Exception]: ...


def detect_each(detector: Detector, batch: Sequence[DetectionRequest]) -> Results:
    """The whole batch at once; if that fails, one by one (only the culprit fails). A
    detector that names the requests whose own limit ran out (``ResultsDetector``) fails
    those alone, without running anything again: a hostile request spends its CPU limit once,
    and its batch-mates are not detected twice; only a failure it names no request for sends
    the batch one by one. One by one goes through ``detect_batch`` too when the detector has
    it: a request keeps its own settings (``tiers``) on the second try."""
    if isinstance(detector, ResultsDetector):
        try:
            return list(detector.detect_results(batch))
        except Exception:
            pass
    batched = detector if isinstance(detector, BatchDetector) else None
    if batched is not None and not isinstance(detector, ResultsDetector):
        try:
            return list(batched.detect_batch(batch))
        except Exception:
            pass
    results: Results = []
    for request in batch:
        try:
            results.append(batched.detect_batch([request])[0] if batched is not None
                           else detector.detect(request.messages, request.language))
        except Exception as error:
            results.append(error)
    return results


def _chars(request: DetectionRequest) -> int:
    return sum(len(message.content) for message in request.messages)


def batch_size(waiting: int, parallel: int, max_batch: int = MAX_BATCH) -> int:
    """How many of ``waiting`` requests the next batch takes (see the module's docstring)."""
    if waiting <= 0:
        return 0
    return max(1, min(max_batch, waiting, math.ceil(math.sqrt(waiting / parallel))))


class Batches(Protocol):
    """Where batches run, how many may run at the same time, and what they detect (the
    languages and entity types their detectors loaded, whether they look for possible names;
    ``None`` when not known)."""

    parallel: int
    languages: tuple[str, ...] | None
    entities: frozenset[str] | None
    possible_names: bool | None

    async def run(self, batch: list[DetectionRequest]) -> Results: ...

    def close(self) -> None: ...


class ThreadBatches:
    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.parallel = 1
        self.languages: tuple[str, ...] | None = getattr(detector, "languages", None)
        self.entities: frozenset[str] | None = getattr(detector, "entities", None)
        self.possible_names: bool | None = getattr(detector, "possible_names", None)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="detect")

    async def run(self, batch: list[DetectionRequest]) -> Results:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, detect_each, self.detector, batch)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


# ------------------------------------------------------------------ in a detection process
class DetectionProcessDied(DouaneError, RuntimeError):
    """The detection process holding a batch exited before answering it."""


def _serve_in_child(connection: Connection, parent: int, languages: tuple[str, ...],
                    entities: frozenset[str], phone_regions: tuple[str, ...],
                    default_language: str = "en", possible_names: bool = False) -> None:
    """A detection process: load the models, say so, then answer batches until the worker
    closes the pipe (or dies: the parent watch)."""
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers.base import regex_guard, use_cpu_timer

    # a worker killed with SIGKILL cannot stop its detection processes: they stop themselves
    threading.Thread(target=_exit_without, args=(parent,), daemon=True,
                     name="parent-watch").start()
    try:
        # detection runs in this process's main thread, which signals reach: a CPU timer
        # bounds each recognizer's pass instead of a clock read per regex step (recognizers'
        # base.py); chosen before the detector builds its recognizers
        use_cpu_timer()
        detector = PresidioDetector(languages, entities, phone_regions,
                                    default_language=default_language,
                                    possible_names=possible_names)
    except Exception as error:
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return
    # the guard its recognizers run under (``recognizers.base``), for the worker to tell
    connection.send(("ready", regex_guard().name))
    while True:
        try:
            batch = connection.recv()
        except EOFError:  # the worker closed the pipe: stop
            return
        connection.send_bytes(_picklable_results(detect_each(detector, batch)))


def _picklable_results(results: Results) -> bytes:
    try:
        return pickle.dumps(results)
    except Exception:  # an error that cannot cross: its type is enough to fail closed
        return pickle.dumps([RuntimeError(type(r).__name__) if isinstance(r, Exception) else r
                             for r in results])


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class _DetectionProcess:
    """One detection process and the pipe to it. The worker's event loop writes the batches
    into the pipe and reads the results from it itself: no thread of the worker stands in
    between (a ``ProcessPoolExecutor`` hands every batch to two threads and every result to
    one, each a wake-up that a busy machine schedules late: about 2.5 ms per detection, two
    detections per request, measured at load average 5)."""

    def __init__(self, setup: tuple[int, tuple[str, ...], frozenset[str], tuple[str, ...], str,
                                    bool]) -> None:
        # spawned, not forked: the worker has threads (Kafka, stores) a fork would copy mid-way
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve_in_child, args=(theirs, *setup),
                                       name="douane-detection", daemon=True)
        self.process.start()
        theirs.close()
        self.ready = False
        self.dead = False
        self.regex_guard: str | None = None  # told by the process once loaded
        # results come back in the order the batches were sent; a batch whose caller gave up
        # (its time limit) keeps its place and its result is dropped
        self.pending: deque[asyncio.Future[Results]] = deque()
        self._starting: asyncio.Future[asyncio.StreamWriter] | None = None
        self._stream: asyncio.StreamWriter | None = None
        self._socket: socket.socket | None = None  # the event loop's end of the pipe
        self._reading: asyncio.Task[None] | None = None

    def wait_until_loaded(self) -> None:
        """Block until the process has loaded its models (before the event loop runs)."""
        if not self.ready:
            try:
                message = self._connection.recv()
            except (EOFError, OSError) as error:
                raise DetectionProcessDied("a detection process exited while loading its "
                                           "models") from error
            self._loaded(message)

    def _loaded(self, message: tuple[str, str | None]) -> None:
        status, detail = message
        if status != "ready":
            raise DetectionProcessDied(f"a detection process could not load: {detail}")
        self.regex_guard = detail
        self.ready = True

    async def run(self, batch: list[DetectionRequest]) -> Results:
        if self.dead:
            raise DetectionProcessDied("the detection process exited")
        answer: asyncio.Future[Results] = asyncio.get_running_loop().create_future()
        self.pending.append(answer)  # its place in the order of the results
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        try:
            stream = await asyncio.shield(self._starting)
        except asyncio.CancelledError:
            self.pending.remove(answer)  # never sent: no result will come for it
            raise
        except Exception as error:
            self._fail_pending()
            raise DetectionProcessDied("the detection process did not start") from error
        # buffered by the event loop: never blocks it, even behind a batch still running
        stream.write(_frame(pickle.dumps(batch)))
        return await answer

    async def _start(self) -> asyncio.StreamWriter:
        """The pipe as the event loop's stream, once the process has loaded its models."""
        try:
            self._socket = socket.socket(fileno=os.dup(self._connection.fileno()))
            reader, writer = await asyncio.open_unix_connection(sock=self._socket)
            if not self.ready:  # a replacement: its models load while the worker runs
                self._loaded(pickle.loads(await _read_frame(reader)))
        except BaseException:
            self.dead = True
            raise
        self._stream = writer
        self._reading = asyncio.get_running_loop().create_task(
            self._read(reader), name="detection-results")
        return writer

    def _fail_pending(self) -> None:
        self.dead = True
        while self.pending:
            answer = self.pending.popleft()
            if not answer.done():
                answer.set_exception(DetectionProcessDied("the detection process exited"))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                results: Results = pickle.loads(await _read_frame(reader))
                answer = self.pending.popleft()
                if not answer.done():
                    answer.set_result(results)
        except (asyncio.IncompleteReadError, OSError, IndexError):
            pass  # the process exited (or wrote what nobody asked for): fail what it held
        self._fail_pending()

    def close(self) -> None:
        """Close the pipe (the process stops after its batch) and wait for it to exit."""
        for task in (self._starting, self._reading):
            if task is not None:
                task.cancel()
        if self._stream is not None:
            self._stream.close()
        if self._socket is not None:
            # the stream closes its socket only on a later turn of the event loop, which the
            # join below blocks: without this the process never saw the end of its pipe and
            # every close waited out the join's 30 s
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._connection.close()
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _frame(payload: bytes) -> bytes:
    """``multiprocessing.Connection``'s framing (what the detection process's ``recv`` and
    ``send_bytes`` use): the length as a signed 32-bit big-endian integer, or -1 and a 64-bit
    one, then the bytes."""
    if len(payload) > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, len(payload)) + payload
    return struct.pack("!i", len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack("!i", await reader.readexactly(4))
    if size == -1:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    return await reader.readexactly(size)


class ProcessBatches:
    def __init__(self, processes: int, languages: tuple[str, ...], entities: frozenset[str],
                 phone_regions: tuple[str, ...], default_language: str = "en",
                 possible_names: bool = False) -> None:
        self.parallel = processes
        self.languages: tuple[str, ...] | None = languages
        self.entities: frozenset[str] | None = entities
        self.possible_names: bool | None = possible_names
        self._setup = (os.getpid(), languages, entities, phone_regions, default_language,
                       possible_names)
        # started now: they load their models while the worker prepares the rest
        self._processes = [_DetectionProcess(self._setup) for _ in range(processes)]

    def wait_until_loaded(self) -> None:
        """Block until every detection process has loaded its models: a request must not
        spend its detection time limit waiting for a model to load. Raises if one fails."""
        for process in self._processes:
            process.wait_until_loaded()

    async def run(self, batch: list[DetectionRequest]) -> Results:
        for number, process in enumerate(self._processes):
            if process.dead:
                log.error("a detection process died; starting a new one")
                process.close()
                self._processes[number] = _DetectionProcess(self._setup)
        # the batcher runs at most ``parallel`` batches: the least busy process is idle, unless
        # a batch over its time limit still occupies one (then this one waits behind it)
        process = min(self._processes, key=lambda p: len(p.pending))
        return await process.run(batch)

    @property
    def regex_guards(self) -> set[str | None]:
        """How the loaded detection processes bound their regular expressions ("timer")."""
        return {p.regex_guard for p in self._processes if p.ready}

    @property
    def exited(self) -> int:
        """Detection processes known to have exited, replaced when the next batch comes."""
        return sum(p.dead for p in self._processes)

    @property
    def held(self) -> int:
        """Batches sent to the detection processes and not answered yet."""
        return sum(len(p.pending) for p in self._processes)

    def close(self) -> None:
        """Stop the detection processes and wait for them to exit (a few seconds at most: a
        process still loading its models finishes that first)."""
        for process in self._processes:
            process.close()


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

    async def detect(self, messages: tuple[ChatMessage, ...], language: str | None,
                     tiers: bool = True) -> Detection:
        """The findings for one request; raises (fail closed) if its detection failed.
        ``tiers`` False: the detector's opt-in tiers skip this request (``detection: fast``);
        it still shares its batch with requests that want them."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(DetectionRequest(messages, language, tiers), loop.create_future())
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

    @property
    def possible_names(self) -> bool | None:
        return self.batches.possible_names

    def _start_batches(self) -> None:
        while self._waiting and self._running < self.batches.parallel:
            batch = self._next_batch(
                batch_size(len(self._waiting), self.batches.parallel, self.max_batch))
            self._running += 1
            asyncio.get_running_loop().create_task(self._run(batch), name="detection-batch")

    def _next_batch(self, size: int) -> list[_Waiting]:
        """The next ``size`` short requests waiting, or the first waiting alone if it is long
        (over ``DETECTED_ALONE_CHARS``): a long request's detection is long, and a batch waits
        for all of it and fails with it on the time limit, so its would-be batch-mates go in the
        next batches (on another detection process, if any) instead. The detector reads a long
        request alone anyway: nothing is lost."""
        if _chars(self._waiting[0].request) > DETECTED_ALONE_CHARS:
            return [self._waiting.pop(0)]
        batch: list[_Waiting] = []
        later: list[_Waiting] = []
        for waiting in self._waiting:
            if len(batch) < size and _chars(waiting.request) <= DETECTED_ALONE_CHARS:
                batch.append(waiting)
            else:
                later.append(waiting)
        self._waiting = later
        return batch

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
