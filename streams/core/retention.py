"""How long douane's Kafka topics may keep prompts: the policy's ``retention.raw_topics``.

A topic carries requests of many tenants and classifications, so it keeps data for the
*shortest* period any of them allows: the shared topics (requests, responses, rejected,
dead letters) take the minimum over every (tenant, purpose, classification) a request can
have; a provider's forward topic, the minimum over those that may be routed to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy_check import universe


@dataclass(frozen=True)
class TopicRetention:
    shared_s: int  # requests, responses, rejected, dead letters
    per_provider_s: dict[str, int]  # each provider's forward topic


def raw_topic_retention(loaded: LoadedPolicy) -> TopicRetention:
    shared: int | None = None
    per_provider: dict[str, int] = {}
    for point in universe(loaded.policy):
        resolution = loaded.resolve(*point)
        seconds = resolution.retention_s["raw_topics"]
        shared = seconds if shared is None else min(shared, seconds)
        for provider in resolution.candidates:
            per_provider[provider.id] = min(per_provider.get(provider.id, seconds), seconds)
    assert shared is not None  # a policy has at least one tenant
    return TopicRetention(shared, {p.id: per_provider.get(p.id, shared)
                                   for p in loaded.policy.providers})
