"""The front door's limits per key and per tenant (issue 12, item 6), on a clock the test moves:
a rate and a number of requests in flight, refusals that say when to come back and consume
nothing, and settings read from the environment."""

from __future__ import annotations

import pytest
import yaml

from streams.adapters.policy_files import parse_policy, policy_document
from streams.config import project_root
from streams.core.policy import PolicyError
from streams.front_door.limits import (
    NO_LIMITS,
    Limiter,
    Limits,
    LimitSettingError,
    LimitSettings,
    Refused,
    Slot,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(per_key: Limits = NO_LIMITS, per_tenant: Limits = NO_LIMITS
            ) -> tuple[Limiter, Clock]:
    clock = Clock()
    return Limiter(LimitSettings(per_key, per_tenant), clock), clock


def slot(outcome: Slot | Refused) -> Slot:
    assert isinstance(outcome, Slot), outcome
    return outcome


def refused(outcome: Slot | Refused) -> Refused:
    assert isinstance(outcome, Refused), outcome
    return outcome


def test_a_key_may_burst_its_rate_then_waits_for_it() -> None:
    limits, clock = limiter(per_key=Limits(requests_per_minute=2))
    slot(limits.admit("k1", "city")).release()
    slot(limits.admit("k1", "city")).release()
    third = refused(limits.admit("k1", "city"))
    assert third.code == "rate_limit_exceeded" and third.retry_after_s == 30
    assert "API key k1" in third.message and "2 request(s) per minute" in third.message
    clock.now += 29
    assert refused(limits.admit("k1", "city")).retry_after_s == 1
    clock.now += 1
    slot(limits.admit("k1", "city"))
    slot(limits.admit("k2", "city"))  # another key has its own bucket


def test_requests_in_flight_are_bounded_until_released() -> None:
    limits, _ = limiter(per_key=Limits(max_in_flight=2))
    first, _second = slot(limits.admit("k1", "city")), slot(limits.admit("k1", "city"))
    third = refused(limits.admit("k1", "city"))
    assert third.code == "concurrency_limit_exceeded" and third.retry_after_s == 1
    assert "2 request(s) in flight" in third.message
    first.release()
    first.release()  # idempotent: a timer and the final response may both release
    assert limits.in_flight(key_id="k1") == 1
    slot(limits.admit("k1", "city"))
    assert limits.in_flight(key_id="k1") == 2


def test_a_tenant_is_bounded_across_its_keys() -> None:
    limits, _ = limiter(per_key=Limits(max_in_flight=5), per_tenant=Limits(max_in_flight=2))
    slot(limits.admit("k1", "city"))
    slot(limits.admit("k2", "city"))
    third = refused(limits.admit("k3", "city"))
    assert "tenant 'city'" in third.message
    slot(limits.admit("k4", "tax-office"))  # another tenant is not starved


def test_a_refusal_consumes_nothing() -> None:
    """Refused by its tenant, a key keeps its tokens; refused, a caller does not dig deeper."""
    limits, clock = limiter(per_key=Limits(requests_per_minute=1),
                            per_tenant=Limits(max_in_flight=1))
    held = slot(limits.admit("k1", "city"))
    refused(limits.admit("k2", "city"))  # the tenant is full: k2's token is not spent
    held.release()
    slot(limits.admit("k2", "city")).release()
    for _ in range(10):
        assert refused(limits.admit("k2", "city")).code == "rate_limit_exceeded"
    clock.now += 60  # one minute gives one request back, whatever the refusals
    slot(limits.admit("k2", "city"))


def test_settings_come_from_the_environment() -> None:
    settings = LimitSettings.from_environment({
        "DOUANE_FRONT_DOOR_KEY_REQUESTS_PER_MINUTE": "60",
        "DOUANE_FRONT_DOOR_TENANT_MAX_IN_FLIGHT": "unlimited"})
    assert settings.per_key == Limits(60, 32)  # the other one by default
    assert settings.per_tenant == Limits(1200, None)


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "lots", ""])
def test_a_bad_setting_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(LimitSettingError, match="DOUANE_FRONT_DOOR_KEY_MAX_IN_FLIGHT="):
        LimitSettings.from_environment({"DOUANE_FRONT_DOOR_KEY_MAX_IN_FLIGHT": value})


def test_the_policy_may_give_a_tenant_its_own_limits() -> None:
    document = policy_document(project_root() / "policies")
    for tenant in document["tenants"]:
        if tenant["id"] == "tax-office":
            tenant["front_door"] = {"max_in_flight": 1}
    policy = parse_policy(yaml.safe_dump(document), "limits.yaml").policy
    settings = LimitSettings(per_tenant=Limits(60, 5)).with_policy(policy)
    assert settings.for_tenant("tax-office") == Limits(60, 1)  # its own, and the default rate
    assert settings.for_tenant("city-of-lyon") == Limits(60, 5)
    limits = Limiter(settings, Clock())
    slot(limits.admit("k1", "tax-office"))
    assert "tenant 'tax-office'" in refused(limits.admit("k2", "tax-office")).message
    for key in ("k3", "k4"):
        slot(limits.admit(key, "city-of-lyon"))


def test_a_tenants_limits_in_the_policy_are_checked() -> None:
    document = policy_document(project_root() / "policies")
    document["tenants"][0]["front_door"] = {"max_in_flight": 0}
    with pytest.raises(PolicyError, match=r"tenants\[0\]\.front_door\.max_in_flight"):
        parse_policy(yaml.safe_dump(document), "limits.yaml")
