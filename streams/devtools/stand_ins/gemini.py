"""Stand-in for the Google Gemini API (v1beta): ``models/{model}:generateContent`` and
``models/{model}:streamGenerateContent`` (``alt=sse``: one ``GenerateContentResponse`` per
``data:`` line, no end marker; without ``alt=sse``: one JSON array).

Key in ``x-goog-api-key`` or ``?key=``. Errors are Google RPC statuses:
``{"error": {"code", "message", "status", "details"}}``; a 429 carries a
``google.rpc.RetryInfo`` detail (``retryDelay``) when a retry delay is scripted.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from streams.devtools.stand_ins.common import (
    StandIn,
    add_control_routes,
    apply_fault,
    chunks_of,
    echo_text,
    read_json,
    sse_response,
    stream_pieces,
)

STATUSES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(status: int, message: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {"error": {"code": status, "message": message,
                      "status": STATUSES.get(status, "UNKNOWN")}}, {}


def _error(status: int, message: str, retry_delay: float | None = None) -> web.Response:
    body, headers = error_body(status, message)
    if retry_delay is not None:
        body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                     "retryDelay": f"{retry_delay:g}s"}]
    return web.json_response(body, status=status, headers=headers)


def _response(model: str, text: str, finish: str | None, ident: str) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]},
                                 "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1,
                              "totalTokenCount": 2},
            "modelVersion": model, "responseId": ident}


def build_app(state: StandIn) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    add_control_routes(app, state)

    async def generate(request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["target"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return _error(404, f"method {method} not found")
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if state.api_key and key != state.api_key:
            return _error(400 if not key else 403,
                          "API key not valid. Please pass a valid API key.")
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return _error(400, "contents is required")
        if model not in state.models:
            return _error(404, f"models/{model} is not found for API version v1beta")
        state.record(request, body, request.path)
        streaming = method == "streamGenerateContent"
        fault = state.next_fault()
        if fault is not None and fault.status == 429 and fault.retry_after is not None:
            await asyncio.sleep(fault.delay_s)
            return _error(429, "Resource has been exhausted (e.g. check quota).",
                          fault.retry_after)
        failed = await apply_fault(fault, error_body, streaming)
        if failed is not None:
            return failed
        texts = ["".join(str(p.get("text", "")) for p in c.get("parts", []))
                 for c in body["contents"] if c.get("role", "user") == "user"]
        text = echo_text(model, texts, len(body["contents"]))
        ident = f"stand-in-{state.next_id()}"
        if not streaming:
            return web.json_response(_response(model, text, "STOP", ident))
        pieces = chunks_of(text)
        if request.query.get("alt") != "sse":
            return web.json_response([
                _response(model, p, "STOP" if i == len(pieces) - 1 else None, ident)
                for i, p in enumerate(pieces)])
        response = await sse_response(request)
        async def send_piece(number: int, piece: str) -> None:
            finish = "STOP" if number == len(pieces) - 1 else None
            data = json.dumps(_response(model, piece, finish, ident))
            await response.write(f"data: {data}\r\n\r\n".encode())

        async def send_error(error: dict[str, Any]) -> None:
            await response.write(f"data: {json.dumps(error)}\r\n\r\n".encode())

        await stream_pieces(state, fault, pieces, send_piece, send_error, error_body, 503)
        return response

    app.router.add_post("/v1beta/models/{target}", generate)
    return app
