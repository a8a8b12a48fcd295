"""The worker's integration tests again, its Kafka clients on aiokafka
(``DOUANE_KAFKA_CLIENT=aiokafka``, ``streams/runtime/parallel_consumer.ParallelConsumer``), the
client that is not the default (librdkafka is; the rest of the suite runs on it) but stays
selectable: end to end, kill -9 with the window full, a broker restart under load, a slow
provider beside a fast one, kills between audit records and Kafka, a redelivered answer (the
response found on the partition murmur2 chose), a static member back after kill -9, three
workers of one group with one killed (rebalances), a tenant added while running (a new
subscription), the metrics (the consumer-lag gauge read through aiokafka).

For the tests of this module the session worker runs on aiokafka (checked: none of
librdkafka's ``rdk:*`` threads runs in it), and every worker a test starts gets the setting too
(checked in its start-up log line); afterwards the session worker is back on the default.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from stack import Stack, thread_names

# the tests, and the fixtures of their modules they use
from test_audit_faults import (  # noqa: F401
    test_audit_store_unavailable_holds_the_request_until_it_is_back,
    test_kill_9_between_admitted_record_and_forward_forwards_exactly_once,
    test_kill_9_between_forwarded_record_and_the_call_never_sends_twice,
    worker_stopped,
)
from test_kafka_security import (  # noqa: F401
    test_a_tenant_added_to_the_policy_gets_topics_and_acls_and_loses_them_removed,
)
from test_many_in_flight import (  # noqa: F401
    broker_back,
    probe,
    session_worker_stopped,
    test_a_broker_restart_under_load_loses_and_duplicates_nothing,
    test_a_slow_provider_does_not_hold_back_a_fast_one,
    test_kill_9_with_the_window_full_loses_nothing_and_sends_nothing_twice,
)
from test_many_workers_postgres import (  # noqa: F401
    test_three_workers_one_killed_give_one_response_each_in_one_verified_log,
    three_workers,
)
from test_observability import (  # noqa: F401
    observed_worker,
    test_metrics_after_real_traffic_and_readiness_following_the_worker,
)
from test_pipeline_on_kafka import (  # noqa: F401
    test_a_request_id_seen_twice_is_forwarded_once_and_its_copy_recorded,
    test_audit_verify_command_passes_then_names_the_tampered_record,
    test_bad_input_is_rejected_precisely_and_the_worker_carries_on,
    test_personal_data_never_reaches_the_model,
)
from test_redelivered_answer import (  # noqa: F401
    test_a_forward_message_delivered_again_after_the_answer_gets_one_response,
)
from test_worker_restart import (  # noqa: F401
    own_broker,
    test_a_static_member_restarted_after_kill_9_answers_at_once,
)

pytestmark = pytest.mark.integration
VAR = "DOUANE_KAFKA_CLIENT"
CLIENT = "aiokafka"


def started_on(text: str) -> list[str]:
    """The Kafka client named by each "worker starting" line of a worker's log."""
    clients = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "worker starting":
            clients.append(str(entry.get("kafka_client")))
    return clients


@pytest_asyncio.fixture(scope="module", autouse=True)
async def session_worker_on_aiokafka(douane: Stack) -> AsyncIterator[Stack]:
    before_env, before_os = douane.env.get(VAR), os.environ.get(VAR)
    douane.env[VAR] = os.environ[VAR] = CLIENT  # the stacks of tests that make their own
    douane.stop("worker")
    process = douane.start("worker", "worker")
    assert await probe(douane), douane.log_text("worker")[-3000:]
    # librdkafka's own threads are named rdk:main, rdk:broker<n>...: an aiokafka worker has
    # none (nothing in it uses librdkafka, the check for a published response neither)
    names = thread_names(process.pid)
    assert names and not any(name.startswith("rdk:") for name in names), names
    try:
        yield douane
    finally:
        for name, value in ((douane.env, before_env), (os.environ, before_os)):
            if value is None:
                name.pop(VAR, None)
            else:
                name[VAR] = value
        douane.stop("worker")
        douane.start("worker", "worker")
        assert await probe(douane), douane.log_text("worker")[-3000:]


@pytest.fixture(autouse=True)
def every_worker_on_aiokafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each worker started during the test said it ran on aiokafka."""
    base = tmp_path_factory.getbasetemp()
    before = {log: log.stat().st_size for log in base.rglob("logs/*.log")}
    yield
    for log in base.rglob("logs/*.log"):
        with log.open("rb") as handle:
            handle.seek(before.get(log, 0))
            written = handle.read().decode(errors="replace")
        # only the starts written since the test began (a log may be appended to)
        assert set(started_on(written)) <= {CLIENT}, log
