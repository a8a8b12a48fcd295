"""How much of each provider one worker uses at once: requests waiting for an answer, requests
per minute and tokens per minute, as the policy declares them (``Provider.max_in_flight``,
``requests_per_minute``, ``tokens_per_minute``).

A request over a limit waits (asynchronously) for its turn; only requests bound for that
provider wait, every other provider's requests carry on. Token counts are estimated before the
call (4 characters to a token, the usual rule of thumb for English), since the provider only
reports them afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from streams.core.policy import Provider

__all__ = ["ProviderLimits", "RateBucket", "estimated_tokens"]


def estimated_tokens(body: dict[str, Any]) -> int:
    """Tokens a request will use, roughly: its message text at 4 characters a token."""
    characters = sum(len(str(m.get("content", ""))) for m in body.get("messages", ())
                     if isinstance(m, dict))
    return max(1, characters // 4)


class RateBucket:
    """A token bucket holding up to one minute's allowance, refilled continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.level = self.capacity
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self._turn = asyncio.Lock()  # first come, first served

    async def take(self, amount: int) -> None:
        need = min(float(amount), self.capacity)  # a request larger than a minute's allowance
        async with self._turn:                    # waits for a full bucket, not for ever
            while True:
                now = self.clock()
                self.level = min(self.capacity, self.level + (now - self.updated)
                                 * self.per_second)
                self.updated = now
                if self.level >= need:
                    self.level -= need
                    return
                await self.sleep((need - self.level) / self.per_second)


class _Limit:
    def __init__(self, provider: Provider, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]]) -> None:
        self.settings = (provider.max_in_flight, provider.requests_per_minute,
                         provider.tokens_per_minute)
        self.slots = (asyncio.Semaphore(provider.max_in_flight)
                      if provider.max_in_flight is not None else None)
        self.requests = (RateBucket(provider.requests_per_minute, clock, sleep)
                         if provider.requests_per_minute is not None else None)
        self.tokens = (RateBucket(provider.tokens_per_minute, clock, sleep)
                       if provider.tokens_per_minute is not None else None)


class ProviderLimits:
    """One limit per provider id; a policy reload that changes a provider's numbers gives it a
    fresh limit (requests already waiting finish under the old one)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self._limits: dict[str, _Limit] = {}

    def _limit(self, provider: Provider) -> _Limit:
        current = self._limits.get(provider.id)
        wanted = (provider.max_in_flight, provider.requests_per_minute,
                  provider.tokens_per_minute)
        if current is None or current.settings != wanted:
            current = self._limits[provider.id] = _Limit(provider, self.clock, self.sleep)
        return current

    @asynccontextmanager
    async def slot(self, provider: Provider, body: dict[str, Any]) -> AsyncIterator[None]:
        """Held for the whole call (a streamed answer holds it until its last piece)."""
        limit = self._limit(provider)
        if limit.slots is not None:
            await limit.slots.acquire()
        try:
            if limit.requests is not None:
                await limit.requests.take(1)
            if limit.tokens is not None:
                await limit.tokens.take(estimated_tokens(body))
            yield
        finally:
            if limit.slots is not None:
                limit.slots.release()
