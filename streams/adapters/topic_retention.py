"""Kafka topic retention from the policy, through the admin API (``retention.ms``).

Applied when the worker starts and after each policy reload; read back by the integration
tests. douane owns its topics: ``AlterConfigs`` (what aiokafka offers) replaces a topic's
dynamic configuration, so only ``retention.ms`` is ever set on them.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.adapters.kafka_security import KafkaConnection, start_client
from streams.config import (
    DEAD_LETTER_TOPIC,
    REJECTED_TOPIC,
    forward_topic,
)
from streams.core.loaded_policy import LoadedPolicy
from streams.core.retention import raw_topic_retention
from streams.core.tenant_topics import PER_TENANT, answer_topics, request_topics

log = structlog.get_logger(__name__)


def retention_ms(policy: LoadedPolicy, layout: str = PER_TENANT) -> dict[str, int]:
    """``retention.ms`` for each of douane's topics under ``policy`` and the topic layout."""
    retention = raw_topic_retention(policy)
    shared = retention.shared_s * 1000
    tenants = sorted(policy.policy.tenant_ids)
    out = {name: shared for name in
           (*request_topics(layout, tenants), *answer_topics(layout, tenants), REJECTED_TOPIC,
            DEAD_LETTER_TOPIC)}
    for provider_id, seconds in retention.per_provider_s.items():
        out[forward_topic(provider_id)] = seconds * 1000
    return out


async def apply_retention(kafka: KafkaConnection, wanted: dict[str, int]) -> dict[str, int]:
    """Set ``retention.ms`` on existing topics where it differs; returns what was changed."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "setting topic retention")
    try:
        existing = set(await admin.list_topics())
        names = [n for n in wanted if n in existing]
        current = await _read(admin, names)
        changed = {n: wanted[n] for n in names if current.get(n) != wanted[n]}
        if changed:
            responses = await admin.alter_configs([
                ConfigResource(ConfigResourceType.TOPIC, name, {"retention.ms": str(ms)})
                for name, ms in changed.items()])
            for response in responses:
                for error_code, message, _type, name in response.resources:
                    if error_code:
                        raise RuntimeError(f"retention.ms of {name} not set: {message}")
            log.info("topic retention set from policy", topics=changed)
        return changed
    finally:
        await admin.close()


async def read_retention(kafka: KafkaConnection, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "reading topic retention")
    try:
        return await _read(admin, names)
    finally:
        await admin.close()


async def _read(admin: Any, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    responses = await admin.describe_configs([
        ConfigResource(ConfigResourceType.TOPIC, name, {"retention.ms": None})
        for name in names])
    out: dict[str, int] = {}
    for response in responses:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] == "retention.ms" and entry[1] is not None:
                    out[name] = int(entry[1])
    return out
