"""Rule resolution: what the policy says for one (tenant, purpose, classification).

Rules are read in order. A rule *matches* when each list in its ``when`` contains the request's
value (an absent list matches anything; a request without a purpose matches no ``purposes``
list). For every setting - ``residency``, ``redaction.<ENTITY>``, ``retention.<kind>``,
``limits.<name>``, ``unsupported_language``, ``restore_answers``, ``detection`` - the first
matching rule that sets it decides;
later rules cannot change it. A setting no rule decides takes its built-in default, except
residency: without a residency rule nothing may leave (fail closed).

Residency turns the providers registry into an ordered list of allowed providers and, for the
others, the reason each was excluded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streams.core.durations import parse_duration
from streams.core.policy import (
    DEFAULT_DETECTION,
    DEFAULT_LANGUAGE_ACTION,
    DEFAULT_RETENTION,
    RETENTION_KINDS,
    EntityRule,
    Policy,
    Provider,
    Residency,
    Rule,
)


@dataclass(frozen=True)
class Exclusion:
    provider: str
    reason: str

    def __str__(self) -> str:
        return f"excluded {self.provider}: {self.reason}"


@dataclass(frozen=True)
class Resolution:
    tenant: str
    purpose: str | None
    classification: str
    matched: tuple[int, ...]  # indexes of the rules whose ``when`` matched, in order
    decided_by: Mapping[str, int]  # setting -> index of the rule that decided it
    candidates: tuple[Provider, ...]  # allowed providers, in preference order
    exclusions: tuple[Exclusion, ...]
    entities: Mapping[str, EntityRule]
    retention_s: Mapping[str, int]
    max_prompt_chars: int | None
    models: tuple[str, ...] | None  # allowed models; None: any model an allowed provider offers
    unsupported_language: str
    restore_answers: bool = True  # values behind placeholders put back into the answer
    # "thorough": the deployment's opt-in detection tiers run; "fast": the first pass only
    detection: str = DEFAULT_DETECTION

    @property
    def residency_rule(self) -> int | None:
        return self.decided_by.get("residency")

    @property
    def fired(self) -> tuple[int, ...]:
        """Rules that decided at least one setting, in rule order."""
        return tuple(sorted(set(self.decided_by.values())))

    def settings_of(self, rule_index: int) -> list[str]:
        return [key for key, index in self.decided_by.items() if index == rule_index]


def matches(rule: Rule, tenant: str, purpose: str | None, classification: str) -> bool:
    when = rule.when
    if when.tenants is not None and tenant not in when.tenants:
        return False
    if when.purposes is not None and (purpose is None or purpose not in when.purposes):
        return False
    return when.classifications is None or classification in when.classifications


def resolve(
    policy: Policy, tenant: str, purpose: str | None, classification: str
) -> Resolution:
    decided_by: dict[str, int] = {}
    matched: list[int] = []
    residency: Residency | None = None
    entities: dict[str, EntityRule] = {}
    retention_s: dict[str, int] = {}
    max_chars: int | None = None
    models: tuple[str, ...] | None = None
    language_action: str | None = None
    restore_answers = True
    detection: str = DEFAULT_DETECTION
    for index, rule in enumerate(policy.rules):
        if not matches(rule, tenant, purpose, classification):
            continue
        matched.append(index)
        if rule.residency is not None and "residency" not in decided_by:
            decided_by["residency"] = index
            residency = rule.residency
        for entity, setting in rule.redaction.items():
            if f"redaction.{entity}" not in decided_by:
                decided_by[f"redaction.{entity}"] = index
                entities[entity] = setting
        if rule.retention is not None:
            for kind in RETENTION_KINDS:
                seconds = rule.retention.seconds(kind)
                if seconds is not None and f"retention.{kind}" not in decided_by:
                    decided_by[f"retention.{kind}"] = index
                    retention_s[kind] = seconds
        if rule.limits is not None:
            if rule.limits.max_prompt_chars is not None \
                    and "limits.max_prompt_chars" not in decided_by:
                decided_by["limits.max_prompt_chars"] = index
                max_chars = rule.limits.max_prompt_chars
            if rule.limits.models is not None and "limits.models" not in decided_by:
                decided_by["limits.models"] = index
                models = rule.limits.models
        if rule.unsupported_language is not None and "unsupported_language" not in decided_by:
            decided_by["unsupported_language"] = index
            language_action = rule.unsupported_language
        if rule.restore_answers is not None and "restore_answers" not in decided_by:
            decided_by["restore_answers"] = index
            restore_answers = rule.restore_answers
        if rule.detection is not None and "detection" not in decided_by:
            decided_by["detection"] = index
            detection = rule.detection
    for kind in RETENTION_KINDS:
        retention_s.setdefault(kind, parse_duration(DEFAULT_RETENTION[kind]))
    if residency is None:
        candidates: tuple[Provider, ...] = ()
        exclusions = tuple(Exclusion(p.id, "no residency rule matches this request")
                           for p in policy.providers)
    else:
        candidates, exclusions = allowed_providers(policy, residency, models)
    return Resolution(
        tenant=tenant, purpose=purpose, classification=classification, matched=tuple(matched),
        decided_by=decided_by, candidates=candidates, exclusions=exclusions, entities=entities,
        retention_s=retention_s, max_prompt_chars=max_chars, models=models,
        unsupported_language=language_action or DEFAULT_LANGUAGE_ACTION,
        restore_answers=restore_answers, detection=detection,
    )


def allowed_providers(
    policy: Policy, residency: Residency, models: tuple[str, ...] | None = None
) -> tuple[tuple[Provider, ...], tuple[Exclusion, ...]]:
    """The providers ``residency`` allows, in preference order, and why the others are not."""
    registry = list(policy.providers)
    if residency.providers is not None:
        listed = [p for pid in residency.providers for p in registry if p.id == pid]
        ordered = listed + [p for p in registry if p not in listed]
    else:
        ordered = sorted(registry, key=lambda p: (
            _rank(residency.jurisdictions, p.jurisdiction), _rank(residency.regions, p.region)))
    allowed: list[Provider] = []
    excluded: list[Exclusion] = []
    for provider in ordered:
        reasons = _exclusion_reasons(provider, residency, models)
        if reasons:
            excluded.append(Exclusion(provider.id, "; ".join(reasons)))
        else:
            allowed.append(provider)
    return tuple(allowed), tuple(excluded)


def _rank(order: tuple[str, ...] | None, value: str) -> int:
    if order is None or value not in order:
        return 0 if order is None else len(order)
    return order.index(value)


def _exclusion_reasons(
    provider: Provider, residency: Residency, models: tuple[str, ...] | None
) -> list[str]:
    reasons = []
    if residency.providers is not None and provider.id not in residency.providers:
        reasons.append(f"not in residency.providers [{', '.join(residency.providers)}]")
    if residency.jurisdictions is not None and provider.jurisdiction not in residency.jurisdictions:
        reasons.append(f"jurisdiction {provider.jurisdiction} not in allowed "
                       f"[{', '.join(residency.jurisdictions)}]")
    if residency.regions is not None and provider.region not in residency.regions:
        reasons.append(f"region {provider.region or '(none)'} not in allowed "
                       f"[{', '.join(residency.regions)}]")
    require = residency.require
    if require.no_training and provider.trains_on_data:
        reasons.append("trains on submitted data (require.no_training)")
    if require.no_retention and provider.retains_data:
        reasons.append(f"retains submitted data for {provider.retention_days} days "
                       "(require.no_retention)")
    if (require.max_retention_days is not None and provider.retains_data
            and provider.retention_days > require.max_retention_days):
        reasons.append(f"retains submitted data for {provider.retention_days} days, more than "
                       f"{require.max_retention_days} (require.max_retention_days)")
    missing = [a for a in require.attestations if a not in provider.attestations]
    if missing:
        reasons.append(f"lacks attestation {', '.join(missing)} (require.attestations)")
    if require.hosting is not None and provider.hosting not in require.hosting:
        reasons.append(f"hosting {provider.hosting} not in allowed "
                       f"[{', '.join(require.hosting)}] (require.hosting)")
    if models is not None and not any(m in provider.models for m in models):
        reasons.append(f"offers none of the allowed models [{', '.join(models)}] "
                       "(limits.models)")
    return reasons
