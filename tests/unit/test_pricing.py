"""The price in force and the cost of an answer: valid-from selection, per-model override,
currency, the rounding rule, and the recomputation of a recorded cost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from streams.core.policy import Price, Provider
from streams.core.pricing import (
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
