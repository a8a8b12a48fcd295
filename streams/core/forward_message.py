"""The hand-off from the admit stage to the forward stage: the message the admit stage writes
on ``douane.forward.<provider>`` once a request is decided and its admission recorded
(``schemas/forward.schema.json``).

Versioned: ``version`` names the layout, so that a forward stage of another release can tell
a message it does not know from one it can read. A message without ``version`` was written
before the field existed: it has the layout of version 1. Only the redacted body travels; the
forward stage sends it only if it matches the signed admission (``streams.core.forward_check``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.core.decision import Decision

__all__ = ["FORWARD_VERSION", "ForwardMessage"]

FORWARD_VERSION = 1


@dataclass(frozen=True)
class ForwardMessage:
    id: str
    tenant: str
    provider: str  # the first provider to call
    fallbacks: tuple[str, ...]  # the rest of the policy's allowed list, in order
    classification: str
    purpose: str | None
    audit_record_id: str  # the request's signed 'admitted' record
    stream: bool
    conversation: str  # where the request's placeholders live
    policy_hash: str
    redacted_entities: Mapping[str, int]  # entity type -> distinct values redacted
    metadata: Mapping[str, Any]  # the producer's, copied to the response, never inspected
    body: Mapping[str, Any] = field(repr=False)  # the Chat Completions body that leaves
    version: int = FORWARD_VERSION

    @classmethod
    def from_decision(cls, decision: Decision) -> ForwardMessage:
        """The message for a request decided ``forward``."""
        if decision.provider is None:
            raise ValueError(f"request {decision.request.id} is not forwarded: no provider")
        request = decision.request
        return cls(
            id=request.id, tenant=request.tenant, provider=decision.provider.id,
            fallbacks=tuple(p.id for p in decision.fallbacks),
            classification=decision.classification, purpose=request.purpose,
            audit_record_id=decision.audit_record_id, stream=request.stream,
            conversation=request.conversation_key, policy_hash=decision.policy.digest,
            redacted_entities=dict(decision.entity_counts), metadata=dict(request.metadata),
            body=decision.forward_body(),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "id": self.id,
            "tenant": self.tenant,
            "provider": self.provider,
            "classification": self.classification,
            "purpose": self.purpose,
            "fallbacks": list(self.fallbacks),
            "audit_record_id": self.audit_record_id,
            "stream": self.stream,
            "conversation": self.conversation,
            "policy_hash": self.policy_hash,
            "redacted_entities": dict(self.redacted_entities),
            "metadata": dict(self.metadata),
            "body": dict(self.body),
        }
