"""Every audit event douane records, built in one place: what each kind of record says.

Pure functions over values: the callers (the pipeline, the audit log's key rotation, policy
reload, the services of the DPO commands) gather the facts, these functions decide the record's
id, its typed kind and its details. The record format itself (canonical bytes, chain,
signature) is :mod:`streams.core.audit`; the meaning of each kind is in ``docs/audit.md``.

Details hold identifiers, codes, digests and counts, never raw personal data: values a producer
wrote reach a record only as the policy declares them or as their digest (decided upstream, by
:mod:`streams.core.decision` and :mod:`streams.core.intake`).
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from streams.core.audit import AuditEvent, AuditKind
from streams.core.budgets import BudgetState
from streams.core.decision import (
    Decision,
    as_declared,
    declared_models,
    forwarded_digest,
    prompt_chars,
)
from streams.core.intake import Rejection
from streams.core.model import Reason
from streams.core.placeholders import conversation_digest
from streams.core.policy import Provider

__all__ = [
    "MAX_PROBLEMS_RECORDED",
    "answered",
    "budget_alert",
    "console_access",
    "decided",
    "detector_failed",
    "dpo_record",
    "erased",
    "erasure_refused_ambiguous",
    "erasure_refused_by_hold",
    "erasure_request",
    "failed",
    "forward_refused",
    "forwarded",
    "hold_placed",
    "hold_released",
    "intake_rejected",
    "key_rotated",
    "policy_changed",
    "policy_refused",
    "retention_run",
    "shadow_loaded",
    "subject_linked",
]

Json = Mapping[str, Any]
MAX_PROBLEMS_RECORDED = 20  # a refused policy change records its first problems and the count
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")  # W3C trace id: 16 bytes in lowercase hex


def _traced(details: dict[str, Any], trace_id: str | None) -> dict[str, Any]:
    """``details`` with the id of the trace the request travelled in (docs/audit.md, "Trace
    ids"), when it has one: a record of a request traced by nobody has no such field."""
    if trace_id is None:
        return details
    if not TRACE_ID.match(trace_id) or trace_id == "0" * 32:
        raise ValueError("a trace id is 32 lowercase hex digits, not all zero (W3C Trace "
                         "Context)")
    return {**details, "trace_id": trace_id}

# ---------------------------------------------------------------- stage 1: admit


def decided(decision: Decision, now: datetime, *, source: Json | None = None,
            shadow: Json | None = None, trace_id: str | None = None) -> AuditEvent:
    """``admitted`` or ``blocked``: the decision, the facts it rested on and why; with the
    Kafka coordinates of the message decided (``source``) and what a shadow policy set would
    have decided (``shadow``) when the pipeline has them."""
    verdict = decision.verdict
    request = decision.request
    details: dict[str, Any] = {
        "decision": decision.outcome,
        "classification": decision.classification,
        "requested_classification": request.classification,
        # the producer's own words are recorded only when the policy declares them
        "purpose": as_declared(request.purpose,
                               {p.id for p in decision.policy.policy.purposes}),
        "policy": decision.policy.reference,
        "rules": decision.rule_ids,
        "provider": decision.provider.id if decision.provider else None,
        "provider_jurisdiction": decision.provider.jurisdiction if decision.provider else None,
        "fallbacks": [p.id for p in decision.fallbacks],
        "model": decision.model,
        "requested_model": as_declared(request.model, declared_models(decision.policy)),
        "language": decision.detection.language,
        "detection": decision.detection.method,
        "prompt_chars": prompt_chars(request.messages),
        "entities": dict(sorted(Counter(f.entity_type for f in decision.findings).items())),
        "operators": dict(sorted(verdict.operators.items())) if verdict else {},
        "findings": [
            {"message": f.message_index, "type": f.entity_type, "start": f.start,
             "end": f.end, "score": round(f.score, 3)}
            for f in decision.findings
        ],
        "reasons": [r.as_json() for r in decision.reasons],
    }
    if decision.outcome == "forward":
        # Digest of exactly what leaves (redacted text only), so a provider-side log or
        # the stand-in model server can prove that what it received is what was audited.
        details["forwarded_sha256"] = forwarded_digest(decision.forward_body())
        # what the forward stage may restore in the answer, and from which conversation:
        # signed here, so nothing written on a forward topic can widen it
        details["conversation_sha256"] = conversation_digest(request.tenant,
                                                             request.conversation_key)
        details["restorable_placeholders"] = list(decision.restorable_placeholders)
    if source is not None:
        details["source"] = dict(source)
    if shadow is not None:
        details["shadow"] = dict(shadow)
    return AuditEvent(decision.audit_record_id, decision.audit_kind, request.id,
                      request.tenant, now, _traced(details, trace_id))


def intake_rejected(rejection: Rejection, record_id: str, size: int, source: Json,
                    policy: Json, now: datetime, trace_id: str | None = None) -> AuditEvent:
    """``rejected``: a message that is not a valid request (``size``: its length in bytes)."""
    reason = {"code": rejection.code, "message": rejection.message}
    return AuditEvent(
        record_id=record_id, kind="rejected", request_id=rejection.request_id,
        tenant=rejection.tenant, occurred_at=now,
        details=_traced({"reasons": [reason], "path": rejection.path,
                         "byte_offset": rejection.byte_offset, "size": size,
                         "source": dict(source), "policy": dict(policy),
                         **({"undeclared": dict(rejection.undeclared)} if rejection.undeclared
                            else {})}, trace_id),
    )


def detector_failed(request_id: str, tenant: str, reason: Reason, source: Json, policy: Json,
                    now: datetime, trace_id: str | None = None) -> AuditEvent:
    """``blocked`` without a decision: detection failed, so the request is not sent."""
    return AuditEvent(
        record_id=f"{request_id}/blocked", kind="blocked", request_id=request_id, tenant=tenant,
        occurred_at=now,
        details=_traced({"decision": "block", "reasons": [reason.as_json()],
                         "source": dict(source), "policy": dict(policy)}, trace_id),
    )


# ---------------------------------------------------------------- stage 2: forward


def forwarded(request_id: str, tenant: str, target: Provider, body: Json,
              admitted_record: str, policy: Json, source: Json, now: datetime,
              trace_id: str | None = None) -> AuditEvent:
    """``forwarded``: one per provider that receives the request, durable before the call."""
    return AuditEvent(
        record_id=f"{request_id}/forwarded/{target.id}", kind="forwarded",
        request_id=request_id, tenant=tenant, occurred_at=now,
        details=_traced({"provider": target.id, "endpoint": target.endpoint,
                         "jurisdiction": target.jurisdiction, "model": body.get("model"),
                         "forwarded_sha256": forwarded_digest(dict(body)),
                         "admitted_record": admitted_record, "policy": dict(policy),
                         "source": dict(source)}, trace_id),
    )


def forward_refused(source: Json, request_id: str | None, tenant: str | None,
                    problem: Reason, policy: Json, now: datetime,
                    trace_id: str | None = None) -> AuditEvent:
    """``rejected`` by the forward stage: a message not sent (nothing was called), recorded by
    its place on the topic; ``request_id`` and ``tenant`` only when they may be recorded."""
    return AuditEvent(
        record_id=f"forward-refused/{source['topic']}/{source['partition']}/{source['offset']}",
        kind="rejected", request_id=request_id, tenant=tenant, occurred_at=now,
        details=_traced({"reasons": [problem.as_json()], "source": dict(source),
                         "policy": dict(policy)}, trace_id))


def answered(request_id: str, tenant: str, now: datetime, *, provider: str,
             model: str | None, choices: int, failed_over_from: Sequence[str], streamed: bool,
             answer_entities: Json, answer_operators: Json,
             blocked_after_streaming: Sequence[str], placeholders_restored: bool,
             usage: Json | None, cost: Json | None, policy: Json,
             purpose: str | None = None, trace_id: str | None = None) -> AuditEvent:
    """``answered``: which provider answered, what the answer check found and did, the tokens
    used and what they cost (``streams.core.pricing.usage_and_cost``), and the request's
    purpose (a declared one: undeclared purposes are blocked), which budget the cost counts
    against (``streams.core.budgets``)."""
    return AuditEvent(
        record_id=f"{request_id}/answered", kind="answered", request_id=request_id,
        tenant=tenant, occurred_at=now,
        details=_traced({"provider": provider,
                         "model": model,
                         "choices": choices,
                         "failed_over_from": list(failed_over_from),
                         "streamed": streamed,
                         "answer_entities": dict(answer_entities),
                         "answer_operators": dict(answer_operators),
                         # a streamed answer left piece by piece: a block can only be recorded
                         "answer_blocked_after_streaming": list(blocked_after_streaming),
                         "placeholders_restored": placeholders_restored,
                         "usage": None if usage is None else dict(usage),
                         "cost": None if cost is None else dict(cost),
                         "purpose": purpose,
                         "policy": dict(policy)}, trace_id),
    )


def budget_alert(state: BudgetState, policy: Json, now: datetime) -> AuditEvent:
    """``budget_alert``: a budget reached its warning threshold or was exhausted, as the ledger
    said when a request was decided. One record per budget, month and status: its id says so,
    and the log stores an id once, however many workers see it."""
    budget = state.budget
    return AuditEvent(
        record_id=f"budget/{budget.id}/{state.month}/{state.status}", kind="budget_alert",
        request_id=None, tenant=budget.tenant, occurred_at=now,
        details={**state.as_json(), "policy": dict(policy)},
    )


def failed(request_id: str, tenant: str | None, provider: str,
           reasons: Sequence[Mapping[str, str]], policy: Json, now: datetime,
           trace_id: str | None = None) -> AuditEvent:
    """``failed``: the request got no answer, and why (``reasons``: codes and messages)."""
    return AuditEvent(
        record_id=f"{request_id}/failed", kind="failed", request_id=request_id, tenant=tenant,
        occurred_at=now, details=_traced({"provider": provider,
                                          "reasons": [dict(r) for r in reasons],
                                          "policy": dict(policy)}, trace_id),
    )


# ---------------------------------------------------------------- the log's own keys


def key_rotated(retired_key_id: str, new_key_id: str, new_public_key: bytes,
                now: datetime) -> AuditEvent:
    """``key_rotated``: signed by the retiring key, naming the key that signs from now on."""
    return AuditEvent(
        record_id=f"key-rotation/{retired_key_id}/{new_key_id}", kind="key_rotated",
        request_id=None, tenant=None, occurred_at=now,
        details={"retired_key_id": retired_key_id, "new_key_id": new_key_id,
                 "new_public_key": base64.b64encode(new_public_key).decode("ascii")})


# ---------------------------------------------------------------- policy sets


def policy_changed(event: str, before: Json | None, after: Json | None,
                   files: Sequence[tuple[str, str]], source: str, loader: Json,
                   now: datetime, problems: Sequence[str] = (),
                   extra: Json | None = None) -> AuditEvent:
    """``policy_changed``: a set loaded at start, applied or refused by a hot reload.
    ``before``/``after``: the references of the sets; ``files``: (path, sha256) of the new
    set's files; ``loader``: which process (its host, pid and application id)."""
    in_force = after or before
    details: dict[str, Any] = {
        # loaded (at start) | applied (hot reload) | refused | shadow-loaded (at start)
        "event": event,
        "before": dict(before) if before else None,
        "after": dict(after) if after else None,
        "policy": dict(in_force) if in_force else None,
        "source": source,
        "files": [{"path": p, "sha256": h} for p, h in files],
        "loaded_by": dict(loader),
        **(extra or {}),
    }
    if problems:
        details["problems"] = list(problems[:MAX_PROBLEMS_RECORDED])
        details["problem_count"] = len(problems)
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
    return AuditEvent(
        record_id=f"policy/{loader['app_id']}/{loader['host']}/{loader['pid']}/{stamp}",
        kind="policy_changed", request_id=None, tenant=None, occurred_at=now, details=details)


def policy_refused(running: Json, new: Json | None, files: Sequence[tuple[str, str]],
                   source: str, loader: Json, now: datetime, problems: Sequence[str],
                   extra: Json | None = None) -> AuditEvent:
    """``policy_changed`` with event ``refused``: the set ``running`` stays in force."""
    event = policy_changed("refused", running, new, files, source, loader, now, problems,
                           extra)
    return AuditEvent(event.record_id, event.kind, None, None, event.occurred_at,
                      {**event.details, "policy": dict(running)})


def shadow_loaded(in_force: Json, shadow: Json, shadow_files: Sequence[tuple[str, str]],
                  limits: Sequence[str], source: str, loader: Json,
                  now: datetime) -> AuditEvent:
    """``policy_changed`` with event ``shadow-loaded``: which set is judged in shadow next to
    the one in force (``policy``, ``before`` and ``after`` still name the set in force, so a
    reader looking for the enforced set is never misled)."""
    event = policy_changed("shadow-loaded", in_force, None, (), source, loader, now, extra={
        "shadow": dict(shadow),
        "shadow_files": [{"path": p, "sha256": h} for p, h in shadow_files],
        # what the shadow set names but the detector (built for the set in force) does not
        # look for: its decisions ignore those
        "shadow_limits": list(limits)})
    return AuditEvent(event.record_id.replace("policy/", "policy-shadow/", 1), event.kind, None,
                      None, event.occurred_at, {**event.details, "after": dict(in_force)})


# ---------------------------------------------------------------- the DPO's actions

# Each takes, last, ``unique`` (a fresh random value per action: the record's id is the kind
# and it) and ``now``; streams.services.audit_log.append_record supplies both.


def dpo_record(kind: AuditKind, tenant: str | None, details: Json, unique: str,
               now: datetime) -> AuditEvent:
    """A record that belongs to no request: a DPO's action or a retention run."""
    return AuditEvent(f"{kind}/{unique}", kind, None, tenant, now, dict(details))


def retention_run(as_of: str, data_keys_destroyed: int, period_keys_destroyed: int,
                  kept_under_hold: int, vault_entries_pruned: int,
                  periods: Mapping[str, int], unique: str, now: datetime) -> AuditEvent:
    """``retention_run``: what expired and was destroyed (``periods``: data keys destroyed
    per retention period)."""
    return dpo_record("retention_run", None, {
        "as_of": as_of,
        "stores": {"key_store": {"data_keys_destroyed": data_keys_destroyed,
                                 "period_keys_destroyed": period_keys_destroyed,
                                 "kept_under_hold": kept_under_hold},
                   "vault": {"entries_pruned": vault_entries_pruned}},
        "periods": [{"period": p, "data_keys_destroyed": n}
                    for p, n in sorted(periods.items())],
    }, unique, now)


def hold_placed(tenant: str, hold_id: str, subject_fingerprint: str | None, reason: str,
                unique: str, now: datetime) -> AuditEvent:
    """``hold_placed``: a tenant's keys (or one subject's) kept through runs and erasure."""
    return dpo_record("hold_placed", tenant, {
        "hold_id": hold_id, "subject_fingerprint": subject_fingerprint, "reason": reason},
        unique, now)


def hold_released(tenant: str, hold_id: str, subject_fingerprint: str | None, reason: str,
                  unique: str, now: datetime) -> AuditEvent:
    """``hold_released``: the hold ends (``reason``: the one it was placed for)."""
    return dpo_record("hold_released", tenant, {
        "hold_id": hold_id, "subject_fingerprint": subject_fingerprint, "reason": reason},
        unique, now)


def subject_linked(tenant: str, decision: str, subject_fingerprints: Sequence[str],
                   case: str, requested_by: str, unique: str, now: datetime) -> AuditEvent:
    """``subject_linked``: a DPO's decision (confirmed or split) on two identifiers."""
    return dpo_record("subject_linked", tenant, {
        "decision": decision, "subject_fingerprints": sorted(subject_fingerprints),
        "case": case, "requested_by": requested_by}, unique, now)


def erasure_request(as_of: str, subject_fingerprint: str, subjects: Sequence[str], reason: str,
                    case: str | None, requested_by: str | None,
                    policy: Json | None) -> dict[str, Any]:
    """What every record of one erasure request says, erased or refused."""
    return {"as_of": as_of, "subject_fingerprint": subject_fingerprint,
            "subjects": list(subjects), "reason": reason, "case": case,
            "requested_by": requested_by, "policy": dict(policy) if policy else policy}


def erasure_refused_by_hold(tenant: str, request: Json, hold_id: str, hold_reason: str,
                            hold_subject_fingerprint: str | None, unique: str,
                            now: datetime) -> AuditEvent:
    """``erasure_refused``: a legal hold covers the person; nothing was destroyed."""
    return dpo_record("erasure_refused", tenant, {
        **request, "refused_by": "hold", "hold_id": hold_id, "hold_reason": hold_reason,
        "hold_subject_fingerprint": hold_subject_fingerprint}, unique, now)


def erasure_refused_ambiguous(tenant: str, request: Json,
                              unresolved_links: Sequence[tuple[str, str]], unique: str,
                              now: datetime) -> AuditEvent:
    """``erasure_refused``: the person's identifiers include links no DPO has decided."""
    return dpo_record("erasure_refused", tenant, {
        **request, "refused_by": "ambiguous-person",
        "unresolved_links": [[first, second] for first, second in unresolved_links]},
        unique, now)


def erased(tenant: str, request: Json, data_keys: Sequence[Json], vault_entries_pruned: int,
           unique: str, now: datetime) -> AuditEvent:
    """``erased``: the person's data keys destroyed (``data_keys``: key id, period and subject
    fingerprint of each) and the vault entries they protected pruned."""
    return dpo_record("erased", tenant, {
        **request, "data_keys": [dict(k) for k in data_keys],
        "vault_entries_pruned": vault_entries_pruned}, unique, now)


def console_access(account: str, role: str, action: str, tenant: str | None, about: Json,
                   unique: str, now: datetime) -> AuditEvent:
    """``console_access``: someone signed in to the DPO console read person-level results
    or changed something (``action``; ``about``: what it was about, as tenants, fingerprints,
    record ids, counts and filters, never a personal value). Access to the evidence is
    evidence too."""
    return dpo_record("console_access", tenant, {
        "account": account, "role": role, "action": action, "about": dict(about)},
        unique, now)
