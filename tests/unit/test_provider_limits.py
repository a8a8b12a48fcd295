"""Per-provider limits: requests waiting at once, requests and tokens per minute."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.adapters.providers.limits import ProviderLimits, RateBucket, estimated_tokens
from streams.core.policy import Provider


def provider(**limits: Any) -> Provider:
    return Provider(id="p", kind="openai-compatible", endpoint="http://127.0.0.1:1/v1",
                    models=("m",), jurisdiction="FR", **limits)


class FakeTime:
    """A clock that moves only when a caller sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


BODY = {"messages": [{"role": "user", "content": "x" * 400}]}


def test_tokens_are_estimated_from_the_message_text() -> None:
    assert estimated_tokens(BODY) == 100
    assert estimated_tokens({"messages": []}) == 1


async def test_a_bucket_lets_a_minutes_allowance_through_then_paces_the_rest() -> None:
    time = FakeTime()
    bucket = RateBucket(60, time.clock, time.sleep)  # one a second
    for _ in range(60):
        await bucket.take(1)
    assert time.now == 0.0
    await bucket.take(1)
    assert time.now == 1.0
    await bucket.take(1)
    assert time.now == 2.0


async def test_a_request_larger_than_a_minute_waits_for_a_full_bucket_not_for_ever() -> None:
    time = FakeTime()
    bucket = RateBucket(600, time.clock, time.sleep)
    await bucket.take(600)
    await bucket.take(5000)
    assert time.now == 60.0


async def test_max_in_flight_holds_the_next_request_until_one_finishes() -> None:
    limits = ProviderLimits()
    target = provider(max_in_flight=2)
    entered: list[int] = []
    release = asyncio.Event()

    async def call(n: int) -> None:
        async with limits.slot(target, BODY):
            entered.append(n)
            await release.wait()

    tasks = [asyncio.create_task(call(n)) for n in range(3)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert entered == [0, 1]
    release.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2]


async def test_another_provider_is_not_held_back_by_a_full_one() -> None:
    limits = ProviderLimits()
    slow, fast = provider(max_in_flight=1), provider(max_in_flight=1).model_copy(
        update={"id": "q"})
    release = asyncio.Event()

    async def hold() -> None:
        async with limits.slot(slow, BODY):
            await release.wait()

    holding = asyncio.create_task(hold())
    await asyncio.sleep(0)
    async with limits.slot(fast, BODY):
        pass  # entered although the slow provider's only slot is taken
    release.set()
    await holding


async def test_tokens_per_minute_paces_by_estimated_size() -> None:
    time = FakeTime()
    limits = ProviderLimits(time.clock, time.sleep)
    target = provider(tokens_per_minute=200, requests_per_minute=1000)
    for _ in range(2):
        async with limits.slot(target, BODY):
            pass
    assert time.now == 0.0
    async with limits.slot(target, BODY):  # 100 more tokens at 200/min: 30 s
        pass
    assert time.now == 30.0


async def test_a_changed_limit_in_a_new_policy_takes_effect() -> None:
    limits = ProviderLimits()
    # the reloaded policy raises the limit: a new slot is free at once
    async with limits.slot(provider(max_in_flight=1), BODY), \
            limits.slot(provider(max_in_flight=2), BODY):
        pass
