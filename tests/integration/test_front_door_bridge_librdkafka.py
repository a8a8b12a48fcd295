"""The front door's bridge on librdkafka (``streams/front_door/bridge_librdkafka.py``, the
default client) on the real broker: what the shared front door tests (``test_front_door.py``)
do not reach, its start on topics just created and a refused password."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaProducer
from stack import Stack

from streams.adapters.kafka_security import KafkaConnectError, kafka_connection
from streams.core.tenant_topics import PER_TENANT, responses_topic
from streams.front_door.bridge_librdkafka import LibrdkafkaBridge
from streams.services.topics import ensure_topics, front_door_topics

pytestmark = pytest.mark.integration


async def test_started_on_topics_just_created_it_publishes_and_reads_their_answers(
        kafka: Stack) -> None:
    """Its start reads the answer partitions' ends, which a topic just created may not give
    yet (no leader for a moment); then a request is acknowledged and its answer handed over."""
    tenant = f"t{uuid.uuid4().hex[:8]}"
    admin = kafka_connection(kafka.settings, "admin")  # may read and write a new tenant's topics
    await ensure_topics(admin, front_door_topics(PER_TENANT, [tenant]))
    bridge = LibrdkafkaBridge(admin, [tenant], PER_TENANT)
    await bridge.start()
    producer = AIOKafkaProducer(**admin.client_options())
    await producer.start()
    try:
        request_id = f"rdk-{uuid.uuid4().hex[:8]}"
        events = await bridge.send({"id": request_id, "tenant": tenant, "messages": []})
        response = {"id": request_id, "status": "answered", "tenant": tenant}
        await producer.send_and_wait(responses_topic(tenant), json.dumps(response).encode(),
                                     key=request_id.encode())
        assert await asyncio.wait_for(events.get(), 60) == ("final", response)
        assert bridge.reading_answers
    finally:
        await producer.stop()
        await bridge.stop()
    assert not bridge.reading_answers


async def test_a_wrong_password_stops_its_start_naming_the_user_never_the_password(
        kafka: Stack) -> None:
    """librdkafka's own connection refused (not aiokafka's admin client, which the front door's
    start uses first): the error says what to check and repeats no password."""
    real = kafka_connection(kafka.settings, "front-door")
    wrong = "not-" + (real.security.password or "")
    connection = replace(real, security=replace(real.security, password=wrong))
    bridge = LibrdkafkaBridge(connection, ["city-of-lyon"], PER_TENANT)
    with pytest.raises(KafkaConnectError) as caught:
        await bridge.start()
    message = str(caught.value)
    # the refusal itself, seen at once, not the time-out of asking until START_TIMEOUT_S
    assert "(librdkafka) cannot connect" in message and "(_AUTHENTICATION)" in message
    assert f"refused the credentials of user {real.security.username!r}" in message
    assert wrong not in message and str(real.security.password) not in message
