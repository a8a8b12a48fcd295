"""Checks on a policy set beyond its schema: cross-references, unreachable rules,
classifications no residency rule covers, and residency that lets personal data leave the
set's declared ``jurisdiction`` without a named exception. Warnings (:func:`policy_warnings`)
name what is valid but probably a mistake; they do not stop a policy from loading.

Reachability is exact, not heuristic: tenants, purposes and classifications are finite, so
every (tenant, purpose, classification) a request can have is enumerated - respecting each
tenant's allowed purposes and minimum classifications - and resolved. A rule that decides no
setting for any of them can never change a decision: it is reported, with the earlier rules
that shadow it.
"""

from __future__ import annotations

from collections.abc import Iterator

from streams.core.endpoints import endpoint_problem
from streams.core.entities import known_entity_types
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy import CLASSIFICATIONS, SENSITIVITY, Policy
from streams.core.policy_locator import Locator
from streams.core.rules import Resolution

Point = tuple[str, str | None, str]


def universe(policy: Policy) -> Iterator[Point]:
    """Every (tenant, purpose, classification) a request can be judged with."""
    declared = [p.id for p in policy.purposes]
    for tenant in policy.tenants:
        allowed = [p for p in (tenant.purposes if tenant.purposes is not None else declared)
                   if policy.purpose(p) is not None]
        for purpose_id in (None, *allowed):
            declared_purpose = policy.purpose(purpose_id) if purpose_id else None
            purpose_floor = declared_purpose.minimum_classification if declared_purpose else None
            floor = max(SENSITIVITY[tenant.minimum_classification or "public"],
                        SENSITIVITY[purpose_floor or "public"])
            for classification in CLASSIFICATIONS[floor:]:
                yield tenant.id, purpose_id, classification


# classifications that must stay under the set's own jurisdiction unless a rule says otherwise
KEPT_HOME: tuple[str, ...] = CLASSIFICATIONS[SENSITIVITY["personal"]:]


def check_policy(policy: Policy, at: Locator) -> list[str]:
    problems = _references(policy, at)
    if problems:  # reachability over broken references would only repeat them
        return problems
    loaded = LoadedPolicy(policy, "", "(checking)")
    return _reachability(loaded, at) + _residency_leaks(loaded, at) + _budgets(loaded, at)


def _budgets(loaded: LoadedPolicy, at: Locator) -> list[str]:
    """Each budget names a declared tenant, a purpose it may declare, and is alone for its
    scope; every provider its requests may reach is priced in its currency only, so that each
    answer it counts has a cost it can add (an unpriced answer would count nothing)."""
    policy = loaded.policy
    tenants = {t.id: t for t in policy.tenants}
    purposes = {p.id for p in policy.purposes}
    problems: list[str] = []
    scopes: dict[tuple[str, str | None], int] = {}
    for index, budget in enumerate(policy.budgets):
        where = ("budgets", index)
        tenant = tenants.get(budget.tenant)
        if tenant is None:
            problems.append(at.at((*where, "tenant"), f"unknown tenant '{budget.tenant}' "
                                  f"{_known('tenants', tenants)}"))
            continue
        if budget.purpose is not None:
            if budget.purpose not in purposes:
                problems.append(at.at((*where, "purpose"), f"unknown purpose '{budget.purpose}'"
                                      f" {_known('purposes', purposes)}"))
                continue
            if tenant.purposes is not None and budget.purpose not in tenant.purposes:
                problems.append(at.at((*where, "purpose"), f"tenant '{tenant.id}' may not "
                                      f"declare purpose '{budget.purpose}' (tenants."
                                      f"{tenant.id}.purposes): the budget would count nothing"))
                continue
        scope = (budget.tenant, budget.purpose)
        if scope in scopes:
            problems.append(at.at(where, f"a second budget for tenant '{budget.tenant}'"
                                  + (f", purpose '{budget.purpose}'" if budget.purpose else "")
                                  + f" (first at {at.where('budgets', scopes[scope])}): give "
                                  "each scope one budget"))
            continue
        scopes[scope] = index
        reachable: dict[str, None] = {}
        for point in universe(policy):
            if point[0] == budget.tenant and (budget.purpose is None
                                              or point[1] == budget.purpose):
                reachable.update((p.id, None) for p in loaded.resolve(*point).candidates)
        for provider_id in reachable:
            provider = policy.provider(provider_id)
            others = sorted({p.currency for p in provider.prices} - {budget.currency})
            if not provider.prices:
                problems.append(at.at((*where, "currency"), f"budget '{budget.id}': provider "
                                      f"'{provider_id}', which its requests may reach, has no "
                                      "prices: its answers could not be counted; declare its "
                                      f"prices in {budget.currency} (0 for a model that "
                                      "costs nothing per token)"))
            elif others:
                problems.append(at.at((*where, "currency"), f"budget '{budget.id}' counts "
                                      f"{budget.currency} but provider '{provider_id}', which "
                                      f"its requests may reach, is priced in "
                                      f"{', '.join(others)}: its answers could not be added; "
                                      "use one currency, or keep the provider out of this "
                                      "tenant's residency"))
    return problems


def _residency_leaks(loaded: LoadedPolicy, at: Locator) -> list[str]:
    """Rules whose residency lets personal, sensitive or secret data reach a provider under
    another law than the set's ``jurisdiction``, without a ``residency_exception`` saying why.
    Exact, like reachability: every (tenant, purpose, classification) is resolved."""
    home = loaded.policy.jurisdiction
    if home is None:
        return []
    rules = loaded.policy.rules
    leaks: dict[int, dict[str, set[str]]] = {}  # rule -> providers / classifications
    examples: dict[int, list[Point]] = {}
    for point in universe(loaded.policy):
        if point[2] not in KEPT_HOME:
            continue
        resolution = loaded.resolve(*point)
        rule = resolution.residency_rule
        if rule is None or rules[rule].residency_exception is not None:
            continue
        abroad = [f"{p.id} ({p.jurisdiction})" for p in resolution.candidates
                  if p.jurisdiction != home]
        if abroad:
            found = leaks.setdefault(rule, {"providers": set(), "classifications": set()})
            found["providers"].update(abroad)
            found["classifications"].add(point[2])
            examples.setdefault(rule, []).append(point)
    problems = []
    for index in sorted(leaks):
        tenant, purpose, classification = examples[index][0]
        example = f"tenant '{tenant}'" + (f", purpose '{purpose}'" if purpose else "") \
            + f", classification '{classification}'"
        more = len(examples[index]) - 1
        kinds = [c for c in KEPT_HOME if c in leaks[index]["classifications"]]
        problems.append(at.at(
            ("rules", index, "residency"),
            f"rule '{rules[index].id}' lets {'/'.join(kinds)} data leave the set's jurisdiction "
            f"{home}: it allows {', '.join(sorted(leaks[index]['providers']))} (e.g. {example}"
            + (f", and {more} more case(s)" if more else "") + f"); restrict it (e.g. "
            f"jurisdictions: [{home}]) or, if this is intended, name the exception on the rule: "
            "residency_exception: \"<why, and who approved it>\""))
    return problems


def _known(kind: str, names: object) -> str:
    return f"(known {kind}: {', '.join(sorted(names))})"  # type: ignore[call-overload]


def _references(policy: Policy, at: Locator) -> list[str]:
    problems: list[str] = []
    for section in ("providers", "tenants", "purposes", "rules", "budgets"):
        first: dict[str, int] = {}
        for index, item in enumerate(getattr(policy, section)):
            if item.id in first:
                problems.append(at.at((section, index, "id"), f"duplicate id '{item.id}' "
                                      f"(first at {at.where(section, first[item.id])})"))
            first.setdefault(item.id, index)
    providers = {p.id for p in policy.providers}
    tenants = {t.id for t in policy.tenants}
    purposes = {p.id for p in policy.purposes}
    entities = known_entity_types()
    models = {m for p in policy.providers for m in p.models}
    for index, provider in enumerate(policy.providers):
        problem = endpoint_problem(provider.endpoint, provider.hosting)
        if problem is not None:
            problems.append(at.at(("providers", index, "endpoint"),
                                  f"provider '{provider.id}': endpoint {problem}"))
    problems.extend(_prices(policy, at))
    if policy.detection.default_language not in policy.detection.languages:
        problems.append(at.at(("detection", "default_language"),
                              f"'{policy.detection.default_language}' is not in "
                              "detection.languages"))
    for index, tenant in enumerate(policy.tenants):
        for position, purpose_id in enumerate(tenant.purposes or ()):
            if purpose_id not in purposes:
                problems.append(at.at(("tenants", index, "purposes", position),
                                      f"unknown purpose '{purpose_id}' "
                                      f"{_known('purposes', purposes)}"))
        problems.extend(_floor(at, ("tenants", index), tenant.default_classification,
                               tenant.minimum_classification))
    for index, purpose in enumerate(policy.purposes):
        problems.extend(_floor(at, ("purposes", index), purpose.default_classification,
                               purpose.minimum_classification))
    for index, rule in enumerate(policy.rules):
        base = ("rules", index)
        for position, tenant_id in enumerate(rule.when.tenants or ()):
            if tenant_id not in tenants:
                problems.append(at.at((*base, "when", "tenants", position),
                                      f"unknown tenant '{tenant_id}' {_known('tenants', tenants)}"))
        for position, purpose_id in enumerate(rule.when.purposes or ()):
            if purpose_id not in purposes:
                problems.append(at.at((*base, "when", "purposes", position),
                                      f"unknown purpose '{purpose_id}' "
                                      f"{_known('purposes', purposes)}"))
        if rule.residency is not None:
            for position, provider_id in enumerate(rule.residency.providers or ()):
                if provider_id not in providers:
                    problems.append(at.at((*base, "residency", "providers", position),
                                          f"unknown provider '{provider_id}' "
                                          f"{_known('providers', providers)}"))
        for entity, setting in rule.redaction.items():
            if entity not in entities:
                problems.append(at.at((*base, "redaction", entity),
                                      f"unknown entity type '{entity}' "
                                      f"{_known('entity types', entities)}", key=True))
            if setting.keep_last and setting.operator != "mask":
                problems.append(at.at((*base, "redaction", entity, "keep_last"),
                                      f"keep_last applies to the mask operator only "
                                      f"(operator is {setting.operator})"))
        if rule.residency_exception is not None and rule.residency is None:
            problems.append(at.at((*base, "residency_exception"), "a residency_exception "
                                  "applies to the residency of the same rule, and this rule "
                                  "has none", key=True))
        if rule.limits is not None:
            for position, model in enumerate(rule.limits.models or ()):
                if model not in models:
                    problems.append(at.at((*base, "limits", "models", position),
                                          f"unknown model '{model}': no provider offers it"))
    return problems


def _prices(policy: Policy, at: Locator) -> list[str]:
    """Each provider's price history: every model priced is one the provider offers, and no two
    entries for the same model (or for the whole provider) start on the same day - which of
    them applies would be undefined."""
    problems = []
    for index, provider in enumerate(policy.providers):
        first: dict[tuple[str | None, str], int] = {}
        for position, price in enumerate(provider.prices):
            where = ("providers", index, "prices", position)
            if price.model is not None and price.model not in provider.models:
                problems.append(at.at((*where, "model"), f"provider '{provider.id}' does not "
                                      f"offer model '{price.model}' "
                                      f"{_known('models', provider.models)}"))
            key = (price.model, price.valid_from.isoformat())
            if key in first:
                scope = f"model '{price.model}'" if price.model else "the provider"
                problems.append(at.at((*where, "valid_from"), f"a second price for {scope} "
                                      f"valid from {key[1]} (first at "
                                      f"prices[{first[key]}]): give each change its own date"))
            first.setdefault(key, position)
    return problems


def _floor(at: Locator, path: tuple[str, int], default: str | None,
           minimum: str | None) -> list[str]:
    if default is not None and minimum is not None and SENSITIVITY[default] < SENSITIVITY[minimum]:
        return [at.at((*path, "default_classification"),
                      f"'{default}' is below minimum_classification '{minimum}'")]
    return []


def _reachability(loaded: LoadedPolicy, at: Locator) -> list[str]:
    policy = loaded.policy
    rules = policy.rules
    decides: list[bool] = [False] * len(rules)
    matched: list[bool] = [False] * len(rules)
    shadowed_by: list[set[int]] = [set() for _ in rules]
    uncovered: dict[str, list[Point]] = {}
    for point in universe(policy):
        resolution: Resolution = loaded.resolve(*point)
        for index in resolution.matched:
            matched[index] = True
            own = False
            for setting in rules[index].settings():
                decider = resolution.decided_by[setting]
                if decider == index:
                    own = True
                else:
                    shadowed_by[index].add(decider)
            decides[index] = decides[index] or own
        if resolution.residency_rule is None:
            uncovered.setdefault(point[2], []).append(point)
    problems = []
    for index, rule in enumerate(rules):
        if not matched[index]:
            problems.append(at.at(("rules", index), f"rule '{rule.id}' is unreachable: no "
                                  "request can match it (check its tenants, purposes and "
                                  "classifications against the tenants' allowed purposes and "
                                  "minimum classifications)"))
        elif not decides[index]:
            earlier = ", ".join(f"'{rules[i].id}' ({at.where('rules', i)})"
                                for i in sorted(shadowed_by[index]))
            problems.append(at.at(("rules", index), f"rule '{rule.id}' is unreachable: every "
                                  "request it matches already has each of its settings decided "
                                  f"by earlier rules ({earlier})"))
    for classification in CLASSIFICATIONS:
        points = uncovered.get(classification)
        if points:
            tenant, purpose, _ = points[0]
            example = f"tenant '{tenant}'" + (f", purpose '{purpose}'" if purpose else "")
            more = f" and {len(points) - 1} more case(s)" if len(points) > 1 else ""
            problems.append(at.at(
                ("classifications", classification),
                f"classification '{classification}' has no residency rule for {example}{more}:"
                " add a rule whose residency covers it (providers: [] to block it)"))
    return problems


def policy_warnings(policy: Policy, at: Locator) -> list[str]:
    """What a reviewer should look at although the policy is valid."""
    warnings = []
    for index, tenant in enumerate(policy.tenants):
        if (tenant.minimum_classification is None
                and SENSITIVITY[tenant.default_classification] >= SENSITIVITY["personal"]):
            # the producer's own word is then the only thing between a patient file and the
            # rules for public data
            warnings.append(at.at(
                ("tenants", index), f"tenant '{tenant.id}' handles personal data "
                f"(default_classification '{tenant.default_classification}') but has no "
                "minimum_classification: a request it declares 'public' is judged public and "
                "may go wherever public data may. Set minimum_classification (e.g. 'personal'; "
                "'public' if that is really intended)"))
    return warnings
