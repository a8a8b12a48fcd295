"""decide() and its audit event (audit_events.decided): outcome, routing, reasons, evidence
without values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.adapters.policy_files import load_policy_set
from streams.config import project_root
from streams.core.audit_events import decided
from streams.core.decision import Decision, decide, forwarded_digest
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest

POLICY = load_policy_set(project_root() / "policies")
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

NAME = "Jeanne Martin"
EMAIL = "jeanne.martin@example.fr"
PHONE = "06 12 34 56 78"
CARD = "4970 1012 3456 7890"
PLANTED = (NAME, EMAIL, PHONE, CARD, "Jeanne", "Martin", "jeanne.martin")

TEXTS = (
    f"Bonjour, je suis {NAME}, joignable au {PHONE}.",
    f"Écrivez à {EMAIL} ; {NAME} répondra.",
)
FINDINGS_ALL = (
    (0, "PERSON", NAME),
    (0, "PHONE_NUMBER", PHONE),
    (1, "EMAIL_ADDRESS", EMAIL),
    (1, "PERSON", NAME),
)


def request(texts: tuple[str, ...] = TEXTS, **changes: Any) -> GovernedRequest:
    base = GovernedRequest(
        id="req-1",
        tenant="city-of-lyon",
        messages=tuple(ChatMessage("user", t) for t in texts),
        purpose="casework",
    )
    return replace(base, **changes)


def findings(
    texts: tuple[str, ...], wanted: tuple[tuple[int, str, str], ...], score: float = 0.85
) -> tuple[Finding, ...]:
    out = []
    for index, kind, value in wanted:
        start = texts[index].index(value)
        out.append(Finding(index, kind, start, start + len(value), score, "test"))
    return tuple(out)


def detection(
    texts: tuple[str, ...] = TEXTS,
    wanted: tuple[tuple[int, str, str], ...] = FINDINGS_ALL,
    method: str = "ner+patterns",
    language: str = "fr",
) -> Detection:
    return Detection(language, method, findings(texts, wanted))


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


# --- decide --------------------------------------------------------------------------------


def test_forward_with_redaction() -> None:
    decision = decide(request(), detection(), POLICY)
    assert decision.outcome == "forward"
    assert codes(decision) == ["redacted", "routed"]
    assert decision.provider is not None and decision.provider.id == "sovereign-local"
    assert decision.model == "llama-3.3-70b-instruct"
    assert decision.classification == "personal"  # city-of-lyon's default
    assert decision.entity_counts == {"PERSON": 1, "PHONE_NUMBER": 1, "EMAIL_ADDRESS": 1}
    assert [m.content for m in decision.forwarded_messages] == [
        "Bonjour, je suis <PERSON_1>, joignable au <PHONE_NUMBER_1>.",
        "Écrivez à <EMAIL_ADDRESS_1> ; <PERSON_1> répondra.",
    ]
    body = decision.forward_body()
    assert body["model"] == "llama-3.3-70b-instruct"
    left = json.dumps(body, ensure_ascii=False)
    assert [v for v in PLANTED if v in left] == []
    assert "1 EMAIL_ADDRESS, 1 PERSON, 1 PHONE_NUMBER" in decision.reasons[0].message
    assert "sovereign-local" in decision.reasons[1].message
    assert "FR" in decision.reasons[1].message


def test_reasons_never_contain_the_values() -> None:
    for decision in (
        decide(request(), detection(), POLICY),
        decide(request(classification="secret"), detection(), POLICY),
        decide(request(texts=(f"{NAME} {CARD}",)),
               detection((f"{NAME} {CARD}",), ((0, "PERSON", NAME), (0, "CREDIT_CARD", CARD))),
               POLICY),
    ):
        text = json.dumps([r.as_json() for r in decision.reasons], ensure_ascii=False)
        assert [v for v in PLANTED if v in text] == []


@pytest.mark.parametrize("tenant", ["ministry-of-health", "regional-health-agency",
                                    "ministry-of-education", "tax-office"])
@pytest.mark.parametrize("model", [None, "claude-sonnet-4-6", "gpt-4.1", "gemini-2.5-pro"])
def test_a_file_declared_public_never_reaches_a_us_provider(tenant: str, model: str | None
                                                            ) -> None:
    """Issue 12, item 7: the producer's 'public' for a patient, pupil or taxpayer file is
    raised to the tenant's minimum, whose rules allow no provider under US law."""
    decision = decide(request(tenant=tenant, purpose=None, classification="public",
                              model=model), detection(), POLICY)
    assert decision.classification != "public"
    assert "classification-raised" in codes(decision)
    reached = [p for p in (decision.provider, *decision.fallbacks) if p is not None]
    assert [p.id for p in reached if p.jurisdiction != "FR"] == []
    if model is not None:  # a US model asked for: nobody allowed offers it
        assert decision.outcome == "block" and codes(decision)[-1] == "model-not-allowed"
    else:
        assert decision.outcome == "forward"


@pytest.mark.parametrize(
    ("req", "det", "outcome", "expected_codes", "classification"),
    [
        pytest.param(request(), detection(wanted=()), "forward", ["routed"], "personal",
                     id="nothing-found-forward-unredacted"),
        pytest.param(request(classification="secret"), detection(), "block",
                     ["no-allowed-provider"], "secret", id="secret-has-no-provider"),
        pytest.param(request(tenant="ministry-of-health"), detection(), "forward",
                     ["redacted", "routed"], "sensitive", id="tenant-default-sensitive"),
        pytest.param(request(tenant="tax-office"), detection(), "forward",
                     ["redacted", "routed"], "personal", id="tenant-default-personal"),
        pytest.param(request(tenant="service-public", purpose=None, classification="public"),
                     detection(), "forward", ["redacted", "routed"], "public",
                     id="explicit-classification-wins-over-default"),
        pytest.param(request(tenant="ministry-of-health", purpose=None,
                             classification="public"), detection(), "forward",
                     ["classification-raised", "redacted", "routed"], "personal",
                     id="never-below-the-tenants-minimum"),
        pytest.param(
            request(texts=(f"Carte {CARD}, titulaire {NAME}",)),
            detection((f"Carte {CARD}, titulaire {NAME}",),
                      ((0, "CREDIT_CARD", CARD), (0, "PERSON", NAME))),
            "block", ["blocked-entity"], "personal", id="credit-card-blocks",
        ),
        pytest.param(
            request(texts=(f"Carte {CARD}",), classification="secret"),
            detection((f"Carte {CARD}",), ((0, "CREDIT_CARD", CARD),)),
            "block", ["no-allowed-provider", "blocked-entity"], "secret",
            id="secret-and-credit-card-both-reasons",
        ),
        pytest.param(
            request(texts=(f"Carte {CARD}",)),
            Detection("fr", "ner+patterns", (Finding(0, "CREDIT_CARD", 6, 25, 0.3),)),
            "forward", ["routed"], "personal", id="credit-card-below-min-score-ignored",
        ),
        pytest.param(request(model="gpt-4o"), detection(), "block", ["model-not-allowed"],
                     "personal", id="model-not-offered"),
        pytest.param(request(model="llama-3.3-70b-instruct"), detection(), "forward",
                     ["redacted", "routed"], "personal", id="model-offered"),
        pytest.param(request(), detection(method="patterns+ner-fallback:en", language="de"),
                     "forward", ["redacted", "language-fallback", "routed"], "personal",
                     id="language-fallback"),
    ],
)
def test_decide(
    req: GovernedRequest,
    det: Detection,
    outcome: str,
    expected_codes: list[str],
    classification: str,
) -> None:
    decision = decide(req, det, POLICY)
    assert decision.outcome == outcome
    assert codes(decision) == expected_codes
    assert decision.classification == classification
    if outcome == "block":
        assert decision.forwarded_messages == ()
        assert decision.entity_counts == {}
        assert decision.audit_kind == "blocked"
    else:
        assert decision.provider is not None
        assert decision.audit_kind == "admitted"


def test_secret_reason_names_the_policy_path() -> None:
    decision = decide(request(classification="secret"), detection(), POLICY)
    assert decision.provider is None and decision.model is None
    assert "'secret-never-leaves' (policies/guardrails.yaml rules[0]) residency" \
        in decision.reasons[0].message


def test_blocked_entity_reason_names_the_rule() -> None:
    texts = (f"Carte {CARD}",)
    decision = decide(request(texts=texts), detection(texts, ((0, "CREDIT_CARD", CARD),)),
                      POLICY)
    assert "CREDIT_CARD" in decision.reasons[0].message
    assert "'no-payment-cards' (policies/guardrails.yaml rules[1])" in decision.reasons[0].message
    assert "redaction.CREDIT_CARD.operator: block" in decision.reasons[0].message


def test_model_not_allowed_lists_allowed_models() -> None:
    decision = decide(request(model="gpt-4.1"), detection(), POLICY)  # a US provider's
    assert decision.provider is None
    assert "model 'gpt-4.1' is not offered" in decision.reasons[0].message
    assert "llama-3.3-70b-instruct" in decision.reasons[0].message


def test_a_model_no_provider_offers_is_neither_repeated_nor_recorded() -> None:
    """The producer's text: the reason does not repeat it, the audit record has its digest."""
    decision = decide(request(model="jeanne-martin-12-rue-x"), detection(), POLICY)
    assert decision.provider is None
    assert decision.reasons[0].code == "model-not-allowed"
    assert decision.reasons[0].message.startswith("the requested model (no provider of the "
                                                  "policy offers it) is not offered")
    details = decided(decision, datetime.now(UTC)).details
    assert details["requested_model"] == "sha256:" + hashlib.sha256(
        b"jeanne-martin-12-rue-x").hexdigest()
    assert "jeanne" not in json.dumps(details) + decision.reasons[0].message


def test_an_undeclared_purpose_is_neither_repeated_nor_recorded() -> None:
    decision = decide(request(purpose="jeanne-martin"), detection(), POLICY)
    assert [r.code for r in decision.reasons] == ["unknown-purpose"]
    details = decided(decision, datetime.now(UTC)).details
    assert details["purpose"] == "sha256:" + hashlib.sha256(b"jeanne-martin").hexdigest()
    assert "jeanne" not in json.dumps(details)
    declared = decide(request(purpose="translation"), detection(), POLICY)
    assert decided(declared, datetime.now(UTC)).details["purpose"] == "translation"


def test_language_fallback_reason_names_language_and_method() -> None:
    decision = decide(request(), detection(method="patterns+ner-fallback:en", language="de"),
                      POLICY)
    message = next(r.message for r in decision.reasons if r.code == "language-fallback")
    assert "'de'" in message and "patterns+ner-fallback:en" in message


def test_second_provider_serves_a_model_the_first_lacks() -> None:
    decision = decide(request(model="mistral-large-latest"), detection(), POLICY)
    assert decision.outcome == "forward"
    assert decision.provider is not None and decision.provider.id == "mistral-paris"
    assert decision.model == "mistral-large-latest"
    default = decide(request(), detection(), POLICY)
    assert default.provider is not None and default.provider.id == "sovereign-local"
    assert [p.id for p in default.fallbacks] == ["secnumcloud-mistral", "mistral-paris"]


# --- audit_event ---------------------------------------------------------------------------


def event_json(decision: Decision) -> str:
    return json.dumps(decided(decision, T0).details, ensure_ascii=False)


@pytest.mark.parametrize(
    ("req", "det", "kind"),
    [
        pytest.param(request(), detection(), "admitted", id="forward"),
        pytest.param(request(classification="secret"), detection(), "blocked", id="secret"),
        pytest.param(
            request(texts=(f"{NAME}: {CARD}",)),
            detection((f"{NAME}: {CARD}",), ((0, "PERSON", NAME), (0, "CREDIT_CARD", CARD))),
            "blocked", id="credit-card",
        ),
        pytest.param(request(model="gpt-4o"), detection(), "blocked", id="model-not-allowed"),
    ],
)
def test_audit_event_identity_and_no_values(
    req: GovernedRequest, det: Detection, kind: str
) -> None:
    decision = decide(req, det, POLICY)
    event = decided(decision, T0)
    assert (event.kind, event.record_id) == (kind, f"req-1/{kind}")
    assert (event.request_id, event.tenant, event.occurred_at) == ("req-1", "city-of-lyon", T0)
    text = event_json(decision)
    assert [v for v in PLANTED if v in text] == []
    details = event.details
    assert details["policy"] == POLICY.reference
    assert details["policy"]["sha256"] == POLICY.digest
    assert [r["code"] for r in details["reasons"]] == codes(decision)


def test_audit_event_details_for_a_forward() -> None:
    decision = decide(request(), detection(), POLICY)
    details = decided(decision, T0).details
    assert details["decision"] == "forward"
    assert details["classification"] == "personal"
    assert details["purpose"] == "casework"
    assert (details["provider"], details["provider_jurisdiction"]) == ("sovereign-local", "FR")
    assert details["model"] == "llama-3.3-70b-instruct"
    assert details["rules"] == ["baseline-personal", "baseline"]
    assert details["operators"] == {"EMAIL_ADDRESS": "placeholder", "PERSON": "placeholder",
                                    "PHONE_NUMBER": "placeholder"}
    assert details["prompt_chars"] == sum(len(t) for t in TEXTS)
    assert (details["language"], details["detection"]) == ("fr", "ner+patterns")
    assert details["entities"] == {"EMAIL_ADDRESS": 1, "PERSON": 2, "PHONE_NUMBER": 1}
    expected = [
        {"message": f.message_index, "type": f.entity_type, "start": f.start, "end": f.end,
         "score": 0.85}
        for f in sorted(findings(TEXTS, FINDINGS_ALL), key=lambda f: (f.message_index, f.start))
    ]
    assert details["findings"] == expected
    assert details["forwarded_sha256"] == forwarded_digest(decision.forward_body())
    assert len(details["forwarded_sha256"]) == 64


def test_forwarded_digest_covers_the_redacted_body() -> None:
    one = decided(decide(request(), detection(), POLICY), T0).details["forwarded_sha256"]
    other_text = (TEXTS[0].replace("Bonjour", "Salut"), TEXTS[1])
    two = decide(request(texts=other_text), detection(other_text), POLICY)
    assert decided(two, T0).details["forwarded_sha256"] != one
    # the same redacted text from other personal values gives the same digest
    renamed = tuple(t.replace(NAME, "Paul Durand") for t in TEXTS)
    wanted = tuple((i, k, "Paul Durand" if v == NAME else v) for i, k, v in FINDINGS_ALL)
    three = decide(request(texts=renamed), detection(renamed, wanted), POLICY)
    assert decided(three, T0).details["forwarded_sha256"] == one


def test_blocked_event_has_no_forwarded_digest() -> None:
    decision = decide(request(classification="secret"), detection(), POLICY)
    details = decided(decision, T0).details
    assert "forwarded_sha256" not in details
    assert details["provider"] is None and details["provider_jurisdiction"] is None
    assert details["decision"] == "block"


def test_score_is_rounded_in_the_evidence() -> None:
    det = Detection("fr", "ner+patterns", (Finding(0, "PERSON", 17, 30, 0.876543),))
    details = decided(decide(request(), det, POLICY), T0).details
    assert details["findings"][0]["score"] == 0.877

