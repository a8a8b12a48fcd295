"""Who may do what on douane's Kafka topics: the ACL layout, as data.

Kafka does not tell a consumer who produced a record, so douane's border is drawn with
principals and ACLs, never with what a message says about itself. With
``allow.everyone.if.no.acl.found=false`` everything not listed here is denied:

=====================  ==============================================  =====================
principal              topics (operations)                             groups
=====================  ==============================================  =====================
``douane-admin``       super user (broker, topic and ACL management)   all
``douane-worker``      ``douane.*`` prefixed (read, write, create,      ``douane*`` prefixed
                       describe, alter, describe/alter configs)        (read)
``douane-front-door``  ``douane.requests`` (write, create);            ``douane-front-door*``
                       ``douane.responses``, ``douane.responses.
                       chunks`` (read, create)
``tenant-<id>``        ``douane.requests`` (write)                     none
=====================  ==============================================  =====================

A tenant may not read ``douane.responses``: in the single-topic layout it holds every tenant's
answers, so tenants get their answers through the front door. Per-tenant request and response
topics (a later step) add, per tenant, WRITE on its request topic and READ on its response
topics and its own prefixed groups, and move the front door to those topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

ADMIN = "douane-admin"
WORKER = "douane-worker"
FRONT_DOOR = "douane-front-door"
TENANT_PREFIX = "tenant-"
TOPIC_PREFIX = "douane."
WORKER_GROUP_PREFIX = "douane"  # the worker's group is DOUANE_APP_ID, "douane" by default
FRONT_DOOR_GROUP_PREFIX = FRONT_DOOR

REQUESTS = "douane.requests"
RESPONSES = "douane.responses"
RESPONSE_CHUNKS = "douane.responses.chunks"


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


def front_door_acls() -> list[Acl]:
    return [
        *_grants(FRONT_DOOR, ResourceType.TOPIC, REQUESTS, PatternType.LITERAL,
                 Operation.WRITE, Operation.CREATE),
        *(acl for topic in (RESPONSES, RESPONSE_CHUNKS) for acl in _grants(
            FRONT_DOOR, ResourceType.TOPIC, topic, PatternType.LITERAL,
            Operation.READ, Operation.CREATE)),
        *_grants(FRONT_DOOR, ResourceType.GROUP, FRONT_DOOR_GROUP_PREFIX, PatternType.PREFIXED,
                 Operation.READ),
    ]


def tenant_acls(tenant_id: str) -> list[Acl]:
    return _grants(tenant_principal(tenant_id), ResourceType.TOPIC, REQUESTS,
                   PatternType.LITERAL, Operation.WRITE)


def acl_layout(tenant_ids: list[str]) -> list[Acl]:
    """Every ACL douane needs, for these tenants (the admin is a super user, not listed)."""
    return sorted({*worker_acls(), *front_door_acls(),
                   *(acl for t in tenant_ids for acl in tenant_acls(t))})
