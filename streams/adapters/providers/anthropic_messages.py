"""Anthropic Messages API: ``POST {endpoint}/messages`` (endpoint ``https://api.anthropic.com/v1``).

Authentication by ``x-api-key`` with ``anthropic-version: 2023-06-01``. System messages move to
the top-level ``system`` field and ``max_tokens`` is required. Streaming is SSE with named
events (``message_start``, ``content_block_delta`` carrying ``text_delta``..., ``message_stop``,
and ``error`` mid-stream). Errors are ``{"type": "error", "error": {"type", "message"}}``:
429 ``rate_limit_error`` (with ``retry-after``), 529 ``overloaded_error``, 400, 401, 403.

Usage is the message's ``usage``: ``input_tokens`` leaves out the prompt-cache tokens
(``cache_creation_input_tokens``, ``cache_read_input_tokens``), which are added to the input
count; ``output_tokens``. A stream gives it in two parts: ``message_start`` carries the
message's usage so far, each ``message_delta`` the counts so far (output, and on recent API
versions input too); the last value of each field is the total.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from streams.adapters.providers.base import (
    CallContext,
    ProviderAnswer,
    ProviderError,
    WireFormatAdapter,
    call_headers,
    load_json,
    malformed,
)
from streams.core.policy import Provider
from streams.core.usage import TokenUsage, reported_usage

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def usage_of(fields: Any) -> TokenUsage | None:
    """A Messages ``usage`` object; None if absent or garbled."""
    return reported_usage(fields, INPUT_FIELDS, ("output_tokens",))


class _StreamedUsage:
    """The usage fields a stream has sent so far, each event's values replacing the earlier."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    def add(self, fields: Any) -> None:
        if isinstance(fields, dict):
            self.fields.update(fields)


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


class AnthropicMessagesAdapter(WireFormatAdapter):
    answer_shape = "no content[] text blocks"

    def build_request(
        self, provider: Provider, body: dict[str, Any], context: CallContext, stream: bool
    ) -> httpx.Request:
        headers = {**call_headers(context, provider, "x-api-key"),
                   "anthropic-version": ANTHROPIC_VERSION}
        payload = to_messages_body(body)
        if stream:
            payload["stream"] = True
        return self._http.build_request(
            "POST", provider.endpoint.rstrip("/") + "/messages", json=payload, headers=headers)

    def read_answer(self, payload: Any, body: dict[str, Any]) -> ProviderAnswer:
        text = "".join(block["text"] for block in payload["content"]
                       if block.get("type") == "text")
        return ProviderAnswer(
            ({"role": "assistant", "content": text},), str(payload["model"]),
            STOP_REASONS.get(str(payload.get("stop_reason")), payload.get("stop_reason")),
            usage_of(payload.get("usage")))

    async def read_stream(self, events: AsyncIterator[tuple[str, str]], where: str
                          ) -> AsyncIterator[str | TokenUsage]:
        usage = _StreamedUsage()
        try:
            async for event, data in events:
                payload = load_json(data, where)
                kind = payload.get("type", event) if isinstance(payload, dict) else event
                if kind == "message_start":
                    message = payload.get("message")
                    usage.add(message.get("usage") if isinstance(message, dict) else None)
                elif kind == "message_delta":
                    usage.add(payload.get("usage"))
                elif kind == "content_block_delta":
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
                    break
        except (AttributeError, TypeError):
            raise malformed(where, "an event has an unexpected shape") from None
        total = usage_of(usage.fields)
        if total is not None:
            yield total
