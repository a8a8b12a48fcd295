"""One entry point for every provider: picks the adapter for the provider's ``kind``.

Which kind speaks which wire format is the registry ``streams.core.provider_kinds``; kinds
that speak Chat Completions (openai, mistral, dashscope compatible mode, qianfan v2,
openai-compatible local servers) share one adapter; the endpoint in the policy says where.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from streams.adapters.providers.anthropic_messages import AnthropicMessagesAdapter
from streams.adapters.providers.base import Adapter, CallContext, ProviderAnswer
from streams.adapters.providers.gemini import GeminiAdapter
from streams.adapters.providers.openai_chat import OpenAIChatAdapter
from streams.core.policy import Provider
from streams.core.provider_kinds import WireFormat, wire_format
from streams.core.usage import TokenUsage

MAX_CONNECTIONS = 2048


def _session_without_cookies() -> aiohttp.ClientSession:
    """aiohttp's session for the transport, as httpx-aiohttp builds it, but keeping no cookie
    (see ``ProviderGateway``). Called on the first request, inside the running event loop."""
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS,
                                       keepalive_timeout=limits.keepalive_expiry,
                                       ssl=httpx.create_ssl_context()),
        cookie_jar=aiohttp.DummyCookieJar())


class ProviderGateway:
    def __init__(
        self, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        # connect fast or move on; reads may take as long as a model needs, up to timeout_s
        timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
        # Hundreds of requests wait for model answers at once. httpx's own pool (httpcore)
        # scans every connection for every request it places, several system calls each: at
        # 256 waiting requests that cost more CPU than detection. aiohttp's connection pool
        # does not, and httpx-aiohttp (the transport the OpenAI SDK offers for the same
        # reason) puts it under the same httpx API the adapters use. The per-provider limits
        # decide how many requests really go at once.
        # One client serves every tenant. A cookie a provider sets (a load balancer's affinity,
        # a bot-protection token) would be sent back on the next call to that host, whichever
        # tenant makes it: the provider could link one administration's requests to another's.
        # Neither httpx's jar nor aiohttp's keeps any (a policy refusing every domain; aiohttp's
        # DummyCookieJar).
        self._http = httpx.AsyncClient(
            timeout=timeout,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            transport=transport or AiohttpTransport(client=_session_without_cookies))
        self._adapters: dict[WireFormat, Adapter] = {
            "openai-chat": OpenAIChatAdapter(self._http),
            "anthropic-messages": AnthropicMessagesAdapter(self._http),
            "gemini": GeminiAdapter(self._http),
        }

    def adapter(self, provider: Provider) -> Adapter:
        return self._adapters[wire_format(provider.kind)]

    async def complete(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> ProviderAnswer:
        return await self.adapter(provider).complete(provider, body, context)

    def stream(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[str | TokenUsage]:
        return self.adapter(provider).stream(provider, body, context)

    async def aclose(self) -> None:
        await self._http.aclose()
