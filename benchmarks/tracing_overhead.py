"""What traces cost per request: off (no OTLP endpoint) and on (exported by OTLP/HTTP to a
receiver on 127.0.0.1 in a process of its own, that decodes every export as a collector would).

    python benchmarks/tracing_overhead.py [--requests 20000]

Prints the load average first (the machine is shared), then for each setting the wall time and
the CPU time of this process (the SDK's export thread included, the receiver's process not)
per forwarded request, doing what douane does to the tracing adapter for one: the front
door's span and its context into the Kafka headers, the admit stage's span continuing it with
intake, detection, decision and audit-append spans (the trace id read for the record), the
forward stage's span from the forward message's headers with two audit appends, an answer
detection and the provider call with its ``traceparent``; and how many spans the receiver got.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from _otlp_receiver import TraceReceiver

from streams.adapters import tracing

CALLER = (("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),)
TENANTS = frozenset({"city-of-lyon"})


def one_request() -> None:
    with tracing.span("douane.front_door.request", tracing.parent_of(dict(CALLER)),
                      tracing.SpanKind.SERVER):
        tracing.note(status_code=200, tenant=tracing.declared("city-of-lyon", TENANTS))
        request_headers = tracing.kafka_headers()
    with tracing.span("douane.admit", tracing.parent_of(tracing.carrier_of(request_headers)),
                      tracing.SpanKind.CONSUMER):
        tracing.note(stage="admit", size_bytes=412)
        with tracing.span("douane.intake"):
            tracing.note(outcome="accepted")
        with tracing.span("douane.detection"):
            tracing.note(messages=1, entities=3, outcome="ok")
        with tracing.span("douane.decision"):
            tracing.note(decision="forward", classification="personal",
                         reasons=["redacted", "routed"],
                         provider=tracing.declared("sovereign-local", {"sovereign-local"}))
        tracing.trace_id()
        with tracing.span("douane.audit.append"):
            tracing.note(audit_kind="admitted", audit_seq=1041, audit_created=True)
        tracing.note(decision="forward", reasons=["redacted", "routed"])
        forward_headers = tracing.kafka_headers()
    with tracing.span("douane.forward", tracing.parent_of(tracing.carrier_of(forward_headers)),
                      tracing.SpanKind.CONSUMER):
        tracing.note(stage="forward", size_bytes=630)
        tracing.trace_id()
        with tracing.span("douane.audit.append"):
            tracing.note(audit_kind="forwarded", audit_seq=1042, audit_created=True)
        with tracing.span("douane.provider.call", kind=tracing.SpanKind.CLIENT):
            tracing.note(provider=tracing.Declared("sovereign-local"), attempt=1,
                         streamed=False)
            tracing.http_headers()
        with tracing.span("douane.detection"):
            tracing.note(messages=1, entities=0, outcome="ok")
        tracing.trace_id()
        with tracing.span("douane.audit.append"):
            tracing.note(audit_kind="answered", audit_seq=1043, audit_created=True)
        tracing.note(decision="answered")


def measure(label: str, requests: int, work: Callable[[], None]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        work()
    tracing.flush()  # the spans of these requests exported: their cost counted
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {wall / requests * 1e6:.1f} us wall, {cpu / requests * 1e6:.1f} us CPU "
          f"per forwarded request ({requests} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    assert not tracing.start_tracing("douane-benchmark", {})  # no endpoint: off
    measure("tracing off", args.requests, one_request)

    with TraceReceiver() as receiver:
        endpoint = receiver.endpoint
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint  # read by the SDK's exporter
        assert tracing.start_tracing("douane-benchmark",
                                     {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        measure("tracing on, OTLP/HTTP export", args.requests, one_request)
        tracing.stop_tracing()
        received = len(receiver.spans())
    print(f"spans received: {received} ({received / args.requests:.1f} a request; the SDK's "
          "queue drops spans beyond OTEL_BSP_MAX_QUEUE_SIZE rather than wait)")


if __name__ == "__main__":
    main()
