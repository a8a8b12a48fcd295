"""douane on one machine, as the demo, the benchmarks and the tests run it: the shipped policy
pointed at the local model, and douane's own processes, each ``python -m streams.cli
<command>`` as an operator's ``douane <command>`` would be."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx
import yaml

from streams.adapters.policy_files import policy_document
from streams.config import project_root


def write_local_policy(path: Path, model_port: int) -> Path:
    """The shipped policy set as one file at ``path``, its sovereign door (``providers[0]``)
    on the local model server's port."""
    policy = policy_document(project_root() / "policies")
    policy["providers"][0]["endpoint"] = f"http://127.0.0.1:{model_port}/v1"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def spawn_douane(arguments: Sequence[str], environment: Mapping[str, str],
                 log: IO[bytes]) -> subprocess.Popen[bytes]:
    """``douane <arguments>`` in a process of its own, its output appended to ``log``."""
    return subprocess.Popen([sys.executable, "-m", "streams.cli", *arguments],
                            env=dict(environment), stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 20,
                 kill: bool = False) -> None:
    """SIGTERM (the worker then drains what it has in flight), SIGKILL after ``timeout_s``;
    ``kill``: SIGKILL at once, as a crash would."""
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_http(url: str, timeout_s: float = 30, poll_s: float = 0.2) -> None:
    """Until ``url`` answers 200; TimeoutError naming it after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")
            await asyncio.sleep(poll_s)
