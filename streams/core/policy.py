"""The policy: which providers exist, which tenants may ask, where each classification may go
and which personal data must be removed first.

This is the walking skeleton's policy model; the full model (ordered rules, purposes, retention,
limits) grows here. Parsing is pure: the caller reads the YAML file and hands over its text.
The policy hash is SHA-256 over the RFC 8785 canonical form of the parsed document, so
re-indenting or re-commenting a file does not change which policy "decided".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

import rfc8785
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Classification = Literal["public", "internal", "personal", "sensitive", "secret"]
CLASSIFICATIONS: tuple[Classification, ...] = (
    "public", "internal", "personal", "sensitive", "secret",
)
Operator = Literal["placeholder", "block"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provider(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Literal[
        "openai", "anthropic", "gemini", "mistral", "openai-compatible", "dashscope", "qianfan"
    ]
    endpoint: str
    models: tuple[str, ...] = Field(min_length=1)
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")
    region: str = ""
    retains_data: bool = False
    trains_on_data: bool = False
    retention_days: int = 0
    attestations: tuple[str, ...] = ()


class Tenant(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = ""
    default_classification: Classification = "personal"


class Residency(_Strict):
    providers: tuple[str, ...] = ()  # in preference order; empty means "block"


class EntityRule(_Strict):
    min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    operator: Operator = "placeholder"


class Redaction(_Strict):
    languages: tuple[str, ...] = ("en", "fr")
    default_language: str = "en"
    entities: Mapping[str, EntityRule]


class Policy(_Strict):
    policy: str
    version: int
    description: str = ""
    providers: tuple[Provider, ...] = Field(min_length=1)
    tenants: tuple[Tenant, ...] = Field(min_length=1)
    classifications: Mapping[Classification, Residency]
    redaction: Redaction

    @model_validator(mode="after")
    def _cross_references(self) -> Policy:
        known = {provider.id for provider in self.providers}
        for name, residency in self.classifications.items():
            for provider_id in residency.providers:
                if provider_id not in known:
                    raise ValueError(
                        f"classifications.{name}.providers: unknown provider '{provider_id}' "
                        f"(known: {', '.join(sorted(known))})"
                    )
        missing = [c for c in CLASSIFICATIONS if c not in self.classifications]
        if missing:
            raise ValueError(f"classifications: no residency rule for {', '.join(missing)}")
        return self

    def provider(self, provider_id: str) -> Provider:
        return next(p for p in self.providers if p.id == provider_id)

    def tenant(self, tenant_id: str) -> Tenant:
        return next(t for t in self.tenants if t.id == tenant_id)

    @property
    def tenant_ids(self) -> frozenset[str]:
        return frozenset(t.id for t in self.tenants)


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the path inside it."""


class LoadedPolicy:
    """A parsed policy with its identity: name, version and content hash."""

    def __init__(self, policy: Policy, digest: str, source: str) -> None:
        self.policy = policy
        self.digest = digest
        self.source = source

    @property
    def reference(self) -> dict[str, Any]:
        return {"name": self.policy.policy, "version": self.policy.version,
                "sha256": self.digest}


def parse_policy(text: str, source: str) -> LoadedPolicy:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: a policy must be a YAML mapping")
    try:
        policy = Policy.model_validate(document)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            location = ".".join(str(part) for part in problem["loc"]) or "(top)"
            lines.append(f"{source}: {location}: {problem['msg']}")
        raise PolicyError("\n".join(lines)) from None
    try:
        digest = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
    except rfc8785.CanonicalizationError as error:  # e.g. an integer beyond 2**53
        raise PolicyError(
            f"{source}: cannot be hashed as canonical JSON ({type(error).__name__})"
        ) from None
    return LoadedPolicy(policy, digest, source)
