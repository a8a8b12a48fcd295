"""The governance decision: given a request, what was detected in it and the policy, decide
whether it may leave, for which provider, in what redacted form, and why.

Pure and synchronous. The result carries everything the adapters need: the audit event to
sign, the message for the provider's forward topic, or the response that ends the request.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import rfc8785

from streams.core.audit import AuditEvent
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest, Reason
from streams.core.policy import LoadedPolicy, Provider
from streams.core.redaction import apply_placeholders, select_findings

Outcome = Literal["forward", "block"]


@dataclass(frozen=True)
class Decision:
    request: GovernedRequest
    outcome: Outcome
    classification: str
    provider: Provider | None
    model: str | None
    reasons: tuple[Reason, ...]
    findings: tuple[Finding, ...]
    entity_counts: dict[str, int]
    forwarded_messages: tuple[ChatMessage, ...]
    detection: Detection
    policy: LoadedPolicy

    @property
    def audit_kind(self) -> str:
        return "admitted" if self.outcome == "forward" else "blocked"

    @property
    def audit_record_id(self) -> str:
        return f"{self.request.id}/{self.audit_kind}"

    def forward_body(self) -> dict[str, Any]:
        """The Chat Completions body that will leave for the provider (redacted)."""
        return {"model": self.model, "messages": [m.as_json() for m in self.forwarded_messages]}

    def audit_event(self, now: datetime) -> AuditEvent:
        details: dict[str, Any] = {
            "decision": self.outcome,
            "classification": self.classification,
            "purpose": self.request.purpose,
            "policy": self.policy.reference,
            "provider": self.provider.id if self.provider else None,
            "provider_jurisdiction": self.provider.jurisdiction if self.provider else None,
            "model": self.model,
            "language": self.detection.language,
            "detection": self.detection.method,
            "entities": dict(sorted(Counter(f.entity_type for f in self.findings).items())),
            "findings": [
                {"message": f.message_index, "type": f.entity_type, "start": f.start,
                 "end": f.end, "score": round(f.score, 3)}
                for f in self.findings
            ],
            "reasons": [r.as_json() for r in self.reasons],
        }
        if self.outcome == "forward":
            # Digest of exactly what leaves (redacted text only), so a provider-side log or
            # the stand-in model server can prove that what it received is what was audited.
            details["forwarded_sha256"] = forwarded_digest(self.forward_body())
        return AuditEvent(
            record_id=self.audit_record_id,
            kind=self.audit_kind,
            request_id=self.request.id,
            tenant=self.request.tenant,
            occurred_at=now,
            details=details,
        )


def forwarded_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def decide(request: GovernedRequest, detection: Detection, loaded: LoadedPolicy) -> Decision:
    policy = loaded.policy
    classification = request.classification or policy.tenant(request.tenant).default_classification
    rules = policy.redaction.entities
    findings = tuple(select_findings(detection.findings, rules))
    reasons: list[Reason] = []

    provider, model, routing_problem = _route(request, classification, loaded)
    blocking = sorted({f.entity_type for f in findings if rules[f.entity_type].operator == "block"})
    if routing_problem is not None:
        reasons.append(routing_problem)
    if blocking:
        reasons.append(Reason(
            "blocked-entity",
            f"the policy blocks requests containing {', '.join(blocking)} "
            f"(redaction.entities.{blocking[0]}.operator: block)",
        ))
    if reasons:
        return Decision(request, "block", classification, provider, model, tuple(reasons),
                        findings, {}, (), detection, loaded)

    assert provider is not None and model is not None
    redacted, counts = apply_placeholders(request.messages, findings)
    if counts:
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        reasons.append(Reason("redacted", f"replaced with placeholders: {summary}"))
    if detection.method != "ner+patterns":
        reasons.append(Reason(
            "language-fallback",
            f"no name model for language '{detection.language}': analysed with "
            f"{detection.method}",
        ))
    reasons.append(Reason(
        "routed",
        f"classification '{classification}' may go to {provider.id} "
        f"(jurisdiction {provider.jurisdiction}); first allowed provider in "
        f"classifications.{classification}.providers",
    ))
    return Decision(request, "forward", classification, provider, model, tuple(reasons),
                    findings, counts, redacted, detection, loaded)


def _route(
    request: GovernedRequest, classification: str, loaded: LoadedPolicy
) -> tuple[Provider | None, str | None, Reason | None]:
    policy = loaded.policy
    allowed = policy.classifications[classification].providers  # type: ignore[index]
    if not allowed:
        return None, None, Reason(
            "no-allowed-provider",
            f"classification '{classification}' may not be sent to any provider "
            f"(classifications.{classification}.providers is empty)",
        )
    candidates = [policy.provider(pid) for pid in allowed]
    if request.model is None:
        first = candidates[0]
        return first, first.models[0], None
    for provider in candidates:
        if request.model in provider.models:
            return provider, request.model, None
    offered = sorted({m for p in candidates for m in p.models})
    return None, None, Reason(
        "model-not-allowed",
        f"model '{request.model}' is not offered by any provider allowed for "
        f"classification '{classification}' (allowed models: {', '.join(offered)})",
    )
