"""The worker's store threads: blocking store work (SQLite, ``fsync``) run off the event loop.

``loop.run_in_executor`` on a ``ThreadPoolExecutor`` makes, for every job, a
``concurrent.futures.Future`` (a ``Condition`` and its ``RLock``), a work item, an asyncio
future chained to it by two callbacks, and copies the result from one to the other on the loop;
with six store jobs per request that hand-off was about a tenth of the event loop's thread
(issue 10, docs/benchmarks.md "workercpu2"). Here a job is the asyncio future itself, put on a
queue; the thread that runs it settles it on its loop with one ``call_soon_threadsafe``.

What stays as with ``run_in_executor``: the work runs in one of at most ``threads`` threads,
started as jobs come (never more than there are jobs); an exception (any ``BaseException``) is
raised to the awaiting coroutine; a job whose future was cancelled before a thread took it is
not run (once running, it runs to its end, its result dropped). The threads end when the pool
is closed or collected. They are daemon threads: unlike ``ThreadPoolExecutor``'s, a job still
running when the interpreter exits is not waited for. That is the case of a kill, which the
stores are built for (SQLite rolls an unfinished transaction back; nothing was published on its
behalf, its message's offset is not committed, so it is processed again).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
# a job: the loop to settle on, the future to settle, the work; None: the thread ends
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]] | None


class StoreThreads:
    def __init__(self, threads: int, name: str = "store") -> None:
        if threads < 1:
            raise ValueError("at least one store thread")
        self._limit = threads
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # released by a thread waiting for a job
        self._threads: list[threading.Thread] = []
        self._closed = False
        # the threads hold the queue, not the pool: a pool nobody holds ends its threads
        weakref.finalize(self, _stop, self._jobs, self._threads)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a store thread; its result, or its exception raised here."""
        if self._closed:
            raise RuntimeError("the store threads are closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, work))
        if not self._idle.acquire(blocking=False) and len(self._threads) < self._limit:
            thread = threading.Thread(target=_serve, args=(self._jobs, self._idle),
                                      name=f"{self._name}_{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return await future

    def close(self, wait: bool = True) -> None:
        """No new jobs; the threads end once the jobs queued before are done."""
        self._closed = True
        _stop(self._jobs, self._threads)
        if wait:
            for thread in self._threads:
                thread.join()


def _stop(jobs: queue.SimpleQueue[_Job], threads: list[threading.Thread]) -> None:
    for _ in threads:
        jobs.put(None)


def _serve(jobs: queue.SimpleQueue[_Job], idle: threading.Semaphore) -> None:
    while True:
        job = jobs.get()
        if job is None:
            return
        loop, future, work = job
        del job  # nothing of a finished job stays referenced while this thread waits
        if not future.cancelled():  # cancelled while queued: not run, as run_in_executor
            try:
                result = work()
            except BaseException as error:  # the awaiting coroutine gets it, whatever it is
                _settle_soon(loop, _set_exception, future, error)
            else:
                _settle_soon(loop, _set_result, future, result)
                del result
        del loop, future, work
        idle.release()  # as ThreadPoolExecutor: one more job may go to a thread now waiting


def _settle_soon(loop: asyncio.AbstractEventLoop, settle: Callable[..., None],
                 future: asyncio.Future[Any], outcome: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this job
        loop.call_soon_threadsafe(settle, future, outcome)


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)
