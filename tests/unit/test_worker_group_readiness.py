"""The front door's verdict on the workers' group, from what DescribeGroups returns."""

from __future__ import annotations

from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from streams.front_door.readiness import GroupView, unconsumed

TOPICS = ("douane.requests.city-of-lyon", "douane.requests.tax-office")


def assignment(*pairs: tuple[str, list[int]]) -> bytes:
    """A member's assignment, encoded as the broker returns it."""
    encoded: bytes = ConsumerProtocolMemberAssignment(0, list(pairs), b"").encode()
    return encoded


def test_ready_when_the_members_together_consume_every_request_topic() -> None:
    view = GroupView("Stable", (
        assignment(("douane.requests.city-of-lyon", [0, 1])),
        assignment(("douane.requests.tax-office", [0]), ("douane.forward.x", [3]))))
    assert unconsumed(view, TOPICS) == []


def test_a_topic_no_member_was_given_is_named() -> None:
    view = GroupView("Stable", (assignment(("douane.requests.city-of-lyon", [0]),
                                           ("douane.requests.tax-office", [])),))
    assert unconsumed(view, TOPICS) == ["douane.requests.tax-office"]


def test_an_empty_or_dead_group_consumes_nothing() -> None:
    assert unconsumed(GroupView("Empty", ()), TOPICS) == sorted(TOPICS)
    assert unconsumed(GroupView("Dead", ()), TOPICS) == sorted(TOPICS)


def test_no_verdict_while_the_group_rebalances() -> None:
    assert unconsumed(GroupView("PreparingRebalance", ()), TOPICS) is None
    assert unconsumed(GroupView("CompletingRebalance", (b"",)), TOPICS) is None
