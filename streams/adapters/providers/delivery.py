"""Delivering one audited request: the allowed providers in policy order, each with retries and
a circuit breaker, until one answers or none is left.

Only providers handed in are ever called: the caller passes the ones the policy allows for this
request, in the policy's order (``fallback.candidates``). Before the first call to a provider,
``before_call`` must durably record that this provider is about to receive the request and
return that audit record's id; if it raises, nothing is sent (fail closed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from streams.adapters import metrics, tracing
from streams.adapters.providers.base import (
    Adapter,
    CallContext,
    ProviderAnswer,
    ProviderError,
)
from streams.adapters.providers.limits import ProviderLimits
from streams.adapters.providers.resilience import Breakers, RetryPolicy
from streams.core.policy import Provider
from streams.core.usage import TokenUsage, body_texts, estimated_usage

log = structlog.get_logger(__name__)
BeforeCall = Callable[[Provider, dict[str, Any]], Awaitable[str]]
OnText = Callable[[str], Awaitable[None]]


class _Streamed:
    """Whether any text of a streamed answer was passed on: after that, no retry, no fallback
    (the caller already has the beginning of this provider's answer)."""

    def __init__(self) -> None:
        self.started = False


@dataclass
class DeliveryResult:
    answer: ProviderAnswer | None
    provider: Provider | None               # the one that answered
    tried: list[str] = field(default_factory=list)   # providers that received the request
    reasons: list[dict[str, str]] = field(default_factory=list)  # why each one failed
    streamed: bool = False
    model: str | None = None   # the model asked of the provider that answered (its price)
    usage: TokenUsage | None = None  # as it reported it, or estimated (marked so) if it did not


def body_for(provider: Provider, body: dict[str, Any]) -> dict[str, Any]:
    """The audited body, with the model this provider offers (the one asked for if it has it)."""
    model = body.get("model")
    return body if model in provider.models else {**body, "model": provider.models[0]}


class Delivery:
    def __init__(
        self, gateway: Adapter, retry: RetryPolicy | None = None,
        breakers: Breakers | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limits: ProviderLimits | None = None,
    ) -> None:
        self.gateway = gateway
        self.limits = limits or ProviderLimits()
        self.retry = retry or RetryPolicy()
        self.breakers = breakers or Breakers()
        self.sleep = sleep

    async def deliver(
        self, request_id: str, candidates: Sequence[Provider], body: dict[str, Any],
        before_call: BeforeCall, on_text: OnText | None = None,
    ) -> DeliveryResult:
        """``on_text``: stream the answer, passing each piece on as it arrives."""
        result = DeliveryResult(None, None, streamed=on_text is not None)
        for provider in candidates:
            breaker = self.breakers(provider.id)
            if not breaker.allow():
                result.reasons.append({
                    "code": "provider-unavailable",
                    "message": f"provider {provider.id} skipped: its circuit breaker is open "
                               f"after repeated failures (nothing was sent to it)"})
                continue
            sent_body = body_for(provider, body)
            if on_text is not None:
                sent_body = {**sent_body, "stream": True}  # the audited digest covers it
            context = CallContext(request_id, await before_call(provider, sent_body))
            result.tried.append(provider.id)
            streamed = _Streamed()
            answer, problem = await self._call_with_retries(provider, sent_body, context,
                                                            on_text, streamed)
            if answer is not None:
                breaker.succeeded()
                metrics.record_circuit(provider.id, breaker.state)
                result.answer, result.provider = answer, provider
                result.model = sent_body.get("model")
                # counted on what was sent (the redacted prompt) and what came back
                result.usage = answer.usage or estimated_usage(
                    body_texts(sent_body), (m.get("content") or "" for m in answer.messages))
                return result
            assert problem is not None
            if problem.retryable:
                breaker.failed()
            else:  # the provider is up; the request or our credentials are the problem
                breaker.succeeded()
            metrics.record_circuit(provider.id, breaker.state)
            result.reasons.append({"code": "provider-failed", "message": str(problem)})
            if streamed.started:
                result.reasons.append({
                    "code": "stream-interrupted",
                    "message": f"provider {provider.id} stopped in the middle of its answer; "
                               "part of it was already passed on, so it is not asked again "
                               "and no other provider is tried"})
                return result
            log.warning("provider gave no answer; trying the next allowed one",
                        request_id=request_id, provider=provider.id, kind=problem.kind)
        if not candidates:
            result.reasons.append({"code": "no-allowed-provider",
                                   "message": "no provider the policy allows is left for this "
                                              "request"})
        return result

    async def _call_with_retries(
        self, provider: Provider, body: dict[str, Any], context: CallContext,
        on_text: OnText | None, streamed: _Streamed,
    ) -> tuple[ProviderAnswer | None, ProviderError | None]:
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.limits.slot(provider, body):
                    return await self._measured_call(provider, body, context, on_text,
                                                     streamed, attempt), None
            except ProviderError as error:
                delay = None if streamed.started else self.retry.delay_before(attempt, error)
                log.warning("provider call failed", request_id=context.request_id,
                            provider=provider.id, attempt=attempt, status=error.status,
                            kind=error.kind, retry_in_s=delay)
                if delay is None:
                    return None, error
                await self.sleep(delay)

    async def _measured_call(
        self, provider: Provider, body: dict[str, Any], context: CallContext,
        on_text: OnText | None, streamed: _Streamed, attempt: int = 1,
    ) -> ProviderAnswer:
        """One call, counted in the provider's metrics (its id is one the policy declares:
        only the policy's providers are ever handed in), in a span of its own whose context
        the provider receives (``traceparent``)."""
        in_flight = metrics.PROVIDER_IN_FLIGHT.labels(provider.id)
        in_flight.inc()
        started = time.perf_counter()
        outcome = "ok"
        with tracing.span("douane.provider.call", kind=tracing.SpanKind.CLIENT):
            tracing.note(provider=tracing.Declared(provider.id), attempt=attempt,
                         streamed=on_text is not None)
            trace_headers = tracing.http_headers()
            if trace_headers:
                context = dataclasses.replace(context, trace=tuple(trace_headers.items()))
            try:
                if on_text is None:
                    return await self.gateway.complete(provider, body, context)
                return await self._stream(provider, body, context, on_text, streamed)
            except ProviderError as error:
                outcome = metrics.closed_label(error.kind, metrics.PROVIDER_ERROR_KINDS)
                metrics.PROVIDER_ERRORS.labels(provider.id, outcome).inc()
                tracing.note(error_kind=error.kind, status_code=error.status)
                raise
            except BaseException:
                outcome = metrics.OTHER
                raise
            finally:
                in_flight.dec()
                metrics.PROVIDER_SECONDS.labels(provider.id, outcome).observe(
                    time.perf_counter() - started)

    async def _stream(
        self, provider: Provider, body: dict[str, Any], context: CallContext, on_text: OnText,
        streamed: _Streamed,
    ) -> ProviderAnswer:
        pieces: list[str] = []
        usage: TokenUsage | None = None
        async for piece in self.gateway.stream(provider, body, context):
            if isinstance(piece, TokenUsage):
                usage = piece
                continue
            pieces.append(piece)
            streamed.started = True
            await on_text(piece)
        return ProviderAnswer(({"role": "assistant", "content": "".join(pieces)},),
                              str(body.get("model", "")), "stop", usage)
