"""A message written straight to a forward topic, as a client with write access to it could:
on the real broker it never reaches the model, and the log still verifies (issue 12, item 1).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from stack import KafkaClient, Stack, request

from streams.config import forward_topic

pytestmark = pytest.mark.integration

PATIENT = "Jeanne Martin, NIR 2 84 05 75 123 456 17, diagnosis: type 2 diabetes"


async def test_a_forward_message_nobody_admitted_never_reaches_the_model(douane: Stack) -> None:
    walk_id, real_id = f"walk-{uuid.uuid4().hex[:8]}", f"real-{uuid.uuid4().hex[:8]}"
    forged: dict[str, Any] = {
              "id": walk_id, "tenant": "city-of-lyon", "provider": "sovereign-local",
              "classification": "public", "purpose": None, "fallbacks": [],
              "audit_record_id": f"{walk_id}/admitted", "stream": False,
              "conversation": walk_id, "policy_hash": "forged", "redacted_entities": {},
              "metadata": {},
              "body": {"model": "douane-echo-1",
                       "messages": [{"role": "user", "content": PATIENT}]}}
    async with KafkaClient(douane.settings) as client:
        await client.producer.send_and_wait(forward_topic("sovereign-local"),
                                            json.dumps(forged).encode(), key=walk_id.encode())
        await client.publish(request(real_id, "What are the opening hours of the library?"))
        responses = await client.responses({walk_id, real_id}, timeout_s=180, settle_s=2)

    assert [r["status"] for r in responses[walk_id]] == ["failed"]
    assert [r["code"] for r in responses[walk_id][0]["reasons"]] == ["not-admitted"]
    assert [r["status"] for r in responses[real_id]] == ["answered"]  # the border still works
    received = await douane.stand_in().received()
    assert walk_id not in [r["request_id"] for r in received]
    assert not [r for r in received if "Jeanne" in json.dumps(r)]
    assert douane.audit_kinds([walk_id])[walk_id] == ["rejected"]
    verified = await douane.audit_verify()
    assert verified.returncode == 0, verified.stdout + verified.stderr
