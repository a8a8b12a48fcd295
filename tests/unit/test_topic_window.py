"""The window of each consumed topic (``streams.app.topic_window``): kept per policy set, and
worked out again once another set is in force."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from streams.app import topic_window
from streams.config import FORWARD_TOPIC_PREFIX


def policy_with(**limits: int | None) -> Any:
    providers = [SimpleNamespace(id=name, max_in_flight=limit) for name, limit in limits.items()]
    return SimpleNamespace(policy=SimpleNamespace(providers=providers))


def test_a_provider_topic_gets_its_limit_and_other_topics_the_worker_window() -> None:
    pipeline = SimpleNamespace(policy=policy_with(slow=2, open=None))
    window = topic_window(SimpleNamespace(max_in_flight=64), pipeline)  # type: ignore[arg-type]
    assert window(FORWARD_TOPIC_PREFIX + "slow") == 2
    assert window(FORWARD_TOPIC_PREFIX + "open") == 64
    assert window(FORWARD_TOPIC_PREFIX + "unknown") == 64
    assert window("douane.requests.city-of-lyon") == 64
    # never above the worker's own window
    wide = topic_window(SimpleNamespace(max_in_flight=1), pipeline)  # type: ignore[arg-type]
    assert wide(FORWARD_TOPIC_PREFIX + "slow") == 1


def test_a_policy_put_in_force_changes_the_windows_at_the_next_question() -> None:
    pipeline = SimpleNamespace(policy=policy_with(slow=2))
    window = topic_window(SimpleNamespace(max_in_flight=64), pipeline)  # type: ignore[arg-type]
    assert window(FORWARD_TOPIC_PREFIX + "slow") == 2
    assert window(FORWARD_TOPIC_PREFIX + "slow") == 2  # asked again: the kept answer
    pipeline.policy = policy_with(slow=5)  # what Pipeline.replace_policy does
    assert window(FORWARD_TOPIC_PREFIX + "slow") == 5
    pipeline.policy = policy_with(slow=None)
    assert window(FORWARD_TOPIC_PREFIX + "slow") == 64
