"""The provider gateway keeps no cookie: one HTTP client serves every tenant, so a cookie a
provider sets on one tenant's call would otherwise come back on another tenant's, and let the
provider link the two administrations' requests. A real HTTP server on 127.0.0.1 sets one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from streams.adapters.providers.base import CallContext
from streams.adapters.providers.gateway import ProviderGateway
from streams.core.policy import Provider

KEY = "sk-test-cookies"


@pytest_asyncio.fixture
async def provider_setting_cookies() -> AsyncIterator[tuple[str, list[str | None]]]:
    cookies_sent: list[str | None] = []

    async def complete(request: web.Request) -> web.Response:
        cookies_sent.append(request.headers.get("Cookie"))
        body: dict[str, Any] = await request.json()
        response = web.json_response({
            "id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Bonjour."}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})
        response.set_cookie("affinity", f"tenant-seen-{len(cookies_sent)}", path="/")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", complete)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        # by name: aiohttp keeps no cookie from an IP address anyway
        yield f"http://localhost:{port}/v1", cookies_sent
    finally:
        await runner.cleanup()


async def test_a_cookie_a_provider_sets_is_never_sent_back(
        provider_setting_cookies: tuple[str, list[str | None]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, cookies_sent = provider_setting_cookies
    monkeypatch.setenv("DOUANE_PROVIDER_KEY_COOKIE_SETTER", KEY)
    provider = Provider(id="cookie-setter", kind="mistral", endpoint=endpoint,
                        models=("mistral-small",), jurisdiction="EU")
    gateway = ProviderGateway(timeout_s=5.0)
    body = {"model": "mistral-small", "messages": [{"role": "user", "content": "Bonjour"}]}
    try:
        for tenant in ("city-of-lyon", "city-of-gent", "city-of-lyon"):
            answer = await gateway.complete(provider, body, CallContext(
                request_id=f"{tenant}-1", audit_record_id=f"{tenant}-1/forwarded/p"))
            assert answer.messages[0]["content"] == "Bonjour."
    finally:
        await gateway.aclose()
    assert cookies_sent == [None, None, None]
