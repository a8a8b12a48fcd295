"""The price in force and the cost of an answer: valid-from selection, per-model override,
currency, the rounding rule, and the recomputation of a recorded cost."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from streams.core.policy import Price, Provider
from streams.core.pricing import (
    AgreeingCosts,
    UnreadableCost,
    answer_cost,
    cost_at,
    price_in_force,
    recorded_cost,
    usage_and_cost,
)
from streams.core.usage import TokenUsage


def price(valid_from: str, inp: str, out: str, model: str | None = None,
          currency: str = "EUR") -> Price:
    return Price(valid_from=date.fromisoformat(valid_from), currency=currency,
                 input_per_million=Decimal(inp), output_per_million=Decimal(out), model=model)


PROVIDER = Provider(
    id="mistral-paris", kind="mistral", endpoint="https://api.mistral.ai/v1",
    models=("large", "small"), jurisdiction="FR",
    prices=(
        price("2025-01-01", "2", "6"),
        price("2025-07-01", "1.8", "5.4"),
        price("2025-03-01", "0.2", "0.6", model="small"),
        price("2025-09-01", "0.1", "0.3", model="small"),
        price("2026-01-01", "1.5", "4.5", currency="USD"),
    ))


@pytest.mark.parametrize(
    ("model", "on", "expected"),
    [
        pytest.param("large", "2024-12-31", None, id="before-any-price"),
        pytest.param("large", "2025-01-01", ("2025-01-01", "EUR"), id="first-day"),
        pytest.param("large", "2025-06-30", ("2025-01-01", "EUR"), id="last-day-of-first"),
        pytest.param("large", "2025-07-01", ("2025-07-01", "EUR"), id="change-day"),
        pytest.param("large", "2026-02-01", ("2026-01-01", "USD"), id="currency-change"),
        # a model without its own entry in force falls back to the provider's
        pytest.param("small", "2025-02-01", ("2025-01-01", "EUR"), id="model-not-yet-priced"),
        pytest.param("small", "2025-03-01", ("2025-03-01", "EUR"), id="model-override"),
        # the model's own entry wins even over a later provider-wide entry
        pytest.param("small", "2025-08-01", ("2025-03-01", "EUR"), id="override-wins"),
        pytest.param("small", "2026-02-01", ("2025-09-01", "EUR"), id="latest-override"),
        pytest.param(None, "2025-08-01", ("2025-07-01", "EUR"), id="no-model"),
    ],
)
def test_the_price_in_force(model: str | None, on: str,
                            expected: tuple[str, str] | None) -> None:
    found = price_in_force(PROVIDER, model, date.fromisoformat(on))
    assert (None if found is None else (found.valid_from.isoformat(), found.currency)) \
        == expected


@pytest.mark.parametrize(
    ("tokens", "prices", "cost"),
    [
        pytest.param((1_000_000, 1_000_000), ("2", "6"), "8.000000", id="a-million-each"),
        pytest.param((1117, 46), ("2", "8"), "0.002602", id="openai-example"),
        pytest.param((1, 0), ("0.5", "0"), "0.000001", id="half-up"),  # 0.0000005
        pytest.param((1, 0), ("0.4999", "0"), "0.000000", id="below-half"),
        pytest.param((3, 0), ("0.15", "0"), "0.000000", id="rounded-once"),  # 0.00000045
        pytest.param((0, 0), ("2", "6"), "0.000000", id="nothing"),
        pytest.param((10**9, 10**9), ("0", "0"), "0.000000", id="local-door"),
        pytest.param((10**12, 0), ("3", "0"), "3000000.000000", id="large"),
    ],
)
def test_cost_rounds_half_up_to_the_millionth(tokens: tuple[int, int], prices: tuple[str, str],
                                              cost: str) -> None:
    amount = cost_at(*tokens, Decimal(prices[0]), Decimal(prices[1]))
    assert f"{amount:f}" == cost


def test_the_answer_is_priced_on_its_utc_day() -> None:
    usage = TokenUsage(1000, 1000)
    # 30 June 23:30 in UTC-2 is 1 July in UTC: the new price
    evening = datetime(2025, 6, 30, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    cost = answer_cost(PROVIDER, "large", usage, evening)
    assert cost is not None and cost.price.valid_from == date(2025, 7, 1)
    assert cost.as_json() == {
        "amount": "0.007200", "currency": "EUR",
        "price": {"valid_from": "2025-07-01", "currency": "EUR",
                  "input_per_million": "1.8", "output_per_million": "5.4"}}
    assert answer_cost(PROVIDER, "large", usage, datetime(2024, 1, 1, tzinfo=UTC)) is None


def test_the_record_details_and_their_recomputation() -> None:
    at = datetime(2025, 10, 1, 12, tzinfo=UTC)
    details = usage_and_cost(PROVIDER, "small", TokenUsage(12_345, 678, estimated=True), at)
    assert details == {
        "usage": {"input_tokens": 12_345, "output_tokens": 678, "estimated": True},
        "cost": {"amount": "0.001438", "currency": "EUR",
                 "price": {"valid_from": "2025-09-01", "currency": "EUR", "model": "small",
                           "input_per_million": "0.1", "output_per_million": "0.3"}}}
    assert recorded_cost(details) == (Decimal("0.001438"), Decimal("0.001438"), "EUR")
    unpriced = usage_and_cost(PROVIDER, "large", TokenUsage(1, 1), datetime(2020, 1, 1,
                                                                           tzinfo=UTC))
    assert unpriced["cost"] is None and recorded_cost(unpriced) is None
    assert recorded_cost({"provider": "x"}) is None  # a record older than costs


def test_a_tampered_amount_is_seen_by_the_recomputation() -> None:
    details: dict[str, Any] = usage_and_cost(PROVIDER, "large", TokenUsage(1000, 1000),
                                             datetime(2025, 8, 1, tzinfo=UTC))
    details["cost"]["amount"] = "0.000001"
    recorded, recomputed, _ = recorded_cost(details) or (None, None, None)
    assert recorded != recomputed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"usage": {"input_tokens": "12", "output_tokens": 1}}, "usage.input_tokens"),
        ({"usage": None}, "not an object"),
        ({"cost": {"amount": "x", "currency": "EUR", "price": {
            "input_per_million": "1", "output_per_million": "1", "currency": "EUR"}}},
         "not a number"),
        ({"cost": {"amount": "1", "currency": "USD", "price": {
            "input_per_million": "1", "output_per_million": "1", "currency": "EUR"}}},
         "currency"),
    ],
)
def test_an_unreadable_cost_names_the_field(change: dict[str, Any], message: str) -> None:
    details = {**usage_and_cost(PROVIDER, "large", TokenUsage(1, 1),
                                datetime(2025, 8, 1, tzinfo=UTC)), **change}
    with pytest.raises(UnreadableCost, match=message):
        recorded_cost(details)


def _reference(usage: object, cost: object) -> tuple[int, str] | None:
    """What AgreeingCosts must give: the Decimal check's amount in millionths when it agrees
    and has douane's form, else None (the report then takes the Decimal check)."""
    try:
        checked = recorded_cost({"usage": usage, "cost": cost})
    except UnreadableCost:
        return None
    if checked is None or checked[0] != checked[1]:
        return None
    return int(checked[0] * 1_000_000), checked[2]


def _millionths(usage: Any, cost: Any) -> tuple[int, str] | None:
    return AgreeingCosts().millionths(usage.get("input_tokens"), usage.get("output_tokens"),
                                      cost)


@pytest.mark.parametrize(
    ("tokens", "rates", "amount", "agrees"),
    [
        ((1, 0), ("0.5", "0"), "0.000001", True),   # half a millionth: rounded up
        ((1, 0), ("0.5", "0"), "0.000000", False),  # ... not down
        ((3, 0), ("0.5", "0"), "0.000002", True),   # 1.5 -> 2
        ((1, 1), ("0.25", "0.25"), "0.000001", True),  # 0.5 -> 1, from both sides
        ((1, 0), ("0.4999", "0"), "0.000000", True),
        ((12_345, 678), ("0.1", "0.3"), "0.001438", True),
        ((10 ** 6, 10 ** 6), ("2", "8"), "10.000000", True),
        ((10 ** 6, 10 ** 6), ("2", "8"), "10.000001", False),
        ((0, 0), ("0", "0"), "0.000000", True),
    ],
)
def test_agreeing_costs_round_half_up_like_the_decimal_check(
        tokens: tuple[int, int], rates: tuple[str, str], amount: str, agrees: bool) -> None:
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "estimated": False}
    cost = {"amount": amount, "currency": "EUR",
            "price": {"currency": "EUR", "input_per_million": rates[0],
                      "output_per_million": rates[1], "valid_from": "2025-01-01"}}
    expected = (int(Decimal(amount) * 1_000_000), "EUR") if agrees else None
    assert _millionths(usage, cost) == expected == _reference(usage, cost)


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "0.0000010"},  # agrees for Decimal, not douane's form: Decimal decides
        {"amount": 0.000001},
        {"amount": "1e-6"},
        {"currency": "USD"},
        {"price": None},
        {"price": {"currency": "EUR", "input_per_million": "5e-1", "output_per_million": "0"}},
        {"price": {"currency": "EUR", "input_per_million": 0.5, "output_per_million": "0"}},
        {"price": {"currency": "EUR", "input_per_million": "-0.5", "output_per_million": "0"}},
        {"price": {"currency": "EUR", "output_per_million": "0"}},
    ],
)
def test_agreeing_costs_leave_every_other_form_to_the_decimal_check(
        change: dict[str, Any]) -> None:
    usage = {"input_tokens": 1, "output_tokens": 0}
    cost = {"amount": "0.000001", "currency": "EUR",
            "price": {"currency": "EUR", "input_per_million": "0.5", "output_per_million": "0"},
            **change}
    assert _millionths(usage, cost) is None
    for tokens in ({"input_tokens": True, "output_tokens": 0},
                   {"input_tokens": -1, "output_tokens": 0}, {"output_tokens": 0}):
        assert _millionths(tokens, {**cost, **change}) is None


def test_agreeing_costs_equal_the_decimal_check_on_random_answers() -> None:
    rng = random.Random(17)
    checker = AgreeingCosts()
    seen = {True: 0, False: 0}
    for _ in range(20_000):
        rates = [rng.choice(("0", "1", "2.5", "0.15", "0.125", "3.000000001", "12.34567"))
                 for _ in range(2)]
        usage = {"input_tokens": rng.randint(0, 10 ** rng.randint(1, 9)),
                 "output_tokens": rng.randint(0, 10 ** rng.randint(1, 7))}
        exact = (usage["input_tokens"] * Decimal(rates[0])
                 + usage["output_tokens"] * Decimal(rates[1])) / 1_000_000
        rounded = exact.quantize(Decimal("0.000001"), rounding="ROUND_HALF_UP")
        off = rng.choice((0, 0, 0, Decimal("0.000001"), Decimal("-0.000001")))
        amount = f"{rounded + off:f}"
        cost = {"amount": amount, "currency": "EUR",
                "price": {"currency": "EUR", "input_per_million": rates[0],
                          "output_per_million": rates[1]}}
        fast = checker.millionths(usage["input_tokens"], usage["output_tokens"], cost)
        assert fast == _reference(usage, cost), (usage, cost)
        seen[fast is not None] += 1
    assert seen[True] > 5_000 and seen[False] > 2_000  # both outcomes were exercised
