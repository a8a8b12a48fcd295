"""The front door's HTTP face held to its limits (issue 12, item 6): the real aiohttp app with
a stand-in for the Kafka bridge whose answers the test releases, so nothing depends on timing.
A minimum X-Douane-Timeout-S, 429 with retry-after in the OpenAI error shape per key and per
tenant, a slot held until douane's answer even after a 504, and a key revoked on disk refused
by the running app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from streams.adapters.policy_files import load_policy_set
from streams.config import project_root
from streams.front_door.keys import KeyStore
from streams.front_door.limits import NO_LIMITS, Limiter, Limits, LimitSettings
from streams.front_door.server import FrontDoor, build_app

POLICY = load_policy_set(project_root() / "policies")
BOUND_S = 60
BODY = {"model": "auto", "messages": [{"role": "user", "content": "Opening hours?"}]}


@dataclass
class HeldBridge:
    """Answers a request only when the test says so; a caller may give up first (504)."""

    pending: dict[str, tuple[asyncio.Future[dict[str, Any]], Callable[[], None] | None]] = \
        field(default_factory=dict)
    arrived: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    give_up: bool = False  # the next callers stop waiting at once, as after their timeout

    def serves(self, tenant: str) -> bool:  # every tenant: the limits are under test here
        return True

    async def ask(self, request: dict[str, Any], timeout_s: float,
                  on_done: Callable[[], None] | None = None) -> dict[str, Any]:
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request["id"]] = (answer, on_done)
        self.arrived.put_nowait(request["id"])
        if self.give_up:
            raise TimeoutError
        return await answer

    def answer(self, request_id: str) -> None:
        """douane's final response comes back (whether or not its caller still waits)."""
        answer, on_done = self.pending.pop(request_id)
        if on_done is not None:
            on_done()
        if not answer.done():
            answer.set_result({"id": request_id, "status": "answered", "model": "m",
                               "messages": [{"role": "assistant", "content": "9-18h."}]})


@dataclass
class Door:
    client: TestClient  # type: ignore[type-arg]
    bridge: HeldBridge
    keys: KeyStore
    key: str
    limiter: Limiter

    async def ask(self, key: str | None = None, **headers: str) -> Any:
        # bounded so that a missing defence fails the test instead of hanging it; never
        # reached when the front door works (its refusals are immediate)
        return await asyncio.wait_for(self.client.post(
            "/v1/chat/completions", json=BODY,
            headers={"Authorization": f"Bearer {key or self.key}", **headers}), BOUND_S)

    async def arrival(self) -> str:
        """The id of the next request that reached douane."""
        return await asyncio.wait_for(self.bridge.arrived.get(), BOUND_S)


def door_with(tmp_path: Path, per_key: Limits = NO_LIMITS, per_tenant: Limits = NO_LIMITS
              ) -> tuple[FrontDoor, HeldBridge, KeyStore, str]:
    keys = KeyStore(tmp_path / "keys.json")
    key, _ = keys.add("city-of-lyon")
    bridge = HeldBridge()
    door = FrontDoor(POLICY, keys, bridge, 60.0,  # type: ignore[arg-type]
                     limiter=Limiter(LimitSettings(per_key, per_tenant)))
    return door, bridge, keys, key


@pytest_asyncio.fixture
async def door(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Door]:
    limits = getattr(request, "param", {})
    front, bridge, keys, key = door_with(tmp_path, **limits)
    async with TestClient(TestServer(build_app(front))) as client:
        yield Door(client, bridge, keys, key, front.limiter)


@pytest.mark.parametrize("value", ["0", "0.5", "-1", "nan", "inf", "soon"])
async def test_a_timeout_below_the_minimum_is_refused_naming_the_header(
        door: Door, value: str) -> None:
    response = await door.ask(**{"X-Douane-Timeout-S": value})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_timeout" and error["param"] == "X-Douane-Timeout-S"
    assert error["message"].startswith("X-Douane-Timeout-S: must be a number of seconds of at "
                                       "least 1")
    assert door.bridge.pending == {}  # nothing was sent


async def test_the_minimum_timeout_itself_is_accepted(door: Door) -> None:
    asked = asyncio.create_task(door.ask(**{"X-Douane-Timeout-S": "1"}))
    door.bridge.answer(await door.arrival())
    assert (await asked).status == 200


@pytest.mark.parametrize("door", [{"per_key": Limits(max_in_flight=2)}], indirect=True)
async def test_a_key_gets_429_past_its_requests_in_flight(door: Door) -> None:
    waiting = [asyncio.create_task(door.ask()) for _ in range(2)]
    first = await door.arrival()
    await door.arrival()
    refused = await door.ask()
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    error = (await refused.json())["error"]
    assert set(error) == {"message", "type", "param", "code"}  # the OpenAI error shape
    assert error["code"] == "concurrency_limit_exceeded" and error["type"] == "requests"
    assert "2 request(s) in flight" in error["message"]
    door.bridge.answer(first)  # one answered: its place is free again
    assert (await waiting[0]).status == 200
    again = asyncio.create_task(door.ask())
    door.bridge.answer(await door.arrival())
    assert (await again).status == 200
    for request_id in list(door.bridge.pending):
        door.bridge.answer(request_id)
    await asyncio.gather(*waiting)


@pytest.mark.parametrize("door", [{"per_key": Limits(max_in_flight=1)}], indirect=True)
async def test_a_caller_that_stopped_waiting_still_holds_its_place(door: Door) -> None:
    """The fire-and-forget flood: a 504 does not free the place, douane's answer does."""
    door.bridge.give_up = True
    gave_up = await door.ask()
    assert gave_up.status == 504
    assert (await door.ask()).status == 429  # still being worked on by douane
    door.bridge.answer(await door.arrival())
    door.bridge.give_up = False
    asked = asyncio.create_task(door.ask())
    door.bridge.answer(await door.arrival())
    assert (await asked).status == 200


@pytest.mark.parametrize("door", [{"per_tenant": Limits(max_in_flight=1)}], indirect=True)
async def test_a_tenant_is_limited_across_its_keys(door: Door) -> None:
    second, _ = door.keys.add("city-of-lyon", "second application")
    other_tenant, _ = door.keys.add("tax-office")
    held = asyncio.create_task(door.ask())
    await door.arrival()
    refused = await door.ask(second)
    assert refused.status == 429
    assert "tenant 'city-of-lyon'" in (await refused.json())["error"]["message"]
    elsewhere = asyncio.create_task(door.ask(other_tenant))  # another agency is not starved
    door.bridge.answer(await door.arrival())
    assert (await elsewhere).status == 200
    for request_id in list(door.bridge.pending):
        door.bridge.answer(request_id)
    assert (await held).status == 200


@pytest.mark.parametrize("door", [{"per_key": Limits(requests_per_minute=1)}], indirect=True)
async def test_a_key_past_its_rate_is_told_when_to_come_back(door: Door) -> None:
    asked = asyncio.create_task(door.ask())
    door.bridge.answer(await door.arrival())
    assert (await asked).status == 200
    refused = await door.ask()
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await refused.json())["error"]["code"] == "rate_limit_exceeded"


async def test_a_key_revoked_on_disk_is_refused_by_the_running_door(door: Door) -> None:
    asked = asyncio.create_task(door.ask())
    door.bridge.answer(await door.arrival())
    assert (await asked).status == 200
    [entry] = KeyStore(door.keys.path).revoke(door.keys.entries[0].key_id)  # as the CLI does
    refused = await door.ask()
    assert refused.status == 401
    error = (await refused.json())["error"]
    assert error["code"] == "revoked_api_key" and entry.key_id in error["message"]
    assert door.bridge.pending == {}
