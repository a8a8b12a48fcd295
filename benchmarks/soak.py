"""Soak: a steady rate of requests through the front door for a long time, watching for leaks
and drift.

Starts its own stack (broker, stand-in model with ``--latency-ms``, worker, front door) and
sends Chat Completions requests (131 words with names, an e-mail address and phone numbers,
other values in every request) at a fixed rate, open loop: a request leaves every 1/rate
seconds whether or not the earlier ones were answered. Every ``--interval-s`` (a minute) and at
the end it prints: requests answered and errors in the interval, p50/p99 latency of the
requests answered in it, the worker's resident memory (its own process and its detection
processes), open file descriptors of the worker and of the front door (``/proc/<pid>/fd``),
the audit log's records and bytes (database and write-ahead log). At the end: the worker's RSS
slope in MB/hour (least-squares line through every sample, and through the second half only,
after the warm-up's growth), the latency drift (first against last interval), file descriptor
and audit log growth, and errors by kind.

    .venv/bin/python benchmarks/soak.py [--duration-s 3600] [--rate 2] [--latency-ms 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from _stack import DOUANE_MODEL, Stack, percentile, progress, running_stack
from concurrency import PROMPTS, memory_mb, with_children
from httpx_aiohttp import AiohttpTransport

from streams.adapters.audit.sqlite import open_sqlite_reader


@dataclass
class Interval:
    """What happened in one interval: requests that ended in it, and samples at its end."""

    end_s: float  # since the start of the load
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    worker_mb: float = 0.0  # the worker's own process (VmRSS)
    detection_mb: float = 0.0  # its detection processes together
    worker_fds: int = 0
    door_fds: int = 0
    audit_records: int = 0
    audit_bytes: int = 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def audit_size(stack: Stack) -> tuple[int, int]:
    """(records, bytes of the database file and its write-ahead log)."""
    path = stack.settings.audit_db
    with open_sqlite_reader(path) as reader:
        records = reader.size()
    files = [path, path.with_name(path.name + "-wal")]
    return records, sum(f.stat().st_size for f in files if f.exists())


def sample(stack: Stack, interval: Interval) -> None:
    family = with_children(stack.pid("worker"))
    interval.worker_mb = memory_mb(family[0], "VmRSS")
    interval.detection_mb = sum(memory_mb(pid, "VmRSS") for pid in family[1:])
    interval.worker_fds = open_fds(family[0])
    interval.door_fds = open_fds(stack.pid("front-door"))
    interval.audit_records, interval.audit_bytes = audit_size(stack)


def latency(values: list[float], q: int) -> str:
    return f"{percentile(values, q) * 1000:.0f}" if values else "-"


def row(interval: Interval) -> str:
    rss = interval.worker_mb + interval.detection_mb
    return (f"| {interval.end_s / 60:.0f} | {len(interval.latencies_s)} "
            f"| {sum(interval.errors.values())} | {latency(interval.latencies_s, 50)} "
            f"| {latency(interval.latencies_s, 99)} | {rss:.0f} ({interval.worker_mb:.0f} + "
            f"{interval.detection_mb:.0f}) | {interval.worker_fds} | {interval.door_fds} "
            f"| {interval.audit_records} | {interval.audit_bytes / 1e6:.1f} |")


HEADER = ("| minute | answered | errors | p50 ms | p99 ms | worker RSS MB (own + detection) "
          "| worker fds | front door fds | audit records | audit MB |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def slope_per_hour(intervals: list[Interval]) -> str:
    if len(intervals) < 2:
        return "-"
    hours = [i.end_s / 3600 for i in intervals]
    megabytes = [i.worker_mb + i.detection_mb for i in intervals]
    return f"{statistics.linear_regression(hours, megabytes).slope:+.1f} MB/hour"


async def load(stack: Stack, rate: float, duration_s: float, interval_s: float,
               intervals: list[Interval]) -> None:
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=1000))
    started = time.monotonic()
    current = Interval(interval_s)
    tasks: set[asyncio.Task[None]] = set()

    async def one(http: httpx.AsyncClient, n: int) -> None:
        sent = time.monotonic()
        body = {"model": DOUANE_MODEL,
                "messages": [{"role": "user", "content": PROMPTS[n % len(PROMPTS)]}]}
        try:
            response = await http.post(stack.door_url, json=body, headers=stack.headers)
        except httpx.HTTPError as error:
            current.errors[type(error).__name__] += 1
            return
        if response.status_code == 200:
            current.latencies_s.append(time.monotonic() - sent)
        else:
            current.errors[f"HTTP {response.status_code}"] += 1

    async with httpx.AsyncClient(timeout=300, transport=transport) as http:
        n = 0
        while (now := time.monotonic() - started) < duration_s:
            if now >= current.end_s:
                sample(stack, current)
                intervals.append(current)
                print(row(current), flush=True)
                current = Interval(current.end_s + interval_s)
            task = asyncio.create_task(one(http, n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        progress(f"sent {n} requests; waiting for the {len(tasks)} still open...")
        current.end_s = duration_s
        await asyncio.gather(*tasks)
        sample(stack, current)
        intervals.append(current)
        print(row(current), flush=True)


def summary(intervals: list[Interval], duration_s: float, rate: float) -> None:
    answered = sum(len(i.latencies_s) for i in intervals)
    errors: Counter[str] = sum((i.errors for i in intervals), Counter())
    first, last = intervals[0], intervals[-1]
    second_half = [i for i in intervals if i.end_s > duration_s / 2]
    print()
    print(f"{duration_s / 60:.0f} minutes at {rate:g} requests/s: {answered} answered, "
          f"{sum(errors.values())} errors {dict(errors) if errors else ''}")
    print(f"Worker RSS (own process + detection processes): {first.worker_mb:.0f} + "
          f"{first.detection_mb:.0f} MB after the first interval, {last.worker_mb:.0f} + "
          f"{last.detection_mb:.0f} MB at the end; slope {slope_per_hour(intervals)} over "
          f"the run, {slope_per_hour(second_half)} over its second half")
    print(f"Latency p50/p99: {latency(first.latencies_s, 50)}/{latency(first.latencies_s, 99)}"
          f" ms in the first interval, {latency(last.latencies_s, 50)}/"
          f"{latency(last.latencies_s, 99)} ms in the last; over the run "
          f"{latency([s for i in intervals for s in i.latencies_s], 50)}/"
          f"{latency([s for i in intervals for s in i.latencies_s], 99)} ms")
    print(f"Open file descriptors: worker {first.worker_fds} -> {last.worker_fds} "
          f"(max {max(i.worker_fds for i in intervals)}), front door {first.door_fds} -> "
          f"{last.door_fds} (max {max(i.door_fds for i in intervals)})")
    grown = last.audit_records - first.audit_records
    print(f"Audit log: {first.audit_records} -> {last.audit_records} records, "
          f"{first.audit_bytes / 1e6:.1f} -> {last.audit_bytes / 1e6:.1f} MB "
          f"({(last.audit_bytes - first.audit_bytes) / max(grown, 1):.0f} bytes per record "
          f"added, {grown / max(answered, 1):.2f} records per answer)")


async def main(arguments: argparse.Namespace) -> None:
    from streams.logging_setup import configure_logging

    configure_logging("console", 40)
    intervals: list[Interval] = []
    async with running_stack(model_args=("--latency-ms", f"{arguments.latency_ms:g}")) as stack:
        progress("waiting for the worker (requests through the front door)...")
        async with httpx.AsyncClient(timeout=600) as http:
            for text in PROMPTS[-3:]:
                answer = await http.post(stack.door_url, headers=stack.headers, json={
                    "model": DOUANE_MODEL, "messages": [{"role": "user", "content": text}]})
                answer.raise_for_status()
        progress(f"soak: {arguments.rate:g} requests/s for {arguments.duration_s:g} s, "
                 f"model latency {arguments.latency_ms:g} ms, {os.cpu_count()} CPUs")
        print(HEADER, flush=True)
        await load(stack, arguments.rate, arguments.duration_s, arguments.interval_s,
                   intervals)
    summary(intervals, arguments.duration_s, arguments.rate)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=3600.0)
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second")
    parser.add_argument("--latency-ms", type=float, default=500.0,
                        help="the stand-in model's latency")
    parser.add_argument("--interval-s", type=float, default=60.0,
                        help="how often to print a row")
    asyncio.run(main(parser.parse_args()))
