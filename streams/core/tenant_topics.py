"""Which topics a request and its answer travel on: one set per tenant, or the old single set.

Kafka does not tell a consumer who produced a record, so the tenant of a request is the topic
it was published to, which only that tenant's principal (and the front door serving it) may
write: ``douane.requests.<tenant>``; its answers go to ``douane.responses.<tenant>`` and, piece
by piece, ``douane.responses.chunks.<tenant>``, which only that tenant (and the front door)
may read; what its request topic carried that could not be accepted and gets no response (no
usable id, or an id already used) goes to ``douane.rejected.<tenant>``, which only that tenant
may read (and the operators). Policy tenant ids are ``[a-z0-9][a-z0-9-]*`` (no dot), so one
tenant's topic never names another's.

The ``single`` layout (``DOUANE_TOPIC_LAYOUT=single``) keeps the old contract, one
``douane.requests`` and one ``douane.responses`` for everybody, for a single-tenant
installation: there the tenant is what the message says, and whoever reads the responses
topic reads every answer; every rejection goes to the operators' ``douane.rejected``, as
before (a message's own claim to be a tenant's is not enough to show that tenant its bytes).
"""

from __future__ import annotations

import re

PER_TENANT = "per-tenant"
SINGLE = "single"
LAYOUTS = (PER_TENANT, SINGLE)

REQUESTS = "douane.requests"
RESPONSES = "douane.responses"
RESPONSE_CHUNKS = "douane.responses.chunks"
REJECTED = "douane.rejected"  # the operators': what no tenant can be told about
REQUESTS_PREFIX = REQUESTS + "."
_TENANT_REQUEST_TOPIC = re.compile(r"douane\.requests\.([a-z0-9][a-z0-9-]{0,62})")


def request_topic(tenant: str) -> str:
    return REQUESTS_PREFIX + tenant


def responses_topic(tenant: str) -> str:
    return f"{RESPONSES}.{tenant}"


def response_chunks_topic(tenant: str) -> str:
    return f"{RESPONSE_CHUNKS}.{tenant}"


def rejected_topic(tenant: str) -> str:
    return f"{REJECTED}.{tenant}"


def tenant_of_request_topic(topic: str) -> str | None:
    """The tenant whose request topic this is; None for any other topic (the single
    ``douane.requests`` included)."""
    match = _TENANT_REQUEST_TOPIC.fullmatch(topic)
    return match.group(1) if match else None


def is_request_topic(topic: str) -> bool:
    return topic == REQUESTS or tenant_of_request_topic(topic) is not None


def request_topics(layout: str, tenants: list[str] | tuple[str, ...]) -> list[str]:
    return [REQUESTS] if layout == SINGLE else [request_topic(t) for t in tenants]


def answer_topics(layout: str, tenants: list[str] | tuple[str, ...]) -> list[str]:
    """The topics responses and their pieces are published to."""
    if layout == SINGLE:
        return [RESPONSES, RESPONSE_CHUNKS]
    return [topic for t in tenants for topic in (responses_topic(t), response_chunks_topic(t))]


def answer_topic(layout: str, tenant: str | None, *, chunks: bool = False) -> str | None:
    """Where the answer (or a piece of it) for ``tenant`` goes; None when it has nowhere to
    go (a per-tenant layout and no tenant: the copy on douane.rejected is all there is)."""
    if layout == SINGLE:
        return RESPONSE_CHUNKS if chunks else RESPONSES
    if tenant is None:
        return None
    return response_chunks_topic(tenant) if chunks else responses_topic(tenant)


def rejection_topics(layout: str, tenants: list[str] | tuple[str, ...]) -> list[str]:
    """The tenants' own rejection topics (none in the single layout: there the operators'
    ``douane.rejected`` holds every rejection)."""
    return [] if layout == SINGLE else [rejected_topic(t) for t in tenants]


def rejection_topic(layout: str, tenant: str | None) -> str:
    """Where the rejection of a message from ``tenant``'s request topic goes: the tenant's own
    rejection topic; ``douane.rejected`` when no tenant can be told (the single layout, or a
    topic whose tenant the policy no longer declares)."""
    if layout == SINGLE or tenant is None:
        return REJECTED
    return rejected_topic(tenant)
