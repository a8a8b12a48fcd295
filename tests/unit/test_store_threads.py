"""The worker's store threads (``streams.runtime.store_threads``): what ``run_in_executor``
gave the pipeline, kept by the lighter hand-off."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from streams.runtime.store_threads import StoreThreads


async def test_work_runs_off_the_loop_and_its_result_comes_back() -> None:
    threads = StoreThreads(2)
    try:
        ran_in = await threads.run(threading.get_ident)
        assert ran_in != threading.get_ident()
        assert await threads.run(lambda: 6 * 7) == 42
    finally:
        threads.close()


async def test_an_exception_of_any_kind_reaches_the_caller() -> None:
    class Stop(BaseException):
        pass

    def fails(error: BaseException) -> None:
        raise error

    threads = StoreThreads(1)
    try:
        with pytest.raises(ValueError, match="no such record"):
            await threads.run(lambda: fails(ValueError("no such record")))
        with pytest.raises(Stop):
            await threads.run(lambda: fails(Stop()))
        assert await threads.run(lambda: "still serving") == "still serving"
    finally:
        threads.close()


async def test_no_more_threads_than_asked_and_jobs_beyond_them_wait_their_turn() -> None:
    threads = StoreThreads(3)
    release = threading.Event()
    running: set[int] = set()
    lock = threading.Lock()

    def job() -> int:
        with lock:
            running.add(threading.get_ident())
        release.wait()
        return threading.get_ident()

    try:
        waiting = [asyncio.ensure_future(threads.run(job)) for _ in range(10)]
        while len(running) < 3:  # the three threads have each taken a job
            await asyncio.sleep(0.01)
        assert not any(w.done() for w in waiting)
        release.set()
        done = await asyncio.gather(*waiting)
        assert len(set(done)) == 3 and set(done) == running
    finally:
        threads.close()


async def test_a_job_cancelled_while_queued_is_not_run() -> None:
    threads = StoreThreads(1)
    release = threading.Event()
    ran: list[str] = []
    try:
        busy = asyncio.ensure_future(threads.run(release.wait))
        queued = asyncio.ensure_future(threads.run(lambda: ran.append("queued")))
        await asyncio.sleep(0)  # one turn of the loop: both jobs are on the queue
        queued.cancel()
        release.set()
        assert await busy is True
        assert await threads.run(lambda: "after") == "after"  # the queue went past it
        assert ran == []
        assert queued.cancelled()
    finally:
        threads.close()


async def test_the_threads_end_when_closed_or_when_nobody_holds_the_pool() -> None:
    threads = StoreThreads(2, "ending")
    await asyncio.gather(*(threads.run(lambda: None) for _ in range(4)))
    started = [t for t in threading.enumerate() if t.name.startswith("ending_")]
    assert started
    threads.close()
    assert not any(t.is_alive() for t in started)

    dropped = StoreThreads(2, "dropped")
    await dropped.run(lambda: None)
    [thread] = [t for t in threading.enumerate() if t.name.startswith("dropped_")]
    del dropped
    gc.collect()
    thread.join(timeout=30)  # a bound for a broken build, never reached when it works
    assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        await threads.run(lambda: None)
