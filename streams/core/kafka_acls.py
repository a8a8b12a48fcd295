"""Who may do what on douane's Kafka topics: the ACL layout, as data.

Kafka does not tell a consumer who produced a record, so douane's border is drawn with
principals and ACLs, never with what a message says about itself. With
``allow.everyone.if.no.acl.found=false`` everything not listed here is denied. In the
per-tenant layout (the default; ``streams.core.tenant_topics``):

=====================  =================================================  =================
principal              topics (operations)                                groups
=====================  =================================================  =================
``douane-admin``       super user (broker, topic and ACL management)      all
``douane-worker``      ``douane.*`` prefixed (read, write, create,         ``douane*``
                       describe, alter, describe/alter configs)           prefixed (read)
``douane-front-door``  ``douane.requests.<t>`` (write, create),           ``douane-front-
                       ``douane.responses.<t>``, ``douane.responses.      door*`` (read),
                       chunks.<t>`` (read, create), for each tenant t     ``douane*``
                       it serves                                          prefixed (describe:
                                                                          its readiness)
``tenant-<t>``         ``douane.requests.<t>`` (write);                   ``tenant-<t>.``
                       ``douane.responses.<t>``,                          prefixed (read)
                       ``douane.responses.chunks.<t>``,
                       ``douane.rejected.<t>`` (read)
=====================  =================================================  =================

The front door reads no rejection topic: the ids it gives are its own and new, so each of its
requests gets a response (a ``rejected`` one if it could not be accepted).

In the single layout (``DOUANE_TOPIC_LAYOUT=single``) the front door writes
``douane.requests`` and reads ``douane.responses`` and ``douane.responses.chunks``; a tenant
may only write ``douane.requests`` (reading the shared responses topic would read every
tenant's answers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from streams.core.tenant_topics import (
    PER_TENANT,
    REQUESTS,
    RESPONSE_CHUNKS,
    RESPONSES,
    SINGLE,
    rejected_topic,
    request_topic,
    response_chunks_topic,
    responses_topic,
)

ADMIN = "douane-admin"
WORKER = "douane-worker"
FRONT_DOOR = "douane-front-door"
TENANT_PREFIX = "tenant-"
TOPIC_PREFIX = "douane."
WORKER_GROUP_PREFIX = "douane"  # the worker's group is DOUANE_APP_ID, "douane" by default
FRONT_DOOR_GROUP_PREFIX = FRONT_DOOR



class ResourceType(IntEnum):  # Kafka's wire codes (org.apache.kafka.common.resource)
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class PatternType(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):  # org.apache.kafka.common.acl.AclOperation
    ANY = 1
    READ = 3
    WRITE = 4
    CREATE = 5
    ALTER = 7
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11


ALLOW = 3  # AclPermissionType.ALLOW
ANY_PERMISSION = 1


@dataclass(frozen=True, order=True)
class Acl:
    principal: str  # "User:<name>"
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: Operation

    def describe(self) -> str:
        pattern = "prefix " if self.pattern == PatternType.PREFIXED else ""
        return (f"{self.principal} {self.operation.name} on {self.resource_type.name.lower()} "
                f"{pattern}{self.resource_name}")


def user(name: str) -> str:
    return f"User:{name}"


def tenant_principal(tenant_id: str) -> str:
    """The SCRAM user of a tenant (prefixed, so no tenant can be named like douane's parts)."""
    return TENANT_PREFIX + tenant_id


def _grants(principal: str, kind: ResourceType, name: str, pattern: PatternType,
            *operations: Operation) -> list[Acl]:
    return [Acl(user(principal), kind, name, pattern, op) for op in operations]


def worker_acls() -> list[Acl]:
    return [
        *_grants(WORKER, ResourceType.TOPIC, TOPIC_PREFIX, PatternType.PREFIXED,
                 Operation.READ, Operation.WRITE, Operation.CREATE, Operation.DESCRIBE,
                 Operation.ALTER, Operation.DESCRIBE_CONFIGS, Operation.ALTER_CONFIGS),
        *_grants(WORKER, ResourceType.GROUP, WORKER_GROUP_PREFIX, PatternType.PREFIXED,
                 Operation.READ),
    ]


def front_door_acls(layout: str = PER_TENANT, tenant_ids: Iterable[str] = ()) -> list[Acl]:
    """The front door writes the requests of the tenants it serves and reads their answers
    (it knows the tenant from the API key); CREATE so that it can start before the worker."""
    if layout == SINGLE:
        requests, answers = [REQUESTS], [RESPONSES, RESPONSE_CHUNKS]
    else:
        requests = [request_topic(t) for t in tenant_ids]
        answers = [topic for t in tenant_ids
                   for topic in (responses_topic(t), response_chunks_topic(t))]
    return [
        *(acl for topic in requests for acl in _grants(
            FRONT_DOOR, ResourceType.TOPIC, topic, PatternType.LITERAL,
            Operation.WRITE, Operation.CREATE)),
        *(acl for topic in answers for acl in _grants(
            FRONT_DOOR, ResourceType.TOPIC, topic, PatternType.LITERAL,
            Operation.READ, Operation.CREATE)),
        *_grants(FRONT_DOOR, ResourceType.GROUP, FRONT_DOOR_GROUP_PREFIX, PatternType.PREFIXED,
                 Operation.READ),
        # its readiness: whether the workers' group consumes its request topics (describe
        # only: it can neither join the group nor move its offsets)
        *_grants(FRONT_DOOR, ResourceType.GROUP, WORKER_GROUP_PREFIX, PatternType.PREFIXED,
                 Operation.DESCRIBE),
    ]


def tenant_group_prefix(tenant_id: str) -> str:
    """The consumer groups a tenant may use: ``tenant-<id>.`` and anything after it."""
    return tenant_principal(tenant_id) + "."


def tenant_acls(tenant_id: str, layout: str = PER_TENANT) -> list[Acl]:
    """A tenant writes its own requests and reads its own answers and rejections, nothing
    else."""
    principal = tenant_principal(tenant_id)
    if layout == SINGLE:
        return _grants(principal, ResourceType.TOPIC, REQUESTS, PatternType.LITERAL,
                       Operation.WRITE)
    return [
        *_grants(principal, ResourceType.TOPIC, request_topic(tenant_id), PatternType.LITERAL,
                 Operation.WRITE),
        *(acl for topic in (responses_topic(tenant_id), response_chunks_topic(tenant_id),
                            rejected_topic(tenant_id))
          for acl in _grants(principal, ResourceType.TOPIC, topic, PatternType.LITERAL,
                             Operation.READ)),
        *_grants(principal, ResourceType.GROUP, tenant_group_prefix(tenant_id),
                 PatternType.PREFIXED, Operation.READ),
    ]


def acl_layout(tenant_ids: Iterable[str], layout: str = PER_TENANT,
               front_door_tenants: Iterable[str] | None = None) -> list[Acl]:
    """Every ACL douane needs, for these tenants (the admin is a super user, not listed).
    The front door serves ``front_door_tenants`` (default: all of them)."""
    tenants = sorted(set(tenant_ids))
    served = tenants if front_door_tenants is None else sorted(set(front_door_tenants))
    return sorted({*worker_acls(), *front_door_acls(layout, served),
                   *(acl for t in tenants for acl in tenant_acls(t, layout))})


def is_douane_principal(principal: str) -> bool:
    """An ACL principal (``User:<name>``) whose ACLs douane manages."""
    name = principal.removeprefix("User:")
    return principal.startswith("User:") and (
        name in (WORKER, FRONT_DOOR) or name.startswith(TENANT_PREFIX))
