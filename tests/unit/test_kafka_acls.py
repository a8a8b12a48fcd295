"""The ACL layout the worker and the local broker apply (and an existing cluster copies)."""

from __future__ import annotations

from streams import config
from streams.core import kafka_acls as acls
from streams.core import tenant_topics as topics
from streams.core.kafka_acls import Operation, PatternType, ResourceType


def grants(principal: str, layout: str = topics.PER_TENANT,
           front_door_tenants: list[str] | None = None) -> set[tuple[str, str, str, str]]:
    return {(a.resource_type.name, a.resource_name, a.pattern.name, a.operation.name)
            for a in acls.acl_layout(["city-of-lyon", "tax-office"], layout, front_door_tenants)
            if a.principal == f"User:{principal}"}


def test_the_topic_names_are_douanes() -> None:
    assert (topics.REQUESTS, topics.RESPONSES, topics.RESPONSE_CHUNKS) == (
        config.REQUESTS_TOPIC, config.RESPONSES_TOPIC, config.RESPONSE_CHUNKS_TOPIC)
    assert config.forward_topic("x").startswith(acls.TOPIC_PREFIX)
    assert config.DEAD_LETTER_TOPIC.startswith(acls.TOPIC_PREFIX)
    assert topics.request_topic("x").startswith(acls.TOPIC_PREFIX)
    assert "douane-it".startswith(acls.WORKER_GROUP_PREFIX)  # the tests' DOUANE_APP_ID


def test_a_tenant_writes_its_requests_and_reads_its_answers_only() -> None:
    assert grants("tenant-city-of-lyon") == {
        ("TOPIC", "douane.requests.city-of-lyon", "LITERAL", "WRITE"),
        ("TOPIC", "douane.responses.city-of-lyon", "LITERAL", "READ"),
        ("TOPIC", "douane.responses.chunks.city-of-lyon", "LITERAL", "READ"),
        ("GROUP", "tenant-city-of-lyon.", "PREFIXED", "READ"),
    }


def test_in_the_single_layout_a_tenant_may_only_publish_requests() -> None:
    assert grants("tenant-city-of-lyon", topics.SINGLE) == {
        ("TOPIC", "douane.requests", "LITERAL", "WRITE")}


def test_the_front_door_writes_requests_and_reads_answers_of_the_tenants_it_serves() -> None:
    served = {(name, op) for kind, name, _p, op in grants("douane-front-door", topics.PER_TENANT,
                                                          ["tax-office"]) if kind == "TOPIC"}
    assert served == {(f"douane.{kind}.tax-office", op)
                      for kind, ops in (("requests", ("WRITE", "CREATE")),
                                        ("responses", ("READ", "CREATE")),
                                        ("responses.chunks", ("READ", "CREATE")))
                      for op in ops}
    single = {(name, op) for kind, name, _p, op in grants("douane-front-door", topics.SINGLE)
              if kind == "TOPIC"}
    assert single == {("douane.requests", "WRITE"), ("douane.requests", "CREATE"),
                      ("douane.responses", "READ"), ("douane.responses", "CREATE"),
                      ("douane.responses.chunks", "READ"),
                      ("douane.responses.chunks", "CREATE")}


def test_the_front_door_may_describe_the_workers_group_but_not_join_it() -> None:
    """Its readiness asks the broker whether the workers' group consumes its topics."""
    groups = {(name, pattern, op) for kind, name, pattern, op in grants("douane-front-door")
              if kind == "GROUP"}
    assert groups == {("douane-front-door", "PREFIXED", "READ"),
                      ("douane", "PREFIXED", "DESCRIBE")}


def test_only_the_worker_reads_requests_and_touches_forward_topics() -> None:
    layout = acls.acl_layout(["city-of-lyon"])
    prefixed = [a for a in layout if a.resource_type == ResourceType.TOPIC
                and a.pattern == PatternType.PREFIXED]
    assert {a.principal for a in prefixed} == {"User:douane-worker"}
    readers = {a.principal for a in layout if a.resource_type == ResourceType.TOPIC
               and a.operation == Operation.READ and a.resource_name.startswith(topics.REQUESTS)}
    assert readers == set()  # only through the worker's prefix grant
    assert ("GROUP", "douane", "PREFIXED", "READ") in grants("douane-worker")
    assert not any(a.resource_name.startswith(("douane.forward", "douane.rejected",
                                               "douane.dead-letter"))
                   for a in layout if a.principal != "User:douane-worker")


def test_the_layout_grows_with_the_tenants() -> None:
    per_tenant = len(acls.tenant_acls("a"))
    assert len(acls.acl_layout(["a", "b"])) == len(acls.acl_layout(["a"])) + per_tenant + 6
    assert acls.acl_layout(["a", "a"]) == acls.acl_layout(["a"])


def test_topic_names_and_the_tenant_they_carry() -> None:
    assert topics.tenant_of_request_topic("douane.requests.city-of-lyon") == "city-of-lyon"
    for other in ("douane.requests", "douane.requests.", "douane.requests.A",
                  "douane.requests.a.b", "douane.responses.a", "xdouane.requests.a"):
        assert topics.tenant_of_request_topic(other) is None
    assert topics.answer_topic(topics.PER_TENANT, None) is None
    assert topics.answer_topic(topics.PER_TENANT, "a", chunks=True) == "douane.responses.chunks.a"
    assert topics.answer_topic(topics.SINGLE, "a") == "douane.responses"
    assert acls.is_douane_principal("User:tenant-a")
    assert not acls.is_douane_principal("User:douane-admin")
    assert not acls.is_douane_principal("User:someone-else")


def test_the_layout_is_per_tenant_unless_single_is_asked_for() -> None:
    from streams.config import SettingError, load_settings

    assert load_settings({}).topic_layout == topics.PER_TENANT
    assert load_settings({"DOUANE_TOPIC_LAYOUT": "single"}).topic_layout == topics.SINGLE
    try:
        load_settings({"DOUANE_TOPIC_LAYOUT": "shared"})
    except SettingError as error:
        assert "DOUANE_TOPIC_LAYOUT='shared'" in str(error) and "per-tenant" in str(error)
    else:
        raise AssertionError("an unknown layout was accepted")
