"""The stand-in provider: a local server speaking the OpenAI Chat Completions wire format.

It answers deterministically from what it received, so a test or a demo can see exactly what
left douane. When started with an audit database and public key, it also checks, for every
request, that douane's signed audit record for it already exists and that the digest recorded
there matches the body it received: the "audit before forward" rule, checked at the receiving
end rather than by timing.

For load tests it can behave like a slow model (``latency_s``: every answer, or the first piece
of a streamed one, waits that long, without blocking the loop, so many requests wait at once),
and for deterministic tests it can hold answers (``POST /_stand-in/hold`` ...
``POST /_stand-in/release``) and tell how many requests are waiting
(``GET /_stand-in/in-flight``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from streams.adapters.provider_client import AUDIT_RECORD_HEADER, REQUEST_ID_HEADER
from streams.core.decision import forwarded_digest

log = structlog.get_logger(__name__)
RECEIVED: web.AppKey[list[dict[str, Any]]] = web.AppKey("received", list)


@dataclass
class Gate:
    """Answers flow while ``released`` is set (``/_stand-in/hold`` clears it until
    ``/_stand-in/release``); ``in_flight`` counts requests received and not yet answered."""

    released: asyncio.Event
    in_flight: int = 0


GATE: web.AppKey[Gate] = web.AppKey("gate", Gate)


@dataclass(frozen=True)
class AuditCheck:
    verified: bool
    problem: str | None


AuditChecker = Callable[[str, dict[str, Any]], AuditCheck]


def audit_checker(audit_db: Path, public_key: Path) -> AuditChecker:
    from streams.adapters.audit.verify import find_verified

    def check(audit_record_id: str, body: dict[str, Any]) -> AuditCheck:
        record = find_verified(audit_db, public_key, audit_record_id)
        if record is None:
            return AuditCheck(False, f"no validly signed audit record '{audit_record_id}'")
        expected = record.payload["details"].get("forwarded_sha256")
        if expected != forwarded_digest(body):
            return AuditCheck(False, "body differs from the digest in the audit record")
        return AuditCheck(True, None)

    return check


def answer_for(body: dict[str, Any]) -> str:
    last_user = next(
        (m.get("content", "") for m in reversed(body.get("messages", []))
         if m.get("role") == "user"),
        "",
    )
    return f"[{body.get('model')}] I received {len(body.get('messages', []))} message(s). " \
           f"You asked: {last_user}"


def build_app(checker: AuditChecker | None, model_ids: tuple[str, ...],
              chunk_delay_s: float = 0.0, latency_s: float = 0.0) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[RECEIVED] = []
    gate = app[GATE] = Gate(asyncio.Event())
    gate.released.set()

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        """In flight from its arrival until its answer is complete (the last piece of a
        streamed one)."""
        gate.in_flight += 1
        try:
            return await answer(request)
        finally:
            gate.in_flight -= 1

    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request_error", "body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "invalid_request_error", "'messages' must be a list")
        audit_record_id = request.headers.get(AUDIT_RECORD_HEADER, "")
        check = checker(audit_record_id, body) if checker else AuditCheck(False, "not checked")
        app[RECEIVED].append({
            "request_id": request.headers.get(REQUEST_ID_HEADER),
            "audit_record_id": audit_record_id,
            "audit_verified": check.verified,
            "audit_problem": check.problem,
            "traceparent": request.headers.get("traceparent"),  # douane's provider-call span
            "body": body,
        })
        if checker and not check.verified:
            log.warning("refused: audit record missing or mismatched", problem=check.problem)
            return _error(412, "audit_missing", check.problem or "audit check failed")
        content = answer_for(body)
        await gate.released.wait()
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        if body.get("stream"):
            return await stream_answer(request, body, content, len(app[RECEIVED]), chunk_delay_s)
        return web.json_response({
            "id": f"chatcmpl-{len(app[RECEIVED])}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        })

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": model, "object": "model", "owned_by": "douane-stand-in"} for model in model_ids
        ]})

    async def received(_: web.Request) -> web.Response:
        return web.json_response(app[RECEIVED])

    async def reset(_: web.Request) -> web.Response:
        app[RECEIVED].clear()
        return web.json_response({"cleared": True})

    async def hold(_: web.Request) -> web.Response:
        gate.released.clear()
        return web.json_response({"held": True})

    async def release(_: web.Request) -> web.Response:
        gate.released.set()
        return web.json_response({"held": False})

    async def in_flight(_: web.Request) -> web.Response:
        return web.json_response({"in_flight": gate.in_flight})

    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/_stand-in/received", received)
    app.router.add_post("/_stand-in/reset", reset)
    app.router.add_post("/_stand-in/hold", hold)
    app.router.add_post("/_stand-in/release", release)
    app.router.add_get("/_stand-in/in-flight", in_flight)
    return app


async def stream_answer(request: web.Request, body: dict[str, Any], content: str, number: int,
                        chunk_delay_s: float) -> web.StreamResponse:
    """The answer as Chat Completions chunks (SSE), ``chunk_delay_s`` apart, like a model
    generating tokens: lets tests see the first words arrive before the last."""
    from streams.devtools.stand_ins.common import chunks_of

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    base = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model")}
    deltas = [{"role": "assistant", "content": ""}, *({"content": c} for c in chunks_of(content))]
    for delta in deltas:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await asyncio.sleep(chunk_delay_s)
    final = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    await response.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
    return response


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": kind}},
                             status=status)


async def serve(port: int, checker: AuditChecker | None, host: str = "127.0.0.1",
                chunk_delay_s: float = 0.0, latency_s: float = 0.0) -> None:
    app = build_app(checker, ("douane-echo-1",), chunk_delay_s, latency_s)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("stand-in model server listening", url=f"http://{host}:{port}/v1")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
