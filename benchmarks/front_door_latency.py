"""Latency douane adds on the front door, at a fixed request rate.

Starts its own stack under a temporary DOUANE_HOME (a Kafka broker on a free port, the stand-in
model server, a worker, the front door), then sends the same Chat Completions request at a fixed
rate (open loop: each request leaves at its scheduled time, whatever the previous ones did)
twice: directly to the stand-in model server, and through douane's front door (Kafka, intake,
personal-data detection, policy, signed audit records, provider call, response). Prints p50/p99
of both and the difference.

    .venv/bin/python benchmarks/front_door_latency.py [--rate 5] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from streams.adapters.kafka_broker import start_broker, stop_broker
from streams.adapters.policy_files import policy_document
from streams.config import load_settings, project_root
from streams.front_door.keys import KeyStore, keys_path

PROMPT = ("Please write a polite reply to Jeanne Martin (jeanne.martin@example.fr) confirming "
          "that her housing benefit renewal was received and will be processed this month.")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_http(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(url)


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


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def describe(name: str, values: list[float]) -> str:
    return (f"{name:<22} p50 {percentile(values, 50):8.1f} ms"
            f"   p99 {percentile(values, 99):8.1f} ms"
            f"   (n={len(values)})")


async def main(rate: float, count: int, stream_rate: float) -> None:
    home = Path(tempfile.mkdtemp(prefix="douane-bench-"))
    model_port, door_port = free_port(), free_port()
    policy = policy_document(project_root() / "policies")
    policy["providers"][0]["endpoint"] = f"http://127.0.0.1:{model_port}/v1"
    (home / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    env = {**os.environ, "DOUANE_HOME": str(home), "DOUANE_POLICY": str(home / "policy.yaml"),
           "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "DOUANE_LOG_FORMAT": "json",
           "DOUANE_APP_ID": "douane-bench"}
    settings = load_settings(env)
    key, _ = KeyStore(keys_path(home)).add("city-of-lyon", "benchmark")
    processes: list[subprocess.Popen[bytes]] = []
    log = (home / "processes.log").open("ab")

    def start(*args: str) -> None:
        processes.append(subprocess.Popen([sys.executable, "-m", "streams.cli", *args], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))

    await start_broker(settings, timeout_s=120)
    try:
        # 20 ms between streamed pieces, like a model producing tokens (JSON answers: no delay)
        start("model-server", "--port", str(model_port), "--chunk-delay-ms", "20")
        start("worker")
        start("front-door", "--port", str(door_port), "--timeout", "120")
        await wait_http(f"http://127.0.0.1:{model_port}/v1/models")
        await wait_http(f"http://127.0.0.1:{door_port}/healthz")
        direct = f"http://127.0.0.1:{model_port}/v1/chat/completions"
        door = f"http://127.0.0.1:{door_port}/v1/chat/completions"
        print("warming up (detector models, consumer groups)...", flush=True)
        # through douane the policy picks the provider and model ("auto"); the stand-in
        # answers whatever model it is asked for
        await run_at_rate(door, key, 1.0, 3, "auto")
        await run_at_rate(direct, key, rate, 10, "douane-echo-1")
        print(f"{count} requests at {rate:g} requests/s, prompt of {len(PROMPT.split())} words "
              f"with 2 personal values")
        baseline = await run_at_rate(direct, key, rate, count, "douane-echo-1")
        governed = await run_at_rate(door, key, rate, count, "auto")
        print(describe("stand-in directly", baseline))
        print(describe("through douane", governed))
        print(f"{'douane adds':<22} p50 {percentile(governed, 50) - percentile(baseline, 50):8.1f}"
              f" ms   p99 {percentile(governed, 99) - percentile(baseline, 99):8.1f} ms")
        streamed = max(10, count // 4)
        print(f"streamed (stream=true), {streamed} requests at {stream_rate:g}/s, "
              f"20 ms between the model's pieces:")
        direct_first, direct_total = await stream_at_rate(direct, key, stream_rate, streamed,
                                                          "douane-echo-1")
        door_first, door_total = await stream_at_rate(door, key, stream_rate, streamed, "auto")
        print(describe("first text, directly", direct_first))
        print(describe("first text, douane", door_first))
        print(describe("whole answer, directly", direct_total))
        print(describe("whole answer, douane", door_total))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        await stop_broker(settings)
        log.close()
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--stream-rate", type=float, default=2.0,
                        help="requests per second for the streamed part (a worker forwards one "
                             "request at a time, so a streamed answer occupies it until its "
                             "last piece)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rate, arguments.requests, arguments.stream_rate))
