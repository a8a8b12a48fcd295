"""The transparency report's figures (``streams.core.transparency``) on a small log computed by
hand: every expected figure below is worked out in the comments from the records of
``tests/transparency_log.py`` (each commented there too)."""

from __future__ import annotations

from typing import Any

import pytest
from transparency_log import LOG, POLICY_TEXT, decided

from streams.adapters.policy_files import parse_policy
from streams.core.transparency import compute_report, concentration, hhi, share, tally_records

POLICY = parse_policy(POLICY_TEXT, "report.yaml")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return compute_report(LOG, POLICY)


def test_requests(report: dict[str, Any]) -> None:
    # decided: r1..r7 = 7, of which blocked r7; rejected: 1; failed: r3; answered: r1, r2,
    # r4, r5, r6 = 5. city: r1-r3, failed r3, answered r1, r2. tax: r4-r7, answered r4-r6.
    # 3 records each for r1-r4 and r6, 4 for r5, 1 for r7, the rejection, the policy record
    assert report["records_read"] == len(LOG) == 22
    assert report["overall"]["requests"] == {"decided": 7, "admitted": 6, "blocked": 1,
                                             "rejected": 1, "failed": 1, "answered": 5}
    assert report["tenants"]["city"]["requests"] == {"decided": 3, "admitted": 3, "blocked": 0,
                                                     "rejected": 0, "failed": 1, "answered": 2}
    assert report["tenants"]["tax"]["requests"] == {"decided": 4, "admitted": 3, "blocked": 1,
                                                    "rejected": 0, "failed": 0, "answered": 3}
    assert sorted(report["tenants"]) == ["city", "tax"]


def test_usage_and_cost_per_provider_model_jurisdiction_hosting(report: dict[str, Any]) -> None:
    # local: r5 only, its jurisdiction from r5's forwarded record, hosting from the policy.
    # virginia: r1 + r2 + r6 = 3 answers, 1000+3000+1000 = 5000 in, 500+1000+0 = 1500 out,
    # 0.006 + 0.015 (as recorded) = 0.021 USD, r6 unpriced; hosting: the policy's default
    assert report["overall"]["usage"] == [
        {"provider": "local", "model": "llama", "jurisdiction": "FR", "hosting": "on-premises",
         "answers": 1, "input_tokens": 400, "output_tokens": 100, "estimated": 1,
         "unpriced": 0, "cost": {"EUR": "0.000250"}},
        {"provider": "paris", "model": "large", "jurisdiction": "FR",
         "hosting": "sovereign-cloud", "answers": 1, "input_tokens": 2000,
         "output_tokens": 1000, "estimated": 0, "unpriced": 0, "cost": {"EUR": "0.005000"}},
        {"provider": "virginia", "model": "gpt", "jurisdiction": "US",
         "hosting": "public-cloud", "answers": 3, "input_tokens": 5000, "output_tokens": 1500,
         "estimated": 0, "unpriced": 1, "cost": {"USD": "0.021000"}},
    ]
    # 400 + 2000 + 5000 = 7400 in; 100 + 1000 + 1500 = 2600 out; EUR 0.00025 + 0.005
    assert report["overall"]["totals"] == {"answers": 5, "input_tokens": 7400,
                                           "output_tokens": 2600,
                                           "cost": {"EUR": "0.005250", "USD": "0.021000"}}
    # city: r1 + r2 only: 4000 in, 1500 out, 0.021 USD
    assert report["tenants"]["city"]["totals"] == {"answers": 2, "input_tokens": 4000,
                                                   "output_tokens": 1500,
                                                   "cost": {"USD": "0.021000"}}
    # r2's recorded 0.015 is not (3000 x 2 + 1000 x 8) / 1e6 = 0.014
    assert report["cost_disagreements"] == [
        {"record_id": "r2/answered", "why": "recorded cost 0.015000 USD, recomputed 0.014000"}]


def test_where_data_went(report: dict[str, Any]) -> None:
    # forwarded records: local r5; paris r4, r5; virginia r1, r2, r3, r6
    assert report["overall"]["sent"] == [
        {"provider": "local", "jurisdiction": "FR", "requests": 1},
        {"provider": "paris", "jurisdiction": "FR", "requests": 2},
        {"provider": "virginia", "jurisdiction": "US", "requests": 4}]


def test_personal_requests_that_stayed_home(report: dict[str, Any]) -> None:
    # personal: r4 (FR), r5 (FR, FR), r6 (e-mail found; US), r7 (sensitive, sent nowhere);
    # stayed home: r7 + r4 + r5 = 3 of 4 = 0.75. city sent no personal request.
    personal = report["overall"]["personal"]
    assert personal == {
        "home_jurisdiction": "FR", "requests": 4, "not_sent": 1, "sent_home_only": 2,
        "sent_elsewhere": 1, "stayed_home_share": 0.75,
        "by_jurisdictions": [{"jurisdictions": [], "requests": 1},
                             {"jurisdictions": ["FR"], "requests": 2},
                             {"jurisdictions": ["US"], "requests": 1}]}
    assert report["tenants"]["tax"]["personal"] == personal
    assert report["tenants"]["city"]["personal"]["requests"] == 0
    assert report["tenants"]["city"]["personal"]["stayed_home_share"] is None


def test_dependence_shares_and_herfindahl(report: dict[str, Any]) -> None:
    dependence = report["overall"]["dependence"]
    # answers: local 1, paris 1, virginia 3 of 5: 0.2, 0.2, 0.6; HHI 20² + 20² + 60² = 4400
    # EUR spend: paris 0.005, local 0.00025 of 0.00525: 20/21 = 0.9524, 1/21 = 0.0476; HHI
    # 10000 x (20² + 1²) / 21² = 4010000 / 441 = 9092.97 -> 9093.0. USD: virginia alone: 10000
    assert [(p["provider"], p["answers"], p["traffic_share"]) for p in dependence["providers"]] \
        == [("local", 1, 0.2), ("paris", 1, 0.2), ("virginia", 3, 0.6)]
    assert [p["spend"] for p in dependence["providers"]] == [
        {"EUR": {"amount": "0.000250", "share": 0.0476}},
        {"EUR": {"amount": "0.005000", "share": 0.9524}},
        {"USD": {"amount": "0.021000", "share": 1.0}}]
    # tokens: local 500, paris 3000, virginia 6500
    assert [p["tokens"] for p in dependence["providers"]] == [500, 3000, 6500]
    assert dependence["traffic_hhi"] == 4400.0
    assert dependence["traffic_concentration"] == "high"
    assert dependence["spend_hhi"] == {"EUR": 9093.0, "USD": 10000.0}
    # tax: one answer each from local, paris, virginia: 3 x (100/3)² = 3333.3
    assert report["tenants"]["tax"]["dependence"]["traffic_hhi"] == 3333.3


def test_exit_readiness_replays_without_each_provider(report: dict[str, Any]) -> None:
    # virginia was routed r1, r2, r3, r6 (public): without it, public may go to FR providers,
    # local first - except r3, which asked for gpt, offered by virginia only: 3 of 4 = 0.75.
    # paris was routed r4, r5 (personal: residency paris, then local): without it, r5 may go
    # to local, r4 asked for model large, offered by paris only: 1 of 2.
    assert report["overall"]["exit_readiness"] == [
        {"provider": "paris", "routed": 2, "still_allowed": 1, "share": 0.5,
         "alternatives": {"local": 1}},
        {"provider": "virginia", "routed": 4, "still_allowed": 3, "share": 0.75,
         "alternatives": {"local": 3}}]
    # city: r1, r2 of r1-r3: 2/3; tax: r6 of r6
    assert [(e["provider"], e["share"]) for e in report["tenants"]["city"]["exit_readiness"]] \
        == [("virginia", 0.6667)]
    assert [(e["provider"], e["share"]) for e in report["tenants"]["tax"]["exit_readiness"]] \
        == [("paris", 0.5), ("virginia", 1.0)]


def test_without_a_policy_the_policy_figures_are_not_guessed() -> None:
    report = compute_report(LOG, None)
    assert {row["hosting"] for row in report["overall"]["usage"]} == {"unknown"}
    assert report["overall"]["personal"]["stayed_home_share"] is None
    assert report["overall"]["personal"]["requests"] == 4
    assert [(e["provider"], e["routed"], e["share"])
            for e in report["overall"]["exit_readiness"]] == [("paris", 2, None),
                                                              ("virginia", 4, None)]
    # what the log alone says is the same
    with_policy = compute_report(LOG, POLICY)
    assert report["overall"]["dependence"] == with_policy["overall"]["dependence"]


def test_an_answer_without_its_forwarded_record_takes_the_policys_jurisdiction() -> None:
    report = compute_report(LOG[2:3], POLICY)  # r1's answer alone
    assert report["overall"]["usage"][0]["jurisdiction"] == "US"  # virginia's, per the policy
    assert compute_report(LOG[2:3], None)["overall"]["usage"][0]["jurisdiction"] == "unknown"


@pytest.mark.parametrize(
    ("parts", "index", "level"),
    [
        pytest.param([1], 10000.0, "high", id="monopoly"),
        pytest.param([1, 1], 5000.0, "high", id="duopoly"),
        pytest.param([1] * 10, 1000.0, "moderate", id="ten-equal"),
        pytest.param([1] * 20, 500.0, "low", id="twenty-equal"),
        pytest.param([3, 1], 6250.0, "high", id="75-25"),  # 75² + 25² = 5625 + 625
        pytest.param([0, 0], None, None, id="nothing"),
        pytest.param([], None, None, id="empty"),
    ],
)
def test_herfindahl_scale(parts: list[int], index: float | None, level: str | None) -> None:
    assert hhi(parts) == index
    assert concentration(hhi(parts)) == level


def test_share_is_exact_then_rounded_once() -> None:
    assert share(1, 3) == 0.3333
    assert share(2, 3) == 0.6667
    assert share(0, 0) is None


LIMITS = parse_policy("""\
policy: replay-memo
version: 1
providers:
  - {id: first, kind: openai, endpoint: "https://a.example/v1", models: [m], jurisdiction: FR}
  - {id: second, kind: openai, endpoint: "https://b.example/v1", models: [m], jurisdiction: FR}
tenants:
  - {id: t, default_classification: internal}
rules:
  - id: small-prompts
    limits: {max_prompt_chars: 40}
  - id: everything-anywhere
    residency: {providers: [first, second]}
    redaction:
      CREDIT_CARD: {operator: block, min_score: 0.5}
      PERSON: {operator: placeholder}
""", "memo.yaml")


def routed(rid: str, chars: int, *findings: tuple[str, int, int, float]) -> dict[str, Any]:
    record = decided(rid, "t", "internal", "first")
    record["details"]["prompt_chars"] = chars
    record["details"]["findings"] = [{"message": 0, "type": kind, "start": start, "end": end,
                                      "score": score} for kind, start, end, score in findings]
    return record


@pytest.mark.parametrize(
    ("first", "second", "allowed"),
    [
        # the prompt size counts only against the limit: 30 and 35 are one replay, 50 is not
        pytest.param(routed("a", 30), routed("b", 35), 2, id="same-side-of-the-limit"),
        pytest.param(routed("a", 30), routed("b", 50), 1, id="over-the-limit"),
        # findings without overlap: places do not matter, scores against min_score do
        pytest.param(routed("a", 30, ("CREDIT_CARD", 0, 5, 0.9)),
                     routed("b", 30, ("CREDIT_CARD", 10, 25, 0.9)), 0, id="card-anywhere"),
        pytest.param(routed("a", 30, ("CREDIT_CARD", 0, 5, 0.4)),
                     routed("b", 30, ("CREDIT_CARD", 0, 5, 0.9)), 1, id="card-below-score"),
        # overlapping: the higher score wins the span, so the places decide
        pytest.param(routed("a", 30, ("PERSON", 0, 10, 0.95), ("CREDIT_CARD", 5, 15, 0.9)),
                     routed("b", 30, ("PERSON", 0, 10, 0.95), ("CREDIT_CARD", 20, 30, 0.9)),
                     1, id="overlap-decides"),
    ],
)
def test_replays_are_shared_only_when_their_outcome_must_be_the_same(
        first: dict[str, Any], second: dict[str, Any], allowed: int) -> None:
    exits = compute_report([first, second], LIMITS)["overall"]["exit_readiness"]
    assert exits == [{"provider": "first", "routed": 2, "still_allowed": allowed,
                      "share": allowed / 2, "alternatives": {"second": allowed} if allowed
                      else {}}]
    # each replayed alone gives the same count
    assert allowed == sum(compute_report([r], LIMITS)["overall"]["exit_readiness"][0]
                          ["still_allowed"] for r in (first, second))


def test_requests_that_differ_only_in_what_cannot_matter_share_one_replay() -> None:
    same = [routed("a", 30, ("CREDIT_CARD", 0, 5, 0.6)),
            routed("b", 35, ("CREDIT_CARD", 12, 30, 0.9)),  # same side of 40 and of 0.5
            routed("c", 39, ("CREDIT_CARD", 1, 4, 0.5))]
    assert tally_records(same, LIMITS).replayed == 1
    assert tally_records([*same, routed("d", 41, ("CREDIT_CARD", 0, 5, 0.6))],
                         LIMITS).replayed == 2
    # a type no rule blocks cannot stop a replay (keys are assumed): it is left out of the key
    assert tally_records([routed("g", 30), routed("h", 30, ("PERSON", 0, 5, 0.9))],
                         LIMITS).replayed == 1


@pytest.mark.parametrize(
    ("field", "value", "still_allowed"),
    [
        # douane writes strings here; another writer's object or list is judged as a value
        # no policy declares: the request could not be placed elsewhere
        pytest.param("purpose", ["memo"], 0, id="purpose-list"),
        pytest.param("requested_classification", {"level": "internal"}, 0,
                     id="classification-object"),
        pytest.param("requested_model", [1], 0, id="model-list"),
        # the replay reads the requested classification, so the recorded one only says
        # whether the request was personal
        pytest.param("classification", {"level": "personal"}, 1, id="recorded-class-object"),
        pytest.param("detection", {"method": "ner"}, 1, id="detection-object"),
        pytest.param("language", ["en"], 1, id="language-list"),
    ],
)
def test_a_decision_with_values_douane_never_writes_is_counted_not_a_crash(
        field: str, value: object, still_allowed: int) -> None:
    record = routed("a", 30)
    record["details"][field] = value
    report = compute_report([record], LIMITS)
    assert report["overall"]["requests"]["decided"] == 1
    assert report["overall"]["personal"]["requests"] == 0
    (row,) = report["overall"]["exit_readiness"]
    assert (row["routed"], row["still_allowed"]) == (1, still_allowed)
