"""Per-provider resilience: retry timing (exponential backoff, full jitter, retry-after) and a
circuit breaker. Pure policy objects with an injectable clock and random source, so tests need
no sleeping; ``delivery`` applies them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.adapters.providers.base import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon to try the same provider again after a *retryable* error."""

    attempts: int = 3                 # calls per provider, the first one included
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 30.0   # a provider asking for a longer pause is left for the next
    rng: Callable[[], float] = random.random

    def delay_before(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before call number ``attempt + 1``; None: stop trying this provider."""
        if not error.retryable or attempt >= self.attempts:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after_s:
                return None
            return error.retry_after  # the provider said when; earlier would only fail again
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        # "full jitter": spreads the retries of many workers hit by the same outage
        return float(ceiling * self.rng())


@dataclass
class CircuitBreaker:
    """Closed -> open after ``threshold`` consecutive failures -> half-open after ``cooldown_s``
    (one trial call) -> closed on success, open again on failure. An open breaker means the
    provider is skipped (the next allowed provider is tried) without sending it anything."""

    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cooldown_s else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.trial_in_flight = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self.trial_in_flight = False


@dataclass
class Breakers:
    """One breaker per provider id, created on first use."""

    threshold: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    by_provider: dict[str, CircuitBreaker] = field(default_factory=dict)

    def __call__(self, provider_id: str) -> CircuitBreaker:
        if provider_id not in self.by_provider:
            self.by_provider[provider_id] = CircuitBreaker(self.threshold, self.cooldown_s,
                                                           self.clock)
        return self.by_provider[provider_id]
