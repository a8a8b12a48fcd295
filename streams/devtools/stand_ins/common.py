"""What every stand-in shares: the record of what it received, scripted faults, echo answers.

A fault is consumed by the next matching request: ``{"status": 429, "retry_after": 1}``
answers with that provider's error body for the status (and ``retry-after``), ``{"delay_s": 3}``
answers late (to exercise timeouts), ``{"status": 529, "mid_stream": true}`` starts a stream
and then sends the provider's error event.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from streams.adapters.providers.base import AUDIT_RECORD_HEADER, REQUEST_ID_HEADER

ErrorBody = Callable[[int, str], tuple[dict[str, Any], dict[str, str]]]
STAND_IN: web.AppKey[StandIn] = web.AppKey("stand_in", object)  # type: ignore[arg-type]


@dataclass
class Fault:
    status: int | None = None
    retry_after: float | None = None
    delay_s: float = 0.0
    mid_stream: bool = False

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Fault:
        return cls(status=value.get("status"), retry_after=value.get("retry_after"),
                   delay_s=float(value.get("delay_s", 0)),
                   mid_stream=bool(value.get("mid_stream", False)))


@dataclass
class StandIn:
    """State of one stand-in server: its name, accepted key, faults to play and what it saw."""

    provider: str
    models: tuple[str, ...]
    api_key: str | None = None
    chunk_delay_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def record(self, request: web.Request, body: Any, path: str) -> None:
        self.received.append({
            "request_id": request.headers.get(REQUEST_ID_HEADER),
            "audit_record_id": request.headers.get(AUDIT_RECORD_HEADER),
            "path": path, "body": body,
        })

    def next_fault(self) -> Fault | None:
        return self.faults.pop(0) if self.faults else None

    def next_id(self) -> int:
        return next(self.counter) + 1


def echo_text(model: str, texts: list[str], count: int) -> str:
    """The stand-in's answer: deterministic, built from what it received."""
    return f"[{model}] I received {count} message(s). You asked: {texts[-1] if texts else ''}"


def chunks_of(text: str, size: int = 3) -> list[str]:
    """Split an answer into word groups (keeping spaces), as a model streams tokens."""
    words = text.split(" ")
    groups = [" ".join(words[i:i + size]) for i in range(0, len(words), size)]
    return [g + (" " if i < len(groups) - 1 else "") for i, g in enumerate(groups)]


def error_response(error_body: ErrorBody, status: int, message: str) -> web.Response:
    body, headers = error_body(status, message)
    return web.json_response(body, status=status, headers=headers)


async def apply_fault(
    fault: Fault | None, error_body: ErrorBody, streaming: bool
) -> web.Response | None:
    """The error response a fault asks for, after its delay; None to answer normally."""
    if fault is None:
        return None
    if fault.delay_s:
        await asyncio.sleep(fault.delay_s)
    if fault.status is None or (fault.mid_stream and streaming):
        return None
    body, headers = error_body(fault.status, "scripted failure")
    if fault.retry_after is not None:
        headers = {**headers, "retry-after": f"{fault.retry_after:g}"}
    return web.json_response(body, status=fault.status, headers=headers)


async def stream_pieces(
    state: StandIn, fault: Fault | None, pieces: list[str],
    send_piece: Callable[[int, str], Awaitable[None]],
    send_error: Callable[[dict[str, Any]], Awaitable[None]],
    error_body: ErrorBody, default_status: int,
) -> bool:
    """Send an answer's pieces as the provider streams them, at the stand-in's pace; a scripted
    mid-stream fault sends the provider's error event after the first piece instead. False:
    the stream ended with that error."""
    for number, piece in enumerate(pieces):
        if fault is not None and fault.mid_stream and number == 1:
            error, _ = error_body(fault.status or default_status, "scripted failure")
            await send_error(error)
            return False
        await send_piece(number, piece)
        if state.chunk_delay_s:
            await asyncio.sleep(state.chunk_delay_s)
    return True


async def sse_response(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    return response


def add_control_routes(app: web.Application, state: StandIn) -> None:
    app[STAND_IN] = state

    async def received(_: web.Request) -> web.Response:
        return web.json_response(state.received)

    async def faults(request: web.Request) -> web.Response:
        state.faults.extend(Fault.from_json(f) for f in await request.json())
        return web.json_response({"queued": len(state.faults)})

    async def reset(_: web.Request) -> web.Response:
        state.received.clear()
        state.faults.clear()
        return web.json_response({"cleared": True})

    app.router.add_get("/_stand-in/received", received)
    app.router.add_post("/_stand-in/faults", faults)
    app.router.add_post("/_stand-in/reset", reset)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
