"""The policy model: providers, tenants, purposes, classifications and ordered rules.

A *policy set* is one YAML file, or a manifest (``policy.yaml``) that includes several files
in a stated order; ``streams.core.policy_load`` merges, validates and hashes it and returns a
``streams.core.loaded_policy.LoadedPolicy``. The classes here are the merged document, already
checked against ``schemas/policy.schema.json`` and against its cross-references.

Precedence, in one sentence: rules are read top to bottom (in include order, then in file
order), and for each *setting* - the residency, each entity type's redaction, each retention
period, each limit, the unsupported-language action, the detection depth - the first rule that
matches the request and sets it decides. ``streams.core.rules`` implements it; docs/policies.md
explains it for users.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from streams.core.durations import DURATION_PATTERN, parse_duration
from streams.core.provider_kinds import wire_format
from streams.errors import DouaneError

# douane's classification vocabulary, from least to most sensitive. Requests carry one of
# these (schemas/request.schema.json); policies describe them and decide per classification.
CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "personal", "sensitive", "secret")
Classification = Literal["public", "internal", "personal", "sensitive", "secret"]
SENSITIVITY = {name: rank for rank, name in enumerate(CLASSIFICATIONS)}

Hosting = Literal["on-premises", "sovereign-cloud", "public-cloud"]
Operator = Literal["placeholder", "mask", "keyed-hash", "encrypt", "drop", "block", "keep"]
OPERATORS: tuple[str, ...] = (
    "placeholder", "mask", "keyed-hash", "encrypt", "drop", "block", "keep",
)
LanguageAction = Literal["patterns-only", "block", "local-only"]
# How far detection goes for a request (a rule's ``detection``): ``thorough`` runs every opt-in
# tier the deployment configured (DOUANE_EN_NER, DOUANE_ES_NER, DOUANE_NER_VOTE,
# DOUANE_EN_WEB_NER); ``fast`` runs the first pass only (spaCy NER, lexicons, recognizers).
# The tiers cost CPU on every request they read: a policy spends it where the data is personal.
DetectionDepth = Literal["fast", "thorough"]
DETECTION_DEPTHS: tuple[str, ...] = ("fast", "thorough")
RETENTION_KINDS: tuple[str, ...] = ("audit_metadata", "encrypted_payloads", "raw_topics")
# Built-in defaults, used when no matching rule sets the value (docs/policies.md lists them).
DEFAULT_MIN_SCORE = 0.5
DEFAULT_RETENTION: dict[str, str] = {
    "audit_metadata": "10y", "encrypted_payloads": "30d", "raw_topics": "1d",
}
DEFAULT_LANGUAGE_ACTION: LanguageAction = "patterns-only"
# no rule decides: the worker's configured tiers run, as before the setting existed
DEFAULT_DETECTION: DetectionDepth = "thorough"

ID = r"^[a-z0-9][a-z0-9-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CURRENCY = r"^[A-Z]{3}$"  # ISO 4217 alphabetic code, e.g. EUR


class Price(_Strict):
    """What a provider charges from ``valid_from`` on, per million tokens, as its contract or
    price list says; ``model`` narrows the entry to one of the provider's models. A provider's
    prices are a list so that past prices stay in the policy (and in its hash): the answered
    records of last year are priced with last year's entry (``streams.core.pricing``)."""

    valid_from: date
    currency: str = Field(pattern=CURRENCY)
    input_per_million: Decimal = Field(ge=0)
    output_per_million: Decimal = Field(ge=0)
    model: str | None = Field(default=None, min_length=1)


class Provider(_Strict):
    """A model provider and the facts residency decides on (as declared in its contract)."""

    id: str = Field(pattern=ID)
    name: str = ""
    kind: str  # one of streams.core.provider_kinds.PROVIDER_KINDS
    endpoint: str
    models: tuple[str, ...] = Field(min_length=1)
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2, e.g. FR
    region: str = ""  # hosting region, e.g. eu-west-3, on-premises
    hosting: Hosting = "public-cloud"
    retains_data: bool = False
    trains_on_data: bool = False
    retention_days: int = Field(default=0, ge=0)
    attestations: tuple[str, ...] = ()
    # how much of this provider one worker may use at once, as the provider publishes it:
    # requests waiting for an answer, requests and (estimated) tokens per minute
    max_in_flight: int | None = Field(default=None, ge=1)
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    prices: tuple[Price, ...] = ()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        wire_format(kind)  # ValueError naming the known kinds
        return kind


class FrontDoorLimits(_Strict):
    """What all of one tenant's callers together may ask of one front door process (unset:
    the front door's DOUANE_FRONT_DOOR_TENANT_* settings)."""

    requests_per_minute: int | None = Field(default=None, ge=1)
    max_in_flight: int | None = Field(default=None, ge=1)


class Tenant(_Strict):
    """An agency sending requests."""

    id: str = Field(pattern=ID)
    name: str = ""
    default_classification: Classification
    minimum_classification: Classification | None = None  # a request is never judged lower
    purposes: tuple[str, ...] | None = None  # allowed purposes; None: any declared purpose
    front_door: FrontDoorLimits | None = None


class Purpose(_Strict):
    id: str = Field(pattern=ID)
    name: str = ""
    description: str = ""
    default_classification: Classification | None = None
    minimum_classification: Classification | None = None


class Match(_Strict):
    """When a rule applies: every given list must contain the request's value."""

    tenants: tuple[str, ...] | None = None
    purposes: tuple[str, ...] | None = None
    classifications: tuple[Classification, ...] | None = None


class Requirements(_Strict):
    no_training: bool = False
    no_retention: bool = False
    max_retention_days: int | None = Field(default=None, ge=0)
    attestations: tuple[str, ...] = ()  # the provider must hold all of them
    hosting: tuple[Hosting, ...] | None = None


class Residency(_Strict):
    """Where a request may go. ``providers`` gives the preference order; otherwise the order of
    ``jurisdictions``, then ``regions``, then the providers registry. An empty result blocks."""

    providers: tuple[str, ...] | None = None
    jurisdictions: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    require: Requirements = Requirements()


class EntityRule(_Strict):
    min_score: float = Field(default=DEFAULT_MIN_SCORE, ge=0.0, le=1.0)
    operator: Operator = "placeholder"
    keep_last: int = Field(default=0, ge=0, le=8)  # mask: characters left visible at the end


class Retention(_Strict):
    audit_metadata: str | None = Field(default=None, pattern=DURATION_PATTERN)
    encrypted_payloads: str | None = Field(default=None, pattern=DURATION_PATTERN)
    raw_topics: str | None = Field(default=None, pattern=DURATION_PATTERN)

    def seconds(self, kind: str) -> int | None:
        value = getattr(self, kind)
        return None if value is None else parse_duration(value)


class Limits(_Strict):
    max_prompt_chars: int | None = Field(default=None, ge=1)
    models: tuple[str, ...] | None = None


class Rule(_Strict):
    id: str = Field(pattern=ID)
    description: str = ""
    when: Match = Match()
    residency: Residency | None = None
    # why this rule's residency may send personal data outside the set's jurisdiction (an
    # explicit, reviewed exception; without it ``policy validate`` refuses such a rule)
    residency_exception: str | None = Field(default=None, min_length=1)
    redaction: Mapping[str, EntityRule] = Field(default_factory=dict)
    retention: Retention | None = None
    limits: Limits | None = None
    unsupported_language: LanguageAction | None = None
    restore_answers: bool | None = None
    detection: DetectionDepth | None = None

    def settings(self) -> tuple[str, ...]:
        """The settings this rule decides when it is the first to match (docs/policies.md)."""
        keys: list[str] = []
        if self.residency is not None:
            keys.append("residency")
        keys.extend(f"redaction.{entity}" for entity in self.redaction)
        if self.retention is not None:
            keys.extend(f"retention.{k}" for k in RETENTION_KINDS
                        if getattr(self.retention, k) is not None)
        if self.limits is not None:
            keys.extend(f"limits.{k}" for k in ("max_prompt_chars", "models")
                        if getattr(self.limits, k) is not None)
        if self.unsupported_language is not None:
            keys.append("unsupported_language")
        if self.restore_answers is not None:
            keys.append("restore_answers")
        if self.detection is not None:
            keys.append("detection")
        return tuple(keys)


BudgetAction = Literal["route", "block"]
DEFAULT_WARN_AT_PERCENT = 80


class Budget(_Strict):
    """What one tenant's answers (or those for one of its purposes) may cost per calendar month
    (UTC), and what happens once they have: ``streams.core.budgets``."""

    id: str = Field(pattern=ID)
    description: str = ""
    tenant: str = Field(pattern=ID)
    purpose: str | None = Field(default=None, pattern=ID)
    monthly: Decimal = Field(gt=0)
    currency: str = Field(pattern=CURRENCY)
    warn_at_percent: int = Field(default=DEFAULT_WARN_AT_PERCENT, ge=1, le=100)
    when_exhausted: BudgetAction


class Detection(_Strict):
    languages: tuple[str, ...] = ("en", "fr")
    default_language: str = "en"

    @field_validator("languages")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one language")
        return value


class Policy(_Strict):
    policy: str
    version: int
    description: str = ""
    jurisdiction: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    detection: Detection = Detection()
    classifications: Mapping[Classification, str] = Field(default_factory=dict)
    providers: tuple[Provider, ...] = Field(min_length=1)
    tenants: tuple[Tenant, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...] = ()
    rules: tuple[Rule, ...] = Field(min_length=1)
    budgets: tuple[Budget, ...] = ()

    # indexes for the hot path (a frozen model still allows private attributes)
    _providers: dict[str, Provider] = PrivateAttr(default_factory=dict)
    _tenants: dict[str, Tenant] = PrivateAttr(default_factory=dict)
    _purposes: dict[str, Purpose] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        self._providers = {p.id: p for p in self.providers}
        self._tenants = {t.id: t for t in self.tenants}
        self._purposes = {p.id: p for p in self.purposes}

    def provider(self, provider_id: str) -> Provider:
        return self._providers[provider_id]

    def tenant(self, tenant_id: str) -> Tenant:
        return self._tenants[tenant_id]

    def purpose(self, purpose_id: str) -> Purpose | None:
        return self._purposes.get(purpose_id)

    def has_provider(self, provider_id: str) -> bool:
        return provider_id in self._providers

    def has_tenant(self, tenant_id: str) -> bool:
        return tenant_id in self._tenants

    @property
    def tenant_ids(self) -> frozenset[str]:
        return frozenset(t.id for t in self.tenants)

    @property
    def entity_types(self) -> frozenset[str]:
        """Every entity type some rule redacts: what the detector must look for."""
        return frozenset(entity for rule in self.rules for entity in rule.redaction)

    def lowest_min_score(self, entity: str) -> float | None:
        """The lowest ``min_score`` from which some rule redacts ``entity`` (None: no rule
        names it): a detector need not look for what no rule would select."""
        scores = [rule.redaction[entity].min_score for rule in self.rules
                  if entity in rule.redaction]
        return min(scores) if scores else None


class PolicyError(DouaneError, ValueError):
    """A policy set that cannot be used. Each line names a file, line, column and the path in
    the document: ``policies/health.yaml:12:5: rules[2].residency.providers[0]: ...``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def diagnostics(self) -> str:
        return (f"the policy set cannot be used: {len(self.problems)} problem(s)\n"
                + "\n".join(f"  {problem}" for problem in self.problems))

