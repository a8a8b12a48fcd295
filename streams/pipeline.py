"""The two stages a request goes through, as plain async functions over bytes.

Stage 1 (``admit``): intake -> PII detection -> decision -> signed audit record -> either the
provider's forward topic (redacted) or a final response. Stage 2 (``forward``): the forward
topic -> a ``forwarded`` audit record -> the provider over HTTP -> an ``answered`` or
``failed`` audit record -> the response. Each stage returns the Kafka messages to publish;
the worker (``streams.app``, ``streams.runtime``) only wires topics to these functions, so
this module can be tested with a real audit store and no broker.

Delivery is at-least-once and effects are idempotent: audit records are keyed by request id and
kind, and a record that already exists tells whether a message is a redelivery of the same
Kafka message (same source offset: publish again what may have been lost) or a producer
duplicate (another offset: ignored). A forward interrupted between the ``forwarded`` record
and the answer is never sent twice: it ends with a ``failed`` response (``delivery-uncertain``)
so that personal data leaves at most once and the producer always hears back. A forward
redelivered after its outcome was recorded publishes the same response again, byte for byte,
unless it is already on its topic (``published_check``): an answer from the copy kept
encrypted before its ``answered`` record (:meth:`PersonalVault.keep_response`), a failure
rebuilt from its ``failed`` record.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import json
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog

from streams.adapters import metrics, tracing
from streams.adapters.audit.protocols import (
    AUDIT_UNAVAILABLE,
    AppendResult,
    AuditStore,
    StoredRecord,
)
from streams.adapters.operator_keys import OperatorKeys, keyed_tokens
from streams.adapters.personal_vault import ValueErasedError
from streams.adapters.providers.base import Adapter, ProviderAnswer
from streams.adapters.providers.delivery import Delivery
from streams.adapters.providers.fallback import candidates
from streams.adapters.providers.resilience import RetryPolicy
from streams.adapters.schemas import forward_schema
from streams.answer_chunks import AnswerChunks, ChunkSink, unchanged
from streams.config import RESPONSES_TOPIC, forward_topic
from streams.core import audit_events
from streams.core.answers import AnswerVerdict, plan_answer
from streams.core.audit import AuditEvent
from streams.core.budgets import BudgetState, MonthSpend, month_of
from streams.core.client_reasons import client_reasons, rejection_advice
from streams.core.decision import (
    Decision,
    detection_depth,
    evaluate,
    prepare_decision,
    prompt_chars,
)
from streams.core.forward_check import admission_problem
from streams.core.forward_message import ForwardMessage, version_problem
from streams.core.intake import (
    MODEL_PATTERN,
    REQUEST_ID_PATTERN,
    Rejection,
    RequestIntake,
    undeclared_value,
)
from streams.core.kept_bytes import kept_bytes_for, kept_original
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, Detector, GovernedRequest, Reason
from streams.core.placeholders import PlaceholderMap
from streams.core.policy import EntityRule
from streams.core.policy import Provider as PolicyProvider
from streams.core.pricing import client_usage, usage_and_cost
from streams.core.redaction import KeyedTokens, KeyedValue
from streams.core.tenant_topics import (
    PER_TENANT,
    SINGLE,
    answer_topic,
    rejection_topic,
    tenant_of_request_topic,
)
from streams.errors import DouaneError
from streams.runtime.batched_detection import BatchedDetector
from streams.runtime.store_threads import StoreThreads

log = structlog.get_logger(__name__)
T = TypeVar("T")
# 32 threads spent a quarter of the worker's CPU in the kernel switching between them (issue
# 10, docs/benchmarks.md "Where the worker's own CPU goes"); appends still share group commits
STORE_THREADS = 8
# the tokens of a redaction plan's keyed values, obtained off the event loop; None: no keys
ObtainTokens = Callable[[Sequence[KeyedValue]], Awaitable[KeyedTokens | None]]


@dataclass(frozen=True)
class Source:
    """Where a consumed message came from: its Kafka coordinates (never its content)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    # the trace context its headers carried (``traceparent``, ``tracestate``): the caller's
    # span, when tracing is on (streams.adapters.tracing)
    carrier: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()  # Kafka headers: the trace context


Detect = Callable[[tuple[ChatMessage, ...], str | None], Awaitable[Detection]]
PublishedCheck = Callable[[str, bytes, datetime], Awaitable[bool]]


class ResponseStore(Protocol):
    """Keeps each answered request's final response, encrypted, for a redelivery."""

    def keep_response(self, tenant: str, request_id: str, response: bytes, *,
                      values: Iterable[str], retention_s: int) -> None: ...

    def kept_response(self, tenant: str, request_id: str) -> bytes | None: ...


class PlaceholderStore(Protocol):
    """Keeps each conversation's placeholder map, encrypted, for its retention period."""

    def load(self, tenant: str, conversation: str) -> PlaceholderMap: ...

    def save(self, tenant: str, conversation: str, mapping: PlaceholderMap,
             retention_s: float, request_id: str | None = None) -> None: ...


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def response(
    request_id: str, status: str, *, tenant: str | None, reasons: list[dict[str, str]],
    audit_record_id: str | None, policy_hash: str | None, **extra: Any,
) -> Outgoing:
    body = {"id": request_id, "tenant": tenant, "status": status, "reasons": reasons,
            "audit_record_id": audit_record_id, "policy_hash": policy_hash, **extra}
    return Outgoing(RESPONSES_TOPIC, request_id.encode(), _json(body))


class Pipeline:
    def __init__(
        self,
        policy: LoadedPolicy,
        intake: RequestIntake,
        detector: Detector | None,
        audit: AuditStore,
        provider: Adapter,  # usually the gateway (streams.adapters.providers.gateway)
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        provider_attempts: int = 3,
        retry_delay_s: float = 0.5,
        detector_timeout_s: float = 10.0,
        keys: OperatorKeys | None = None,
        placeholders: PlaceholderStore | None = None,
        restore_answers: bool = True,
        detection: BatchedDetector | None = None,
        original_kept_bytes: int = kept_bytes_for(1024 * 1024),
        audit_retry_delay_s: float = 0.5,
        shadow: LoadedPolicy | None = None,
        topic_layout: str = PER_TENANT,
        responses: ResponseStore | None = None,
        store_threads: int = STORE_THREADS,
    ) -> None:
        self.policy = policy
        # answered requests' responses, kept to publish them again on a redelivery
        self.responses = responses
        # judged next to ``policy`` for comparison, recorded, never enforced (Audit mode)
        self.shadow = shadow
        # per tenant: a request's tenant is its topic's, its answers go to that tenant's
        # topics (streams.core.tenant_topics); single: one topic each for everybody
        self.topic_layout = topic_layout
        # how much of a rejected message's bytes its rejection keeps
        self.original_kept_bytes = original_kept_bytes
        self.audit_retry_delay_s = audit_retry_delay_s  # first wait while the store is down
        # conversation-stable placeholders, and whether answers get the values put back
        self.placeholders = placeholders
        self.restore_answers = restore_answers
        self.keys = keys  # for the keyed-hash and encrypt redaction operators
        self.detector_timeout_s = detector_timeout_s
        self.intake = intake
        self.forward_schema = forward_schema()  # what a forward message must look like
        # batched across the requests in flight; in detection processes when the worker says
        # so (then this process loads no detector of its own)
        if detection is None:
            if detector is None:
                raise ValueError("a pipeline needs a detector or a batched detection")
            detection = BatchedDetector.in_thread(detector, detector_timeout_s)
        self.detection = detection
        self.audit = audit
        self.provider = provider
        self.clock = clock
        self.provider_attempts = provider_attempts
        self.retry_delay_s = retry_delay_s
        # retries, circuit breakers and fallback to the next allowed provider
        self.delivery = Delivery(provider, RetryPolicy(attempts=provider_attempts,
                                                       base_delay_s=retry_delay_s))
        # streamed answers: where their pieces are published (set by the worker), and the
        # hook each released piece goes through (placeholder restoration, answer scanning)
        self.chunk_sink: ChunkSink | None = None
        # whether a response is already on its topic (topic, key, since): set by the worker,
        # asked only for a message redelivered after its outcome was recorded
        self.published_check: PublishedCheck | None = None
        self.answer_hook: Callable[[str], str] = unchanged
        # audit appends and vault writes: many wait for one group commit at once, apart from
        # the detection threads so that a busy detector never delays evidence
        self._store_threads = StoreThreads(store_threads, "store")
        # whether the last audit append succeeded (the worker's readiness)
        self.audit_writable = True
        # budget alerts this process knows to be in the log: (budget, month, status)
        self._budget_alerts: set[tuple[str, str, str]] = set()

    async def _append(self, event: AuditEvent,
                      before: Callable[[], None] | None = None) -> AppendResult:
        """Append off the event loop: the store's commit waits for the disk, and appends made
        by many requests at the same moment share one commit (group commit) this way.
        ``before``: store work that must be done first, done in the same store job."""
        started = time.perf_counter()
        with tracing.span("douane.audit.append"):
            tracing.note(audit_kind=event.kind)
            try:
                if before is None:
                    appended = await self._off_loop(self.audit.append, event)
                else:
                    appended, spent_before = await self._off_loop(
                        self._append_after, before, event)
                    started += spent_before
            except _BeforeFailed as failed:  # not the audit store's: raised as it came
                assert failed.__cause__ is not None
                raise failed.__cause__ from None
            except AUDIT_UNAVAILABLE:
                self.audit_writable = False
                metrics.AUDIT_APPEND_FAILURES.inc()
                metrics.AUDIT_WRITABLE.set(0)
                raise
            tracing.note(audit_seq=appended.record.seq, audit_created=appended.created)
        self.audit_writable = True
        metrics.AUDIT_WRITABLE.set(1)
        metrics.AUDIT_APPEND_SECONDS.labels(metrics.audit_kind_label(event.kind)).observe(
            time.perf_counter() - started)
        return appended

    def _count(self, stage: str, tenant: object, decision: str,
               reasons: list[str] | tuple[str, ...] = ()) -> None:
        metrics.record_decision(stage, tenant, decision, list(reasons),
                                self.policy.policy.tenant_ids)

    def _append_after(self, before: Callable[[], None],
                      event: AuditEvent) -> tuple[AppendResult, float]:
        """``before()``, then the append (in a store thread); with the seconds ``before``
        took, which are not the append's. A failure of ``before`` comes out as
        ``_BeforeFailed`` (``_append`` raises the original): it must not be taken for the
        audit store's (``AUDIT_UNAVAILABLE`` holds ``sqlite3.Error``, which the vault raises
        too), and nothing is appended after it."""
        started = time.perf_counter()
        try:
            before()
        except Exception as error:  # a vault error (sqlite3.Error) is not an audit failure
            raise _BeforeFailed from error
        spent_before = time.perf_counter() - started
        return self.audit.append(event), spent_before

    async def _append_holding(self, event: AuditEvent,
                              before: Callable[[], None] | None = None) -> AppendResult:
        """Append a record of the forward stage's outcome (answered, failed). While the audit
        store cannot write, the outcome (an answer already received) is held here and the
        append tried again; its message stays in flight, so the worker's window bounds how many
        are held. Going back to the start of the stage instead would find the request
        forwarded but not answered, and discard the answer as delivery-uncertain.
        ``before`` is done once, before the first attempt, in the same store job."""
        attempt = 0
        while True:
            try:
                return await self._append(event, before)
            except AUDIT_UNAVAILABLE as error:
                before = None  # done: the append alone is tried again
                attempt += 1
                delay = min(30.0, self.audit_retry_delay_s * 2 ** min(attempt, 6))
                log.error("audit store unavailable; holding the answer until it is recorded",
                          request_id=event.request_id, attempt=attempt,
                          error_type=type(error).__name__, retry_in_s=delay)
                await asyncio.sleep(delay)

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        return await self._store_threads.run(functools.partial(work, *args))

    async def _keyed_tokens(self, needed: Sequence[KeyedValue],
                            request_id: str | None) -> KeyedTokens | None:
        """The tokens of a redaction plan's keyed values, from the tenant's keys: in the store
        threads, since ``encrypt`` writes the key store and the vault (SQLite)."""
        if self.keys is None:
            return None
        if not needed:
            return {}
        return await self._off_loop(keyed_tokens, self.keys, needed, request_id)

    def _token_source(self, request_id: str) -> ObtainTokens | None:
        if self.keys is None:
            return None
        return functools.partial(self._keyed_tokens, request_id=request_id)

    def replace_policy(self, policy: LoadedPolicy) -> None:
        """Put a new (validated) policy set in force: one assignment each, taken by the next
        message; a message being judged keeps the set it started with."""
        self.intake = self.intake.with_known_tenants(policy.policy.tenant_ids)
        self.policy = policy

    def _addressed(self, outgoing: list[Outgoing]) -> list[Outgoing]:
        """Responses are built for ``douane.responses``; here each goes to the topic of the
        tenant it answers. One without a tenant has no topic to go to in the per-tenant layout
        (intake sends none: a message whose topic's tenant the policy no longer declares gets
        its rejection on douane.rejected instead)."""
        if self.topic_layout == SINGLE:
            return outgoing
        out = []
        for message in outgoing:
            if message.topic == RESPONSES_TOPIC:
                topic = answer_topic(self.topic_layout, json.loads(message.value).get("tenant"))
                if topic is None:
                    continue
                message = Outgoing(topic, message.key, message.value)
            out.append(message)
        return out

    def _chunk_sink_for(self, tenant: str) -> ChunkSink | None:
        """Where the pieces of ``tenant``'s streamed answer go."""
        sink = self.chunk_sink
        topic = answer_topic(self.topic_layout, tenant, chunks=True)
        if sink is None or topic is None:
            return sink

        async def to_tenant(_topic: str, key: bytes, value: bytes) -> None:
            await sink(topic, key, value)
        return to_tenant

    # ---------------------------------------------------------------- stage 1: admit
    async def admit(self, raw: bytes, source: Source) -> list[Outgoing]:
        with tracing.span("douane.admit", tracing.parent_of(source.carrier),
                          tracing.SpanKind.CONSUMER):
            tracing.note(stage="admit", size_bytes=len(raw))
            return _with_trace_context(self._addressed(await self._admit(raw, source)))

    async def _admit(self, raw: bytes, source: Source) -> list[Outgoing]:
        # on a tenant's own topic, the topic says whose request it is, not the message
        with tracing.span("douane.intake"):
            accepted = self.intake.accept(raw, tenant_of_request_topic(source.topic))
            tracing.note(outcome="rejected" if isinstance(accepted, Rejection) else "accepted",
                         reasons=[accepted.code] if isinstance(accepted, Rejection) else None)
        if isinstance(accepted, Rejection):
            return await self._reject(accepted, raw, source)
        request = accepted
        tracing.note(tenant=tracing.declared(request.tenant, self.policy.policy.tenant_ids))
        policy = self.policy
        # Detection (its own process) and the reads the decision needs besides the findings
        # (one store job) run at the same time: one after the other, a request waited for
        # the reads' thread hop on top of its detection.
        # how far detection goes (the rules' ``detection``) is known before it runs: the
        # classification comes from the request's metadata and the policy alone
        tiers = detection_depth(policy, request.tenant, request.purpose,
                                request.classification) != "fast"
        detecting = asyncio.ensure_future(self._detect_prompt(request, tiers))
        try:
            # the month's spend so far, from the ledger, for a tenant that has budgets in
            # the set in force or in the shadow set
            spend_at = (self.clock() if request.tenant in policy.budgets
                        or (self.shadow is not None and request.tenant in self.shadow.budgets)
                        else None)
            reads = await self._off_loop(self._reads_before_decision, request, source, spend_at)
        except BaseException:
            detecting.cancel()
            raise
        owner, conversation, spend = reads.owner, reads.conversation, reads.spend
        # One id, one decision: a producer duplicate is ignored even when it would be decided
        # differently (other content, or the detector failing this time).
        if owner is not None:
            detecting.cancel()
            return await self._duplicate_id(request.id, request.tenant, raw, source, owner)
        try:
            detection = await detecting
        except Exception as error:
            return await self._fail_closed(request, raw, source, error)
        with tracing.span("douane.decision"):
            pending = prepare_decision(request, detection, policy,
                                       keys_available=self.keys is not None,
                                       placeholders=conversation, spend=spend)
            resolution = pending.verdict.resolution
            if not tiers and resolution is not None and resolution.detection != "fast":
                # The decision's classification asks for the tiers the first detection
                # skipped (today classification never depends on findings, so
                # ``detection_depth`` and the decision agree; this keeps the rule if that
                # changes): detect again with them and decide on that detection alone.
                try:
                    detection = await self._detect_prompt(request, True)
                except Exception as error:
                    return await self._fail_closed(request, raw, source, error)
                pending = prepare_decision(request, detection, policy,
                                           keys_available=self.keys is not None,
                                           placeholders=conversation, spend=spend)
            decision = pending.complete(await self._keyed_tokens(pending.keyed, request.id))
            if tracing.enabled():  # nothing computed for spans nobody exports
                tracing.note(decision=decision.outcome, classification=decision.classification,
                             reasons=[r.code for r in decision.reasons],
                             provider=tracing.declared(
                                 decision.provider.id if decision.provider else None,
                                 {p.id for p in policy.policy.providers}))
        saving: Callable[[], None] | None = None
        if (self.placeholders is not None and conversation is not None
                and conversation.values and decision.outcome == "forward"):
            # kept before anything leaves, so the answer can always be restored
            assert decision.verdict is not None and decision.verdict.resolution is not None
            saving = functools.partial(
                self.placeholders.save, request.tenant, request.conversation_key,
                conversation, decision.verdict.resolution.retention_s["encrypted_payloads"],
                request.id)
        shadow = (shadow_decision(self.shadow, request, detection, self.keys is not None,
                                  spend)
                  if self.shadow is not None else None)
        # The placeholders' commits (key store, vault), then the record's (audit log), in one
        # store job (one wake-up of a store thread and of the event loop, not two; issue 10,
        # docs/benchmarks.md "storejobs2"): both are durable before anything leaves (the
        # outgoing messages are built only after the job). A save that fails fails the job
        # before the append, as the append that fails; a crash or a failure between them is a
        # redelivery as any other: the same decision, saved and recorded again (the record's
        # append is idempotent, the placeholders keep their first value).
        appended = await self._append(audit_events.decided(
            decision, self.clock(), source=source.as_json(), shadow=shadow,
            trace_id=tracing.trace_id()), before=saving)
        if not appended.created and not _same_source(appended.record, source):
            # another message with this id was decided meanwhile (a race the check above
            # cannot see): it owns the id's response
            return await self._duplicate_id(request.id, request.tenant, raw, source,
                                            appended.record)
        self._count("admit", request.tenant, decision.outcome,
                    [r.code for r in decision.reasons])
        if tracing.enabled():
            tracing.note(decision=decision.outcome, reasons=[r.code for r in decision.reasons])
        if decision.verdict is not None and decision.verdict.budgets:
            await self._alert_budgets(decision.verdict.budgets, policy)
        log.info("decided", request_id=request.id, tenant=request.tenant,
                 decision=decision.outcome, entities=decision.entity_counts,
                 provider=decision.provider.id if decision.provider else None,
                 audit_seq=appended.record.seq)
        if decision.outcome == "block":
            return [self._blocked_response(decision)]
        return [self._forward_message(decision)]

    async def _detect_prompt(self, request: GovernedRequest, tiers: bool = True) -> Detection:
        # batched with the other requests in flight; a batch over its time limit blocks its
        # requests (fail closed). ``tiers`` False: the policy says ``detection: fast``.
        with tracing.span("douane.detection"):
            tracing.note(messages=len(request.messages))
            detection = await self.detection.detect(request.messages, request.language,
                                                    tiers=tiers)
            tracing.note(entities=len(detection.findings), outcome="ok")
        return detection

    def _reads_before_decision(self, request: GovernedRequest, source: Source,
                               spend_at: datetime | None) -> _AdmitReads:
        """What the admit stage reads before it decides, in one store job (each job is a
        wake-up of a store thread and of the event loop): the id's earlier owner, the
        conversation's placeholders and, at ``spend_at``, the month's spend."""
        owner = _id_owner_in(self.audit.records_for_request(request.id), source)
        # a conversation's turns are not judged at once: the worker runs them one after the
        # other (streams.app conversation_key), so this read sees the previous turn's save
        conversation = (self.placeholders.load(request.tenant, request.conversation_key)
                        if self.placeholders is not None else None)
        spend = (MonthSpend.at(request.tenant, spend_at,
                               self.audit.month_spend(request.tenant, month_of(spend_at)))
                 if spend_at is not None else None)
        return _AdmitReads(owner, conversation, spend)

    async def _alert_budgets(self, states: Sequence[BudgetState], policy: LoadedPolicy) -> None:
        """Record a budget that reached its warning threshold or was exhausted, once per
        budget, month and status for all workers (the record's id is the budget's, month's and
        status's; the worker that creates it also logs it and counts it in the metric). An
        alert the store cannot write now is tried again with the next request."""
        for state in states:
            if state.status == "within":
                continue
            seen = (state.budget.id, state.month, state.status)
            if seen in self._budget_alerts:
                continue
            try:
                appended = await self._append(audit_events.budget_alert(
                    state, policy.reference, self.clock()))
            except AUDIT_UNAVAILABLE as error:
                log.error("budget alert not recorded; tried again with the next request",
                          budget=state.budget.id, error_type=type(error).__name__)
                continue
            self._budget_alerts.add(seen)
            if appended.created:
                log.warning("budget exhausted" if state.status == "exhausted"
                            else "budget warning", budget=state.budget.id,
                            tenant=state.budget.tenant, purpose=state.budget.purpose,
                            month=state.month, spent=str(state.spent),
                            monthly=str(state.budget.monthly), currency=state.budget.currency,
                            when_exhausted=state.budget.when_exhausted)
                metrics.BUDGET_ALERTS.labels(
                    metrics.declared_label(state.budget.tenant, policy.policy.tenant_ids),
                    state.status).inc()

    def _forward_message(self, decision: Decision) -> Outgoing:
        message = ForwardMessage.from_decision(decision)
        return Outgoing(forward_topic(message.provider), message.id.encode(),
                        _json(message.as_json()))

    def _blocked_response(self, decision: Decision) -> Outgoing:
        return response(
            decision.request.id, "blocked", tenant=decision.request.tenant,
            reasons=[r.for_client() for r in decision.reasons],
            audit_record_id=decision.audit_record_id, policy_hash=decision.policy.digest,
            metadata=dict(decision.request.metadata),
        )

    async def _id_owner(self, request_id: str, source: Source) -> StoredRecord | None:
        """The record of an earlier message that used this request id (decided or rejected),
        if that message is not this one (a redelivery after a crash is the same message)."""
        return _id_owner_in(await self._off_loop(self.audit.records_for_request, request_id),
                            source)

    async def _duplicate_id(self, request_id: str, tenant: str | None, raw: bytes,
                            source: Source, owner: StoredRecord) -> list[Outgoing]:
        """A request id is answered once, by its first message; any later message using it,
        valid or not, is rejected as ``duplicate-id`` (never silence)."""
        first = owner.payload["details"].get("source") or {}
        log.info("duplicate request id", request_id=request_id, first_seen=first)
        # ids are douane-wide: the first may be another tenant's, whose topic is not named
        place = (f" ({first.get('topic')} partition {first.get('partition')} offset "
                 f"{first.get('offset')})" if first.get("topic") == source.topic else "")
        return await self._reject(Rejection(
            "duplicate-id",
            f"request id already used by an earlier message{place}, which gets the response",
            path="$.id", request_id=request_id, tenant=tenant), raw, source)

    def _topic_tenant(self, source: Source) -> str | None:
        """The tenant a message is known to come from: its request topic's, if the policy
        declares it (per-tenant layout). None in the single layout, where only the message
        itself names a tenant, which any producer may claim."""
        if self.topic_layout == SINGLE:
            return None
        tenant = tenant_of_request_topic(source.topic)
        return tenant if tenant in self.policy.policy.tenant_ids else None

    async def _reject(self, rejection: Rejection, raw: bytes, source: Source) -> list[Outgoing]:
        """A message intake refused. Per tenant, it gets exactly one reply: the first message
        with a readable id owns that id's response (``rejected``, on the tenant's responses);
        any other (no usable id, or an id already used) gets a rejection on the tenant's
        ``douane.rejected.<tenant>``, or on the operators' ``douane.rejected`` when its topic's
        tenant is not declared. The single layout keeps its contract: every rejected message
        on ``douane.rejected``, and the id's owner a ``rejected`` response too."""
        owns_id = (rejection.request_id is not None and rejection.code != "duplicate-id"
                   and await self._id_owner(rejection.request_id, source) is None)
        record_id = (
            f"{rejection.request_id}/rejected" if owns_id
            else f"rejected/{source.topic}/{source.partition}/{source.offset}"
        )
        appended = await self._append(audit_events.intake_rejected(
            rejection, record_id, len(raw), source.as_json(), self.policy.reference,
            self.clock(), trace_id=tracing.trace_id()))
        if not appended.created and not _same_source(appended.record, source):
            # another message with this id was rejected meanwhile: it owns the id's response
            return await self._duplicate_id(rejection.request_id or "", rejection.tenant, raw,
                                            source, appended.record)
        log.info("rejected", code=rejection.code, path=rejection.path, **source.as_json())
        metrics.REJECTED.labels(metrics.closed_label(rejection.code, metrics.REASON_CODES)).inc()
        self._count("admit", rejection.tenant, "reject", [rejection.code])
        tracing.note(decision="reject", reasons=[rejection.code])
        advice = rejection_advice(rejection.code)
        single = self.topic_layout == SINGLE
        tenant = rejection.tenant if single else self._topic_tenant(source)
        answered = owns_id and (single or tenant is not None)
        out = []
        if single or not answered:
            rejected = {
                "request_id": rejection.request_id,
                "error": {"code": rejection.code, "message": rejection.message,
                          "what_to_do": advice, "path": rejection.path,
                          "byte_offset": rejection.byte_offset},
                "source": {**source.as_json(), "key_base64": _b64(source.key)},
                # the producer's own bytes, back on a topic only it (and the operators) reads
                **kept_original(raw, self.original_kept_bytes),
                "rejected_at": appended.record.payload["occurred_at"],
            }
            out.append(Outgoing(rejection_topic(self.topic_layout, tenant),
                                (rejection.request_id or record_id).encode(), _json(rejected)))
        if answered and rejection.request_id:
            out.append(response(
                rejection.request_id, "rejected", tenant=tenant,
                reasons=[{"code": rejection.code, "message": f"{rejection.message}; {advice}"}],
                audit_record_id=record_id, policy_hash=self.policy.digest,
            ))
        return out

    async def _fail_closed(
        self, request: GovernedRequest, raw: bytes, source: Source, error: Exception
    ) -> list[Outgoing]:
        reason = Reason("detector-failed",
                        f"personal-data detection failed ({type(error).__name__}); "
                        "the request is blocked rather than sent unchecked")
        event = audit_events.detector_failed(request.id, request.tenant, reason,
                                             source.as_json(), self.policy.reference,
                                             self.clock(), trace_id=tracing.trace_id())
        record_id = event.record_id
        appended = await self._append(event)
        # a DouaneError's message is safe to log (streams/errors.py) and says which guard or
        # limit failed ("PII detection failed (StepsOverCpuLimit)"); another's is not read
        log.error("detector failed; request blocked", request_id=request.id,
                  error_type=type(error).__name__,
                  detail=str(error) if isinstance(error, DouaneError) else None)
        self._count("admit", request.tenant, "block", [reason.code])
        tracing.note(decision="block", reasons=[reason.code])
        if not appended.created and not _same_source(appended.record, source):
            # another message with this id was blocked meanwhile: it owns the id's response
            return await self._duplicate_id(request.id, request.tenant, raw, source,
                                            appended.record)
        return [response(request.id, "blocked", tenant=request.tenant,
                         reasons=[reason.for_client()], audit_record_id=record_id,
                         policy_hash=self.policy.digest, metadata=dict(request.metadata))]

    # ---------------------------------------------------------------- stage 2: forward
    async def forward(self, raw: bytes, source: Source) -> list[Outgoing]:
        with tracing.span("douane.forward", tracing.parent_of(source.carrier),
                          tracing.SpanKind.CONSUMER):
            tracing.note(stage="forward", size_bytes=len(raw))
            return _with_trace_context(self._addressed(await self._forward(raw, source)))

    async def _forward(self, raw: bytes, source: Source) -> list[Outgoing]:
        value = json.loads(raw)
        # a layout this release does not know is not read at all; then only what the admit
        # stage decided and signed leaves: checked before anything else, so a forged message
        # can neither reach a provider nor disturb the real request
        problem = version_problem(value)
        reads = _ForwardReads(None, [], None)
        if problem is None:
            # the request's records and its conversation's placeholders come along in the same
            # store job (one wait, not three); read only once the admission is found to match
            reads = await self._off_loop(self._forward_reads, value)
            problem = reads.problem
        admission, records = reads.admission, reads.records
        parsed = ForwardMessage.parse(value, self.forward_schema) if problem is None else problem
        if isinstance(parsed, Reason):
            return await self._refuse_forward(value, source, parsed)
        assert admission is not None
        message = parsed
        request_id, tenant = message.id, message.tenant
        tracing.note(tenant=tracing.declared(tenant, self.policy.policy.tenant_ids))
        policy = self.policy  # the set in force for this message, start to end
        existing = {r.kind for r in records}
        common: dict[str, Any] = {"tenant": tenant, "audit_record_id": None,
                                  "policy_hash": message.policy_hash,
                                  "metadata": dict(message.metadata)}
        if existing & {"answered", "failed"}:
            return await self._outcome_again(records, source, common)
        if "forwarded" in existing:
            return await self._failed(request_id, [{
                "code": "delivery-uncertain",
                "message": "douane stopped while this request was with the provider; it is not "
                           "sent again automatically. Resubmit it with a new id.",
            }], message.provider, common)

        async def audit_forwarded(target: PolicyProvider, body: dict[str, Any]) -> str:
            # one record per provider that receives the request, durable before the call
            event = audit_events.forwarded(request_id, tenant, target, body,
                                           message.audit_record_id, policy.reference,
                                           source.as_json(), self.clock(),
                                           trace_id=tracing.trace_id())
            await self._append(event)
            return event.record_id

        # the operators and restoration the policy now in force gives this request
        resolution = policy.resolve(tenant, message.purpose, message.classification)
        # the tenant and conversation are those the signed admission names (checked above),
        # and only the placeholders it lists are put back
        restore, restored_values = (
            self._restorer(reads.placeholders,
                           admission["details"].get("restorable_placeholders") or ())
            if resolution.restore_answers else (self.answer_hook, ()))
        # the answer is read as deep as its prompt was (the rules' ``detection``)
        detect = functools.partial(self.detection.detect,
                                   tiers=resolution.detection != "fast")
        guard = StreamedAnswerGuard(detect, resolution.entities, tenant,
                                    self._token_source(request_id), restore, request_id)
        chunk_sink = self._chunk_sink_for(tenant)
        chunks = (AnswerChunks(request_id, chunk_sink, guard, whole_sentences=True)
                  if message.stream and chunk_sink is not None else None)
        allowed = candidates(policy, message.as_json())
        if not allowed:  # fail closed: the policy now in force allows none of them
            return await self._failed(request_id, [{
                "code": "no-allowed-provider",
                "message": f"the policy now in force ('{policy.policy.policy}' "
                           f"v{policy.policy.version}) allows none of the providers chosen for "
                           "this request; nothing was sent",
            }], message.provider, common)
        delivered = await self.delivery.deliver(
            request_id, allowed, dict(message.body),
            audit_forwarded, on_text=chunks.feed if chunks else None)
        answer = delivered.answer
        if answer is None or delivered.provider is None:
            return await self._failed(request_id, delivered.reasons, message.provider, common)
        try:  # personal data the model itself wrote: the request's operators apply
            checked = await self._govern_answer(answer, resolution.entities, tenant,
                                                request_id, detect)
        except Exception as error:
            return await self._failed(request_id, [{
                "code": "answer-scan-failed",
                "message": f"the answer could not be checked for personal data "
                           f"({type(error).__name__}); it is withheld",
            }], message.provider, common)
        if chunks is not None and (guard.blocked or guard.error):
            await chunks.finish()  # nothing more leaves: the guard releases nothing now
            return await self._failed(request_id, [{
                "code": "answer-blocked-entity" if guard.blocked else "answer-scan-failed",
                "message": f"the model's answer contains {', '.join(guard.blocked)}, which the "
                           "policy blocks for this request; the rest of the answer is withheld"
                           if guard.blocked else "a piece of the answer could not be checked for "
                           f"personal data ({guard.error}); the rest is withheld",
            }], message.provider, common)
        if checked.blocked and chunks is None:
            return await self._failed(request_id, [{
                "code": "answer-blocked-entity",
                "message": f"the model's answer contains {', '.join(checked.blocked)}, which "
                           "the policy blocks for this request; the answer is withheld",
            }], message.provider, common)
        if chunks is not None:  # the answer is exactly what was streamed (restored)
            answer = ProviderAnswer(({"role": "assistant", "content": await chunks.finish()},),
                                    answer.model, answer.finish_reason)
        else:
            answer = ProviderAnswer(
                tuple({**m, "content": restore(c.content)}
                      for m, c in zip(answer.messages, checked.messages, strict=True)),
                answer.model, answer.finish_reason)
        provider = delivered.provider
        answered_at = self.clock()
        spending = usage_and_cost(provider, delivered.model, delivered.usage, answered_at)
        event = audit_events.answered(
            request_id, tenant, answered_at, provider=provider.id,
            model=_recordable_model(answer.model), choices=len(answer.messages),
            failed_over_from=delivered.tried[:-1], streamed=chunks is not None,
            answer_entities=checked.counts, answer_operators=checked.operators,
            blocked_after_streaming=checked.blocked,
            placeholders_restored=restore is not unchanged, usage=spending["usage"],
            cost=spending["cost"], policy=policy.reference, purpose=message.purpose,
            trace_id=tracing.trace_id())
        common["audit_record_id"] = event.record_id
        answered = response(
            request_id, "answered", reasons=[], messages=list(answer.messages),
            provider=provider.id, model=answer.model,
            redacted_entities=dict(message.redacted_entities), usage=client_usage(spending),
            **common,
        )
        # kept before the record that says it exists, in the same store job: a redelivery
        # that finds ``answered`` publishes this copy again
        await self._append_holding(event, before=functools.partial(
            self._keep_response, tenant, request_id, answered.value, restored_values,
            resolution.retention_s["encrypted_payloads"]))
        log.info("answered", request_id=request_id, provider=provider.id)
        self._count("forward", tenant, "answered")
        tracing.note(decision="answered")
        return [answered]

    def _keep_response(self, tenant: str, request_id: str, value: bytes,
                       restored_values: Collection[str], retention_s: float) -> None:
        """Keep the response for a redelivery (in a store thread)."""
        if self.responses is None:
            return
        try:
            self.responses.keep_response(tenant, request_id, value, values=restored_values,
                                         retention_s=int(retention_s))
        except Exception as error:  # the answer still goes out; only its second chance is lost
            log.error("the response could not be kept for a redelivery", request_id=request_id,
                      error_type=type(error).__name__)

    async def _outcome_again(self, records: Sequence[StoredRecord], source: Source,
                             common: dict[str, Any]) -> list[Outgoing]:
        """A forward message whose outcome is already recorded. Redelivered (the offset the
        request was forwarded from): the response may not have reached Kafka (a crash between
        the record and the acknowledgement), so the same response is published again,
        identical, with no provider call and no new record. A second copy at another offset
        (the admit stage, redelivered after a crash, published the forward message twice)
        publishes nothing: the message it was forwarded from owns the response, and every
        request admitted but not committed at a crash would otherwise be answered twice."""
        outcome = next(r for r in records if r.kind in ("answered", "failed"))
        request_id = str(outcome.payload["request_id"])
        forwarded = [r for r in records if r.kind == "forwarded"]
        if forwarded and not any(_same_source(r, source) for r in forwarded):
            log.info("already answered; copy of the forward message skipped",
                     request_id=request_id)
            return []
        if await self._already_published(request_id, common["tenant"], outcome):
            log.info("already answered; its response is on its topic, not published again",
                     request_id=request_id, outcome=outcome.kind)
            return []
        log.info("already answered; response published again", request_id=request_id,
                 outcome=outcome.kind)
        common = {**common, "audit_record_id": outcome.record_id}
        details = outcome.payload["details"]
        if outcome.kind == "failed":
            return [response(request_id, "failed", reasons=client_reasons(details["reasons"]),
                             provider=details["provider"], **common)]
        kept, problem = None, "douane kept no copy of it (no vault)"
        if self.responses is not None:
            try:
                kept = await self._off_loop(self.responses.kept_response, common["tenant"],
                                            request_id)
                problem = ("its copy kept for this is gone: destroyed with its data key by a "
                           "retention run or an erasure (or the request was answered before "
                           "douane kept copies)")
            except ValueErasedError:
                problem = ("its copy kept for this is unreadable: its data key was destroyed "
                           "by a retention run or an erasure")
        if kept is not None:
            return [Outgoing(RESPONSES_TOPIC, request_id.encode(), kept)]
        log.warning("answered, but the response cannot be published again",
                    request_id=request_id)
        code = "answer-erased" if self.responses is not None else "answer-not-kept"
        return [response(request_id, "failed", reasons=[{
            "code": code,
            "message": "the answer was recorded but its response may not have reached you, and "
                       f"{problem}; the provider is not asked again: send the request again "
                       "with a new id",
        }], provider=details["provider"], **common)]

    async def _already_published(self, request_id: str, tenant: str,
                                 outcome: StoredRecord) -> bool:
        """Whether the response of a redelivered message reached Kafka before the crash: the
        commit follows the acknowledgement, so a kill between the two redelivers a message
        whose response did arrive. Not known (no check, or it failed): publish again, an
        identical duplicate rather than a loss."""
        if self.published_check is None:
            return False
        topic = (RESPONSES_TOPIC if self.topic_layout == SINGLE
                 else answer_topic(self.topic_layout, tenant))
        if topic is None:
            return False
        since = datetime.fromisoformat(str(outcome.payload["occurred_at"]))
        try:
            return await self.published_check(topic, request_id.encode(), since)
        except Exception as error:
            log.warning("could not look for the response on its topic; publishing it again",
                        request_id=request_id, error_type=type(error).__name__)
            return False

    def _forward_reads(self, message: Any) -> _ForwardReads:
        """What the forward stage reads before it calls a provider, in one store job: the
        request's signed admission (``_signed_admission``), and once the message is found to
        match it, all the request's records and, for a request not yet forwarded whose
        admission lists placeholders to put back, its conversation's placeholders (the tenant
        and conversation the admission names: the match checks them)."""
        # the admission is one of the request's records: one statement reads them all (the
        # records are returned only once the message is found to match)
        request_id = message.get("id") if isinstance(message, dict) else None
        records = (self.audit.records_for_request(request_id)
                   if isinstance(request_id, str) else [])
        admission = self._signed_admission(message, records)
        problem = admission_problem(message, admission)
        if admission is None or problem is not None:
            return _ForwardReads(admission, [], None, problem)
        stored = None
        if (self.restore_answers and self.placeholders is not None
                and admission["details"].get("restorable_placeholders")
                and not {r.kind for r in records} & {"forwarded", "answered", "failed"}):
            stored = self.placeholders.load(str(message["tenant"]),
                                            str(message["conversation"]))
        return _ForwardReads(admission, records, stored)

    def _signed_admission(self, message: Any,
                          records: Sequence[StoredRecord] = ()) -> dict[str, Any] | None:
        """The payload of the request's own 'admitted' record, if it is validly signed.
        ``records``: the request's records already read; the record is looked up by its id
        when it is not among them."""
        request_id = message.get("id") if isinstance(message, dict) else None
        if not isinstance(request_id, str):
            return None
        record_id = f"{request_id}/admitted"
        record = next((r for r in records if r.record_id == record_id), None)
        if record is None:
            record = self.audit.get(record_id)
        if record is None or not self.audit.is_signed(record):
            return None
        return record.payload

    async def _refuse_forward(self, message: Any, source: Source,
                              problem: Reason) -> list[Outgoing]:
        """Audit the refusal (no call was made). A failed response goes out only for an id
        douane never admitted: a forged copy of a real request's id must not answer for it."""
        request_id = message.get("id") if isinstance(message, dict) else None
        # whoever wrote the message chose the id: recorded only if it has an id's shape
        request_id = (request_id if isinstance(request_id, str)
                      and REQUEST_ID_PATTERN.match(request_id) else None)
        tenant = message.get("tenant") if isinstance(message, dict) else None
        known_tenant = tenant if tenant in self.policy.policy.tenant_ids else None
        event = audit_events.forward_refused(source.as_json(), request_id, known_tenant,
                                             problem, self.policy.reference, self.clock(),
                                             trace_id=tracing.trace_id())
        record_id = event.record_id
        appended = await self._append(event)
        log.warning("forward message refused", code=problem.code, **source.as_json())
        self._count("forward", known_tenant, "refused", [problem.code])
        tracing.note(decision="refused", reasons=[problem.code])
        if not appended.created or request_id is None or await self._off_loop(
                self.audit.records_for_request, request_id) != [appended.record]:
            return []
        return [response(request_id, "failed", tenant=known_tenant,
                         reasons=[problem.for_client()], audit_record_id=record_id,
                         policy_hash=self.policy.digest)]

    def _restorer(self, stored: PlaceholderMap | None, restorable: Collection[str],
                  ) -> tuple[Callable[[str], str], Collection[str]]:
        """Puts the conversation's values back into the answer, when the deployment allows:
        only those behind ``restorable``, the placeholders written in place of this request's
        own values (never one the sender typed, never one of an earlier turn alone), out of
        ``stored``, the conversation's placeholders (``_forward_reads``). Returns the hook and
        the values it may put back."""
        if not self.restore_answers or stored is None or not restorable:
            return self.answer_hook, ()
        mapping = stored.limited_to(restorable)
        if not mapping.values:
            return self.answer_hook, ()
        hook = self.answer_hook
        return (lambda text: hook(mapping.restore(text))), tuple(mapping.values.values())

    async def _govern_answer(
        self, answer: ProviderAnswer, rules: Mapping[str, EntityRule], tenant: str,
        request_id: str, detect: Detect | None = None,
    ) -> AnswerVerdict:
        """Detect personal data in the answer (same time limit as prompts) and apply the
        operators the policy gives this request's tenant, purpose and classification."""
        messages = tuple(ChatMessage("assistant", m["content"]) for m in answer.messages)
        with tracing.span("douane.detection"):
            tracing.note(messages=len(messages))
            detection = await (detect or self.detection.detect)(messages, None)
            tracing.note(entities=len(detection.findings), outcome="ok")
        plan = plan_answer(messages, detection.findings, rules, tenant=tenant)
        return plan.complete(await self._keyed_tokens(plan.keyed, request_id))

    async def _failed(
        self, request_id: str, reasons: list[dict[str, str]], provider_id: str,
        common: dict[str, Any],
    ) -> list[Outgoing]:
        event = audit_events.failed(request_id, common["tenant"], provider_id, reasons,
                                    self.policy.reference, self.clock(),
                                    trace_id=tracing.trace_id())
        record_id = event.record_id
        await self._append_holding(event)
        log.warning("failed", request_id=request_id, provider=provider_id,
                    codes=[r.get("code") for r in reasons])
        self._count("forward", common["tenant"], "failed", [str(r.get("code")) for r in reasons])
        if tracing.enabled():
            tracing.note(decision="failed", reasons=[str(r.get("code")) for r in reasons])
        # the audit record keeps what each provider answered; the caller gets what to do
        return [response(request_id, "failed", reasons=client_reasons(reasons),
                         provider=provider_id,
                         **{**common, "audit_record_id": record_id})]


class StreamedAnswerGuard:
    """The hook each sentence of a streamed answer goes through before it leaves: scanned for
    personal data and held to the request's operators (as whole answers are), then restored.
    A blocked type, or a scan that fails, stops the stream: nothing after it is released."""

    def __init__(self, detect: Detect, rules: Mapping[str, EntityRule], tenant: str,
                 tokens: ObtainTokens | None, restore: Callable[[str], str],
                 request_id: str | None = None) -> None:
        self.detect, self.rules, self.tenant, self.tokens = detect, rules, tenant, tokens
        self.restore, self.request_id = restore, request_id
        self.blocked: tuple[str, ...] = ()
        self.error: str | None = None

    async def __call__(self, text: str) -> str:
        if self.blocked or self.error:
            return ""
        messages = (ChatMessage("assistant", text),)
        try:
            detection = await self.detect(messages, None)
            plan = plan_answer(messages, detection.findings, self.rules, tenant=self.tenant)
            tokens = (await self.tokens(plan.keyed)
                      if self.tokens is not None and plan.keyed else None)
            verdict = plan.complete(tokens)
        except Exception as error:  # fail closed
            self.error = type(error).__name__
            return ""
        if verdict.blocked:
            self.blocked = verdict.blocked
            return ""
        return self.restore(verdict.messages[0].content)


def _recordable_model(model: str | None) -> str | None:
    """The model a provider says answered, for the audit record: the provider's text, kept
    as written only if it has a model name's shape."""
    if model is None or MODEL_PATTERN.match(model):
        return model
    return undeclared_value(model)


def shadow_decision(shadow: LoadedPolicy, request: GovernedRequest, detection: Detection,
                    keys_available: bool, spend: MonthSpend | None = None) -> dict[str, Any]:
    """What the shadow set would have decided, for the record: the same facts the set in force
    was given (metadata, findings and the month's spend; no text), and only identifiers and
    codes kept - never the reasons' messages. A shadow set that cannot judge the request is
    recorded as such; it never changes what the set in force decided."""
    try:
        verdict = evaluate(
            shadow, tenant=request.tenant, purpose=request.purpose,
            classification=request.classification, model=request.model,
            prompt_chars=prompt_chars(request.messages), detection_method=detection.method,
            language=detection.language, findings=detection.findings,
            keys_available=keys_available, spend=spend)
    except Exception as error:
        log.error("shadow policy failed to judge a request", request_id=request.id,
                  error_type=type(error).__name__)
        return {"policy": shadow.reference, "error": type(error).__name__}
    return {"policy": shadow.reference, "decision": verdict.outcome,
            "classification": verdict.classification,
            "provider": verdict.provider.id if verdict.provider else None,
            "model": verdict.model if verdict.provider else None,
            "operators": dict(sorted(verdict.operators.items())),
            "reasons": [r.code for r in verdict.reasons],
            **({"budgets": {s.budget.id: s.status for s in verdict.budgets}}
               if verdict.budgets else {})}


def _with_trace_context(outgoing: list[Outgoing]) -> list[Outgoing]:
    """The messages with the current span's context in their headers (none: tracing is off):
    the forward stage continues the trace from the forward message's."""
    headers = tracing.kafka_headers()
    if not headers:
        return outgoing
    return [dataclasses.replace(message, headers=headers) for message in outgoing]


class _BeforeFailed(DouaneError):
    """The store work done before an append failed (its error is the ``__cause__``); never
    leaves the pipeline (``Pipeline._append`` raises the cause)."""


@dataclass(frozen=True)
class _AdmitReads:
    """What the admit stage reads before its decision (``Pipeline._reads_before_decision``)."""

    owner: StoredRecord | None  # the record of an earlier message that used the id
    conversation: PlaceholderMap | None  # the conversation's placeholders (a vault: not None)
    spend: MonthSpend | None  # the month's spend, for a tenant with budgets


@dataclass(frozen=True)
class _ForwardReads:
    """What the forward stage reads before the provider call (``Pipeline._forward_reads``)."""

    admission: dict[str, Any] | None  # the payload of the signed ``admitted`` record
    records: list[StoredRecord]  # all the request's records (empty while not admitted)
    placeholders: PlaceholderMap | None  # the conversation's, when some may be put back
    problem: Reason | None = None  # why the message does not match its admission


def _id_owner_in(records: Sequence[StoredRecord], source: Source) -> StoredRecord | None:
    """Of a request id's records, the first decision or rejection, if it is not of ``source``
    (a redelivery after a crash is the same message)."""
    first = next((r for r in records if r.kind in ("admitted", "blocked", "rejected")), None)
    return first if first is not None and not _same_source(first, source) else None


def _same_source(record: StoredRecord, source: Source) -> bool:
    return bool(record.payload["details"].get("source") == source.as_json())


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")
