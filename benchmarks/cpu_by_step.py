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
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _stack import free_port, progress
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
        total = 0.0
        for number in range(arguments.requests):
            total += await one(number)
        count = arguments.requests
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
        gateway: Any = pipeline.provider  # the ProviderGateway build_pipeline made
        await gateway.aclose()
        pipeline.detection.close()
    finally:
        model.terminate()
        model.wait()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
