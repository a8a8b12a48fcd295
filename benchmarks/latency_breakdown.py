"""Where the wall time of one request goes, stage by stage, with many callers at once.

Starts a stack (``_stack.running_stack``) whose processes export their traces by OTLP/HTTP to a
receiver in a process of its own (``douane.front_door.request``, ``douane.admit`` with its
intake, detection, decision and audit-append spans, ``douane.forward`` with its audit appends,
provider call and answer detection), runs C callers in a closed loop through the front door
with a stand-in model taking L ms (as ``concurrency.py`` does), then matches each answered
request's spans by trace id and prints, per stage, its wall time at p50 and on average. The
gaps between spans are the Kafka hops (publish, broker, the next consumer's fetch) and what a
stage does outside its child spans (store reads and writes in threads, JSON, logging).

    PYTHONPATH=. .venv/bin/python benchmarks/latency_breakdown.py [--latency-ms 1500]
        [--callers 8] [--duration-s 20]

Tracing costs about 1.2 ms of CPU per request (``tracing_overhead.py``); the figures are the
traced stack's. The processes' clocks are the same machine's, so spans of different processes
can be subtracted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from _otlp_receiver import TraceReceiver
from _stack import DOUANE_MODEL, running_stack
from concurrency import Run, closed_loop, warm_up

from streams.logging_setup import configure_logging


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    start_ns: int
    end_ns: int
    audit_kind: str | None

    @property
    def ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def first(spans: Sequence[Span], name: str, kind: str | None = None,
          after_ns: int = 0) -> Span | None:
    found = [s for s in spans if s.name == name and s.start_ns >= after_ns
             and (kind is None or s.audit_kind == kind)]
    return min(found, key=lambda s: s.start_ns) if found else None


def stages(spans: Sequence[Span], model_ms: float) -> dict[str, float] | None:
    """One request's stages in ms, or None if its trace is incomplete."""
    door = first(spans, "douane.front_door.request")
    admit = first(spans, "douane.admit")
    forward = first(spans, "douane.forward")
    if door is None or admit is None or forward is None:
        return None
    intake = first(spans, "douane.intake")
    prompt = first(spans, "douane.detection", after_ns=admit.start_ns)
    decision = first(spans, "douane.decision")
    admitted = first(spans, "douane.audit.append", "admitted")
    forwarded = first(spans, "douane.audit.append", "forwarded")
    call = first(spans, "douane.provider.call")
    answer_scan = first(spans, "douane.detection", after_ns=forward.start_ns)
    answered = first(spans, "douane.audit.append", "answered")
    parts = (intake, prompt, decision, admitted, forwarded, call, answer_scan, answered)
    if any(p is None for p in parts):
        return None
    assert intake and prompt and decision and admitted and forwarded and call and answer_scan \
        and answered

    def gap(start_ns: int, end_ns: int) -> float:
        return (end_ns - start_ns) / 1e6

    return {
        "front door: HTTP in to request published, broker, worker fetch":
            gap(door.start_ns, admit.start_ns),
        "admit: intake (parse, schema)": intake.ms,
        "admit: id check (audit read)": gap(intake.end_ns, prompt.start_ns),
        "admit: prompt detection (queue + batch)": prompt.ms,
        "admit: vault read, month spend": gap(prompt.end_ns, decision.start_ns),
        "admit: decision (rules, keyed tokens)": decision.ms,
        "admit: placeholders saved": gap(decision.end_ns, admitted.start_ns),
        "admit: audit append `admitted`": admitted.ms,
        "admit: after the record": gap(admitted.end_ns, admit.end_ns),
        "hop: forward message published, broker, worker fetch":
            gap(admit.end_ns, forward.start_ns),
        "forward: admission check, records read, restorer": gap(forward.start_ns,
                                                                forwarded.start_ns),
        "forward: audit append `forwarded`": forwarded.ms,
        "forward: before the call": gap(forwarded.end_ns, call.start_ns),
        "forward: provider call minus the model's latency": call.ms - model_ms,
        "forward: after the call": gap(call.end_ns, answer_scan.start_ns),
        "forward: answer detection (queue + batch)": answer_scan.ms,
        "forward: restore, usage, response kept in the vault": gap(answer_scan.end_ns,
                                                                   answered.start_ns),
        "forward: audit append `answered`": answered.ms,
        "forward: after the record": gap(answered.end_ns, forward.end_ns),
        "hop: response published, broker, front door fetch, reply":
            gap(forward.end_ns, door.end_ns),
        "= added inside the front door's span": door.ms - model_ms,
    }


def table(rows: list[dict[str, float]], client_added_ms: list[float]) -> str:
    lines = ["| stage | p50 ms | mean ms |", "|---|---|---|"]
    for name in rows[0]:
        values = [row[name] for row in rows]
        lines.append(f"| {name} | {statistics.median(values):.1f} "
                     f"| {statistics.fmean(values):.1f} |")
    lines.append(f"| = added as the callers see it (HTTP included) "
                 f"| {statistics.median(client_added_ms):.1f} "
                 f"| {statistics.fmean(client_added_ms):.1f} |")
    return "\n".join(lines)


async def main(arguments: argparse.Namespace) -> None:
    configure_logging("console", logging.WARNING)
    with TraceReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
               "OTEL_BSP_SCHEDULE_DELAY": "1000", "OTEL_BSP_MAX_QUEUE_SIZE": "65536"}
        load_before = os.getloadavg()
        async with running_stack(model_args=("--latency-ms", f"{arguments.latency_ms:g}"),
                                 env=env) as stack:
            await warm_up(stack)
            run = Run(arguments.latency_ms, arguments.callers, "douane", arguments.duration_s)
            start_ns = time.time_ns()
            await closed_loop(run, stack.door_url, stack.headers, DOUANE_MODEL)
            await asyncio.sleep(3)  # the last spans leave (OTEL_BSP_SCHEDULE_DELAY)
        load_after = os.getloadavg()
        received = [Span(*s) for s in receiver.spans()]
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for span in received:
        if span.start_ns >= start_ns:
            by_trace[span.trace_id].append(span)
    rows = [row for spans in by_trace.values()
            if (row := stages(spans, arguments.latency_ms)) is not None]
    if not rows:
        raise SystemExit(f"no complete trace among {len(by_trace)} ({len(received)} spans)")
    client_added = [s * 1000 - arguments.latency_ms for s in run.latencies_s]
    print(f"L={arguments.latency_ms:g} ms, C={arguments.callers}, {arguments.duration_s:g} s: "
          f"{len(run.latencies_s)} answered, {len(rows)} complete traces; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs")
    print()
    print(table(rows, client_added))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=1500.0)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--duration-s", type=float, default=20.0)
    asyncio.run(main(parser.parse_args()))
