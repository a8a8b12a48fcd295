"""How long douane's Kafka topics keep records, from the policy, through the admin API.

Each topic gets ``retention.ms`` from the policy and, derived from it, ``segment.ms``,
``file.delete.delay.ms`` and broker timestamps (``streams.core.retention`` says why each is
needed for the retention to hold while traffic flows). Applied when topics are created, when
the worker starts and after each policy reload; read back by ``douane retention status`` and
the integration tests.

``AlterConfigs`` (what aiokafka offers; it has no incremental variant) replaces a topic's whole
dynamic configuration, so the settings an operator put on a topic are read first and sent
back with douane's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from streams.core.retention import (
    LOG_APPEND_TIME,
    raw_topic_retention,
    topic_retention_settings,
    worst_case_on_disk_ms,
)
from streams.core.tenant_topics import (
    PER_TENANT,
    answer_topics,
    rejection_topics,
    request_topics,
)

log = structlog.get_logger(__name__)

RETENTION_CHECK = "log.retention.check.interval.ms"
_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs v1+ config_source: set on this topic


def retention_ms(policy: LoadedPolicy, layout: str = PER_TENANT) -> dict[str, int]:
    """``retention.ms`` for each of douane's topics under ``policy`` and the topic layout."""
    retention = raw_topic_retention(policy)
    shared = retention.shared_s * 1000
    tenants = sorted(policy.policy.tenant_ids)
    out = {name: shared for name in
           (*request_topics(layout, tenants), *answer_topics(layout, tenants),
            *rejection_topics(layout, tenants), REJECTED_TOPIC, DEAD_LETTER_TOPIC)}
    for provider_id, seconds in retention.per_provider_s.items():
        out[forward_topic(provider_id)] = seconds * 1000
    return out


def topic_settings(policy: LoadedPolicy, layout: str = PER_TENANT) -> dict[str, dict[str, str]]:
    """The retention settings of each of douane's topics, as Kafka topic configs."""
    return {name: topic_retention_settings(ms)
            for name, ms in retention_ms(policy, layout).items()}


@dataclass(frozen=True)
class TopicConfig:
    """A topic's configuration as the broker reports it."""

    values: dict[str, str]  # every setting in force, defaults included
    dynamic: dict[str, str]  # those set on the topic itself

    def number(self, name: str) -> int:
        return int(self.values[name])


async def apply_retention(kafka: KafkaConnection,
                          wanted_ms: Mapping[str, int]) -> dict[str, dict[str, str]]:
    """Give each existing topic of ``wanted_ms`` that retention and the settings it needs to
    hold; returns the settings of the topics that were changed."""
    return await apply_topic_settings(
        kafka, {name: topic_retention_settings(ms) for name, ms in wanted_ms.items()})


async def apply_topic_settings(kafka: KafkaConnection, wanted: Mapping[str, Mapping[str, str]]
                               ) -> dict[str, dict[str, str]]:
    """Set ``wanted`` on the existing topics where the broker has something else, keeping the
    other settings an operator gave a topic; returns what was changed."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "setting topic retention")
    try:
        existing = set(await admin.list_topics())
        names = [n for n in wanted if n in existing]
        current = await _read(admin, names)
        changed = {n: dict(wanted[n]) for n in names
                   if any(current[n].values.get(k) != v for k, v in wanted[n].items())}
        if changed:
            responses = await admin.alter_configs([
                ConfigResource(ConfigResourceType.TOPIC, name,
                               {**current[name].dynamic, **settings})
                for name, settings in changed.items()])
            for response in responses:
                for error_code, message, _type, name in response.resources:
                    if error_code:
                        raise RuntimeError(f"retention settings of topic {name} not set "
                                           f"(Kafka error {error_code}): {message}")
            log.info("topic retention set from policy", topics=changed)
        return changed
    finally:
        await admin.close()


async def read_retention(kafka: KafkaConnection, names: list[str]) -> dict[str, int]:
    """``retention.ms`` of the existing topics among ``names``."""
    return {name: config.number("retention.ms")
            for name, config in (await read_topic_configs(kafka, names)).items()}


async def read_topic_configs(kafka: KafkaConnection, names: list[str],
                             timeout_s: float = 60.0) -> dict[str, TopicConfig]:
    """The configuration of the existing topics among ``names``."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "reading topic retention", timeout_s)
    try:
        existing = set(await admin.list_topics())
        return await _read(admin, [n for n in names if n in existing])
    finally:
        await admin.close()


@dataclass(frozen=True)
class OnDisk:
    """How long the broker keeps douane's topics' records, from what it reports."""

    topics: dict[str, TopicConfig]
    # the largest log.retention.check.interval.ms of the brokers; None when not readable
    retention_check_ms: int | None
    check_problem: str | None  # why it could not be read

    def worst_case_ms(self, topic: str, assumed_check_ms: int) -> int | None:
        """The longest a record stays in the topic's files; None when a producer's clock
        decides (the topic keeps CreateTime timestamps)."""
        config = self.topics[topic]
        if config.values.get("message.timestamp.type") != LOG_APPEND_TIME:
            return None
        return worst_case_on_disk_ms(
            config.number("retention.ms"), config.number("segment.ms"),
            config.number("file.delete.delay.ms"),
            assumed_check_ms if self.retention_check_ms is None else self.retention_check_ms)


async def read_on_disk(kafka: KafkaConnection, names: list[str],
                       timeout_s: float = 60.0) -> OnDisk:
    """The retention settings of the existing topics among ``names`` and the brokers'
    retention check interval (which a principal without DescribeConfigs on the cluster
    cannot read: then ``check_problem`` says so)."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, "reading topic retention", timeout_s)
    try:
        existing = set(await admin.list_topics())
        topics = await _read(admin, [n for n in names if n in existing])
        brokers = [str(b["node_id"]) for b in (await admin.describe_cluster())["brokers"]]
        checks: list[int] = []
        problem: str | None = None
        for response in await admin.describe_configs([
                ConfigResource(ConfigResourceType.BROKER, node, {RETENTION_CHECK: None})
                for node in brokers]):
            for resource in response.resources:
                if resource[0]:
                    problem = f"Kafka error {resource[0]} on broker {resource[3]}: {resource[1]}"
                checks += [int(entry[1]) for entry in resource[4]
                           if entry[0] == RETENTION_CHECK and entry[1] is not None]
        if not checks and problem is None:
            problem = "no broker reported it"
        return OnDisk(topics, max(checks) if checks and problem is None else None, problem)
    finally:
        await admin.close()


async def _read(admin: Any, names: list[str]) -> dict[str, TopicConfig]:
    if not names:
        return {}
    responses = await admin.describe_configs([
        ConfigResource(ConfigResourceType.TOPIC, name, None) for name in names])
    out: dict[str, TopicConfig] = {}
    for response in responses:
        for error_code, message, _type, name, entries, *_rest in response.resources:
            if error_code:
                raise RuntimeError(f"configuration of topic {name} not readable "
                                   f"(Kafka error {error_code}): {message}")
            values: dict[str, str] = {}
            dynamic: dict[str, str] = {}
            for entry in entries:
                key, value = entry[0], entry[1]
                if value is None:
                    continue
                values[key] = value
                # v0 reports is_default, later versions where the value comes from
                set_on_topic = (not entry[3] if response.API_VERSION == 0
                                else entry[3] == _DYNAMIC_TOPIC_CONFIG)
                if set_on_topic:
                    dynamic[key] = value
            out[name] = TopicConfig(values, dynamic)
    return out

