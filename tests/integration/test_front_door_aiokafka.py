"""The front door's tests of ``test_front_door.py`` again, its Kafka clients on aiokafka
(``DOUANE_KAFKA_CLIENT=aiokafka``, ``streams/front_door/bridge.py``), the client that is not the
default (librdkafka is) but stays selectable: a second front door on the session's broker and
worker, checked to run none of librdkafka's threads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
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

from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port
from streams.front_door.keys import KeyStore, keys_path

pytestmark = pytest.mark.integration
NAME = "front-door-aiokafka"


@pytest_asyncio.fixture(scope="module")
async def front_door(douane: Stack) -> AsyncIterator[tuple[str, str]]:
    key, _ = KeyStore(keys_path(douane.settings.home)).add("city-of-lyon", "aiokafka")
    port = free_port()
    process = douane.start(NAME, "front-door", "--port", str(port), "--timeout", "60",
                           env={"DOUANE_KAFKA_CLIENT": "aiokafka"})
    await wait_http(f"http://127.0.0.1:{port}/healthz")
    # librdkafka's own threads are named rdk:main, rdk:broker<n>...: none on aiokafka
    names = thread_names(process.pid)
    assert names and not any(name.startswith("rdk:") for name in names), names
    yield f"http://127.0.0.1:{port}/v1", key
    douane.stop(NAME)
