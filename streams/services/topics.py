"""douane's Kafka topics: which exist, creating them, their partitions and retention."""

from __future__ import annotations

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

from streams.adapters.kafka_security import KafkaConnection, start_client
from streams.adapters.topic_retention import apply_retention, retention_ms
from streams.config import (
    DEAD_LETTER_TOPIC,
    REJECTED_TOPIC,
    REQUESTS_TOPIC,
    RESPONSE_CHUNKS_TOPIC,
    RESPONSES_TOPIC,
    forward_topic,
)
from streams.core.policy import LoadedPolicy

log = structlog.get_logger(__name__)
DEFAULT_TOPIC_PARTITIONS = 12
# what the front door publishes to and reads from
FRONT_DOOR_TOPICS = (REQUESTS_TOPIC, RESPONSES_TOPIC, RESPONSE_CHUNKS_TOPIC)


def topic_names(policy: LoadedPolicy) -> list[str]:
    return [REQUESTS_TOPIC, RESPONSES_TOPIC, RESPONSE_CHUNKS_TOPIC, REJECTED_TOPIC,
            DEAD_LETTER_TOPIC, *(forward_topic(p.id) for p in policy.policy.providers)]


async def ensure_topics(kafka: KafkaConnection, names: list[str],
                        partitions: int = DEFAULT_TOPIC_PARTITIONS) -> None:
    """Create douane's topics if missing, and give existing ones more partitions if they have
    fewer than ``partitions`` (Kafka can add partitions, never remove them). The partition
    count is how many workers can share a topic: a worker more than that stays idle."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "creating douane's topics")
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            await admin.create_topics([NewTopic(n, partitions, 1) for n in missing])
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
                         partitions: int = DEFAULT_TOPIC_PARTITIONS) -> None:
    """Create douane's topics and set their retention from the policy."""
    await ensure_topics(kafka, topic_names(policy), partitions)
    await apply_retention(kafka, retention_ms(policy))
