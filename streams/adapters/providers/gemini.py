"""Google Gemini API: ``models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``
under the endpoint ``https://generativelanguage.googleapis.com/v1beta``.

Authentication by ``x-goog-api-key``. Roles are ``user`` and ``model``; system messages go to
``systemInstruction``. Streaming with ``alt=sse`` sends one ``GenerateContentResponse`` per
``data:`` line and no end marker. Errors are Google RPC statuses,
``{"error": {"code", "message", "status", "details"}}``; a 429 ``RESOURCE_EXHAUSTED`` may carry
a ``google.rpc.RetryInfo`` detail with ``retryDelay`` ("7s"), 503 is ``UNAVAILABLE``.

Usage is ``usageMetadata``: ``promptTokenCount`` (cached content included) and
``candidatesTokenCount`` plus ``thoughtsTokenCount`` (thinking is billed as output). In a
stream every chunk carries the counts so far; the last one has the totals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

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

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}


def to_gemini_body(body: dict[str, Any]) -> dict[str, Any]:
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    out: dict[str, Any] = {"contents": [
        {"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
        for m in body["messages"] if m["role"] != "system"
    ]}
    if system:
        out["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    config = {}
    if body.get("max_tokens") is not None:
        config["maxOutputTokens"] = body["max_tokens"]
    if body.get("temperature") is not None:
        config["temperature"] = body["temperature"]
    if config:
        out["generationConfig"] = config
    return out


def retry_delay(response: httpx.Response) -> float | None:
    """``retryDelay`` of a RetryInfo detail, e.g. "7s" or "0.5s"."""
    try:
        details = response.json()["error"].get("details") or []
        for detail in details:
            delay = str(detail.get("retryDelay", ""))
            if detail.get("@type") == RETRY_INFO and delay.endswith("s"):
                return float(delay[:-1])
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def usage_of(payload: Any) -> TokenUsage | None:
    """A GenerateContentResponse's ``usageMetadata``; None if absent or garbled."""
    fields = payload.get("usageMetadata") if isinstance(payload, dict) else None
    return reported_usage(fields, ("promptTokenCount",),
                          ("candidatesTokenCount", "thoughtsTokenCount"))


def candidate_text(payload: dict[str, Any]) -> tuple[str, str | None]:
    candidate = payload["candidates"][0]
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(str(part.get("text", "")) for part in parts if not part.get("thought"))
    reason = candidate.get("finishReason")
    return text, FINISH_REASONS.get(reason, reason.lower() if reason else None)


class GeminiAdapter(WireFormatAdapter):
    answer_shape = "no candidates[0].content.parts"

    def build_request(
        self, provider: Provider, body: dict[str, Any], context: CallContext, stream: bool
    ) -> httpx.Request:
        method = "streamGenerateContent" if stream else "generateContent"
        model = quote(str(body["model"]), safe="")
        url = f"{provider.endpoint.rstrip('/')}/models/{model}:{method}"
        return self._http.build_request(
            "POST", url, json=to_gemini_body(body),
            headers=call_headers(context, provider, "x-goog-api-key"),
            params={"alt": "sse"} if stream else None)

    def retry_delay(self, response: httpx.Response) -> float | None:
        return retry_delay(response)

    def read_answer(self, payload: Any, body: dict[str, Any]) -> ProviderAnswer:
        text, reason = candidate_text(payload)
        model = str(payload.get("modelVersion") or body["model"])
        return ProviderAnswer(({"role": "assistant", "content": text},), model, reason,
                              usage_of(payload))

    async def read_stream(self, events: AsyncIterator[tuple[str, str]], where: str
                          ) -> AsyncIterator[str | TokenUsage]:
        usage: TokenUsage | None = None
        async for _, data in events:
            payload = load_json(data, where)
            usage = usage_of(payload) or usage
            if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                status = str(payload["error"].get("status", ""))
                raise ProviderError(f"{where} failed mid-stream ({status})",
                                    retryable=status in ("UNAVAILABLE", "INTERNAL"),
                                    kind="overloaded" if status == "UNAVAILABLE"
                                    else "server-error")
            try:
                if payload.get("candidates"):
                    text, _ = candidate_text(payload)
                    if text:
                        yield text
            except (KeyError, TypeError, IndexError, AttributeError):
                raise malformed(where, "a chunk has no candidates[0]") from None
        if usage is not None:
            yield usage
