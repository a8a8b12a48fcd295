"""DOUANE_EVENT_LOOP's runner: the coroutine runs on the loop the setting names, and
``loop_name`` reports the loop that runs, whatever the setting says."""

from __future__ import annotations

import asyncio

import pytest

from streams.runtime.event_loop import loop_factory, loop_name, run


async def running_loop() -> tuple[str, str]:
    await asyncio.sleep(0)
    return loop_name(), type(asyncio.get_running_loop()).__module__


def test_uvloop_runs_when_asked_for() -> None:
    name, module = run(running_loop(), "uvloop")
    assert name == "uvloop" and module.startswith("uvloop")


def test_the_standard_librarys_loop_runs_when_asked_for() -> None:
    name, module = run(running_loop(), "asyncio")
    assert name == "asyncio" and module.startswith("asyncio")


def test_an_unknown_loop_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="DOUANE_EVENT_LOOP"):
        loop_factory("trio")
