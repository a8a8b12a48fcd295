"""How much one caller may ask of the front door: per key and per tenant, a request rate and a
number of requests in flight. Without them one caller could fill the worker's queue and starve
every other agency (40 fire-and-forget requests did).

Per key: the front door's settings (``DOUANE_FRONT_DOOR_KEY_*``). Per tenant: the policy's
``tenants[].front_door`` where it gives them, else ``DOUANE_FRONT_DOOR_TENANT_*``.

- **Rate**: a token bucket per key and per tenant: up to ``requests_per_minute`` at once, then
  one more every ``60 / requests_per_minute`` seconds.
- **In flight**: a request holds a slot of its key and of its tenant from the moment it is
  accepted until douane's final response for it has come back, even when the caller stopped
  waiting (a 504, a closed connection): douane keeps working on it, so it still counts.

A refusal is a 429 with ``retry-after`` (``Refused``); nothing is consumed by a refused request.
The limits hold per front door process (several front doors: divide them). Pure: the clock is
given, nothing here does I/O.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from streams.core.policy import Policy
from streams.errors import DouaneError

UNLIMITED = "unlimited"
# environment variable -> default; "unlimited" turns a limit off
ENVIRONMENT = {
    "DOUANE_FRONT_DOOR_KEY_REQUESTS_PER_MINUTE": "600",
    "DOUANE_FRONT_DOOR_KEY_MAX_IN_FLIGHT": "32",
    "DOUANE_FRONT_DOOR_TENANT_REQUESTS_PER_MINUTE": "1200",
    "DOUANE_FRONT_DOOR_TENANT_MAX_IN_FLIGHT": "128",
}


class LimitSettingError(DouaneError, ValueError):
    """A limit setting is not a positive whole number (or 'unlimited'); names the setting."""


@dataclass(frozen=True)
class Limits:
    """One subject's limits (a key, or a tenant); None: no limit."""

    requests_per_minute: int | None = None
    max_in_flight: int | None = None


NO_LIMITS = Limits()


@dataclass(frozen=True)
class LimitSettings:
    per_key: Limits = NO_LIMITS
    per_tenant: Limits = NO_LIMITS
    # a tenant's own, from the policy (tenants[].front_door); unset fields: per_tenant's
    tenants: Mapping[str, Limits] = field(default_factory=dict)

    def for_tenant(self, tenant: str) -> Limits:
        own = self.tenants.get(tenant)
        if own is None:
            return self.per_tenant
        return Limits(
            own.requests_per_minute if own.requests_per_minute is not None
            else self.per_tenant.requests_per_minute,
            own.max_in_flight if own.max_in_flight is not None
            else self.per_tenant.max_in_flight)

    def with_policy(self, policy: Policy) -> LimitSettings:
        """These settings with the limits the policy gives its tenants."""
        return replace(self, tenants={
            t.id: Limits(t.front_door.requests_per_minute, t.front_door.max_in_flight)
            for t in policy.tenants if t.front_door is not None})

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> LimitSettings:
        def read(name: str) -> int | None:
            text = environment.get(name, ENVIRONMENT[name]).strip()
            if text == UNLIMITED:
                return None
            if not text.isdigit() or int(text) < 1:
                raise LimitSettingError(f"{name}={text!r}: must be a whole number of at least "
                                        f"1, or '{UNLIMITED}'")
            return int(text)

        return cls(
            Limits(read("DOUANE_FRONT_DOOR_KEY_REQUESTS_PER_MINUTE"),
                   read("DOUANE_FRONT_DOOR_KEY_MAX_IN_FLIGHT")),
            Limits(read("DOUANE_FRONT_DOOR_TENANT_REQUESTS_PER_MINUTE"),
                   read("DOUANE_FRONT_DOOR_TENANT_MAX_IN_FLIGHT")))


@dataclass(frozen=True)
class Refused:
    """Why a request was not accepted, and when to try again (whole seconds, at least 1)."""

    code: str  # "rate_limit_exceeded" or "concurrency_limit_exceeded"
    message: str
    retry_after_s: int


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class _Subject:
    """What one key or one tenant has used."""

    limits: Limits
    what: str  # "key 1a2b3c4d", "tenant 'city-of-lyon'": for messages
    in_flight: int = 0
    bucket: _Bucket | None = None

    def refill(self, now: float) -> float:
        """Tokens available now (the bucket starts full)."""
        rate = self.limits.requests_per_minute
        assert rate is not None
        if self.bucket is None:
            self.bucket = _Bucket(float(rate), now)
        elapsed = max(0.0, now - self.bucket.at)
        self.bucket.tokens = min(float(rate), self.bucket.tokens + elapsed * rate / 60.0)
        self.bucket.at = now
        return self.bucket.tokens

    def refusal(self, now: float) -> Refused | None:
        limits = self.limits
        if limits.max_in_flight is not None and self.in_flight >= limits.max_in_flight:
            return Refused("concurrency_limit_exceeded",
                           f"{self.what} already has {self.in_flight} request(s) in flight, its "
                           f"limit; each one counts until douane has answered it, even after "
                           "its caller stopped waiting", 1)
        if limits.requests_per_minute is not None and self.refill(now) < 1.0:
            assert self.bucket is not None
            wait = (1.0 - self.bucket.tokens) * 60.0 / limits.requests_per_minute
            return Refused("rate_limit_exceeded",
                           f"{self.what} sent more than {limits.requests_per_minute} "
                           "request(s) per minute, its limit", max(1, math.ceil(wait)))
        return None


@dataclass
class Slot:
    """A request's place among its key's and its tenant's requests in flight."""

    subjects: tuple[_Subject, ...]
    released: bool = field(default=False)

    def release(self) -> None:
        """Idempotent: the final response and a give-up timer may both call it."""
        if not self.released:
            self.released = True
            for subject in self.subjects:
                subject.in_flight -= 1


class Limiter:
    def __init__(self, settings: LimitSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._keys: dict[str, _Subject] = {}
        self._tenants: dict[str, _Subject] = {}

    def admit(self, key_id: str, tenant: str) -> Slot | Refused:
        """A slot for a new request of this key and tenant, or why not. A refusal consumes
        nothing, so a caller that keeps being refused does not starve itself further."""
        key = self._keys.get(key_id)
        if key is None:
            key = self._keys[key_id] = _Subject(self.settings.per_key, f"API key {key_id}")
        owner = self._tenants.get(tenant)
        if owner is None:
            owner = self._tenants[tenant] = _Subject(self.settings.for_tenant(tenant),
                                                     f"tenant '{tenant}'")
        now = self.clock()
        for subject in (key, owner):
            refused = subject.refusal(now)
            if refused is not None:
                return refused
        for subject in (key, owner):
            subject.in_flight += 1
            if subject.bucket is not None:
                subject.bucket.tokens -= 1.0
        return Slot((key, owner))

    def in_flight(self, key_id: str | None = None, tenant: str | None = None) -> int:
        """Requests in flight for a key or a tenant (for tests and logs)."""
        subject = (self._keys.get(key_id) if key_id is not None
                   else self._tenants.get(tenant or ""))
        return subject.in_flight if subject is not None else 0
