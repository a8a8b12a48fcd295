"""Kafka topic retention from the policy, through the admin API (``retention.ms``, and the
``segment.ms`` and ``file.delete.delay.ms`` without which retention does not hold under steady
traffic: see ``topic_configs``).

Applied when the worker starts and after each policy reload; read back by the integration
tests. douane owns its topics: ``AlterConfigs`` (what aiokafka offers) replaces a topic's
dynamic configuration, so exactly these three settings are set on them.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.config import (
    DEAD_LETTER_TOPIC,
    REJECTED_TOPIC,
    REQUESTS_TOPIC,
    RESPONSE_CHUNKS_TOPIC,
    RESPONSES_TOPIC,
    forward_topic,
)
from streams.core.policy import LoadedPolicy
from streams.core.retention import raw_topic_retention

log = structlog.get_logger(__name__)
MAX_DELETE_DELAY_MS = 60_000  # Kafka's default; shorter for shorter retention


def retention_ms(policy: LoadedPolicy) -> dict[str, int]:
    """``retention.ms`` for each of douane's topics under ``policy``."""
    retention = raw_topic_retention(policy)
    shared = retention.shared_s * 1000
    out = {name: shared for name in
           (REQUESTS_TOPIC, RESPONSES_TOPIC, RESPONSE_CHUNKS_TOPIC, REJECTED_TOPIC,
            DEAD_LETTER_TOPIC)}
    for provider_id, seconds in retention.per_provider_s.items():
        out[forward_topic(provider_id)] = seconds * 1000
    return out


def topic_configs(retention_ms: int) -> dict[str, str]:
    """What a topic needs so that nothing stays on disk much past ``retention_ms``: Kafka
    deletes whole closed segments only, and a segment that keeps receiving traffic stays open
    until ``segment.ms`` (7 days by default) closes it; a deleted segment's files then wait
    ``file.delete.delay.ms`` (1 minute by default). Worst case on disk: about twice the
    retention, plus the broker's retention check interval and the deletion delay."""
    return {"retention.ms": str(retention_ms), "segment.ms": str(retention_ms),
            "file.delete.delay.ms": str(min(retention_ms, MAX_DELETE_DELAY_MS))}


async def apply_retention(bootstrap: str, wanted: dict[str, int]) -> dict[str, int]:
    """Set each topic's retention (``topic_configs``) where it differs; returns what changed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [n for n in wanted if n in existing]
        current = await _read(admin, names)
        changed = {n: wanted[n] for n in names
                   if current.get(n) != topic_configs(wanted[n])}
        if changed:
            responses = await admin.alter_configs([
                ConfigResource(ConfigResourceType.TOPIC, name, topic_configs(ms))
                for name, ms in changed.items()])
            for response in responses:
                for error_code, message, _type, name in response.resources:
                    if error_code:
                        raise RuntimeError(f"retention of {name} not set: {message}")
            log.info("topic retention set from policy", topics=changed)
        return changed
    finally:
        await admin.close()


async def read_retention(bootstrap: str, names: list[str]) -> dict[str, int]:
    """``retention.ms`` of each topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {name: int(configs["retention.ms"])
                for name, configs in (await _read(admin, names)).items()
                if "retention.ms" in configs}
    finally:
        await admin.close()


async def read_topic_configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    """The retention settings (``topic_configs``' keys) of each topic, as the broker has them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await _read(admin, names)
    finally:
        await admin.close()


async def _read(admin: Any, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    keys = topic_configs(0)
    responses = await admin.describe_configs([
        ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(keys))
        for name in names])
    out: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] in keys and entry[1] is not None:
                    out.setdefault(name, {})[entry[0]] = str(entry[1])
    return out
