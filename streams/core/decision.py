"""The governance decision: given a request, what was detected in it and the policy, decide
whether it may leave, for which provider, in what redacted form, and why.

Pure and synchronous, in two steps:
- :func:`evaluate` is the policy evaluation proper. It needs only facts that hold no personal
  data (tenant, purpose, classification, model, prompt size, detection method, entity types,
  scores and offsets), so ``douane policy diff`` can replay past decisions from audit metadata;
- :func:`decide` adds the redacted text, and the result carries everything the adapters need:
  the facts of the audit event to sign (built by :func:`streams.core.audit_events.decided`),
  the message for the provider's forward topic, or the response.
  Keyed operators need tokens from the tenant's keys, which the core never fetches: the
  pipeline calls :func:`prepare_decision`, obtains the tokens its :attr:`PendingDecision.keyed`
  lists off the event loop, and completes it (:meth:`PendingDecision.complete`); :func:`decide`
  is both steps for callers that hold the tokens already (policy test cases, benchmarks).

Fail closed throughout: no residency rule, no allowed provider, an unknown purpose, a keyed
operator without keys - each blocks, with a reason that names the rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from streams.core import canonical_json
from streams.core.audit import AuditKind
from streams.core.budgets import BudgetState, MonthSpend, budget_states, charges
from streams.core.intake import undeclared_value
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest, Reason
from streams.core.placeholders import (
    PlaceholderMap,
    restorable_placeholders,
)
from streams.core.policy import DEFAULT_DETECTION, SENSITIVITY, Provider
from streams.core.redaction import (
    KEYED_OPERATORS,
    KeyedTokens,
    KeyedValue,
    RedactionPlan,
    plan_redaction,
    select_findings,
)
from streams.core.rules import Exclusion, Resolution

Outcome = Literal["forward", "block"]
# Detection methods that analyse a language well; anything else is "unsupported language".
# A NER pass with any of the opt-in tiers after it, in the order the detector names them:
# CoreNLP (DOUANE_EN_NER / DOUANE_ES_NER), English's trained web NER (DOUANE_EN_WEB_NER), the
# other languages' models voting on persons (DOUANE_NER_VOTE). (The "+web-ner" forms were
# missing here: with the trained tier on, every English request counted as an unsupported
# language - "language-fallback", and blocked or kept on-premises by such a rule.)
FULL_METHODS = frozenset({"patterns+name-lexicon", "patterns+name-lexicon+ner"} | {
    f"ner+patterns{corenlp}{web}{vote}" for corenlp in ("", "+corenlp")
    for web in ("", "+web-ner") for vote in ("", "+vote")})


@dataclass(frozen=True)
class Verdict:
    """The policy's answer, before any text is touched."""

    outcome: Outcome
    classification: str
    provider: Provider | None
    model: str | None
    reasons: tuple[Reason, ...]
    findings: tuple[Finding, ...]  # the findings the policy acts on (score, no overlap)
    operators: dict[str, str]  # entity type -> operator, for ``findings``
    fallbacks: tuple[Provider, ...] = ()  # later allowed providers (offering the requested
    # model, if the request named one), in order: where delivery may fall back to
    exclusions: tuple[Exclusion, ...] = ()
    resolution: Resolution | None = None
    requested_classification: str | None = None
    budgets: tuple[BudgetState, ...] = ()  # the request's budgets, for the month's spend given

    @property
    def rules(self) -> tuple[int, ...]:
        """The rules that decided this request: residency, retention, limits and language
        settings, and the redaction of the entity types actually found."""
        if self.resolution is None:
            return ()
        return tuple(sorted({
            index for setting, index in self.resolution.decided_by.items()
            if not setting.startswith("redaction.") or setting[10:] in self.operators}))


@dataclass(frozen=True)
class Classified:
    """A request's classification as the policy judges it, from metadata alone (known before
    detection): the requested one, else the purpose's default, else the tenant's, raised to
    the tenant's and the purpose's floors. ``effective`` is None when the request is refused
    before any rule is read (``refused`` says why)."""

    effective: str | None
    raised: tuple[Reason, ...] = ()
    refused: Reason | None = None


def classify(loaded: LoadedPolicy, tenant: str, purpose: str | None,
             classification: str | None) -> Classified:
    policy = loaded.policy
    tenant_rule = loaded.tenants.get(tenant)
    if tenant_rule is None:
        return Classified(None, refused=Reason("unknown-tenant",
                                               "the request's tenant is not in the policy"))
    purpose_rule = None
    if purpose is not None:
        purpose_rule = loaded.purposes.get(purpose)
        if purpose_rule is None:
            known = ", ".join(p.id for p in policy.purposes) or "none"
            return Classified(None, refused=Reason(
                "unknown-purpose", "the request's purpose is not declared in "
                f"the policy's purposes (known: {known})"))
        if tenant_rule.purposes is not None and purpose not in tenant_rule.purposes:
            return Classified(None, refused=Reason(
                "purpose-not-allowed", f"tenant '{tenant}' may not declare "
                f"purpose '{purpose}' (tenants.{tenant}.purposes: "
                f"{', '.join(tenant_rule.purposes) or 'none'})"))
    effective = (classification
                 or (purpose_rule.default_classification if purpose_rule else None)
                 or tenant_rule.default_classification)
    if effective not in SENSITIVITY:
        return Classified(None, refused=Reason(
            "unknown-classification", f"classification '{effective}' is not one of douane's"))
    raised: list[Reason] = []
    for floor, where in ((tenant_rule.minimum_classification, f"tenant '{tenant}'"),
                         (purpose_rule.minimum_classification if purpose_rule else None,
                          f"purpose '{purpose}'")):
        if floor is not None and SENSITIVITY[floor] > SENSITIVITY[effective]:
            raised.append(Reason("classification-raised", f"classification raised from "
                                 f"'{effective}' to '{floor}': minimum for {where}"))
            effective = floor
    return Classified(effective, tuple(raised))


def detection_depth(loaded: LoadedPolicy, tenant: str, purpose: str | None,
                    classification: str | None) -> str:
    """How far detection goes for a request (its rules' ``detection``: "fast" or "thorough"),
    decided before detection runs. The classification it is resolved at is the one
    :func:`evaluate` decides with: classification comes from metadata alone (the request's,
    the defaults, the floors), never from what detection finds, so the decision's resolution
    says the same depth as the one detection ran at (tests/unit/test_detection_depth.py checks
    it over every request a policy can receive). A request refused before any rule is read
    gets the deployment's tiers (the default): nothing is saved by guessing."""
    classified = classify(loaded, tenant, purpose, classification)
    if classified.effective is None:
        return DEFAULT_DETECTION
    return loaded.resolve(tenant, purpose, classified.effective).detection


def evaluate(
    loaded: LoadedPolicy,
    *,
    tenant: str,
    purpose: str | None,
    classification: str | None,
    model: str | None,
    prompt_chars: int,
    detection_method: str,
    language: str,
    findings: Sequence[Finding],
    unavailable: Collection[str] = (),
    keys_available: bool = False,
    spend: MonthSpend | None = None,
) -> Verdict:
    """``spend``: the tenant's spend this month (the ledger's), for its budgets; None: budgets
    are not looked at (replays of past decisions, policy test cases without a spend)."""
    reasons: list[Reason] = []

    def block(*why: Reason, effective: str | None = None, findings: tuple[Finding, ...] = (),
              operators: dict[str, str] | None = None, **more: Any) -> Verdict:
        return Verdict("block", effective or classification or "", None, None,
                       (*reasons, *why), findings, operators or {},
                       requested_classification=classification, **more)

    classified = classify(loaded, tenant, purpose, classification)
    if classified.effective is None:
        assert classified.refused is not None
        return block(classified.refused)
    reasons.extend(classified.raised)
    effective = classified.effective
    resolution = loaded.resolve(tenant, purpose, effective)
    selected = tuple(select_findings(findings, resolution.entities))
    operators: dict[str, str] = {
        f.entity_type: str(resolution.entities[f.entity_type].operator) for f in selected}
    problems: list[Reason] = []
    if resolution.max_prompt_chars is not None and prompt_chars > resolution.max_prompt_chars:
        problems.append(Reason("prompt-too-large", f"the prompt has {prompt_chars} characters, "
                               f"more than {resolution.max_prompt_chars} (limits.max_prompt_chars"
                               f" of rule {_rule(loaded, resolution, 'limits.max_prompt_chars')})",
                               client=f"the prompt has {prompt_chars} characters, more than the "
                               f"{resolution.max_prompt_chars} allowed for this request: shorten "
                               "it or split the work"))
    degraded = detection_method not in FULL_METHODS
    local_only = False
    if degraded and resolution.unsupported_language == "block":
        problems.append(Reason("language-not-supported", f"language '{language}' can only be "
                               f"analysed with {detection_method}; unsupported_language: block "
                               f"(rule {_rule(loaded, resolution, 'unsupported_language')})",
                               client=f"douane cannot fully check requests in language "
                               f"'{language}' for personal data, and the policy then blocks "
                               "them: write in a language douane fully supports "
                               "(docs/detection.md)"))
    elif degraded and resolution.unsupported_language == "local-only":
        local_only = True
    budgets = (budget_states(loaded.budgets_for(tenant, purpose), spend)
               if spend is not None else ())
    exhausted = [state for state in budgets if state.status == "exhausted"]
    for state in exhausted:
        if state.budget.when_exhausted == "block":
            problems.append(_budget_block(state))
    rerouting = next((s for s in exhausted if s.budget.when_exhausted == "route"), None)
    provider, chosen_model, fallbacks, exclusions, routing = _route(
        loaded, resolution, model, unavailable, local_only, language, detection_method,
        rerouting, spend.day if spend is not None else None)
    if routing is not None and not (routing.code == "budget-exhausted"
                                    and any(p.code == routing.code for p in problems)):
        problems.append(routing)
    blocking = sorted({kind for kind, op in operators.items() if op == "block"})
    if blocking:
        problems.append(Reason(
            "blocked-entity",
            f"the policy blocks requests containing {', '.join(blocking)} (rule "
            f"{_rule(loaded, resolution, 'redaction.' + blocking[0])}: "
            f"redaction.{blocking[0]}.operator: block)",
            client=f"the request contains {', '.join(blocking)}, which the policy does not let "
                   "leave for any provider: remove it and send the request again",
        ))
    keyed = sorted({kind for kind, op in operators.items() if op in KEYED_OPERATORS})
    if keyed and not keys_available:
        problems.append(Reason("operator-unavailable", f"{', '.join(keyed)} must be "
                               f"{operators[keyed[0]]}ed but no tenant key is configured"))
    if problems:
        return block(*problems, effective=effective, findings=selected, operators=operators,
                     resolution=resolution, exclusions=exclusions, budgets=budgets)
    if degraded:
        reasons.append(Reason("language-fallback", f"no name model for language '{language}': "
                              f"analysed with {detection_method}"))
    assert provider is not None and chosen_model is not None
    if rerouting is not None:
        reasons.append(Reason("budget-rerouted", f"{rerouting.label}: exhausted; "
                              "when_exhausted: route, so only providers that charge nothing "
                              "may receive it"))
    reasons.append(Reason(
        "routed",
        f"classification '{effective}' may go to {provider.id} (jurisdiction "
        f"{provider.jurisdiction}); first allowed provider of rule "
        f"{_rule(loaded, resolution, 'residency')} residency",
    ))
    return Verdict("forward", effective, provider, chosen_model, tuple(reasons), selected,
                   operators, fallbacks, exclusions, resolution, classification, budgets)


def _budget_block(state: BudgetState, *, no_free_provider: bool = False) -> Reason:
    why = ("when_exhausted: route, and no allowed provider charges nothing" if no_free_provider
           else "when_exhausted: block")
    # the caller gets the code's sentence (streams.core.client_reasons): no amounts, no ids
    return Reason("budget-exhausted", f"{state.label}: exhausted; {why}")


def _models_for_client(named: str, classification: str, models: Sequence[str]) -> str:
    # the models the caller may use are no secret: GET /v1/models lists them too
    return (f"{named} may not be used for a request of classification '{classification}': use "
            f"one of {', '.join(models) or '(none)'}, or leave the model out to let the policy "
            "choose")


def _rule(loaded: LoadedPolicy, resolution: Resolution, setting: str) -> str:
    index = resolution.decided_by.get(setting)
    return loaded.rule_label(index) if index is not None else "(built-in default)"


def _route(
    loaded: LoadedPolicy, resolution: Resolution, model: str | None,
    unavailable: Collection[str], local_only: bool, language: str, method: str,
    rerouting: BudgetState | None = None, day: date | None = None,
) -> tuple[Provider | None, str | None, tuple[Provider, ...], tuple[Exclusion, ...],
           Reason | None]:
    classification = resolution.classification
    exclusions = list(resolution.exclusions)
    if resolution.residency_rule is None:
        return None, None, (), tuple(exclusions), Reason(
            "no-residency-rule", f"no rule gives a residency for classification "
            f"'{classification}' (tenant '{resolution.tenant}'); nothing may leave")
    candidates: list[Provider] = []
    for provider in resolution.candidates:
        if local_only and provider.hosting != "on-premises":
            exclusions.append(Exclusion(provider.id, f"language '{language}' is analysed with "
                                        f"{method} and unsupported_language is local-only"))
        elif provider.id in unavailable:
            exclusions.append(Exclusion(provider.id, "unavailable"))
        elif rerouting is not None and day is not None and charges(provider, day):
            exclusions.append(Exclusion(provider.id, f"charges, and budget "
                                        f"'{rerouting.budget.id}' is exhausted"))
        else:
            candidates.append(provider)
    where = _rule(loaded, resolution, "residency")
    if not candidates and rerouting is not None and resolution.candidates:
        return None, None, (), tuple(exclusions), _budget_block(rerouting,
                                                                 no_free_provider=True)
    if not candidates:
        detail = "; ".join(str(e) for e in exclusions) or "it allows none"
        return None, None, (), tuple(exclusions), Reason(
            "no-allowed-provider", f"classification '{classification}' may not be sent to any "
            f"provider (rule {where} residency: {detail})",
            client=f"no provider the policy allows may receive a request of classification "
                   f"'{classification}' now: nothing was sent; ask your douane operator, or "
                   "send it again later with a new id")
    allowed_models = resolution.models
    if model is not None:
        # a name no provider of the policy uses is the producer's text: not repeated
        named = (f"model '{model}'" if model in declared_models(loaded)
                 else "the requested model (no provider of the policy offers it)")
        if allowed_models is not None and model not in allowed_models:
            return None, None, (), tuple(exclusions), Reason(
                "model-not-allowed", f"{named} is not allowed for classification "
                f"'{classification}' (allowed models: {', '.join(allowed_models)}; rule "
                f"{_rule(loaded, resolution, 'limits.models')})",
                client=_models_for_client(named, classification, allowed_models))
        offering = [p for p in candidates if model in p.models]
        if not offering:
            offered = sorted({m for p in candidates for m in p.models
                              if allowed_models is None or m in allowed_models})
            return None, None, (), tuple(exclusions), Reason(
                "model-not-allowed", f"{named} is not offered by any provider allowed "
                f"for classification '{classification}' (allowed models: {', '.join(offered)})",
                client=_models_for_client(named, classification, offered))
        return offering[0], model, tuple(offering[1:]), tuple(exclusions), None
    first = candidates[0]
    chosen = next((m for m in first.models if allowed_models is None or m in allowed_models),
                  first.models[0])
    # no model asked for: any later allowed provider may answer with its own model
    return first, chosen, tuple(candidates[1:]), tuple(exclusions), None


@dataclass(frozen=True)
class Decision:
    request: GovernedRequest
    outcome: Outcome
    classification: str
    provider: Provider | None
    model: str | None
    reasons: tuple[Reason, ...]
    findings: tuple[Finding, ...]
    entity_counts: dict[str, int]
    forwarded_messages: tuple[ChatMessage, ...]
    detection: Detection
    policy: LoadedPolicy
    verdict: Verdict | None = field(default=None, compare=False)
    # the placeholders the redaction wrote in place of this request's values
    written_placeholders: tuple[str, ...] = ()

    @property
    def restorable_placeholders(self) -> tuple[str, ...]:
        """The only placeholders the answer to this request may have restored."""
        return restorable_placeholders((m.content for m in self.request.messages),
                                       self.written_placeholders)

    @property
    def fallbacks(self) -> tuple[Provider, ...]:
        return self.verdict.fallbacks if self.verdict else ()

    @property
    def rule_ids(self) -> list[str]:
        rules = self.policy.policy.rules
        return [rules[i].id for i in self.verdict.rules] if self.verdict else []

    @property
    def audit_kind(self) -> AuditKind:
        return "admitted" if self.outcome == "forward" else "blocked"

    @property
    def audit_record_id(self) -> str:
        return f"{self.request.id}/{self.audit_kind}"

    def forward_body(self) -> dict[str, Any]:
        """The Chat Completions body that will leave for the provider (redacted)."""
        return {"model": self.model, "messages": [m.as_json() for m in self.forwarded_messages]}


def declared_models(loaded: LoadedPolicy) -> frozenset[str]:
    """Every model a provider of the policy offers."""
    return frozenset(m for p in loaded.policy.providers for m in p.models)


def as_declared(value: str | None, declared: Collection[str]) -> str | None:
    """``value`` for an audit record: as written if the policy declares it, else its digest."""
    if value is None or value in declared:
        return value
    return undeclared_value(value)


def forwarded_digest(body: dict[str, Any]) -> str:
    # RFC 8785 bytes, through the C encoder where that is exact (2-3x faster than rfc8785 on a
    # forwarded body; computed three times per request)
    return hashlib.sha256(canonical_json.dumps(body)).hexdigest()


def prompt_chars(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages)


@dataclass(frozen=True)
class PendingDecision:
    """A decision taken, its redaction planned; what it still needs are the tokens of
    :attr:`keyed`, from the tenant's keys."""

    request: GovernedRequest
    detection: Detection
    policy: LoadedPolicy
    verdict: Verdict
    plan: RedactionPlan | None  # None when the request is blocked

    @property
    def keyed(self) -> tuple[KeyedValue, ...]:
        return self.plan.keyed if self.plan is not None else ()

    def complete(self, tokens: KeyedTokens | None = None) -> Decision:
        """The decision, with the redacted text. Raises LookupError if a keyed value has no
        token (never for a request decided with ``keys_available``: see :func:`evaluate`)."""
        request, verdict, detection, loaded = self.request, self.verdict, self.detection, \
            self.policy
        if self.plan is None:
            return Decision(request, "block", verdict.classification, None, None,
                            verdict.reasons, verdict.findings, {}, (), detection, loaded,
                            verdict)
        redacted = self.plan.apply(tokens)
        reasons = list(verdict.reasons)
        if redacted.counts:  # after any classification-raised, before language-fallback/routed
            at = next(i for i, r in enumerate(reasons)
                      if r.code in ("language-fallback", "routed"))
            reasons.insert(at, _redacted_reason(redacted.counts, redacted.operators))
        return Decision(request, "forward", verdict.classification, verdict.provider,
                        verdict.model, tuple(reasons), verdict.findings, redacted.counts,
                        redacted.messages, detection, loaded, verdict, redacted.placeholders)


def prepare_decision(
    request: GovernedRequest,
    detection: Detection,
    loaded: LoadedPolicy,
    *,
    keys_available: bool = False,
    unavailable: Collection[str] = (),
    placeholders: PlaceholderMap | None = None,
    spend: MonthSpend | None = None,
) -> PendingDecision:
    """The verdict and, if the request may leave, its redaction plan. ``keys_available``: the
    caller can obtain keyed tokens (without, a request needing them is blocked)."""
    verdict = evaluate(
        loaded, tenant=request.tenant, purpose=request.purpose,
        classification=request.classification, model=request.model,
        prompt_chars=prompt_chars(request.messages), detection_method=detection.method,
        language=detection.language, findings=detection.findings, unavailable=unavailable,
        keys_available=keys_available, spend=spend,
    )
    if verdict.outcome == "block":
        return PendingDecision(request, detection, loaded, verdict, None)
    assert verdict.resolution is not None
    plan = plan_redaction(request.messages, verdict.findings, verdict.resolution.entities,
                          tenant=request.tenant, placeholders=placeholders)
    return PendingDecision(request, detection, loaded, verdict, plan)


def decide(
    request: GovernedRequest,
    detection: Detection,
    loaded: LoadedPolicy,
    *,
    tokens: KeyedTokens | None = None,
    unavailable: Collection[str] = (),
    placeholders: PlaceholderMap | None = None,
    spend: MonthSpend | None = None,
) -> Decision:
    """The decision in one step, with ``tokens`` already at hand (None: no keys)."""
    return prepare_decision(request, detection, loaded, keys_available=tokens is not None,
                            unavailable=unavailable, placeholders=placeholders,
                            spend=spend).complete(tokens)


def _redacted_reason(counts: dict[str, int], operators: dict[str, str]) -> Reason:
    by_operator: dict[str, list[str]] = {}
    for kind in sorted(counts):
        by_operator.setdefault(operators[kind], []).append(f"{counts[kind]} {kind}")
    if list(by_operator) == ["placeholder"]:
        return Reason("redacted", f"replaced with placeholders: "
                      f"{', '.join(by_operator['placeholder'])}")
    parts = [f"{', '.join(items)} ({operator})" for operator, items in sorted(by_operator.items())]
    return Reason("redacted", f"redacted: {'; '.join(parts)}")
