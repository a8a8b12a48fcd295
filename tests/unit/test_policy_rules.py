"""Precedence and the decision under the full policy model: first matching rule per setting,
residency order and exclusions, classification floors, operators, limits, languages."""

from __future__ import annotations

from typing import Any

import pytest

from streams.adapters.policy_files import parse_policy
from streams.core.decision import decide, evaluate
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest
from streams.core.policy_cases import TestKeys
from streams.core.redaction import mask
from streams.core.retention import raw_topic_retention

POLICY = parse_policy("""\
policy: rules-under-test
version: 3
providers:
  - {id: home, kind: openai-compatible, endpoint: "http://127.0.0.1:9/v1", models: [llama],
     jurisdiction: IS, hosting: on-premises}
  - {id: paris, kind: mistral, endpoint: "https://a.example/v1", models: [large, llama],
     jurisdiction: FR, region: eu-west, retains_data: true, retention_days: 30}
  - {id: virginia, kind: openai, endpoint: "https://b.example/v1", models: [gpt],
     jurisdiction: US, region: us-east, trains_on_data: true}
tenants:
  - {id: registry, default_classification: personal, purposes: [press, census]}
  - {id: hospital, default_classification: sensitive, minimum_classification: personal}
purposes:
  - {id: press, default_classification: public}
  - {id: census, minimum_classification: sensitive}
rules:
  - id: no-cards
    redaction: {CREDIT_CARD: {operator: block}}
  - id: hospital-small-prompts
    when: {tenants: [hospital]}
    limits: {max_prompt_chars: 40}
    unsupported_language: block
    redaction: {PERSON: {min_score: 0.3, operator: keyed-hash}}
  - id: sensitive-home-only
    when: {classifications: [sensitive, secret]}
    residency: {providers: [home]}
    retention: {raw_topics: 2h}
  - id: personal-europe
    when: {classifications: [personal]}
    residency: {jurisdictions: [FR, IS], require: {no_training: true}}
    unsupported_language: local-only
  - id: open
    when: {classifications: [public, internal]}
    residency: {jurisdictions: [US, FR, IS]}
    retention: {raw_topics: 3d}
  - id: baseline
    redaction:
      PERSON: {operator: placeholder}
      IBAN_CODE: {operator: mask, keep_last: 4}
      EMAIL_ADDRESS: {operator: drop}
    retention: {raw_topics: 1d}
""", "rules.yaml")


def request(text: str = "hello", **changes: Any) -> GovernedRequest:
    fields: dict[str, Any] = {"id": "r1", "tenant": "registry",
                              "messages": (ChatMessage("user", text),)}
    fields.update(changes)
    return GovernedRequest(**fields)


def found(text: str, *pairs: tuple[str, str], score: float = 0.9) -> Detection:
    """Every occurrence of each value, as a detector would report them."""
    findings = []
    for kind, value in pairs:
        start = text.find(value)
        while start >= 0:
            findings.append(Finding(0, kind, start, start + len(value), score))
            start = text.find(value, start + 1)
    return Detection("en", "ner+patterns", tuple(findings))


def test_first_matching_rule_decides_each_setting() -> None:
    resolution = POLICY.resolve("hospital", None, "sensitive")
    assert resolution.decided_by == {
        "redaction.CREDIT_CARD": 0, "limits.max_prompt_chars": 1, "unsupported_language": 1,
        "redaction.PERSON": 1, "residency": 2, "retention.raw_topics": 2,
        "redaction.IBAN_CODE": 5, "redaction.EMAIL_ADDRESS": 5}
    assert resolution.entities["PERSON"].operator == "keyed-hash"  # not baseline's placeholder
    assert resolution.retention_s["raw_topics"] == 7200
    assert resolution.retention_s["encrypted_payloads"] == 30 * 86400  # built-in default


def test_residency_order_and_exclusion_reasons() -> None:
    public = POLICY.resolve("registry", None, "public")
    assert [p.id for p in public.candidates] == ["virginia", "paris", "home"]  # US, FR, IS
    personal = POLICY.resolve("registry", None, "personal")
    assert [p.id for p in personal.candidates] == ["paris", "home"]
    assert [str(e) for e in personal.exclusions] == [
        "excluded virginia: jurisdiction US not in allowed [FR, IS]; trains on submitted data "
        "(require.no_training)"]
    sensitive = POLICY.resolve("registry", None, "sensitive")
    assert [str(e) for e in sensitive.exclusions] == [
        "excluded paris: not in residency.providers [home]",
        "excluded virginia: not in residency.providers [home]"]


@pytest.mark.parametrize(
    ("changes", "classification", "codes"),
    [
        ({}, "personal", ["routed"]),
        ({"purpose": "press"}, "public", ["routed"]),
        ({"purpose": "census"}, "sensitive", ["classification-raised", "routed"]),
        ({"purpose": "census", "classification": "public"}, "sensitive",
         ["classification-raised", "routed"]),
        ({"tenant": "hospital", "classification": "public"}, "personal",
         ["classification-raised", "routed"]),
        ({"purpose": "sales"}, "", ["unknown-purpose"]),
        ({"purpose": "press", "tenant": "hospital"}, "personal",
         ["classification-raised", "routed"]),
        ({"classification": "secret"}, "secret", ["routed"]),
    ],
)
def test_classification_order_and_floors(changes: dict[str, Any], classification: str,
                                         codes: list[str]) -> None:
    decision = decide(request(**changes), Detection("en", "ner+patterns", ()), POLICY)
    assert decision.classification == classification
    assert [r.code for r in decision.reasons] == codes


def test_unavailable_provider_falls_back_only_to_allowed_ones() -> None:
    decision = decide(request(), Detection("en", "ner+patterns", ()), POLICY,
                      unavailable={"paris"})
    assert decision.provider is not None and decision.provider.id == "home"
    blocked = decide(request(classification="sensitive"), Detection("en", "ner+patterns", ()),
                     POLICY, unavailable={"home"})
    assert blocked.outcome == "block"
    assert blocked.reasons[0].code == "no-allowed-provider"
    assert "excluded home: unavailable" in blocked.reasons[0].message
    assert "'sensitive-home-only' (rules.yaml rules[2])" in blocked.reasons[0].message


def test_operators_mask_drop_placeholder() -> None:
    text = "Pay Ana Sol on IS14 0159 2600 7654 5510 7303 39, mail ana@example.is"
    decision = decide(request(text), found(text, ("PERSON", "Ana Sol"),
                                           ("IBAN_CODE", "IS14 0159 2600 7654 5510 7303 39"),
                                           ("EMAIL_ADDRESS", "ana@example.is")), POLICY)
    assert decision.forwarded_messages[0].content == \
        "Pay <PERSON_1> on **** **** **** **** **** **03 39, mail "
    assert decision.reasons[0].message == \
        "redacted: 1 EMAIL_ADDRESS (drop); 1 IBAN_CODE (mask); 1 PERSON (placeholder)"
    assert mask("FR76 3000 6000", 3) == "**** **** *000"


def test_keyed_hash_needs_keys_and_is_stable_per_tenant() -> None:
    text = "Ana Sol called. Ana Sol again."
    det = found(text, ("PERSON", "Ana Sol"))
    without = decide(request(text, tenant="hospital"), det, POLICY)
    assert [r.code for r in without.reasons] == ["operator-unavailable"]
    with_keys = decide(request(text, tenant="hospital"), det, POLICY, tokens=TestKeys())
    content = with_keys.forwarded_messages[0].content
    token = content.split(" called")[0]
    assert token.startswith("<PERSON#") and content.count(token) == 2  # same value, same token
    assert "Ana" not in content


def test_card_blocks_and_names_its_rule() -> None:
    text = "card 4111 1111 1111 1111"
    decision = decide(request(text), found(text, ("CREDIT_CARD", "4111 1111 1111 1111")), POLICY)
    assert decision.outcome == "block"
    assert "'no-cards' (rules.yaml rules[0])" in decision.reasons[0].message


def test_prompt_size_limit() -> None:
    decision = decide(request("x" * 41, tenant="hospital"), Detection("en", "ner+patterns", ()),
                      POLICY)
    assert [r.code for r in decision.reasons] == ["prompt-too-large"]
    assert "41 characters, more than 40" in decision.reasons[0].message


def test_unsupported_language_block_and_local_only() -> None:
    degraded = Detection("de", "patterns-only", ())
    hospital = decide(request(tenant="hospital"), degraded, POLICY)
    assert [r.code for r in hospital.reasons] == ["language-not-supported"]
    local = decide(request(), degraded, POLICY)  # personal: local-only
    assert local.provider is not None and local.provider.id == "home"
    assert [r.code for r in local.reasons] == ["language-fallback", "routed"]
    assert local.verdict is not None and any(
        "unsupported_language is local-only" in e.reason for e in local.verdict.exclusions)


def test_evaluate_needs_no_text() -> None:
    verdict = evaluate(POLICY, tenant="registry", purpose=None, classification=None, model="gpt",
                       prompt_chars=10, detection_method="ner+patterns", language="en",
                       findings=())
    assert verdict.outcome == "block" and verdict.reasons[0].code == "model-not-allowed"


def test_topic_retention_is_the_shortest_that_may_appear() -> None:
    retention = raw_topic_retention(POLICY)
    assert retention.shared_s == 7200  # sensitive: 2h
    assert retention.per_provider_s == {"home": 7200, "paris": 86400, "virginia": 3 * 86400}
