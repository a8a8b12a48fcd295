"""douane's Kafka topics: which exist, creating them, their partitions and retention."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

from streams.adapters.kafka_security import KafkaConnection, start_client
from streams.adapters.topic_retention import apply_topic_settings, topic_settings
from streams.config import (
    DEAD_LETTER_TOPIC,
    REJECTED_TOPIC,
    forward_topic,
)
from streams.core.loaded_policy import LoadedPolicy
from streams.core.tenant_topics import PER_TENANT, answer_topics, request_topics

log = structlog.get_logger(__name__)
DEFAULT_TOPIC_PARTITIONS = 12


def front_door_topics(layout: str, tenants: list[str]) -> list[str]:
    """What the front door publishes to and reads from, for the tenants it serves."""
    return [*request_topics(layout, tenants), *answer_topics(layout, tenants)]


def topic_names(policy: LoadedPolicy, layout: str = PER_TENANT) -> list[str]:
    tenants = sorted(policy.policy.tenant_ids)
    return [*request_topics(layout, tenants), *answer_topics(layout, tenants), REJECTED_TOPIC,
            DEAD_LETTER_TOPIC, *(forward_topic(p.id) for p in policy.policy.providers)]


def consumed_topics(policy: LoadedPolicy, layout: str = PER_TENANT) -> list[str]:
    """What the worker reads: the request topics of the policy's tenants and the forward
    topics of its providers (a tenant removed from the policy is no longer read)."""
    return [*request_topics(layout, sorted(policy.policy.tenant_ids)),
            *(forward_topic(p.id) for p in policy.policy.providers)]


async def ensure_topics(kafka: KafkaConnection, names: list[str],
                        partitions: int = DEFAULT_TOPIC_PARTITIONS,
                        settings: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Create douane's topics if missing, and give existing ones more partitions if they have
    fewer than ``partitions`` (Kafka can add partitions, never remove them). The partition
    count is how many workers can share a topic: a worker more than that stays idle.

    A topic created here gets its ``settings`` (retention: :func:`topic_settings`) at once, so
    no record waits under Kafka's week-long defaults for the worker to set them."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "creating douane's topics")
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            await admin.create_topics([
                NewTopic(n, partitions, 1, topic_configs=dict((settings or {}).get(n, {})))
                for n in missing])
            log.info("topics created", topics=missing, partitions=partitions)
        described = await admin.describe_topics([n for n in names if n in existing])
        grow = {t["topic"]: NewPartitions(partitions) for t in described
                if len(t["partitions"]) < partitions}
        if grow:
            await admin.create_partitions(grow)
            log.info("topics given more partitions", topics=sorted(grow), partitions=partitions)
    finally:
        await admin.close()


async def prepare_topics(kafka: KafkaConnection, policy: LoadedPolicy,
                         partitions: int = DEFAULT_TOPIC_PARTITIONS,
                         layout: str = PER_TENANT) -> None:
    """Create douane's topics and set their retention from the policy."""
    wanted = topic_settings(policy, layout)
    await ensure_topics(kafka, topic_names(policy, layout), partitions, wanted)
    await apply_topic_settings(kafka, wanted)
