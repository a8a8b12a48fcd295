"""Where the worker's own CPU goes under load: a sampling profile of the running worker.

Starts the concurrency benchmark's stack (broker, stand-in model, worker, front door), loads it
with C closed-loop callers through the front door (model latency L), and records the worker's
main process (not its detection processes) with py-spy for the measured window. py-spy's idle
detection counts threads blocked in a lock or a queue as busy: ``--gil`` keeps only the samples
of the thread holding the GIL, and ``--perf FILE`` also records on-CPU samples with ``perf``
(every thread, kernel and native code: ``perf report -i FILE --sort pid,dso``), the truth
about where CPU time goes between threads and libraries. Each py-spy sample's stack is put in the
first component (``COMPONENTS``, most specific first) whose pattern one of its frames matches,
innermost frame first; the table gives each component's share of the samples and, scaled by the
worker process's CPU time in the window (``/proc``), its CPU milliseconds per answer.

    .venv/bin/python benchmarks/worker_profile.py [--latency-ms 0] [--callers 64]
        [--duration-s 30] [--gil] [--perf /tmp/perf.data] [--raw /tmp/worker.txt]

``--raw`` keeps py-spy's collapsed stacks (one line a stack, its sample count last) to read
further; ``--from-raw FILE`` only classifies such a file again (no stack is started).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _stack import DOUANE_MODEL, progress, running_stack
from concurrency import Run, closed_loop, cpu_seconds, warm_up

from streams.logging_setup import configure_logging

# (component, frame pattern): a sample goes to the first component one of its frames matches,
# frames read from the innermost out. Patterns are matched against "function (file:line)".
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("detection hand-off (pickling to/from the detection processes)",
     r"batched_detection|concurrent/futures|multiprocessing|pickle"),
    ("audit store: signing", r"signer\.py|nacl|cryptography|ed25519|sign \("),
    ("audit store: canonical JSON, hashing", r"canonical_json|merkle|hashlib"),
    ("audit store: SQLite", r"sqlite3|adapters/audit/|group_commit|spend_ledger"),
    ("vault / key store", r"placeholder_vault|personal_vault|key_store|operator_keys"),
    ("librdkafka (confluent-kafka calls, polling and delivery threads)",
     r"confluent_kafka|parallel_consumer_librdkafka|librdkafka"),
    ("aiokafka: TLS", r"sslproto|ssl\.py|_SSLProtocolTransport"),
    ("aiokafka: record decoding (fetch)", r"aiokafka/record/|fetcher\.py"),
    ("aiokafka: producer batching", r"aiokafka/producer/"),
    ("aiokafka: protocol, connection, coordinator", r"aiokafka/"),
    ("kafka-python (aiokafka's protocol parts)", r"kafka/"),
    ("structlog / logging", r"structlog|logging/__init__|logging_setup"),
    ("metrics (prometheus_client)", r"prometheus_client|adapters/metrics"),
    ("tracing", r"opentelemetry|adapters/tracing"),
    ("JSON schema validation", r"jsonschema|referencing|rpds|adapters/schemas"),
    ("JSON encode/decode", r"json/(decoder|encoder|__init__)|orjson|msgspec"),
    ("provider call (HTTP client)", r"aiohttp|httpx|httpcore|adapters/providers/"),
    ("faust machinery", r"faust/|mode/|venusian"),
    ("douane runtime (parallel consumer, windows)", r"streams/runtime/|streams/app\.py"),
    ("douane pipeline and core (decisions, redaction)", r"streams/"),
    ("asyncio event loop (selector, callbacks)", r"asyncio/|selectors\.py|uvloop"),
)
OTHER = "other"


def component(stack: str) -> str:
    frames = stack.split(";")[::-1]  # innermost first
    for frame in frames:
        for name, pattern in COMPONENTS:
            if re.search(pattern, frame):
                return name
    return OTHER


def classify(raw: Path) -> tuple[Counter[str], Counter[str]]:
    """Samples per component, and per thread (py-spy's first frame names the thread)."""
    by_component: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        by_component[component(stack)] += int(count)
        thread = stack.split(";", 1)[0]
        by_thread[re.sub(r"0x[0-9a-f]+", "", thread).strip()] += int(count)
    return by_component, by_thread


def thread_cpu_seconds(pid: int) -> Counter[str]:
    """CPU seconds (utime + stime) of the main thread (the event loop) and of the others by
    their name's kind (librdkafka's ``rdk:*`` threads, the store threads, the rest), from
    /proc: exact, unlike the samples."""
    spent: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            comm = (task / "comm").read_text().strip()
        except OSError:
            continue  # the thread ended meanwhile
        if task.name == str(pid):
            name = "main thread (event loop)"
        elif comm.startswith("rdk:"):
            name = "librdkafka's own threads (rdk:*)"
        else:  # Python threads are named by pthread only on 3.14+: group by their name there
            name = f"other threads ({re.sub(r'[0-9_]+$', '', comm) or comm})"
        spent[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return spent


def print_table(by_component: Counter[str], by_thread: Counter[str],
                cpu_ms_per_answer: float | None) -> None:
    total = sum(by_component.values())
    print(f"{total} samples")
    print()
    print("| component | share of worker CPU | CPU ms/answer |")
    print("|---|---|---|")
    for name, count in by_component.most_common():
        ms = f"{cpu_ms_per_answer * count / total:.1f}" if cpu_ms_per_answer else "-"
        print(f"| {name} | {100 * count / total:.1f} % | {ms} |")
    print()
    print("| thread | share |")
    print("|---|---|")
    for name, count in by_thread.most_common(12):
        print(f"| {name} | {100 * count / total:.1f} % |")


async def profile(arguments: argparse.Namespace, raw: Path) -> tuple[float, int]:
    """The worker's own CPU seconds in the window and the answers counted in it."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    async with running_stack(model_args=("--latency-ms", f"{arguments.latency_ms:g}")) as stack:
        await warm_up(stack)
        worker = stack.pid("worker")
        # load first for a while: the window starts with the worker's windows full
        settle = Run(arguments.latency_ms, arguments.callers, "douane", arguments.settle_s)
        await closed_loop(settle, stack.door_url, stack.headers, DOUANE_MODEL)
        run = Run(arguments.latency_ms, arguments.callers, "douane", arguments.duration_s)
        before, threads_before = cpu_seconds(worker), thread_cpu_seconds(worker)
        recorders = [subprocess.Popen(
            [spy, "record", "--pid", str(worker), "--rate", str(arguments.rate), "--format",
             "raw", "--threads", "--output", str(raw), "--duration",
             f"{arguments.duration_s:.0f}", *(["--gil"] if arguments.gil else [])],
            stdout=subprocess.DEVNULL)]
        if arguments.perf:  # on-CPU samples of every thread, native code and kernel included
            recorders.append(subprocess.Popen(
                ["perf", "record", "-F", "199", "--per-thread", "-p", str(worker), "-o",
                 arguments.perf, "--", "sleep", f"{arguments.duration_s:.0f}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        await closed_loop(run, stack.door_url, stack.headers, DOUANE_MODEL)
        spent = cpu_seconds(worker) - before
        threads = thread_cpu_seconds(worker)
        threads.subtract(threads_before)
        for recorder in recorders:
            recorder.wait(timeout=60)
        progress(f"  {run.rate:.1f} answers/s, worker process {spent:.1f} s CPU")
        answers = len(run.latencies_s)
        print("| thread | CPU s in the window | CPU ms/answer |")
        print("|---|---|---|")
        for name, seconds in threads.most_common():
            print(f"| {name} | {seconds:.2f} | {1000 * seconds / max(answers, 1):.1f} |")
        print()
        return spent, answers


async def main(arguments: argparse.Namespace) -> None:
    configure_logging("console", logging.WARNING)
    if arguments.from_raw:
        print_table(*classify(Path(arguments.from_raw)), None)
        return
    raw = Path(arguments.raw) if arguments.raw else Path(tempfile.mkdtemp()) / "worker.txt"
    spent, answers = await profile(arguments, raw)
    per_answer = 1000 * spent / answers if answers else None
    print(f"L={arguments.latency_ms:g} ms C={arguments.callers}, {arguments.duration_s:g} s: "
          f"{answers} answers, the worker's main process {spent:.1f} s of CPU = "
          f"{per_answer or 0:.1f} ms/answer (detection processes not included); "
          f"{os.cpu_count()} CPUs")
    print_table(*classify(raw), per_answer)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--duration-s", type=float, default=30.0, help="the profiled window")
    parser.add_argument("--settle-s", type=float, default=8.0,
                        help="load before the window")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--gil", action="store_true",
                        help="py-spy --gil: only samples of the thread holding the GIL (its "
                             "idle detection counts threads blocked in a lock as busy)")
    parser.add_argument("--perf", help="also record with perf (on-CPU) into this file")
    parser.add_argument("--raw", help="keep py-spy's collapsed stacks in this file")
    parser.add_argument("--from-raw", help="classify this file of collapsed stacks only")
    asyncio.run(main(parser.parse_args()))
