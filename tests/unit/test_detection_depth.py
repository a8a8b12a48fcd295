"""A rule's ``detection: fast | thorough``: resolved like every other setting (first matching
rule that sets it), known before detection runs, checked and explained like the others."""

from __future__ import annotations

import pytest

from streams.adapters.policy_files import load_policy_set, parse_policy
from streams.config import project_root
from streams.core.decision import FULL_METHODS, detection_depth, evaluate
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy import CLASSIFICATIONS, PolicyError

POLICY = parse_policy("""\
policy: depth-under-test
version: 1
providers:
  - {id: home, kind: openai-compatible, endpoint: "http://127.0.0.1:9/v1", models: [llama],
     jurisdiction: FR, hosting: on-premises}
tenants:
  - {id: portal, default_classification: internal}
  - {id: clinic, default_classification: personal, minimum_classification: personal}
  - {id: city, default_classification: public}
purposes:
  - {id: press, default_classification: public}
  - {id: casework, minimum_classification: personal}
rules:
  - id: city-always-thorough
    when: {tenants: [city]}
    detection: thorough
  - id: everyone-home
    residency: {providers: [home]}
  - id: public-fast
    when: {classifications: [public, internal]}
    detection: fast
  - id: press-thorough-too-late
    when: {purposes: [press]}
    detection: thorough
""", "depth.yaml")


@pytest.mark.parametrize(
    ("tenant", "purpose", "classification", "depth", "decider"),
    [
        # a rule that sets it decides it
        ("portal", None, "public", "fast", "public-fast"),
        ("portal", None, "internal", "fast", "public-fast"),
        # no rule sets it for personal data: the built-in default, the deployment's tiers
        ("portal", None, "personal", "thorough", None),
        ("portal", None, "sensitive", "thorough", None),
        ("portal", None, "secret", "thorough", None),
        # the first matching rule decides: a later rule cannot change it
        ("portal", "press", "public", "fast", "public-fast"),
        # an earlier rule's thorough wins over a later fast
        ("city", None, "public", "thorough", "city-always-thorough"),
        ("city", "press", "internal", "thorough", "city-always-thorough"),
    ],
)
def test_the_first_matching_rule_that_sets_detection_decides(
        tenant: str, purpose: str | None, classification: str, depth: str,
        decider: str | None) -> None:
    resolution = POLICY.resolve(tenant, purpose, classification)
    assert resolution.detection == depth
    index = resolution.decided_by.get("detection")
    assert (POLICY.policy.rules[index].id if index is not None else None) == decider


@pytest.mark.parametrize(
    ("tenant", "purpose", "classification", "depth"),
    [
        ("portal", None, None, "fast"),  # the tenant's default: internal
        ("portal", "press", None, "fast"),  # the purpose's default: public
        ("portal", "casework", "public", "thorough"),  # raised to the purpose's floor
        ("clinic", None, "public", "thorough"),  # raised to the tenant's floor
        ("clinic", "press", None, "thorough"),  # the purpose's public default, then raised
        ("nobody", None, "public", "thorough"),  # refused later: the deployment's tiers
        ("portal", "sales", "public", "thorough"),  # unknown purpose: the same
        ("portal", None, "classified", "thorough"),  # not a classification: the same
    ],
)
def test_depth_before_detection_uses_the_classification_the_decision_will(
        tenant: str, purpose: str | None, classification: str | None, depth: str) -> None:
    assert detection_depth(POLICY, tenant, purpose, classification) == depth


def _every_request(loaded: LoadedPolicy) -> list[tuple[str, str | None, str | None]]:
    policy = loaded.policy
    return [(tenant.id, purpose, classification)
            for tenant in policy.tenants
            for purpose in (None, *(p.id for p in policy.purposes))
            for classification in (None, *CLASSIFICATIONS)]


@pytest.mark.parametrize("loaded", [POLICY, load_policy_set(project_root() / "policies")],
                         ids=["test-policy", "shipped-policy"])
def test_depth_before_detection_is_the_decisions_own(loaded: LoadedPolicy) -> None:
    """The pipeline picks the depth before detection and decides after it: for every request
    a policy can receive, the decision's resolution says the depth detection ran at (so the
    pipeline's second detection, for a decision that asks for more, never runs today)."""
    compared = 0
    for tenant, purpose, classification in _every_request(loaded):
        verdict = evaluate(loaded, tenant=tenant, purpose=purpose,
                           classification=classification, model=None, prompt_chars=10,
                           detection_method="ner+patterns", language="en", findings=())
        if verdict.resolution is None:
            continue
        compared += 1
        assert detection_depth(loaded, tenant, purpose, classification) \
            == verdict.resolution.detection, (tenant, purpose, classification)
    assert compared > 50


def test_the_shipped_policy_is_fast_for_public_requests_only() -> None:
    shipped = load_policy_set(project_root() / "policies")
    assert detection_depth(shipped, "service-public", "public-information", None) == "fast"
    # the citizen portal's requests are internal by default and carry residents' names
    assert detection_depth(shipped, "service-public", None, None) == "thorough"
    assert detection_depth(shipped, "city-of-lyon", "casework", None) == "thorough"
    assert detection_depth(shipped, "ministry-of-health", "public-health-communication",
                           None) == "thorough"  # raised to personal


def test_a_rule_with_only_detection_is_a_rule_and_decides_it() -> None:
    assert POLICY.policy.rules[0].settings() == ("detection",)


HEAD_OF_POLICY = """\
policy: p
version: 1
providers:
  - {id: home, kind: openai-compatible, endpoint: "http://127.0.0.1:9/v1", models: [llama],
     jurisdiction: FR, hosting: on-premises}
tenants:
  - {id: portal, default_classification: internal}
rules:
  - id: everyone-home
    residency: {providers: [home]}
"""


@pytest.mark.parametrize(("rules", "problem"), [
    # a misspelt value
    ("    detection: thorugh\n",
     "policies/depth.yaml:11:16: rules[0].detection: 'thorugh' is not one of: fast, thorough"),
    # the top-level section's shape in a rule: a setting, not a mapping
    ("  - id: depth\n    detection: {languages: [en]}\n",
     "policies/depth.yaml:12:16: rules[1].detection: {\"languages\": [\"en\"]} is not one "
     "of: fast, thorough"),
])
def test_a_wrong_detection_value_names_its_place_and_the_choices(rules: str,
                                                                 problem: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(HEAD_OF_POLICY + rules, "policies/depth.yaml")
    assert raised.value.problems == [problem]


@pytest.mark.parametrize("method", [
    "ner+patterns+web-ner", "ner+patterns+web-ner+vote", "ner+patterns+corenlp+web-ner",
    "ner+patterns+corenlp+web-ner+vote", "ner+patterns+vote", "ner+patterns"])
def test_every_tier_combination_is_a_full_analysis(method: str) -> None:
    """The detector's method with the trained English tier on is a full analysis, not an
    unsupported language (it was missing: such requests got "language-fallback")."""
    assert method in FULL_METHODS
    verdict = evaluate(POLICY, tenant="portal", purpose=None, classification="personal",
                       model=None, prompt_chars=10, detection_method=method, language="en",
                       findings=())
    assert [r.code for r in verdict.reasons] == ["routed"]


def test_a_case_without_entities_is_detected_as_deep_as_the_policy_says() -> None:
    """``douane policy test`` (and the worker's check of a new set) runs the real detector
    for a case that declares no entities: at the depth the set gives the request."""
    from streams.core.model import ChatMessage, Detection
    from streams.core.policy_cases import parse_cases, run_case

    asked: list[bool] = []

    def detect(messages: tuple[ChatMessage, ...], language: str | None, *,
               tiers: bool = True) -> Detection:
        asked.append(tiers)
        return Detection("en", "ner+patterns", ())

    cases = parse_cases("""\
cases:
  - name: the portal's own notes
    request: {tenant: portal, text: Opening hours.}
    expect: {decision: forward, detection: fast}
  - name: the portal's casework
    request: {tenant: portal, purpose: casework, text: Her file.}
    expect: {decision: forward, detection: thorough}
""", "depth-cases.yaml")
    results = [run_case(case, POLICY, detect) for case in cases]
    assert [r.passed for r in results] == [True, True]
    assert asked == [False, True]
