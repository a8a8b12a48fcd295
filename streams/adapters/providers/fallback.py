"""Which providers may receive a request, in order: the policy's list for its classification.

Stage 1 decides the first provider and records the rest of the allowed list, in order, in the
forward message (``fallback_ids``); stage 2 re-checks that list against the policy it runs
with (``candidates``), so a provider the policy does not allow is never called, even if a
message or an older policy named it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.core.policy import Policy, Provider


def allowed_ids(policy: Policy, classification: str) -> tuple[str, ...]:
    rule = policy.classifications.get(classification)  # type: ignore[call-overload]
    return tuple(rule.providers) if rule is not None else ()


def fallback_ids(
    policy: Policy, classification: str, chosen: str, requested_model: str | None
) -> list[str]:
    """The allowed providers after ``chosen``, in policy order; only those offering the model
    the request asked for, if it asked for one."""
    allowed = allowed_ids(policy, classification)
    later = allowed[allowed.index(chosen) + 1:] if chosen in allowed else ()
    return [pid for pid in later
            if requested_model is None or requested_model in policy.provider(pid).models]


def candidates(policy: Policy, message: dict[str, Any]) -> Sequence[Provider]:
    """Providers for a forward message, in order, each one still allowed by ``policy``."""
    wanted = [message["provider"], *message.get("fallbacks", [])]
    classification = message.get("classification")
    if classification is None:  # messages from before fallback existed: the chosen one only
        wanted = wanted[:1]
        allowed = {p.id for p in policy.providers}
    else:
        allowed = set(allowed_ids(policy, classification))
    known = {p.id for p in policy.providers}
    return [policy.provider(pid) for pid in dict.fromkeys(wanted)
            if pid in allowed and pid in known]
