"""Latency douane adds on the front door, at a fixed request rate.

Starts its own stack under a temporary DOUANE_HOME (a Kafka broker on a free port, the stand-in
model server, a worker, the front door), then sends the same Chat Completions request at a fixed
rate (open loop: each request leaves at its scheduled time, whatever the previous ones did)
twice: directly to the stand-in model server, and through douane's front door (Kafka, intake,
personal-data detection, policy, signed audit records, provider call, response). Prints p50/p99
of both and the difference.

    .venv/bin/python benchmarks/front_door_latency.py [--rate 5] [--requests 100]

With ``--insecure-plaintext`` the broker runs without TLS, SASL or ACLs (loudly): run it right
after a normal run to see what security costs (docs/benchmarks.md). ``--max-rate`` also
measures throughput: requests sent all at once, answers per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx
from _stack import DIRECT_MODEL, DOUANE_MODEL, percentile, running_stack

PROMPT = ("Please write a polite reply to Jeanne Martin (jeanne.martin@example.fr) confirming "
          "that her housing benefit renewal was received and will be processed this month.")


async def run_at_rate(url: str, key: str, rate: float, count: int, model: str) -> list[float]:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as http:

        async def one(delay: float) -> None:
            await asyncio.sleep(delay)
            started = time.perf_counter()
            response = await http.post(url, json=body, headers=headers)
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one(i / rate) for i in range(count)))
    return latencies


async def stream_at_rate(url: str, key: str, rate: float, count: int, model: str
                         ) -> tuple[list[float], list[float]]:
    """Streamed requests: (time to the first piece of text, time to the end), in ms."""
    body = {"model": model, "stream": True,
            "messages": [{"role": "user", "content": PROMPT}]}
    first: list[float] = []
    total: list[float] = []
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200)) as http:

        async def one(delay: float) -> None:
            await asyncio.sleep(delay)
            started = time.perf_counter()
            seen = False
            async with http.stream("POST", url, json=body,
                                   headers={"Authorization": f"Bearer {key}"}) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if not seen and '"content": "' in line and '"content": ""' not in line:
                        first.append((time.perf_counter() - started) * 1000)
                        seen = True
            total.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one(i / rate) for i in range(count)))
    return first, total


def describe(name: str, values: list[float]) -> str:
    return (f"{name:<22} p50 {percentile(values, 50):8.1f} ms"
            f"   p99 {percentile(values, 99):8.1f} ms"
            f"   (n={len(values)})")


async def throughput(url: str, key: str, count: int, model: str) -> float:
    """Answers per second with ``count`` requests sent at once (closed: all in flight)."""
    started = time.perf_counter()
    await run_at_rate(url, key, 1e9, count, model)
    return count / (time.perf_counter() - started)


async def main(rate: float, count: int, stream_rate: float, insecure_plaintext: bool,
               burst: int) -> None:
    security = ("INSECURE PLAINTEXT (no TLS, SASL, ACLs)" if insecure_plaintext
                else "SASL_SSL, SCRAM-SHA-512, ACLs")
    print(f"kafka: {security}; load average before start: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    # 20 ms between streamed pieces, like a model producing tokens (JSON answers: no delay)
    async with running_stack(model_args=("--chunk-delay-ms", "20"),
                             insecure_plaintext=insecure_plaintext) as stack:
        key, direct, door = stack.key, stack.direct_url, stack.door_url
        print("warming up (detector models, consumer groups)...", flush=True)
        # through douane the policy picks the provider and model ("auto"); the stand-in
        # answers whatever model it is asked for
        await run_at_rate(door, key, 1.0, 3, DOUANE_MODEL)
        await run_at_rate(direct, key, rate, 10, DIRECT_MODEL)
        print(f"{count} requests at {rate:g} requests/s, prompt of {len(PROMPT.split())} words "
              f"with 2 personal values")
        baseline = await run_at_rate(direct, key, rate, count, DIRECT_MODEL)
        governed = await run_at_rate(door, key, rate, count, DOUANE_MODEL)
        print(describe("stand-in directly", baseline))
        print(describe("through douane", governed))
        print(f"{'douane adds':<22} p50 {percentile(governed, 50) - percentile(baseline, 50):8.1f}"
              f" ms   p99 {percentile(governed, 99) - percentile(baseline, 99):8.1f} ms")
        streamed = max(10, count // 4)
        print(f"streamed (stream=true), {streamed} requests at {stream_rate:g}/s, "
              f"20 ms between the model's pieces:")
        direct_first, direct_total = await stream_at_rate(direct, key, stream_rate, streamed,
                                                          DIRECT_MODEL)
        door_first, door_total = await stream_at_rate(door, key, stream_rate, streamed,
                                                      DOUANE_MODEL)
        print(describe("first text, directly", direct_first))
        print(describe("first text, douane", door_first))
        print(describe("whole answer, directly", direct_total))
        print(describe("whole answer, douane", door_total))
        if burst:
            print(f"throughput: {burst} requests sent at once through douane: "
                  f"{await throughput(door, key, burst, DOUANE_MODEL):.1f} answers/s")
        print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--stream-rate", type=float, default=2.0,
                        help="requests per second for the streamed part (a worker forwards one "
                             "request at a time, so a streamed answer occupies it until its "
                             "last piece)")
    parser.add_argument("--insecure-plaintext", action="store_true",
                        help="INSECURE: a broker without TLS, SASL or ACLs, to compare")
    parser.add_argument("--burst", type=int, default=0,
                        help="then send this many requests at once and report answers/s")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rate, arguments.requests, arguments.stream_rate,
                     arguments.insecure_plaintext, arguments.burst))
