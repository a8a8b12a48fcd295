"""The stand-in model server's load-test controls: a latency that makes requests wait together
(without blocking the loop), and hold / release / in-flight for deterministic tests. Asserts on
counts and states, never on wall-clock durations."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiohttp import web

from streams.devtools.model_server import build_app

MODEL = "douane-echo-1"


@pytest_asyncio.fixture
async def stand_in() -> AsyncIterator[httpx.AsyncClient]:
    """The stand-in model without latency, served in-process on 127.0.0.1."""
    runner, base_url = await _serve(build_app(None, (MODEL,)))
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client
    await runner.cleanup()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    # handlers still waiting when the test ends are cancelled at once on cleanup
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def _body(text: str, stream: bool = False) -> dict[str, Any]:
    return {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": text}]}


async def _in_flight(client: httpx.AsyncClient) -> int:
    return int((await client.get("/_stand-in/in-flight")).json()["in_flight"])


async def _until_in_flight(client: httpx.AsyncClient, expected: int) -> None:
    for _ in range(500):
        if await _in_flight(client) == expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"in flight: {await _in_flight(client)}, expected {expected}")


async def test_held_requests_are_received_not_answered_until_released(
        stand_in: httpx.AsyncClient) -> None:
    assert await _in_flight(stand_in) == 0
    assert (await stand_in.post("/_stand-in/hold")).json() == {"held": True}
    calls = [asyncio.create_task(stand_in.post("/v1/chat/completions", json=_body(f"n°{n}")))
             for n in range(3)]
    calls.append(asyncio.create_task(stand_in.post("/v1/chat/completions",
                                                   json=_body("streamed", stream=True))))
    await _until_in_flight(stand_in, 4)
    received = (await stand_in.get("/_stand-in/received")).json()
    assert len(received) == 4  # received and recorded while held ...
    assert not any(call.done() for call in calls)  # ... and none answered
    assert (await stand_in.post("/_stand-in/release")).json() == {"held": False}
    answers = await asyncio.gather(*calls)
    assert [a.status_code for a in answers] == [200] * 4
    for n, answer in enumerate(answers[:3]):
        assert answer.json()["choices"][0]["message"]["content"].endswith(f"You asked: n°{n}")
    events = [line.removeprefix("data: ") for line in answers[3].text.splitlines()
              if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert text.endswith("You asked: streamed")
    assert await _in_flight(stand_in) == 0


async def test_released_stand_in_answers_at_once_and_refusals_are_not_held(
        stand_in: httpx.AsyncClient) -> None:
    await stand_in.post("/_stand-in/hold")
    bad = await stand_in.post("/v1/chat/completions", content=b"not json")
    assert bad.status_code == 400  # an invalid request is refused even while held
    await stand_in.post("/_stand-in/release")
    ok = await stand_in.post("/v1/chat/completions", json=_body("hello"))
    assert ok.status_code == 200 and await _in_flight(stand_in) == 0


async def test_latency_lets_many_requests_wait_at_once() -> None:
    """With a latency far longer than the test needs, 20 requests are all in flight together:
    the wait does not block the loop (the in-flight endpoint still answers) nor serialise the
    requests. Cancelled before the latency ends: no duration is asserted."""
    runner, base_url = await _serve(build_app(None, (MODEL,), latency_s=3600))
    limits = httpx.Limits(max_connections=30)
    async with httpx.AsyncClient(base_url=base_url, timeout=3700, limits=limits) as client:
        calls = [asyncio.create_task(client.post("/v1/chat/completions", json=_body(str(n))))
                 for n in range(20)]
        await _until_in_flight(client, 20)
        assert not any(call.done() for call in calls)
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    await runner.cleanup()
