"""A forward message delivered again after its answer was recorded (issue 13: the last loss
window).

The worker can be killed after the ``answered`` record is durable and before its offset is
committed; the broker then delivers the forward message again, from the same offset. If Kafka
had acknowledged the response before the kill, nothing is published again (exactly one
response); if it had not, the worker publishes the same response again, byte for byte (kept
encrypted in the vault). Either way no second call to the model and no second ``answered``
record. The redelivery is made deterministic, without a kill or any timing: once the request
is answered, the worker is stopped, its group's committed offset on the forward partition is
moved back to the request's forward message (the test's admin principal may), and the worker
is started again; "Kafka never had the response" is made by deleting the response's partition
up to its end (Kafka's DeleteRecords).
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from stack import KafkaClient, Stack, request, wait_until

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.config import forward_topic

pytestmark = pytest.mark.integration

PROVIDER = "sovereign-local"  # where the shipped policy sends a city-of-lyon request


async def forward_offset_of(consumer: AIOKafkaConsumer, request_id: str,
                            timeout_s: float) -> tuple[TopicPartition, int]:
    """Where the admit stage published the request's forward message."""
    found: list[tuple[TopicPartition, int]] = []

    async def seen() -> bool:
        batch = await consumer.getmany(timeout_ms=300)
        found.extend((partition, r.offset) for partition, records in batch.items()
                     for r in records if r.key == request_id.encode())
        return bool(found)

    await wait_until(seen, timeout_s, lambda: f"no forward message for {request_id}")
    return found[0]


async def deliver_again(stack: Stack, partition: TopicPartition, offset: int) -> None:
    """Move the workers' group back to ``offset`` on ``partition`` (the worker stopped)."""
    kafka = kafka_connection(stack.settings, "admin")
    group = AIOKafkaConsumer(**kafka.client_options(), group_id=stack.settings.app_id,
                             enable_auto_commit=False)
    await start_client(group, kafka, "the test's group client")
    group.assign([partition])
    try:
        async def committed() -> bool:
            try:  # a worker that had to be killed stays a member until its session ends
                await group.commit({partition: offset})
            except KafkaError:
                return False
            return True

        await wait_until(committed, 120, lambda: "the group's offset could not be moved",
                         poll_s=1)
    finally:
        await group.stop()


async def forget_responses_of(stack: Stack, topic: str, request_id: str,
                              partitions: set[int]) -> None:
    """Delete the partition the response of ``request_id`` went to (among ``partitions``, as
    the worker's producer knows them), up to its end."""
    kafka = kafka_connection(stack.settings, "admin")
    admin = AIOKafkaAdminClient(**kafka.client_options())
    reader = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await start_client(admin, kafka, "the test's admin client")
    await start_client(reader, kafka, "the test's end-offset reader")
    try:
        ordered = sorted(partitions)
        partition = TopicPartition(
            topic, DefaultPartitioner()(request_id.encode(), ordered, ordered))
        end = (await reader.end_offsets([partition]))[partition]
        await admin.delete_records({partition: RecordsToDelete(end)})
    finally:
        await reader.stop()
        await admin.close()


async def test_a_forward_message_delivered_again_after_the_answer_gets_one_response(
        douane: Stack) -> None:
    request_id = f"again-{uuid.uuid4().hex[:8]}"
    kafka = kafka_connection(douane.settings, "admin")
    forwards = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await start_client(forwards, kafka, "the test's forward-topic reader")
    try:
        async with KafkaClient(douane.settings) as client:
            topic = forward_topic(PROVIDER)
            partitions = [TopicPartition(topic, p)
                          for p in sorted(await client.producer.partitions_for(topic))]
            forwards.assign(partitions)
            await forwards.seek_to_end(*partitions)
            for partition in partitions:
                await forwards.position(partition)

            await client.publish(request(request_id, "Quels sont les horaires de la "
                                         "médiathèque le samedi ?"))
            partition, offset = await forward_offset_of(forwards, request_id, timeout_s=300)
            first = await client.responses({request_id}, timeout_s=300, settle_s=0)
            assert [r["status"] for r in first[request_id]] == ["answered"], first

            # as after a kill between the response's acknowledgement and the offset commit
            skipped = "its response is on its topic, not published again"
            before = douane.log_text("worker").count(skipped)
            douane.stop("worker")
            await deliver_again(douane, partition, offset)
            douane.start("worker", "worker")

            async def looked() -> bool:
                return douane.log_text("worker").count(skipped) > before

            await wait_until(looked, 600, lambda: "the redelivered forward message was not "
                             "handled\n" + douane.log_text("worker")[-3000:])
            assert len(await client.published_responses(request_id, 2, timeout_s=3)) == 1

            # as after a kill before Kafka had the response: it is not on its topic
            douane.stop("worker")
            answers = "douane.responses.city-of-lyon"
            await forget_responses_of(douane, answers, request_id,
                                      await client.producer.partitions_for(answers))
            await deliver_again(douane, partition, offset)
            douane.start("worker", "worker")

            again = await client.published_responses(request_id, 2, timeout_s=600)
            assert len(again) == 2, (
                f"the response was not published again ({len(again)} on the response topics)"
                "\n" + douane.log_text("worker")[-3000:])
            # nothing more comes: a third copy would be a second processing
            assert len(await client.published_responses(request_id, 3, timeout_s=3)) == 2

        assert again[1] == again[0]  # same topic, key and bytes
        assert again[0][0] == "douane.responses.city-of-lyon"
    finally:
        await forwards.stop()
        if "worker" not in douane.processes:
            douane.start("worker", "worker")

    received = await douane.stand_in().received_ids()
    assert received.count(request_id) == 1  # the model was asked once
    assert douane.audit_kinds([request_id]) == {
        request_id: ["admitted", "forwarded", "answered"]}
    verify = await douane.audit_verify()
    assert verify.returncode == 0, verify.stdout + verify.stderr
