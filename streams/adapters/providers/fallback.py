"""Which providers may receive a request, in order: the policy's allowed list for its tenant,
purpose and classification (``streams.core.rules``).

Stage 1 decides the first provider and records the rest of the allowed list, in order, in the
forward message (``Decision.fallbacks``); stage 2 re-checks that list against the policy it
runs with (``candidates``), so a provider the policy does not allow is never called, even if a
message or an older policy named it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy import SENSITIVITY, Provider


def allowed_ids(
    loaded: LoadedPolicy, tenant: str, purpose: str | None, classification: str
) -> tuple[str, ...]:
    policy = loaded.policy
    if not policy.has_tenant(tenant) or classification not in SENSITIVITY:
        return ()
    if purpose is not None and policy.purpose(purpose) is None:
        return ()
    return tuple(p.id for p in loaded.resolve(tenant, purpose, classification).candidates)


def fallback_ids(
    loaded: LoadedPolicy, tenant: str, purpose: str | None, classification: str, chosen: str,
    requested_model: str | None,
) -> list[str]:
    """The allowed providers after ``chosen``, in policy order; only those offering the model
    the request asked for, if it asked for one."""
    allowed = allowed_ids(loaded, tenant, purpose, classification)
    later = allowed[allowed.index(chosen) + 1:] if chosen in allowed else ()
    return [pid for pid in later
            if requested_model is None or requested_model in loaded.policy.provider(pid).models]


def candidates(loaded: LoadedPolicy, message: dict[str, Any]) -> Sequence[Provider]:
    """Providers for a forward message, in order, each one still allowed by ``loaded``."""
    wanted = [message["provider"], *message.get("fallbacks", [])]
    classification = message.get("classification")
    if classification is None:  # messages from before fallback existed: the chosen one only
        wanted = wanted[:1]
        allowed = {p.id for p in loaded.policy.providers}
    else:
        allowed = set(allowed_ids(loaded, message.get("tenant", ""), message.get("purpose"),
                                  classification))
    return [loaded.policy.provider(pid) for pid in dict.fromkeys(wanted) if pid in allowed]
