"""Anthropic Messages API: ``POST {endpoint}/messages`` (endpoint ``https://api.anthropic.com/v1``).

Authentication by ``x-api-key`` with ``anthropic-version: 2023-06-01``. System messages move to
the top-level ``system`` field and ``max_tokens`` is required. Streaming is SSE with named
events (``message_start``, ``content_block_delta`` carrying ``text_delta``..., ``message_stop``,
and ``error`` mid-stream). Errors are ``{"type": "error", "error": {"type", "message"}}``:
429 ``rate_limit_error`` (with ``retry-after``), 529 ``overloaded_error``, 400, 401, 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from streams.adapters.providers.base import (
    CallContext,
    ProviderAnswer,
    ProviderError,
    api_key,
    event_stream,
    load_json,
    malformed,
    send_for_answer,
)
from streams.core.policy import Provider

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def to_messages_body(body: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions body -> a Messages body (same text, other envelope)."""
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    out: dict[str, Any] = {
        "model": body["model"],
        "max_tokens": int(body.get("max_tokens") or DEFAULT_MAX_TOKENS),
        "messages": [{"role": m["role"], "content": m["content"]}
                     for m in body["messages"] if m["role"] != "system"],
    }
    if system:
        out["system"] = "\n\n".join(system)
    if body.get("temperature") is not None:
        out["temperature"] = body["temperature"]
    return out


class AnthropicMessagesAdapter:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def _request(
        self, provider: Provider, body: dict[str, Any], context: CallContext, stream: bool
    ) -> httpx.Request:
        headers = {**context.headers(), "anthropic-version": ANTHROPIC_VERSION}
        key = api_key(provider)
        if key:
            headers["x-api-key"] = key
        payload = to_messages_body(body)
        if stream:
            payload["stream"] = True
        return self._http.build_request(
            "POST", provider.endpoint.rstrip("/") + "/messages", json=payload, headers=headers)

    async def complete(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> ProviderAnswer:
        request = self._request(provider, body, context, stream=False)
        where = f"provider {provider.id} at {request.url}"
        response = await send_for_answer(self._http, request, where)
        try:
            payload = response.json()
            text = "".join(block["text"] for block in payload["content"]
                           if block.get("type") == "text")
            return ProviderAnswer(
                ({"role": "assistant", "content": text},), str(payload["model"]),
                STOP_REASONS.get(str(payload.get("stop_reason")), payload.get("stop_reason")))
        except (ValueError, KeyError, TypeError):
            raise malformed(where, "no content[] text blocks") from None

    async def stream(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[str]:
        request = self._request(provider, body, context, stream=True)
        where = f"provider {provider.id} at {request.url}"
        try:
            async with event_stream(self._http, request, where) as events:
                async for event, data in events:
                    payload = load_json(data, where)
                    kind = payload.get("type", event) if isinstance(payload, dict) else event
                    if kind == "content_block_delta":
                        delta = payload.get("delta") or {}
                        if delta.get("type") == "text_delta":
                            yield str(delta.get("text", ""))
                    elif kind == "error":
                        error_type = (payload.get("error") or {}).get("type", "")
                        # an overload after the stream started is retryable as a whole call
                        raise ProviderError(
                            f"{where} failed mid-stream ({error_type})",
                            retryable=error_type in ("overloaded_error", "api_error"),
                            kind="overloaded" if error_type == "overloaded_error"
                            else "server-error")
                    elif kind == "message_stop":
                        return
        except (AttributeError, TypeError):
            raise malformed(where, "an event has an unexpected shape") from None
