"""douane's Kafka topics: which exist, creating them, their partitions and retention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from streams.adapters.kafka_security import KafkaConnection, start_client
from streams.adapters.topic_retention import apply_topic_settings, topic_settings
from streams.config import (
    DEAD_LETTER_TOPIC,
    REJECTED_TOPIC,
    forward_topic,
)
from streams.core.loaded_policy import LoadedPolicy
from streams.core.tenant_topics import (
    PER_TENANT,
    answer_topics,
    rejection_topics,
    request_topics,
)
from streams.errors import DouaneError

log = structlog.get_logger(__name__)
DEFAULT_TOPIC_PARTITIONS = 12


def front_door_topics(layout: str, tenants: list[str]) -> list[str]:
    """What the front door publishes to and reads from, for the tenants it serves."""
    return [*request_topics(layout, tenants), *answer_topics(layout, tenants)]


def topic_names(policy: LoadedPolicy, layout: str = PER_TENANT) -> list[str]:
    tenants = sorted(policy.policy.tenant_ids)
    return [*request_topics(layout, tenants), *answer_topics(layout, tenants),
            *rejection_topics(layout, tenants), REJECTED_TOPIC, DEAD_LETTER_TOPIC,
            *(forward_topic(p.id) for p in policy.policy.providers)]


def consumed_topics(policy: LoadedPolicy, layout: str = PER_TENANT) -> list[str]:
    """What the worker reads: the request topics of the policy's tenants and the forward
    topics of its providers (a tenant removed from the policy is no longer read)."""
    return [*request_topics(layout, sorted(policy.policy.tenant_ids)),
            *(forward_topic(p.id) for p in policy.policy.providers)]


async def ensure_topics(kafka: KafkaConnection, names: list[str],
                        partitions: int = DEFAULT_TOPIC_PARTITIONS,
                        settings: Mapping[str, Mapping[str, str]] | None = None,
                        replication_factor: int = 1) -> None:
    """Create douane's topics if missing, and give existing ones more partitions if they have
    fewer than ``partitions`` (Kafka can add partitions, never remove them). The partition
    count is how many workers can share a topic: a worker more than that stays idle.

    A topic created here gets its ``settings`` (retention: :func:`topic_settings`) at once, so
    no record waits under Kafka's week-long defaults for the worker to set them.

    ``replication_factor`` (``DOUANE_TOPIC_REPLICATION_FACTOR``): 1 suits the single local
    broker; a real cluster wants 3, so that one broker lost loses no message. A topic the
    broker refuses to create (too few brokers for the factor, a denied ACL) is an error naming
    the topic and Kafka's reason: aiokafka returns such refusals instead of raising them."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "creating douane's topics")
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            response = await admin.create_topics([
                NewTopic(n, partitions, replication_factor,
                         topic_configs=dict((settings or {}).get(n, {})))
                for n in missing])
            refused = creation_refusals(response.topic_errors)
            if refused:
                raise TopicsNotCreatedError(
                    "Kafka refused to create douane's topics (replication factor "
                    f"{replication_factor}, {partitions} partitions): " + "; ".join(refused))
            log.info("topics created", topics=missing, partitions=partitions,
                     replication_factor=replication_factor)
        described = await admin.describe_topics([n for n in names if n in existing])
        grow = {t["topic"]: NewPartitions(partitions) for t in described
                if len(t["partitions"]) < partitions}
        if grow:
            await admin.create_partitions(grow)
            log.info("topics given more partitions", topics=sorted(grow), partitions=partitions)
    finally:
        await admin.close()


class TopicsNotCreatedError(DouaneError):
    """The broker refused to create one of douane's topics."""


def creation_refusals(topic_errors: Iterable[tuple[Any, ...]]) -> list[str]:
    """'<topic>: <Kafka error> (<its message>)' for each topic a CreateTopics response refused;
    a topic that already exists (another worker created it meanwhile) is not a refusal."""
    refusals = []
    for topic, code, *message in topic_errors:
        if code in (0, TopicAlreadyExistsError.errno):
            continue
        detail = f" ({message[0]})" if message and message[0] else ""
        refusals.append(f"{topic}: {for_code(code).__name__}{detail}")
    return refusals


async def prepare_topics(kafka: KafkaConnection, policy: LoadedPolicy,
                         partitions: int = DEFAULT_TOPIC_PARTITIONS,
                         layout: str = PER_TENANT, replication_factor: int = 1) -> None:
    """Create douane's topics and set their retention from the policy."""
    wanted = topic_settings(policy, layout)
    await ensure_topics(kafka, topic_names(policy, layout), partitions, wanted,
                        replication_factor)
    await apply_topic_settings(kafka, wanted)
