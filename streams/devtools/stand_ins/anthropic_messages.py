"""Stand-in for the Anthropic Messages API: ``POST /v1/messages``.

Requires ``anthropic-version``; with a key configured, ``x-api-key`` (or, as recent SDKs send
it, ``Authorization: Bearer``) must match, else 401 ``authentication_error``.
Non-streaming answers a ``message`` object; ``stream: true`` sends
the named SSE events ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` (``text_delta``), ``content_block_stop``, ``message_delta``,
``message_stop``. Errors: ``{"type": "error", "error": {"type", "message"}}`` with a
``request-id`` header; 529 is ``overloaded_error``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from streams.devtools.stand_ins.common import (
    StandIn,
    add_control_routes,
    apply_fault,
    chunks_of,
    echo_text,
    error_response,
    read_json,
    sse_response,
    stream_pieces,
)

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}


def error_body(status: int, message: str) -> tuple[dict[str, Any], dict[str, str]]:
    kind = ERROR_TYPES.get(status, "api_error")
    return ({"type": "error", "error": {"type": kind, "message": message}},
            {"request-id": "req_stand_in"})


def _error(status: int, message: str) -> web.Response:
    return error_response(error_body, status, message)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def build_app(state: StandIn) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    add_control_routes(app, state)

    async def messages(request: web.Request) -> web.StreamResponse:
        offered = {request.headers.get("x-api-key"), request.headers.get("Authorization")}
        if state.api_key and not offered & {state.api_key, f"Bearer {state.api_key}"}:
            return _error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "anthropic-version: header is required")
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages: Field required")
        if not isinstance(body.get("max_tokens"), int):
            return _error(400, "max_tokens: Field required")
        if any(m.get("role") not in ("user", "assistant") for m in body["messages"]):
            return _error(400, "messages: roles must be 'user' or 'assistant' "
                               "(use the top-level system parameter)")
        if body.get("model") not in state.models:
            return _error(404, f"model: {body.get('model')}")
        state.record(request, body, request.path)
        streaming = bool(body.get("stream"))
        fault = state.next_fault()
        failed = await apply_fault(fault, error_body, streaming)
        if failed is not None:
            return failed
        texts = [_text_of(m.get("content")) for m in body["messages"] if m["role"] == "user"]
        text = echo_text(body["model"], texts, len(body["messages"]))
        ident = f"msg_stand_in_{state.next_id()}"
        usage = {"input_tokens": 1, "output_tokens": 1}
        if not streaming:
            return web.json_response({
                "id": ident, "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": usage,
            })
        response = await sse_response(request)

        async def event(name: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        await event("message_start", {"type": "message_start", "message": {
            "id": ident, "type": "message", "role": "assistant", "model": body["model"],
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}})
        await event("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})
        await event("ping", {"type": "ping"})
        if not await stream_pieces(
                state, fault, chunks_of(text),
                lambda _, piece: event("content_block_delta", {
                    "type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}}),
                lambda error: event("error", error), error_body, 529):
            return response
        await event("content_block_stop", {"type": "content_block_stop", "index": 0})
        await event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      # as the API does: the output so far,
                                      # the total by the last delta
                                      "usage": {"output_tokens": len(chunks_of(text))}})
        await event("message_stop", {"type": "message_stop"})
        return response

    app.router.add_post("/v1/messages", messages)
    return app
