"""A policy set once loaded: the merged model, its identity (name, version, content hash),
where each rule was written, and its resolutions (``streams.core.rules``), memoised.

Built by ``streams.core.policy_load``; apart from the model (``streams.core.policy``) so that
the model and the rules that resolve it import each other in one direction only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.core.policy import Budget, Policy, Purpose, Tenant
from streams.core.rules import Resolution, resolve


class RuleOrigin:
    """Where a merged rule was written: for reasons such as "rule 'x' (health.yaml rules[1])"."""

    __slots__ = ("file", "index", "label")

    def __init__(self, file: str, index: int, rule_id: str) -> None:
        self.file = file
        self.index = index
        self.label = f"'{rule_id}' ({file} rules[{index}])"


class LoadedPolicy:
    """A validated policy set with its identity: name, version and content hash.

    Immutable once built; the worker swaps one LoadedPolicy for another on reload, so a request
    is always judged by exactly one set. ``resolve`` memoises per (tenant, purpose,
    classification): what remains per request is cheap (docs/policies.md: ~50 µs a decision).
    """

    def __init__(
        self,
        policy: Policy,
        digest: str,
        source: str,
        *,
        files: tuple[tuple[str, str], ...] = (),
        rule_origins: tuple[RuleOrigin, ...] = (),
        document: Mapping[str, Any] | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.policy = policy
        # valid but probably a mistake ('file:line: path: message'); shown by policy validate
        self.warnings = warnings
        # the merged document (plain JSON values) that was hashed: tools derive variants from it
        self.document: Mapping[str, Any] = document if document is not None \
            else policy.model_dump(mode="json", exclude_none=True)
        self.digest = digest
        self.source = source
        self.files = files  # (path, sha256 of its bytes) per file of the set, in include order
        self.rule_origins = rule_origins or tuple(
            RuleOrigin(source, i, r.id) for i, r in enumerate(policy.rules))
        self._resolutions: dict[tuple[str, str | None, str], Resolution] = {}
        # plain dicts for the hot path (pydantic's private attributes go through __getattr__)
        self.tenants: dict[str, Tenant] = {t.id: t for t in policy.tenants}
        self.purposes: dict[str, Purpose] = {p.id: p for p in policy.purposes}
        # per tenant, in policy order: a tenant without budgets costs its requests nothing
        self.budgets: dict[str, tuple[Budget, ...]] = {}
        for budget in policy.budgets:
            self.budgets[budget.tenant] = (*self.budgets.get(budget.tenant, ()), budget)

    @property
    def reference(self) -> dict[str, Any]:
        return {"name": self.policy.policy, "version": self.policy.version,
                "sha256": self.digest}

    def rule_label(self, index: int) -> str:
        return self.rule_origins[index].label

    def budgets_for(self, tenant: str, purpose: str | None) -> tuple[Budget, ...]:
        """The budgets a request of ``tenant`` with ``purpose`` counts against."""
        return tuple(b for b in self.budgets.get(tenant, ())
                     if b.purpose is None or b.purpose == purpose)

    def resolve(self, tenant: str, purpose: str | None, classification: str) -> Resolution:
        key = (tenant, purpose, classification)
        found = self._resolutions.get(key)
        if found is None:
            found = self._resolutions[key] = resolve(self.policy, tenant, purpose,
                                                     classification)
        return found

