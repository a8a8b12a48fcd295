"""What the Prometheus metrics cost: per request, and per scrape.

    python benchmarks/metrics_overhead.py [--calls 200000] [--tenants 50] [--providers 10]

Prints (the load average first: the machine is shared):

- microseconds per call of what a forwarded request does to the metrics (admit and forward
  decisions, two detections, three audit appends, one provider call with its in-flight gauge):
  the cost douane adds to each request;
- the number of series and the time to render ``/metrics`` once every label combination a
  policy of ``--tenants`` tenants and ``--providers`` providers can produce has a value (the
  worst case the closed label sets allow).
"""

from __future__ import annotations

import argparse
import os
import time

from streams.adapters import metrics


def per_request(tenants: set[str]) -> None:
    metrics.record_decision("admit", "city-of-lyon", "forward", ["redacted", "routed"], tenants)
    metrics.DETECTION_SECONDS.labels("ok").observe(0.02)
    for kind in ("admitted", "forwarded", "answered"):
        metrics.AUDIT_APPEND_SECONDS.labels(metrics.audit_kind_label(kind)).observe(0.004)
    in_flight = metrics.PROVIDER_IN_FLIGHT.labels("sovereign-local")
    in_flight.inc()
    in_flight.dec()
    metrics.PROVIDER_SECONDS.labels("sovereign-local", "ok").observe(1.2)
    metrics.DETECTION_SECONDS.labels("ok").observe(0.02)
    metrics.record_decision("forward", "city-of-lyon", "answered", [], tenants)


def fill(tenant_count: int, provider_count: int) -> None:
    tenants = {f"tenant-{n}" for n in range(tenant_count)}
    for tenant in tenants:
        for stage, decision in (("admit", "forward"), ("admit", "block"), ("admit", "reject"),
                                ("forward", "answered"), ("forward", "failed"),
                                ("forward", "refused")):
            for reason in metrics.REASON_CODES - metrics.INFORMATIONAL_REASONS:
                metrics.record_decision(stage, tenant, decision, [reason], tenants)
    for n in range(provider_count):
        provider = f"provider-{n}"
        metrics.PROVIDER_IN_FLIGHT.labels(provider).set(0)
        metrics.record_circuit(provider, "closed")
        for kind in (*metrics.PROVIDER_ERROR_KINDS, "ok"):
            metrics.PROVIDER_SECONDS.labels(provider, kind).observe(1.0)
            metrics.PROVIDER_ERRORS.labels(provider, kind).inc()
        for partition in range(12):
            metrics.CONSUMER_LAG.labels(f"douane.forward.{provider}", str(partition)).set(0)
    for n in range(tenant_count):
        for partition in range(12):
            metrics.CONSUMER_LAG.labels(f"douane.requests.tenant-{n}", str(partition)).set(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--providers", type=int, default=10)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    tenants = {"city-of-lyon"}
    started = time.perf_counter()
    for _ in range(args.calls):
        per_request(tenants)
    took = time.perf_counter() - started
    print(f"metrics per forwarded request: {took / args.calls * 1e6:.1f} us "
          f"({args.calls} requests)")

    fill(args.tenants, args.providers)
    body, _ = metrics.exposition()
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        metrics.exposition()
    render = (time.perf_counter() - started) / rounds
    print(f"worst case for {args.tenants} tenants, {args.providers} providers: {series} series, "
          f"{len(body) / 1024:.0f} KiB, rendered in {render * 1000:.1f} ms")


if __name__ == "__main__":
    main()
