"""The front door's tests of ``test_front_door.py`` again, its Kafka clients on librdkafka
(``DOUANE_KAFKA_CLIENT=librdkafka``, ``streams/front_door/bridge_librdkafka.py``): a second
front door on the session's broker and worker, checked to run librdkafka's threads."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from stack import Stack, thread_names

# the same tests, collected here with the front door below (the flood test starts a front door
# of its own with the stack's settings: it stays in test_front_door.py only)
from test_front_door import (  # noqa: F401
    test_a_blocked_request_gets_the_policy_reasons_in_openai_format,
    test_a_body_over_the_message_limit_gets_413_whether_its_length_is_sent_or_not,
    test_a_key_revoked_while_the_front_door_runs_is_refused_at_once,
    test_a_missing_or_wrong_key_gets_401_with_a_clear_message,
    test_a_timeout_of_zero_is_refused_naming_the_header,
    test_an_answer_later_than_the_timeout_gets_504_and_is_still_audited,
    test_an_openai_sdk_application_gets_a_governed_answer,
    test_models_lists_what_the_callers_policy_allows,
    test_streaming_with_the_sdk_first_words_before_the_whole_answer,
)

from streams.adapters.kafka_security import KafkaConnectError, kafka_connection
from streams.core.tenant_topics import PER_TENANT, responses_topic
from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port
from streams.front_door.bridge_librdkafka import LibrdkafkaBridge
from streams.front_door.keys import KeyStore, keys_path
from streams.services.topics import ensure_topics, front_door_topics

pytestmark = pytest.mark.integration
NAME = "front-door-librdkafka"


@pytest_asyncio.fixture(scope="module")
async def front_door(douane: Stack) -> AsyncIterator[tuple[str, str]]:
    key, _ = KeyStore(keys_path(douane.settings.home)).add("city-of-lyon", "librdkafka")
    port = free_port()
    process = douane.start(NAME, "front-door", "--port", str(port), "--timeout", "60",
                           env={"DOUANE_KAFKA_CLIENT": "librdkafka"})
    await wait_http(f"http://127.0.0.1:{port}/healthz")
    # librdkafka's own threads are named rdk:main, rdk:broker<n>...
    assert any(name.startswith("rdk:") for name in thread_names(process.pid)), \
        douane.log_text(NAME)[-2000:]
    yield f"http://127.0.0.1:{port}/v1", key
    douane.stop(NAME)


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
