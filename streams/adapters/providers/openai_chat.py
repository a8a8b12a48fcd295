"""OpenAI Chat Completions: OpenAI, Mistral, DashScope (compatible mode), Qianfan v2 and local
OpenAI-compatible servers (vLLM, Ollama, llama.cpp) - the sovereign door.

``POST {endpoint}/chat/completions`` with ``Authorization: Bearer``; streaming is SSE of
``chat.completion.chunk`` objects ending with ``data: [DONE]``. Errors are
``{"error": {"message", "type", "code"}}`` with ``retry-after``/``retry-after-ms`` on 429.

Usage is the answer's ``usage`` object (``prompt_tokens``, ``completion_tokens``; cached and
reasoning tokens are counted inside them). A stream carries it only in a last chunk with no
choices, which OpenAI and DashScope send when asked with ``stream_options.include_usage``
(asked of those kinds only: some compatible servers refuse unknown fields); Mistral sends it
unasked. Local servers often send none, or zeros: the answer's usage is then estimated.
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

# kinds whose streams report usage when the request asks for it
STREAM_USAGE_ON_REQUEST = frozenset({"openai", "dashscope"})


def usage_of(payload: Any) -> TokenUsage | None:
    """A Chat Completions answer's or chunk's ``usage``; None if absent or garbled."""
    fields = payload.get("usage") if isinstance(payload, dict) else None
    return reported_usage(fields, ("prompt_tokens",), ("completion_tokens",))


class OpenAIChatAdapter(WireFormatAdapter):
    answer_shape = "no choices[].message"

    def build_request(
        self, provider: Provider, body: dict[str, Any], context: CallContext, stream: bool
    ) -> httpx.Request:
        payload = {**body, "stream": True} if stream else body
        if stream and provider.kind in STREAM_USAGE_ON_REQUEST:
            payload["stream_options"] = {"include_usage": True}
        return self._http.build_request(
            "POST", provider.endpoint.rstrip("/") + "/chat/completions", json=payload,
            headers=call_headers(context, provider, "Authorization", "Bearer "))

    def read_answer(self, payload: Any, body: dict[str, Any]) -> ProviderAnswer:
        messages = tuple(
            {"role": choice["message"]["role"], "content": choice["message"]["content"] or ""}
            for choice in payload["choices"]
        )
        finish = payload["choices"][0].get("finish_reason") if payload["choices"] else None
        return ProviderAnswer(messages, str(payload.get("model") or body.get("model", "")),
                              finish, usage_of(payload))

    async def read_stream(self, events: AsyncIterator[tuple[str, str]], where: str
                          ) -> AsyncIterator[str | TokenUsage]:
        usage: TokenUsage | None = None
        async for _, data in events:
            if data.strip() == "[DONE]":
                break
            chunk = load_json(data, where)
            usage = usage_of(chunk) or usage  # the last chunk that has it has the total
            if isinstance(chunk, dict) and "error" in chunk:
                failure = chunk["error"] if isinstance(chunk["error"], dict) else {}
                raise ProviderError(
                    f"{where} failed mid-stream "
                    f"({failure.get('type') or failure.get('code')})",
                    retryable=False, kind="server-error")
            try:
                for choice in chunk["choices"]:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield str(text)
            except (KeyError, TypeError):
                raise malformed(where, "a chunk has no choices[].delta") from None
        if usage is not None:
            yield usage
