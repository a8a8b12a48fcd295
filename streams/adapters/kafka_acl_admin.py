"""Creating, listing and removing Kafka ACLs through the admin protocol.

aiokafka has the CreateAcls, DescribeAcls and DeleteAcls requests but no method for them.
:func:`reconcile_acls` makes the ACLs of douane's principals (the worker, the front door,
``tenant-*``) exactly the layout of ``streams.core.kafka_acls``: what is missing is created,
what the layout no longer has (a tenant removed from the policy) is deleted. ACLs of other
principals are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from streams.adapters.kafka_security import KafkaConnection, start_client
from streams.core.kafka_acls import (
    ALLOW,
    ANY_PERMISSION,
    Acl,
    Operation,
    PatternType,
    ResourceType,
    is_douane_principal,
    user,
)
from streams.errors import DouaneError

log = structlog.get_logger(__name__)


class KafkaAclError(DouaneError, RuntimeError):
    """The broker refused to create, list or delete ACLs."""


def _check(response: Any, what: str) -> None:
    results = getattr(response, "creation_responses", None)
    if results is None:
        results = getattr(response, "filter_responses", [])
    for result in results:
        if result[0]:
            raise KafkaAclError(f"{what} failed: error {result[0]} {result[1] or ''}")


async def _admin(kafka: KafkaConnection, what: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, what)
    return admin


async def _create(admin: AIOKafkaAdminClient, acls: Iterable[Acl]) -> int:
    count = 0
    for acl in acls:
        request = CreateAclsRequest(int(acl.resource_type), acl.resource_name, int(acl.pattern),
                                    acl.principal, "*", int(acl.operation), ALLOW)
        _check(await admin._send_request(request), f"creating ACL {acl.describe()}")
        count += 1
    return count


async def create_acls(kafka: KafkaConnection, acls: Iterable[Acl]) -> int:
    """Create these ACLs (creating an existing one is a no-op); returns how many were sent."""
    admin = await _admin(kafka, "creating ACLs")
    try:
        return await _create(admin, acls)
    finally:
        await admin.close()


async def delete_acls(kafka: KafkaConnection, principal: str) -> None:
    """Remove every ACL of ``principal`` (a name, without ``User:``)."""
    admin = await _admin(kafka, "deleting ACLs")
    try:
        request = DeleteAclsRequest(int(ResourceType.ANY), None, int(PatternType.ANY),
                                    user(principal), None, int(Operation.ANY), ANY_PERMISSION)
        _check(await admin._send_request(request), f"deleting the ACLs of {principal}")
    finally:
        await admin.close()


async def _douane_acls(admin: AIOKafkaAdminClient) -> set[Acl]:
    """The ALLOW ACLs of douane's principals now on the cluster (others are not douane's)."""
    request = DescribeAclsRequest(int(ResourceType.ANY), None, int(PatternType.ANY), None,
                                  None, int(Operation.ANY), ANY_PERMISSION)
    response = await admin._send_request(request)
    if response.error_code:
        raise KafkaAclError(f"listing ACLs failed: error {response.error_code} "
                            f"{response.error_message or ''}")
    found: set[Acl] = set()
    for kind, name, pattern, entries in response.resources:
        for principal, host, operation, permission in entries:
            if (permission == ALLOW and host == "*" and is_douane_principal(principal)
                    and kind in iter(ResourceType) and pattern in iter(PatternType)
                    and operation in iter(Operation)):
                found.add(Acl(principal, ResourceType(kind), name, PatternType(pattern),
                              Operation(operation)))
            elif is_douane_principal(principal):
                # something douane would not write (another host, a DENY, an operation it
                # does not use): an operator's; left alone, but said
                log.warning("kafka ACL not managed by douane left in place",
                            principal=principal, resource=name)
    return found


async def reconcile_acls(kafka: KafkaConnection, layout: list[Acl]) -> tuple[int, int]:
    """Make douane's principals' ACLs exactly ``layout``; returns (created, deleted)."""
    admin = await _admin(kafka, "applying douane's ACLs")
    try:
        existing = await _douane_acls(admin)
        wanted = set(layout)
        stale = sorted(existing - wanted)
        for acl in stale:
            request = DeleteAclsRequest(int(acl.resource_type), acl.resource_name,
                                        int(acl.pattern), acl.principal, "*",
                                        int(acl.operation), ALLOW)
            _check(await admin._send_request(request), f"deleting ACL {acl.describe()}")
        created = await _create(admin, sorted(wanted - existing))
    finally:
        await admin.close()
    if created or stale:
        log.info("kafka ACLs applied", created=created, deleted=len(stale),
                 deleted_for=sorted({a.principal for a in stale}))
    return created, len(stale)
