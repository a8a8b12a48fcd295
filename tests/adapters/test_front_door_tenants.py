"""The front door publishes only for the tenants it serves (per-tenant topics): a key of another
tenant gets 403 before anything is published; a served tenant's request goes to its own topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest_asyncio
from aiohttp import web

from streams.adapters.kafka_security import KafkaConnection
from streams.config import project_root
from streams.front_door.bridge import KafkaBridge
from streams.front_door.keys import KeyStore
from streams.front_door.server import FrontDoor, build_app
from streams.worker import load_policy


class RecordingBridge(KafkaBridge):
    """The real topic choice (``serves``, ``_request_topic``), no Kafka: what would be sent."""

    def __init__(self, tenants: list[str]) -> None:  # no producer, no consumer
        self.layout, self.tenants = "per-tenant", frozenset(tenants)
        self.sent: list[str] = []

    async def ask(self, request: dict[str, Any], timeout_s: float,
                  on_done: Callable[[], None] | None = None) -> dict[str, Any]:
        self.sent.append(self._request_topic(request["tenant"]))
        if on_done is not None:
            on_done()  # answered at once: its place in the caller's limits is free
        return {"id": request["id"], "status": "blocked", "tenant": request["tenant"],
                "reasons": [{"code": "test", "message": "recorded, not sent"}],
                "audit_record_id": None, "policy_hash": None}


@pytest_asyncio.fixture
async def door(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str], RecordingBridge]]:
    keys = KeyStore(tmp_path / "keys.json")
    served, _ = keys.add("city-of-lyon", "served")
    unserved, _ = keys.add("ministry-of-magic", "not in the policy")
    bridge = RecordingBridge(["city-of-lyon"])
    policy = load_policy(project_root() / "policies")
    app = build_app(FrontDoor(policy, keys, cast(KafkaBridge, bridge), 5.0))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/v1", {"served": served, "unserved": unserved}, bridge
    await runner.cleanup()


async def test_a_key_of_a_tenant_the_front_door_does_not_serve_gets_403(
        door: tuple[str, dict[str, str], RecordingBridge]) -> None:
    url, keys, bridge = door
    body = {"model": "auto", "messages": [{"role": "user", "content": "Opening hours?"}]}
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.post(f"{url}/chat/completions", json=body,
                                  headers={"Authorization": f"Bearer {keys['unserved']}"})
        served = await http.post(f"{url}/chat/completions", json=body,
                                 headers={"Authorization": f"Bearer {keys['served']}"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "tenant_not_served"
    assert "ministry-of-magic" not in refused.text
    assert "tenant_not_served" not in served.text  # its (stub) answer: "blocked"
    assert bridge.sent == ["douane.requests.city-of-lyon"]


def test_the_bridge_never_publishes_for_a_tenant_it_does_not_serve() -> None:
    async def make() -> KafkaBridge:
        return KafkaBridge(KafkaConnection("127.0.0.1:1"), ["city-of-lyon"])
    bridge = asyncio.run(make())
    assert bridge.serves("city-of-lyon") and not bridge.serves("tax-office")
    assert bridge._request_topic("city-of-lyon") == "douane.requests.city-of-lyon"
    try:
        bridge._request_topic("tax-office")
    except LookupError:
        pass
    else:
        raise AssertionError("a request of an unserved tenant got a topic")
