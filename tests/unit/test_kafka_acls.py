"""The ACL layout the local broker applies (and an existing cluster copies)."""

from __future__ import annotations

from streams import config
from streams.core import kafka_acls as acls
from streams.core.kafka_acls import Operation, PatternType, ResourceType


def grants(principal: str) -> set[tuple[str, str, str, str]]:
    return {(a.resource_type.name, a.resource_name, a.pattern.name, a.operation.name)
            for a in acls.acl_layout(["city-of-lyon", "tax-office"])
            if a.principal == f"User:{principal}"}


def test_the_topic_names_are_douanes() -> None:
    assert (acls.REQUESTS, acls.RESPONSES, acls.RESPONSE_CHUNKS) == (
        config.REQUESTS_TOPIC, config.RESPONSES_TOPIC, config.RESPONSE_CHUNKS_TOPIC)
    assert config.forward_topic("x").startswith(acls.TOPIC_PREFIX)
    assert config.DEAD_LETTER_TOPIC.startswith(acls.TOPIC_PREFIX)
    assert "douane-it".startswith(acls.WORKER_GROUP_PREFIX)  # the tests' DOUANE_APP_ID


def test_a_tenant_may_only_publish_requests() -> None:
    assert grants("tenant-city-of-lyon") == {("TOPIC", "douane.requests", "LITERAL", "WRITE")}


def test_the_front_door_writes_requests_and_reads_answers_only() -> None:
    topics = {(name, op) for kind, name, _p, op in grants("douane-front-door")
              if kind == "TOPIC"}
    assert topics == {("douane.requests", "WRITE"), ("douane.requests", "CREATE"),
                      ("douane.responses", "READ"), ("douane.responses", "CREATE"),
                      ("douane.responses.chunks", "READ"),
                      ("douane.responses.chunks", "CREATE")}


def test_only_the_worker_reads_requests_and_touches_forward_topics() -> None:
    layout = acls.acl_layout(["city-of-lyon"])
    prefixed = [a for a in layout if a.resource_type == ResourceType.TOPIC
                and a.pattern == PatternType.PREFIXED]
    assert {a.principal for a in prefixed} == {"User:douane-worker"}
    readers = {a.principal for a in layout if a.resource_type == ResourceType.TOPIC
               and a.operation == Operation.READ and a.resource_name == acls.REQUESTS}
    assert readers == set()  # only through the worker's prefix grant
    assert ("GROUP", "douane", "PREFIXED", "READ") in grants("douane-worker")


def test_the_layout_grows_with_the_tenants() -> None:
    assert len(acls.acl_layout(["a", "b"])) == len(acls.acl_layout(["a"])) + 1
    assert acls.acl_layout(["a", "a"]) == acls.acl_layout(["a"])
