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


def test_a_tenant_writes_its_requests_and_reads_its_answers_and_rejections_only() -> None:
    assert grants("tenant-city-of-lyon") == {
        ("TOPIC", "douane.requests.city-of-lyon", "LITERAL", "WRITE"),
        ("TOPIC", "douane.responses.city-of-lyon", "LITERAL", "READ"),
        ("TOPIC", "douane.responses.chunks.city-of-lyon", "LITERAL", "READ"),
        ("TOPIC", "douane.rejected.city-of-lyon", "LITERAL", "READ"),
        ("GROUP", "tenant-city-of-lyon.", "PREFIXED", "READ"),
    }


def test_only_its_tenant_and_the_worker_may_read_a_tenants_rejection_topic() -> None:
    """The tenant reads its own rejections (its own bytes); the operators' douane.rejected and
    another tenant's are none of its business, and the front door reads none (its requests
    always get a response)."""
    layout = acls.acl_layout(["city-of-lyon", "tax-office"])
    on_rejections = {(a.principal, a.resource_name, a.pattern.name, a.operation.name)
                     for a in layout if a.resource_type == ResourceType.TOPIC
                     and a.resource_name.startswith(topics.REJECTED)}
    assert on_rejections == {
        ("User:tenant-city-of-lyon", "douane.rejected.city-of-lyon", "LITERAL", "READ"),
        ("User:tenant-tax-office", "douane.rejected.tax-office", "LITERAL", "READ")}
    assert topics.rejected_topic("a").startswith(acls.TOPIC_PREFIX)  # the worker's prefix
    assert grants("tenant-city-of-lyon", topics.SINGLE) == {
        ("TOPIC", "douane.requests", "LITERAL", "WRITE")}


def test_rejections_go_to_the_topic_of_the_tenant_that_can_be_told() -> None:
    assert topics.REJECTED == config.REJECTED_TOPIC
    assert topics.rejection_topic(topics.PER_TENANT, "a") == "douane.rejected.a"
    assert topics.rejection_topic(topics.PER_TENANT, None) == "douane.rejected"
    assert topics.rejection_topic(topics.SINGLE, "a") == "douane.rejected"
    assert topics.rejection_topics(topics.PER_TENANT, ["a", "b"]) == [
        "douane.rejected.a", "douane.rejected.b"]
    assert topics.rejection_topics(topics.SINGLE, ["a", "b"]) == []
    assert topics.tenant_of_request_topic("douane.rejected.a") is None


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
    assert not any(a.resource_name.startswith(("douane.forward", "douane.dead-letter"))
                   or a.resource_name == "douane.rejected"
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


def test_each_tenants_rejection_topic_is_created_with_the_request_topics_retention() -> None:
    """Created (and given its retention) at start and at each reload, as the tenant's other
    topics: from the policy's tenants."""
    from streams.adapters.policy_files import load_policy_set
    from streams.adapters.topic_retention import retention_ms
    from streams.services.topics import consumed_topics, topic_names

    policy = load_policy_set(config.project_root() / "policies")
    tenants = sorted(policy.policy.tenant_ids)
    names = topic_names(policy)
    assert {topics.rejected_topic(t) for t in tenants} <= set(names)
    assert config.REJECTED_TOPIC in names  # what no tenant can be told
    assert not any(t.startswith(topics.REJECTED) for t in consumed_topics(policy))
    kept = retention_ms(policy)
    assert {kept[topics.rejected_topic(t)] for t in tenants} == {
        kept[topics.request_topic(tenants[0])]}
    single = topic_names(policy, topics.SINGLE)
    assert [t for t in single if t.startswith(topics.REJECTED)] == [config.REJECTED_TOPIC]
