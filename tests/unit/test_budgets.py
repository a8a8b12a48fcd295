"""Budgets: the pure decision given the month's spend (table of cases), the ledger recomputed
from answered records, and what ``policy validate`` says about budgets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml

from streams.adapters.policy_files import parse_policy
from streams.core.budgets import (
    NO_PURPOSE,
    MonthSpend,
    charges,
    from_micros,
    ledger_entry,
    ledger_of,
    month_of,
    status_of,
    to_micros,
)
from streams.core.decision import decide
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, GovernedRequest
from streams.core.policy import PolicyError
from streams.core.policy_cases import parse_cases, run_cases
from streams.core.pricing import UnreadableCost

NOW = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
TENANT = "city"


def price(inp: float, out: float, currency: str = "EUR",
          valid_from: str = "2025-01-01") -> dict[str, Any]:
    return {"valid_from": valid_from, "currency": currency, "input_per_million": inp,
            "output_per_million": out}


def document(budgets: list[dict[str, Any]], order: list[str] | None = None,
             local_prices: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "policy": "budgets", "version": 1,
        "providers": [
            {"id": "cloud", "kind": "openai", "endpoint": "https://cloud.example/v1",
             "models": ["big"], "jurisdiction": "FR", "prices": [price(2, 8)]},
            {"id": "cheap", "kind": "openai", "endpoint": "https://cheap.example/v1",
             "models": ["small"], "jurisdiction": "FR", "prices": [price(0.1, 0.4)]},
            {"id": "local", "kind": "openai-compatible", "endpoint": "http://127.0.0.1:9/v1",
             "models": ["mini"], "jurisdiction": "FR", "hosting": "on-premises",
             "prices": local_prices if local_prices is not None else [price(0, 0)]},
        ],
        "tenants": [{"id": TENANT, "default_classification": "internal"},
                    {"id": "other", "default_classification": "internal"}],
        "purposes": [{"id": "letters"}, {"id": "casework"}],
        "rules": [{"id": "all", "residency": {
            "providers": order if order is not None else ["cloud", "cheap", "local"]}}],
        "budgets": budgets,
    }


def loaded(budgets: list[dict[str, Any]], **changes: Any) -> LoadedPolicy:
    return parse_policy(yaml.safe_dump(document(budgets, **changes)), "budgets.yaml")


def budget(when: str = "block", monthly: float = 10, purpose: str | None = None,
           warn: int | None = None, budget_id: str = "monthly") -> dict[str, Any]:
    out: dict[str, Any] = {"id": budget_id, "tenant": TENANT, "monthly": monthly,
                           "currency": "EUR", "when_exhausted": when}
    if purpose is not None:
        out["purpose"] = purpose
    if warn is not None:
        out["warn_at_percent"] = warn
    return out


def request(purpose: str | None = None, tenant: str = TENANT) -> GovernedRequest:
    return GovernedRequest(id="req-1", tenant=tenant, purpose=purpose,
                           messages=(ChatMessage("user", "Résumez la note de service."),))


DETECTION = Detection("fr", "ner+patterns", ())


def spend(**amounts: str) -> MonthSpend:
    """Amounts in EUR by purpose (``none``: requests without one)."""
    return MonthSpend.at(TENANT, NOW, {
        (NO_PURPOSE if purpose == "none" else purpose, "EUR"): Decimal(amount)
        for purpose, amount in amounts.items()})


# (budgets, purpose of the request, spend, outcome, provider, reason codes, budget statuses)
CASES: list[tuple[str, list[dict[str, Any]], str | None, MonthSpend | None, str, str | None,
                  list[str], list[str]]] = [
    ("no budget", [], None, spend(none="1000"), "forward", "cloud", ["routed"], []),
    ("within", [budget()], None, spend(none="7.999999"), "forward", "cloud", ["routed"],
     ["within"]),
    ("warn at 80 %", [budget()], None, spend(none="8"), "forward", "cloud", ["routed"],
     ["warn"]),
    ("warn at 95 %", [budget(warn=95)], None, spend(none="9"), "forward", "cloud",
     ["routed"], ["within"]),
    ("just below", [budget()], None, spend(none="9.999999"), "forward", "cloud", ["routed"],
     ["warn"]),
    ("block once spent", [budget()], None, spend(none="10"), "block", None,
     ["budget-exhausted"], ["exhausted"]),
    ("route once spent: first that charges nothing", [budget("route")], None,
     spend(none="10.5"), "forward", "local", ["budget-rerouted", "routed"], ["exhausted"]),
    ("purpose budget: another purpose is not counted", [budget(purpose="letters")],
     "casework", spend(letters="10"), "forward", "cloud", ["routed"], []),
    ("purpose budget: its purpose's spend only", [budget(purpose="letters")], "letters",
     spend(letters="9", casework="50"), "forward", "cloud", ["routed"], ["warn"]),
    ("purpose budget exhausted", [budget(purpose="letters")], "letters",
     spend(letters="10"), "block", None, ["budget-exhausted"], ["exhausted"]),
    ("tenant budget sums every purpose", [budget()], "casework",
     spend(letters="6", casework="3", none="1"), "block", None, ["budget-exhausted"],
     ["exhausted"]),
    ("tenant route and purpose block: the block wins",
     [budget("route"), budget(purpose="letters", monthly=5, budget_id="letters")], "letters",
     spend(letters="5", none="6"), "block", None, ["budget-exhausted"],
     ["exhausted", "exhausted"]),
    ("tenant block within, purpose route exhausted",
     [budget(monthly=100), budget("route", purpose="letters", monthly=5, budget_id="letters")],
     "letters", spend(letters="5"), "forward", "local", ["budget-rerouted", "routed"],
     ["within", "exhausted"]),
    ("no spend given: budgets not looked at", [budget()], None, None, "forward", "cloud",
     ["routed"], []),
]


@pytest.mark.parametrize(("budgets", "purpose", "given", "outcome", "provider", "reasons",
                          "statuses"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_the_budget_decision(budgets: list[dict[str, Any]], purpose: str | None,
                             given: MonthSpend | None, outcome: str, provider: str | None,
                             reasons: list[str], statuses: list[str]) -> None:
    decision = decide(request(purpose), DETECTION, loaded(budgets), spend=given)
    assert decision.outcome == outcome
    assert (decision.provider.id if decision.provider else None) == provider
    assert [r.code for r in decision.reasons] == reasons
    assert decision.verdict is not None
    assert [s.status for s in decision.verdict.budgets] == statuses


def test_route_without_a_free_provider_blocks() -> None:
    policy = loaded([budget("route")], order=["cloud", "cheap"])
    decision = decide(request(), DETECTION, policy, spend=spend(none="10"))
    assert decision.outcome == "block"
    assert [r.code for r in decision.reasons] == ["budget-exhausted"]
    assert "no allowed provider charges nothing" in decision.reasons[0].message


def test_rerouted_requests_fall_back_only_to_free_providers() -> None:
    document_ = document([budget("route")])
    document_["providers"].append({
        "id": "local-2", "kind": "openai-compatible", "endpoint": "http://127.0.0.1:8/v1",
        "models": ["mini"], "jurisdiction": "FR", "hosting": "on-premises",
        "prices": [price(0, 0)]})
    document_["rules"][0]["residency"]["providers"] = ["cloud", "local", "cheap", "local-2"]
    policy = parse_policy(yaml.safe_dump(document_), "budgets.yaml")
    decision = decide(request(), DETECTION, policy, spend=spend(none="11"))
    assert decision.provider is not None and decision.provider.id == "local"
    assert [p.id for p in decision.fallbacks] == ["local-2"]
    excluded = {e.provider: e.reason for e in decision.verdict.exclusions}  # type: ignore[union-attr]
    assert excluded["cloud"] == excluded["cheap"] == "charges, and budget 'monthly' is exhausted"


def test_the_caller_is_told_no_budget_internals() -> None:
    decision = decide(request(), DETECTION, loaded([budget()]), spend=spend(none="12.5"))
    reason = decision.reasons[0]
    assert "budget 'monthly'" in reason.message and "12.500000 of 10.000000 EUR" in reason.message
    assert "2026-11 (UTC)" in reason.message
    told = reason.for_client()
    assert told["code"] == "budget-exhausted"
    assert "monthly" in told["message"] and "12.5" not in told["message"]
    assert "'monthly'" not in told["message"] and "EUR" not in told["message"]


def test_another_tenants_spend_and_currency_do_not_count() -> None:
    policy = loaded([budget()])
    usd = MonthSpend.at(TENANT, NOW, {(NO_PURPOSE, "USD"): Decimal(50)})
    assert decide(request(), DETECTION, policy, spend=usd).outcome == "forward"
    other = decide(request(tenant="other"), DETECTION, policy, spend=spend(none="50"))
    assert other.outcome == "forward" and other.verdict is not None
    assert other.verdict.budgets == ()


@pytest.mark.parametrize(("prices", "on", "expected"), [
    ([price(0, 0)], "2026-01-01", False),
    ([price(0, 0.5)], "2026-01-01", True),
    ([], "2026-01-01", True),  # unpriced: its cost is unknown, not nothing
    ([price(0, 0), price(1, 1, valid_from="2026-06-01")], "2026-05-31", False),
    ([price(0, 0), price(1, 1, valid_from="2026-06-01")], "2026-06-01", True),
    ([price(0, 0, valid_from="2027-01-01")], "2026-12-31", True),
])
def test_which_providers_charge(prices: list[dict[str, Any]], on: str, expected: bool) -> None:
    policy = parse_policy(yaml.safe_dump(document([], local_prices=prices)), "p.yaml")
    assert charges(policy.policy.provider("local"), date.fromisoformat(on)) is expected


@pytest.mark.parametrize(("spent", "warn", "expected"), [
    ("0", 80, "within"), ("7.99", 80, "within"), ("8", 80, "warn"), ("9.99", 100, "within"),
    ("10", 100, "exhausted"), ("0.1", 1, "warn"), ("1000", 80, "exhausted"),
])
def test_status_thresholds(spent: str, warn: int, expected: str) -> None:
    policy = loaded([budget(warn=warn)])
    assert status_of(policy.policy.budgets[0], Decimal(spent)) == expected


def test_the_month_is_utc() -> None:
    from datetime import timedelta, timezone
    paris_new_year = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert month_of(paris_new_year) == "2026-12"
    assert MonthSpend.at(TENANT, paris_new_year).day == date(2026, 12, 31)


# --- the ledger, recomputed from answered records ----------------------------------------


def answered(request_id: str, amount: str | None, *, tenant: str = TENANT,
             at: str = "2026-11-03T10:00:00.000000Z", purpose: Any = "letters",
             currency: str = "EUR") -> dict[str, Any]:
    details: dict[str, Any] = {"provider": "cloud", "cost": None if amount is None else {
        "amount": amount, "currency": currency, "price": price(2, 8, currency)}}
    if purpose != "absent":
        details["purpose"] = purpose
    return {"kind": "answered", "request_id": request_id, "tenant": tenant, "occurred_at": at,
            "details": details}


def test_the_ledger_from_the_records() -> None:
    payloads = [
        answered("r1", "0.000123"),
        answered("r2", "1.500000"),
        answered("r3", "2.000000", purpose=None),
        answered("r4", "3.000000", at="2026-12-01T00:00:00.000000Z"),
        answered("r5", "4.000000", currency="USD"),
        answered("r6", None),  # unpriced: counts nothing
        answered("r7", "5.000000", purpose="absent"),  # older record: its admission's purpose
        {"kind": "admitted", "request_id": "r7", "tenant": TENANT,
         "occurred_at": "2026-11-03T09:00:00.000000Z", "details": {"purpose": "casework"}},
    ]
    assert ledger_of(payloads, {"r7": "casework"}) == {
        (TENANT, "letters", "2026-11", "EUR"): 1_500_123,
        (TENANT, NO_PURPOSE, "2026-11", "EUR"): 2_000_000,
        (TENANT, "letters", "2026-12", "EUR"): 3_000_000,
        (TENANT, "letters", "2026-11", "USD"): 4_000_000,
        (TENANT, "casework", "2026-11", "EUR"): 5_000_000,
    }
    assert from_micros(1_500_123) == Decimal("1.500123")
    assert to_micros(Decimal("1.500123")) == 1_500_123


@pytest.mark.parametrize(("change", "field"), [
    ({"details": "x"}, "details"),
    ({"details": {"cost": "x"}}, "details.cost"),
    ({"details": {"cost": {"amount": "lots", "currency": "EUR"}}}, "amount"),
    ({"tenant": 7}, "tenant"),
    ({"details": {"cost": {"amount": "1.0"}}}, "currency"),
])
def test_an_unreadable_answer_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(UnreadableCost, match=field):
        ledger_entry({**answered("r1", "1.000000"), **change})


def test_an_answer_without_a_tenant_counts_against_no_budget() -> None:
    assert ledger_entry({**answered("r1", "1.000000"), "tenant": None}) is None


# --- policy validate ----------------------------------------------------------------------


def problems(budgets: list[dict[str, Any]], **changes: Any) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        loaded(budgets, **changes)
    return raised.value.problems


def test_validate_names_the_budget_problems_with_their_lines() -> None:
    found = problems([
        budget(),
        {**budget(budget_id="second"), "tenant": "nobody"},
        budget(purpose="unknown", budget_id="third"),
        budget(budget_id="fourth"),
    ])
    assert found == [
        "budgets.yaml:10:11: budgets[1].tenant: unknown tenant 'nobody' "
        "(known tenants: city, other)",
        "budgets.yaml:15:12: budgets[2].purpose: unknown purpose 'unknown' "
        "(known purposes: casework, letters)",
        "budgets.yaml:18:3: budgets[3]: a second budget for tenant 'city' (first at "
        "budgets.yaml budgets[0]): give each scope one budget",
    ]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("warn_at_percent", 0, "warn_at_percent is a percentage of the monthly amount, from 1 "
                           "to 100"),
    ("warn_at_percent", 101, "warn_at_percent is a percentage"),
    ("monthly", 0, "a monthly budget is an amount above 0"),
    ("monthly", -5, "a monthly budget is an amount above 0"),
    ("when_exhausted", "shrug", "'shrug' is not one of: route, block"),
    ("currency", "euro", "'euro' is not a currency"),
])
def test_validate_refuses_a_value_out_of_range(field: str, value: Any, message: str) -> None:
    found = problems([{**budget(), field: value}])
    assert len(found) == 1 and f"budgets[0].{field}: " in found[0] and message in found[0]
    assert found[0].startswith("budgets.yaml:")


def test_validate_refuses_reachable_providers_in_another_currency_or_unpriced() -> None:
    usd = problems([budget()], local_prices=[price(0, 0, "USD")])
    assert usd == ["budgets.yaml:2:13: budgets[0].currency: budget 'monthly' counts EUR but "
                   "provider 'local', which its requests may reach, is priced in USD: its "
                   "answers could not be added; use one currency, or keep the provider out of "
                   "this tenant's residency"]
    unpriced = problems([budget()], local_prices=[])
    assert len(unpriced) == 1 and "provider 'local', which its requests may reach, has no " \
        "prices" in unpriced[0]
    # a provider the budget's tenant cannot reach may be priced in anything
    assert loaded([budget()], order=["cloud", "cheap"], local_prices=[price(0, 0, "USD")])


def test_a_tenant_may_not_budget_a_purpose_it_cannot_declare() -> None:
    document_ = document([budget(purpose="letters")])
    document_["tenants"][0]["purposes"] = ["casework"]
    with pytest.raises(PolicyError) as raised:
        parse_policy(yaml.safe_dump(document_), "budgets.yaml")
    assert raised.value.problems[0].endswith(
        "budgets[0].purpose: tenant 'city' may not declare purpose 'letters' "
        "(tenants.city.purposes): the budget would count nothing")


def test_a_set_without_budgets_keeps_its_hash() -> None:
    without = document([])
    del without["budgets"]
    assert parse_policy(yaml.safe_dump(without), "a.yaml").digest == \
        loaded([]).digest


CASE_FILE = """
cases:
  - name: a spent budget blocks
    request: {tenant: city, text: Résumez la note de service.}
    entities: {}
    spent:
      - {amount: 6.00, currency: EUR}
      - {purpose: letters, amount: 4.00, currency: EUR}
    on: 2026-11-30
    expect: {decision: block, reasons: [budget-exhausted], budgets: {monthly: exhausted}}
  - name: another currency does not count
    request: {tenant: city, text: Résumez la note de service.}
    entities: {}
    spent: [{amount: 60, currency: USD}]
    on: 2026-11-30
    expect: {decision: forward, provider: cloud, budgets: {monthly: within}}
  - name: without a spend, budgets are not looked at
    request: {tenant: city, text: Résumez la note de service.}
    entities: {}
    expect: {decision: forward, provider: cloud, budgets: {}}
"""


def test_policy_test_cases_can_give_the_months_spend() -> None:
    results = run_cases(parse_cases(CASE_FILE, "budgets-cases.yaml"), loaded([budget()]))
    assert [r.passed for r in results] == [True, True, True], [r.diff() for r in results]
    routed = run_cases(parse_cases(CASE_FILE.replace("decision: block, reasons: "
                                                     "[budget-exhausted]", "provider: local"),
                                   "b.yaml"), loaded([budget("route")]))
    assert routed[0].passed, routed[0].diff()


@pytest.mark.parametrize(("spent", "message"), [
    ("{amount: 1}", "cases[0].spent: a list"),
    ("[{amount: 1}]", "cases[0].spent[0]: needs 'amount' and 'currency'"),
    ("[{amount: lots, currency: EUR}]", "cases[0].spent[0].amount: 'lots' is not a number"),
    ("[{amount: -1, currency: EUR}]", "cases[0].spent[0].amount: -1: a spend is a number"),
    ("[{amount: 1, currency: EUR, tenant: x}]", "cases[0].spent[0]: unknown key 'tenant'"),
])
def test_a_badly_written_spend_fails_its_case_with_where(spent: str, message: str) -> None:
    text = ("cases:\n  - request: {tenant: city, text: Bonjour.}\n    entities: {}\n"
            f"    spent: {spent}\n    on: 2026-11-30\n    expect: {{decision: forward}}\n")
    [result] = run_cases(parse_cases(text, "c.yaml"), loaded([budget()]))
    assert not result.passed
    assert result.error is not None and result.error.startswith("c.yaml:2: ")
    assert message in result.error


def test_a_case_day_that_is_not_a_date_is_named() -> None:
    text = ("cases:\n  - request: {tenant: city, text: Bonjour.}\n    entities: {}\n"
            "    spent: []\n    on: 2026-13-01\n    expect: {decision: forward}\n")
    [result] = run_cases(parse_cases(text, "c.yaml"), loaded([budget()]))
    assert result.error is not None and "c.yaml:2: cases[0].on: '2026-13-01' is not a " \
        "calendar date" in result.error


def test_a_spend_without_its_day_is_named() -> None:
    text = ("cases:\n  - request: {tenant: city, text: Bonjour.}\n    entities: {}\n"
            "    spent: []\n    expect: {decision: forward}\n")
    [result] = run_cases(parse_cases(text, "c.yaml"), loaded([budget()]))
    assert result.error is not None and "c.yaml:2: cases[0]: 'spent' and 'on' go together" \
        in result.error
