"""The event loop douane's long-running processes run on (``DOUANE_EVENT_LOOP``).

uvloop (libuv under asyncio's interface) by default: the worker's event-loop thread spends
less CPU per message on its selector, callbacks and sockets (docs/benchmarks.md, Concurrency).
``asyncio`` runs the standard library's loop instead, for an operator ruling uvloop out.
Which one actually runs is what ``loop_name`` reports (the processes' ``/livez`` and their
start-up log line), read from the running loop rather than from the setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

Result = TypeVar("Result")


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A new loop of the kind ``choice`` names (one of ``streams.config.EVENT_LOOPS``)."""
    if choice == "uvloop":
        return uvloop.new_event_loop
    if choice == "asyncio":
        return asyncio.new_event_loop
    raise ValueError(f"unknown event loop {choice!r} (DOUANE_EVENT_LOOP: uvloop or asyncio)")


def run(main: Coroutine[Any, Any, Result], choice: str) -> Result:
    """``asyncio.run(main)`` on a loop of the kind ``choice`` names: same shutdown (tasks
    cancelled, async generators and the default executor closed), same Ctrl-C handling."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


def loop_name() -> str:
    """``uvloop`` or ``asyncio``: the kind of the loop running the caller."""
    loop = asyncio.get_running_loop()
    return "uvloop" if isinstance(loop, uvloop.Loop) else "asyncio"
