"""CPU milliseconds per request, by step of the worker's pipeline.

One request at a time, in one process, on the worker's real parts: the shipped policy, the
detector (in a thread of this process, so that its CPU is counted here), the SQLite audit log,
vault and key store under a temporary DOUANE_HOME, and the provider call over HTTP to the
stand-in model server (``douane model-server``, another process, whose CPU is not counted).
Kafka is left out (its clients' CPU is the rest of a worker's figure in ``concurrency.py``):
each request goes through ``Pipeline.admit`` and the forward message it returns through
``Pipeline.forward``, as the worker's two stages do.

Steps are timed with ``time.process_time`` (all threads of the process), exclusive of the steps
they call (the audit append inside a provider delivery counts as audit, not as delivery).
Prompts: the concurrency benchmark's (131 words, other names and numbers every time).

    .venv/bin/python benchmarks/cpu_by_step.py [--requests 200]

``--in-flight N``: N requests at a time instead (as a loaded worker has them; the store work of
many requests meets in the store threads, ``DOUANE_STORE_THREADS``). Steps can no longer be
told apart by process time then: prints the process's CPU per request, user and kernel, the
detection thread's own part (``time.thread_time`` inside it), the store threads' CPU inside their
jobs (the same way), context switches, the jobs handed to the store threads and the vault's and key
store's commits per request.

``--statements`` (one request at a time only): the SQL statements each request runs on the audit
log's, the vault's and the key store's connections, counted by SQLite's trace callback (one per
execution: an ``executemany`` of three rows counts three), by kind.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _stack import free_port, progress, remove_home
from concurrency import PROMPTS

from streams.devtools.local_stack import wait_http, write_local_policy

CPU: dict[str, float] = defaultdict(float)
_open: list[list[float]] = []  # per running step: [start, time spent in the steps it called]


def _enter() -> None:
    _open.append([time.process_time(), 0.0])


def _leave(step: str) -> None:
    started, inner = _open.pop()
    spent = time.process_time() - started
    CPU[step] += spent - inner
    if _open:
        _open[-1][1] += spent


def timed(step: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(function):
        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            _enter()
            try:
                return await function(*args, **kwargs)
            finally:
                _leave(step)
        return timed_async

    @functools.wraps(function)
    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        _enter()
        try:
            return function(*args, **kwargs)
        finally:
            _leave(step)
    return timed_sync


def instrument(pipeline: Any) -> None:
    """Wrap each step of this pipeline (instances only; nothing global is changed)."""
    import streams.pipeline

    # the decision and the answer's plan are looked up there per call (their keyed tokens
    # are obtained in the store threads, outside these steps)
    module: Any = streams.pipeline

    detector = pipeline.detection.batches.detector
    detector.detect = timed("detection (prompt and answer)", detector.detect)
    detector.detect_batch = timed("detection (prompt and answer)", detector.detect_batch)
    pipeline.intake.accept = timed("intake (parse, schema)", pipeline.intake.accept)
    module.prepare_decision = timed("decision (rules, redaction)", module.prepare_decision)
    module.plan_answer = timed("answer (rules, redaction)", module.plan_answer)
    pipeline._append = timed("audit append (sign, commit)", pipeline._append)
    pipeline.audit.records_for_request = timed("audit reads", pipeline.audit.records_for_request)
    pipeline._signed_admission = timed("audit reads", pipeline._signed_admission)
    if pipeline.placeholders is not None:
        for name in ("load", "save"):
            setattr(pipeline.placeholders, name,
                    timed("vault (placeholders)", getattr(pipeline.placeholders, name)))
    pipeline.delivery.deliver = timed("provider call (HTTP)", pipeline.delivery.deliver)
    if getattr(pipeline, "responses", None) is not None:
        pipeline.responses.keep_response = timed("vault (response kept for a redelivery)",
                                                 pipeline.responses.keep_response)
    if hasattr(pipeline.audit, "month_spend"):
        pipeline.audit.month_spend = timed("audit reads", pipeline.audit.month_spend)


def capturing(detector: Any, path: Path) -> None:
    """Write every batch the detector is given to ``path`` (JSON lines: one batch per line, each
    request as its language and messages): the worker's real detection workload, prompts and
    the answers the stand-in gave to their redacted text, for ``detection_workload.py``."""
    detect_batch = detector.detect_batch
    out = path.open("w", encoding="utf-8")

    @functools.wraps(detect_batch)
    def recorded(requests: Any) -> Any:
        out.write(json.dumps([{"language": r.language, "messages": [
            [m.role, m.content] for m in r.messages]} for r in requests]) + "\n")
        out.flush()
        return detect_batch(requests)
    detector.detect_batch = recorded


STATEMENTS: dict[tuple[str, str], int] = defaultdict(int)  # (connection, kind): executions


def counting_statements(pipeline: Any) -> None:
    """Count every statement run on the three stores' connections. Only with one request at a
    time: a trace callback on a connection shared by threads can deadlock under contention
    (see ``grouped_commits``)."""
    vault = pipeline.responses
    connections = {"audit log": pipeline.audit._backend.conn, "vault": vault._db,
                   "key store": vault.keys._db}
    for name, connection in connections.items():
        def traced(sql: str, name: str = name) -> None:
            word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            kind = ("read" if word in ("SELECT", "WITH") else
                    "write" if word in ("INSERT", "UPDATE", "DELETE", "REPLACE") else
                    "transaction" if word in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                              "RELEASE") else "other")
            STATEMENTS[(name, kind)] += 1
        connection.set_trace_callback(traced)


def print_statements(requests: int) -> None:
    total = sum(STATEMENTS.values())
    print()
    print(f"SQL statements per request: {total / requests:.1f}")
    print()
    print("| connection | read | write | transaction | other |")
    print("|---|---|---|---|---|")
    for name in ("audit log", "vault", "key store"):
        print(f"| {name} | " + " | ".join(
            f"{STATEMENTS[(name, kind)] / requests:.1f}"
            for kind in ("read", "write", "transaction", "other")) + " |")


DETECTION_THREAD_CPU = [0.0]
STORE_THREAD_CPU = [0.0]  # CPU of the store threads inside their jobs
STORE_JOBS: dict[str, int] = defaultdict(int)  # jobs handed to the store threads, by function


def counting_store_jobs(pipeline: Any) -> None:
    off_loop = pipeline._off_loop

    async def counted(work: Callable[..., Any], *args: Any) -> Any:
        function = getattr(work, "func", work)  # a functools.partial's function
        STORE_JOBS[getattr(function, "__qualname__", repr(function))] += 1
        return await off_loop(store_thread_timed(work), *args)
    pipeline._off_loop = counted


def store_thread_timed(work: Callable[..., Any]) -> Callable[..., Any]:
    """The job's own CPU in its store thread (``time.thread_time``): the store work alone,
    without the event loop's or detection's, whatever else runs meanwhile."""
    def timed(*args: Any) -> Any:
        started = time.thread_time()
        try:
            return work(*args)
        finally:
            STORE_THREAD_CPU[0] += time.thread_time() - started
    return timed


def grouped_commits(pipeline: Any) -> dict[str, int]:
    """The vault's and the key store's commits so far (each an fsync), where they are grouped
    (``GroupedWrites.commits``); before that, each write committed alone. Not counted with a
    SQLite trace callback: one on a connection shared by threads can deadlock (the callback
    waits for the GIL while holding the connection's mutex)."""
    vault = getattr(pipeline.placeholders, "vault", None)
    found = {}
    for name, store in (("vault", vault), ("key store", getattr(vault, "keys", None))):
        writes = getattr(store, "_writes", None)
        if writes is not None:
            found[name] = int(writes.commits)
    return found


def thread_timed(function: Callable[..., Any]) -> Callable[..., Any]:
    """CPU of the calling thread only: exact while other threads run at the same time."""
    @functools.wraps(function)
    def timed_in_thread(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            DETECTION_THREAD_CPU[0] += time.thread_time() - started
    return timed_in_thread


async def many_in_flight(one: Callable[[int], Awaitable[float]], requests: int,
                         in_flight: int, pipeline: Any) -> None:
    """``requests`` requests, ``in_flight`` at a time; prints CPU and switches per request."""
    import resource

    window = asyncio.Semaphore(in_flight)

    async def held(number: int) -> None:
        async with window:
            await one(number)

    DETECTION_THREAD_CPU[0] = STORE_THREAD_CPU[0] = 0.0
    STORE_JOBS.clear()
    commits = grouped_commits(pipeline)
    before, usage = os.times(), resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(held(n) for n in range(requests)))
    wall = time.perf_counter() - started
    after, used = os.times(), resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.user - before.user, after.system - before.system
    per = 1000 / requests
    print(f"{requests} requests, {in_flight} in flight, "
          f"DOUANE_STORE_THREADS={os.environ.get('DOUANE_STORE_THREADS', 'default')}; "
          f"CPU ms per request (this process, model server excluded), {os.cpu_count()} CPUs; "
          f"{requests / wall:.1f} requests/s (follows the machine's load)")
    print()
    print("| process CPU | user | kernel | detection thread | the rest | of it, store jobs "
          "| context switches (voluntary + involuntary) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {(user + system) * per:.1f} | {user * per:.1f} | {system * per:.1f} | "
          f"{DETECTION_THREAD_CPU[0] * per:.1f} | "
          f"{(user + system - DETECTION_THREAD_CPU[0]) * per:.1f} | "
          f"{STORE_THREAD_CPU[0] * per:.2f} | "
          f"{(used.ru_nvcsw - usage.ru_nvcsw) / requests:.0f} + "
          f"{(used.ru_nivcsw - usage.ru_nivcsw) / requests:.0f} |")
    print()
    print(f"Jobs handed to the store threads per request: "
          f"{sum(STORE_JOBS.values()) / requests:.1f} ("
          + ", ".join(f"{name} {count / requests:.1f}" for name, count in
                      sorted(STORE_JOBS.items(), key=lambda item: -item[1])) + ")")
    print("Grouped commits per request: " + (", ".join(
        f"{name} {(count - commits[name]) / requests:.2f}"
        for name, count in sorted(grouped_commits(pipeline).items())) or "not grouped"))


def one_at_a_time_by_step(cpu_s: list[float]) -> None:
    count, total = len(cpu_s), sum(cpu_s)
    print(f"{count} requests, one at a time; CPU ms per request (all threads of the "
          f"process, model server excluded), {os.cpu_count()} CPUs")
    print()
    print("| step | CPU ms per request | share |")
    print("|---|---|---|")
    for step, seconds in sorted(CPU.items(), key=lambda item: -item[1]):
        print(f"| {step} | {seconds * 1000 / count:.2f} | {100 * seconds / total:.0f} % |")
    rest = total - sum(CPU.values())
    print(f"| everything else (JSON, messages, logging, event loop) | "
          f"{rest * 1000 / count:.2f} | {100 * rest / total:.0f} % |")
    print(f"| **total** | **{total * 1000 / count:.2f}** | |")


async def main(arguments: argparse.Namespace) -> None:
    from streams.config import load_settings
    from streams.core.tenant_topics import request_topic
    from streams.logging_setup import configure_logging
    from streams.pipeline import Source
    from streams.worker import build_pipeline, open_worker_audit_log

    configure_logging("console", 40)
    home = Path(tempfile.mkdtemp(prefix="douane-cpu-"))
    port = free_port()
    write_local_policy(home / "policy.yaml", port)
    env = {**os.environ, "DOUANE_HOME": str(home), "DOUANE_POLICY": str(home / "policy.yaml"),
           "DOUANE_DETECTION_PROCESSES": "0"}
    model = subprocess.Popen([sys.executable, "-m", "streams.cli", "model-server",
                              "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        await wait_http(f"http://127.0.0.1:{port}/v1/models")
        settings = load_settings(env)
        progress("loading the detector...")
        pipeline = build_pipeline(settings, open_worker_audit_log(settings))
        if arguments.capture:
            capturing(pipeline.detection.batches.detector, arguments.capture)
        if arguments.in_flight:
            detector = pipeline.detection.batches.detector
            detector.detect = thread_timed(detector.detect)
            detector.detect_batch = thread_timed(detector.detect_batch)
            counting_store_jobs(pipeline)
        else:
            instrument(pipeline)

        async def one(number: int) -> float:
            request = {"id": f"cpu-{number}", "tenant": "city-of-lyon", "messages": [
                {"role": "user", "content": PROMPTS[number % len(PROMPTS)]}]}
            started = time.process_time()
            admitted = await pipeline.admit(json.dumps(request).encode(),
                                            Source(request_topic("city-of-lyon"), 0, number))
            [forward] = admitted
            answered = await pipeline.forward(forward.value,
                                              Source(forward.topic, 0, number))
            status = json.loads(answered[-1].value)["status"]
            assert status == "answered", status
            return time.process_time() - started

        for number in range(5):  # warm-up: models, connections, caches of the code
            await one(-1 - number)
        CPU.clear()
        if arguments.statements:
            counting_statements(pipeline)
        if arguments.in_flight:
            await many_in_flight(one, arguments.requests, arguments.in_flight, pipeline)
        else:
            one_at_a_time_by_step([await one(n) for n in range(arguments.requests)])
            if arguments.statements:
                print_statements(arguments.requests)
        gateway: Any = pipeline.provider  # the ProviderGateway build_pipeline made
        await gateway.aclose()
        pipeline.detection.close()
    finally:
        model.terminate()
        model.wait()
        remove_home(home, load_settings(env))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=0,
                        help="requests at a time (0: one after the other, by step)")
    parser.add_argument("--statements", action="store_true",
                        help="count the SQL statements per request (one at a time only)")
    parser.add_argument("--capture", type=Path, default=None,
                        help="write the batches given to the detector to this file (JSON "
                             "lines), warm-up included")
    parsed = parser.parse_args()
    if parsed.statements and parsed.in_flight:
        parser.error("--statements counts one request at a time (no --in-flight)")
    asyncio.run(main(parsed))
