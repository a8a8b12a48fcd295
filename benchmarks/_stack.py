"""A whole douane stack for a benchmark, under a temporary DOUANE_HOME.

A Kafka broker on a free port, the stand-in model server (the shipped policy's first provider
points at it), a worker (``douane worker``) and the front door (``douane front-door``), each a
process of its own, plus an API key for the front door. Everything is stopped and the home
removed on exit. Shared by the benchmarks that call douane from outside
(``front_door_latency.py``, ``concurrency.py``, ``fuzz.py``, ``crash.py``, ``soak.py``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from streams.config import Settings, keys_folder_for, load_settings
from streams.devtools.kafka_broker import start_broker, stop_broker
from streams.devtools.local_stack import spawn_douane, stop_process, wait_http, write_local_policy
from streams.devtools.ports import free_port
from streams.front_door.keys import KeyStore, keys_path
from streams.front_door.limits import ENVIRONMENT as LIMIT_SETTINGS

DIRECT_MODEL = "douane-echo-1"  # what the stand-in calls itself
DOUANE_MODEL = "auto"  # through douane the policy picks the provider and model


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Stack:
    settings: Settings  # the processes' settings (Kafka clients of a benchmark use them too)
    home: Path
    key: str  # the front door's API key (tenant city-of-lyon)
    model_port: int
    door_port: int
    processes: dict[str, subprocess.Popen[bytes]]  # "model-server", "worker", "front-door"
    environment: Mapping[str, str]  # every process's (``douane audit verify`` needs it too)
    arguments: Mapping[str, tuple[str, ...]]  # each process's command-line arguments
    log: IO[bytes]  # the processes' shared output (``home / "processes.log"``)

    @property
    def direct_url(self) -> str:
        return f"http://127.0.0.1:{self.model_port}/v1/chat/completions"

    @property
    def door_url(self) -> str:
        return f"http://127.0.0.1:{self.door_port}/v1/chat/completions"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def restart(self, name: str) -> None:
        """Start ``name`` again with its arguments and environment, after the caller stopped
        or killed it (a supervisor's restart); stopped with the rest of the stack on exit."""
        self.processes[name] = spawn_douane((name, *self.arguments[name]), self.environment,
                                             self.log)


@asynccontextmanager
async def running_stack(model_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                        door_timeout_s: float = 120, insecure_plaintext: bool = False,
                        worker_env: Mapping[str, str] | None = None) -> AsyncIterator[Stack]:
    """Start the stack and wait until the model server and the front door answer HTTP (the
    worker may still be loading its models: warm up through the door before measuring).
    ``model_args`` go to ``douane model-server``; ``env`` is added to every process's,
    ``worker_env`` to the worker's only.
    ``insecure_plaintext``: a broker without TLS, SASL or ACLs, to measure what they cost."""
    home = Path(tempfile.mkdtemp(prefix="douane-bench-"))
    model_port, door_port = free_port(), free_port()
    write_local_policy(home / "policy.yaml", model_port)
    environment = {**os.environ, "DOUANE_HOME": str(home),
                   "DOUANE_POLICY": str(home / "policy.yaml"),
                   "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
                   "DOUANE_LOG_FORMAT": "json", "DOUANE_APP_ID": "douane-bench",
                   # one key plays every caller: the benchmarks measure douane, not its limits
                   **{name: "unlimited" for name in LIMIT_SETTINGS},
                   **({"DOUANE_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"} if insecure_plaintext
                      else {}), **(env or {})}
    settings = load_settings(environment)
    key, _ = KeyStore(keys_path(home)).add("city-of-lyon", "benchmark")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    arguments: dict[str, tuple[str, ...]] = {}
    log = (home / "processes.log").open("ab")

    def start(name: str, *args: str) -> None:
        arguments[name] = args
        own = {**environment, **(worker_env or {})} if name == "worker" else environment
        processes[name] = spawn_douane((name, *args), own, log)

    try:
        await start_broker(settings, timeout_s=120, progress=progress,
                           insecure_plaintext=insecure_plaintext)
        start("model-server", "--port", str(model_port), *model_args)
        start("worker")
        start("front-door", "--port", str(door_port), "--timeout", f"{door_timeout_s:g}")
        await wait_http(f"http://127.0.0.1:{model_port}/v1/models", timeout_s=180)
        await wait_http(f"http://127.0.0.1:{door_port}/healthz", timeout_s=180)
        yield Stack(settings, home, key, model_port, door_port, processes, environment,
                    arguments, log)
    finally:
        for process in processes.values():
            process.terminate()  # all at once: each drains while the others do
        for process in processes.values():
            stop_process(process)
        await stop_broker(settings)
        log.close()
        remove_home(home, settings)


def remove_home(home: Path, settings: Settings) -> None:
    """Remove a benchmark's temporary data folder and its keys, which live beside it rather
    than in it (``keys_folder_for``), unless the caller's environment chose a keys folder."""
    shutil.rmtree(home, ignore_errors=True)
    if settings.keys_dir == keys_folder_for(home):
        shutil.rmtree(settings.keys_dir, ignore_errors=True)
