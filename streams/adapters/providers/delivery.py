"""Delivering one audited request: the allowed providers in policy order, each with retries and
a circuit breaker, until one answers or none is left.

Only providers handed in are ever called: the caller passes the ones the policy allows for this
request, in the policy's order (``fallback.candidates``). Before the first call to a provider,
``before_call`` must durably record that this provider is about to receive the request and
return that audit record's id; if it raises, nothing is sent (fail closed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from streams.adapters.providers.base import CallContext, ProviderAnswer, ProviderError
from streams.adapters.providers.resilience import Breakers, RetryPolicy
from streams.core.policy import Provider

log = structlog.get_logger(__name__)
BeforeCall = Callable[[Provider, dict[str, Any]], str]


class Gateway(Protocol):
    async def complete(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> ProviderAnswer: ...


@dataclass
class DeliveryResult:
    answer: ProviderAnswer | None
    provider: Provider | None               # the one that answered
    tried: list[str] = field(default_factory=list)   # providers that received the request
    reasons: list[dict[str, str]] = field(default_factory=list)  # why each one failed


def body_for(provider: Provider, body: dict[str, Any]) -> dict[str, Any]:
    """The audited body, with the model this provider offers (the one asked for if it has it)."""
    model = body.get("model")
    return body if model in provider.models else {**body, "model": provider.models[0]}


class Delivery:
    def __init__(
        self, gateway: Gateway, retry: RetryPolicy | None = None,
        breakers: Breakers | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.gateway = gateway
        self.retry = retry or RetryPolicy()
        self.breakers = breakers or Breakers()
        self.sleep = sleep

    async def deliver(
        self, request_id: str, candidates: Sequence[Provider], body: dict[str, Any],
        before_call: BeforeCall,
    ) -> DeliveryResult:
        result = DeliveryResult(None, None)
        for provider in candidates:
            breaker = self.breakers(provider.id)
            if not breaker.allow():
                result.reasons.append({
                    "code": "provider-unavailable",
                    "message": f"provider {provider.id} skipped: its circuit breaker is open "
                               f"after repeated failures (nothing was sent to it)"})
                continue
            sent_body = body_for(provider, body)
            context = CallContext(request_id, before_call(provider, sent_body))
            result.tried.append(provider.id)
            answer, problem = await self._call_with_retries(provider, sent_body, context)
            if answer is not None:
                breaker.succeeded()
                result.answer, result.provider = answer, provider
                return result
            assert problem is not None
            if problem.retryable:
                breaker.failed()
            else:  # the provider is up; the request or our credentials are the problem
                breaker.succeeded()
            result.reasons.append({"code": "provider-failed", "message": str(problem)})
            log.warning("provider gave no answer; trying the next allowed one",
                        request_id=request_id, provider=provider.id, kind=problem.kind)
        if not candidates:
            result.reasons.append({"code": "no-allowed-provider",
                                   "message": "no provider the policy allows is left for this "
                                              "request"})
        return result

    async def _call_with_retries(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> tuple[ProviderAnswer | None, ProviderError | None]:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.gateway.complete(provider, body, context), None
            except ProviderError as error:
                delay = self.retry.delay_before(attempt, error)
                log.warning("provider call failed", request_id=context.request_id,
                            provider=provider.id, attempt=attempt, status=error.status,
                            kind=error.kind, retry_in_s=delay)
                if delay is None:
                    return None, error
                await self.sleep(delay)
