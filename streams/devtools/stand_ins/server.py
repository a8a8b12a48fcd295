"""Run stand-ins: in-process (tests, benchmarks) or as ``douane stand-in --kind K --port N``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from aiohttp import web

from streams.devtools.stand_ins import anthropic_messages, gemini, openai_chat
from streams.devtools.stand_ins.common import StandIn

log = structlog.get_logger(__name__)

BUILDERS: dict[str, tuple[Callable[[StandIn], web.Application], str]] = {
    # kind -> (app builder, path prefix of the endpoint a policy names)
    "openai-chat": (openai_chat.build_app, "/v1"),
    "anthropic": (anthropic_messages.build_app, "/v1"),
    "gemini": (gemini.build_app, "/v1beta"),
}


@dataclass
class RunningStandIn:
    state: StandIn
    base_url: str  # what a policy puts in a provider's endpoint
    port: int


@asynccontextmanager
async def running(
    kind: str, state: StandIn, port: int = 0, host: str = "127.0.0.1"
) -> AsyncIterator[RunningStandIn]:
    build, prefix = BUILDERS[kind]
    runner = web.AppRunner(build(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    try:
        yield RunningStandIn(state, f"http://{host}:{bound}{prefix}", bound)
    finally:
        await runner.cleanup()


async def serve(kind: str, port: int, models: tuple[str, ...], api_key: str | None,
                host: str = "127.0.0.1") -> None:
    state = StandIn(provider=f"douane-stand-in-{kind}", models=models, api_key=api_key)
    async with running(kind, state, port, host) as stand_in:
        log.info("stand-in provider listening", kind=kind, endpoint=stand_in.base_url)
        await asyncio.Event().wait()
