"""Stand-in for OpenAI Chat Completions (and Mistral, DashScope, Qianfan v2, vLLM, Ollama...).

``POST /v1/chat/completions`` (JSON or SSE with ``stream: true``; ``stream_options.include_usage``
adds a final usage chunk), ``GET /v1/models``. Errors as OpenAI sends them:
``{"error": {"message", "type", "param", "code"}}``; 401 ``invalid_api_key`` when a key is
required and missing or wrong.
"""

from __future__ import annotations

import json
import time
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

ERRORS = {
    400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"), 500: ("server_error", None),
    503: ("server_error", "overloaded"),
}


def error_body(status: int, message: str) -> tuple[dict[str, Any], dict[str, str]]:
    kind, code = ERRORS.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}, {}


def _error(status: int, message: str) -> web.Response:
    return error_response(error_body, status, message)


def build_app(state: StandIn) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    add_control_routes(app, state)

    async def chat_completions(request: web.Request) -> web.StreamResponse:
        if state.api_key and request.headers.get("Authorization") != f"Bearer {state.api_key}":
            return _error(401, "Incorrect API key provided.")
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is a required property")
        if body.get("model") not in state.models:
            return _error(404, f"The model '{body.get('model')}' does not exist")
        state.record(request, body, request.path)
        streaming = bool(body.get("stream"))
        fault = state.next_fault()
        failed = await apply_fault(fault, error_body, streaming)
        if failed is not None:
            return failed
        texts = [m.get("content", "") for m in body["messages"] if m.get("role") == "user"]
        text = echo_text(body["model"], [str(t) for t in texts], len(body["messages"]))
        ident, created = f"chatcmpl-{state.next_id()}", int(time.time())
        if not streaming:
            return web.json_response({
                "id": ident, "object": "chat.completion", "created": created,
                "model": body["model"], "system_fingerprint": None,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": text,
                                         "refusal": None}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })
        response = await sse_response(request)

        async def send(delta: dict[str, Any], finish: str | None,
                       usage: dict[str, int] | None = None) -> None:
            chunk: dict[str, Any] = {
                "id": ident, "object": "chat.completion.chunk", "created": created,
                "model": body["model"], "system_fingerprint": None,
                "choices": [] if usage else [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish}],
            }
            if usage:
                chunk["usage"] = usage
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        async def send_error(error: dict[str, Any]) -> None:
            await response.write(f"data: {json.dumps(error)}\n\n".encode())

        await send({"role": "assistant", "content": ""}, None)
        if not await stream_pieces(state, fault, chunks_of(text),
                                   lambda _, piece: send({"content": piece}, None),
                                   send_error, error_body, 500):
            return response
        await send({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            await send({}, None, {"prompt_tokens": 1, "completion_tokens": 1,
                                  "total_tokens": 2})
        await response.write(b"data: [DONE]\n\n")
        return response

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": state.provider}
            for m in state.models]})

    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    return app
