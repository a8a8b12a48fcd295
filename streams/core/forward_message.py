"""The hand-off from the admit stage to the forward stage: the message the admit stage writes
on ``douane.forward.<provider>`` once a request is decided and its admission recorded
(``schemas/forward.schema.json``).

Versioned: ``version`` names the layout, so that a forward stage of another release can tell
a message it does not know from one it can read. A message without ``version`` was written
before the field existed: it has the layout of version 1. Only the redacted body travels; the
forward stage reads it with :meth:`ForwardMessage.parse` (a version it does not know is refused
before anything else is read) and sends it only if it matches the signed admission
(``streams.core.forward_check``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from streams.core.decision import Decision
from streams.core.model import Reason
from streams.core.quick_schema import QuickSchema

__all__ = ["FORWARD_MALFORMED", "FORWARD_VERSION", "FORWARD_VERSION_UNKNOWN", "ForwardMessage",
           "ForwardSchema", "version_problem"]

FORWARD_VERSION = 1
# stable codes of a refused forward message, beside streams.core.forward_check.NOT_ADMITTED
FORWARD_VERSION_UNKNOWN = "forward-version-unknown"
FORWARD_MALFORMED = "forward-malformed"


class ForwardSchema:
    """``schemas/forward.schema.json`` (read by ``streams.adapters.schemas``), checked once as
    a schema, with the validator every forward message is checked with."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        jsonschema.Draft202012Validator.check_schema(document)
        self.validator = jsonschema.Draft202012Validator(document)
        self.quick = QuickSchema(document)  # the common case; validator says what is wrong


def version_problem(value: object) -> Reason | None:
    """Why a message of another layout is not read (another release wrote it), or None: a
    version this release reads, or none (version 1). Checked before anything else is read."""
    if not isinstance(value, Mapping):
        return None  # no message at all: its shape is what is wrong (ForwardMessage.parse)
    version = value.get("version", FORWARD_VERSION)
    if type(version) is int and version == FORWARD_VERSION:
        return None
    # a forged message may carry anything: only a number is quoted back
    named = f"layout version {version}" if type(version) is int else "a version that is no number"
    return Reason(FORWARD_VERSION_UNKNOWN,
                  f"this forward message has {named}; this douane reads version "
                  f"{FORWARD_VERSION} only, so nothing was sent. Drain the forward topics "
                  "before moving the admit stage to another release than the forward stage")


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

    @classmethod
    def parse(cls, value: object, schema: ForwardSchema) -> ForwardMessage | Reason:
        """The message ``value`` (JSON as read from the topic), or why it is not read: another
        layout version (:func:`version_problem`) or not the shape ``schema`` describes. The
        reason names the place and the rule broken, never a value."""
        problem = version_problem(value)
        if problem is not None:
            return problem
        error = None if schema.quick.passes(value) else jsonschema.exceptions.best_match(
            schema.validator.iter_errors(value))
        if error is not None or not isinstance(value, Mapping):
            where = error.json_path if error is not None else "$"
            rule = f"'{error.validator}'" if error is not None else "'type'"
            if error is not None and error.validator == "required":  # names from the schema
                missing = [n for n in error.validator_value if n not in error.instance]
                rule = "missing " + ", ".join(missing)
            return Reason(FORWARD_MALFORMED,
                          f"this forward message breaks the forward message schema at {where} "
                          f"({rule}); nothing was sent")
        return cls(
            id=value["id"], tenant=value["tenant"], provider=value["provider"],
            fallbacks=tuple(value["fallbacks"]), classification=value["classification"],
            purpose=value["purpose"], audit_record_id=value["audit_record_id"],
            stream=value["stream"], conversation=value["conversation"],
            policy_hash=value["policy_hash"], redacted_entities=value["redacted_entities"],
            metadata=value["metadata"], body=value["body"],
            version=value.get("version", FORWARD_VERSION),
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
