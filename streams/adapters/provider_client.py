"""Forwarding a redacted request to a provider that speaks OpenAI Chat Completions.

Covers OpenAI itself and every OpenAI-compatible server (vLLM, Ollama, llama.cpp, Mistral,
DashScope and Qianfan compatible modes); other wire formats get their own adapter later.
The request id and the audit record id travel as headers so the provider side can tie what it
received to the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

REQUEST_ID_HEADER = "X-Douane-Request-Id"
AUDIT_RECORD_HEADER = "X-Douane-Audit-Record"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ProviderAnswer:
    messages: tuple[dict[str, str], ...]
    model: str


class ProviderError(RuntimeError):
    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class ChatCompletionsClient:
    def __init__(self, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def complete(
        self, endpoint: str, body: dict[str, Any], *, request_id: str, audit_record_id: str
    ) -> ProviderAnswer:
        url = endpoint.rstrip("/") + "/chat/completions"
        headers = {REQUEST_ID_HEADER: request_id, AUDIT_RECORD_HEADER: audit_record_id}
        try:
            response = await self._http.post(url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise ProviderError(f"provider at {url} did not answer in time",
                                retryable=True) from None
        except httpx.TransportError as error:
            raise ProviderError(f"provider at {url} is unreachable ({type(error).__name__})",
                                retryable=True) from None
        if response.status_code != 200:
            raise ProviderError(
                f"provider at {url} answered HTTP {response.status_code}",
                retryable=response.status_code in RETRYABLE_STATUS,
                status=response.status_code,
            )
        try:
            payload = response.json()
            messages = tuple(
                {"role": choice["message"]["role"], "content": choice["message"]["content"]}
                for choice in payload["choices"]
            )
            model = str(payload.get("model", body.get("model", "")))
        except (ValueError, KeyError, TypeError):
            raise ProviderError(f"provider at {url} sent a malformed answer",
                                retryable=False) from None
        return ProviderAnswer(messages=messages, model=model)

    async def aclose(self) -> None:
        await self._http.aclose()
