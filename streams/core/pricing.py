"""The cost of one answer, from its token usage and the policy's price table.

Which price: of the provider's entries whose ``valid_from`` day (UTC) is on or before the day of
the answer, those for the answer's model if there are any, otherwise those for the whole
provider (no ``model``); of these, the one with the latest ``valid_from``. No entry in force:
no cost (``None``) - an unpriced answer is recorded as such, never as free.

Rounding rule: cost = (input tokens x input price + output tokens x output price) / 1 000 000,
computed exactly with :class:`decimal.Decimal`, then rounded once, half-up, to 6 decimal places
of the currency (a millionth: far below any invoice's precision, so a sum of answers rounded
this way is within a cent of the same sum computed exactly, up to ten thousand answers).
Costs are recorded as strings (``"0.001234"``) with their currency, never as floats.

The answered record carries the usage, the cost and the price entry used (its valid_from,
currency and both prices), so :func:`recorded_cost` recomputes the cost from the signed record
alone, without the policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from streams.core.policy import Price, Provider
from streams.core.usage import TokenUsage
from streams.errors import DouaneError

PER = Decimal(1_000_000)
QUANTUM = Decimal("0.000001")  # costs are kept to the millionth of the currency unit


@dataclass(frozen=True)
class Cost:
    amount: Decimal
    currency: str
    price: Price

    def as_json(self) -> dict[str, Any]:
        return {"amount": format_amount(self.amount), "currency": self.currency,
                "price": price_json(self.price)}


def price_in_force(provider: Provider, model: str | None, on: date) -> Price | None:
    """The provider's price for ``model`` on the day ``on`` (see the module's rule)."""
    in_force = [p for p in provider.prices if p.valid_from <= on]
    own = [p for p in in_force if p.model is not None and p.model == model]
    chosen = own or [p for p in in_force if p.model is None]
    return max(chosen, key=lambda p: p.valid_from) if chosen else None


def cost_at(input_tokens: int, output_tokens: int, input_per_million: Decimal,
            output_per_million: Decimal) -> Decimal:
    exact = (input_tokens * input_per_million + output_tokens * output_per_million) / PER
    return exact.quantize(QUANTUM, rounding=ROUND_HALF_UP)


def cost_of(usage: TokenUsage, price: Price) -> Cost:
    return Cost(cost_at(usage.input_tokens, usage.output_tokens, price.input_per_million,
                        price.output_per_million), price.currency, price)


def answer_cost(provider: Provider, model: str | None, usage: TokenUsage,
                at: datetime) -> Cost | None:
    """The cost of an answer given at ``at`` (UTC), or None if no price is in force."""
    price = price_in_force(provider, model, at.astimezone(UTC).date())
    return None if price is None else cost_of(usage, price)


def usage_and_cost(provider: Provider, model: str | None, usage: TokenUsage | None,
                   at: datetime) -> dict[str, Any]:
    """The ``usage`` and ``cost`` details of an answered record."""
    if usage is None:
        return {"usage": None, "cost": None}
    cost = answer_cost(provider, model, usage, at)
    return {"usage": usage.as_json(), "cost": None if cost is None else cost.as_json()}


def client_usage(spending: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the producer is told of an answer's usage (its response's ``usage``): the tokens
    and whether douane estimated them; the provider's own fields stay in the audit record."""
    usage = spending.get("usage")
    if not isinstance(usage, Mapping):
        return None
    return {name: usage[name] for name in ("input_tokens", "output_tokens", "estimated")}


def format_amount(amount: Decimal) -> str:
    return f"{amount.quantize(QUANTUM, rounding=ROUND_HALF_UP):f}"


def price_json(price: Price) -> dict[str, Any]:
    out: dict[str, Any] = {"valid_from": price.valid_from.isoformat(),
                           "currency": price.currency,
                           "input_per_million": f"{price.input_per_million:f}",
                           "output_per_million": f"{price.output_per_million:f}"}
    if price.model is not None:
        out["model"] = price.model
    return out


class UnreadableCost(DouaneError, ValueError):
    """An answered record whose usage or cost fields do not have the shape douane writes."""


def recorded_cost(details: Mapping[str, Any]) -> tuple[Decimal, Decimal, str] | None:
    """(cost as recorded, cost recomputed from the recorded usage and price, currency) of an
    answered record's details; None for a record without cost (older records, no price in
    force). Raises :class:`UnreadableCost` naming the field that is wrong."""
    cost, usage = details.get("cost"), details.get("usage")
    if cost is None:
        return None
    # parsed JSON holds dicts: checked first, as an ABC check costs more (a million answers)
    if not isinstance(cost, (dict, Mapping)) or not isinstance(usage, (dict, Mapping)):
        raise UnreadableCost("cost or usage is not an object")
    price = cost.get("price")
    if not isinstance(price, (dict, Mapping)):
        raise UnreadableCost("cost.price is not an object")
    try:
        recorded = Decimal(str(cost["amount"]))
        recomputed = cost_at(_tokens(usage, "input_tokens"), _tokens(usage, "output_tokens"),
                             Decimal(str(price["input_per_million"])),
                             Decimal(str(price["output_per_million"])))
    except (KeyError, InvalidOperation) as error:
        raise UnreadableCost(f"cost field missing or not a number ({error!r})") from None
    currency = cost.get("currency")
    if not isinstance(currency, str) or currency != price.get("currency"):
        raise UnreadableCost("cost.currency differs from the price's currency")
    return recorded, recomputed, currency


def _tokens(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnreadableCost(f"usage.{key} is not a token count")
    return value


# the forms douane writes: an amount to the millionth, a price per million without sign or
# exponent (other forms are read with Decimal, by recorded_cost)
_AMOUNT = re.compile(r"[0-9]+\.[0-9]{6}")
_RATE = re.compile(r"([0-9]+)(?:\.([0-9]{1,9}))?")
# below this, every product and sum recorded_cost makes in Decimal (28 digits) is exact
_EXACT_BELOW = 10 ** 20


class AgreeingCosts:
    """The per-answer check of :func:`recorded_cost` (does the recorded amount equal the one
    recomputed from the recorded usage and price?) in integer millionths, for the report's
    million answers: :meth:`millionths` gives the recorded amount in millionths when the
    record has the form douane writes (amount ``"d.dddddd"``, prices as plain decimals, token
    counts) and the amount agrees, else None - then :func:`recorded_cost` reads the record
    and says what is wrong. The rounding is the module's: half-up to the millionth of
    (input tokens x input price + output tokens x output price) / 1 000 000, exactly."""

    def __init__(self) -> None:
        # (input price, output price) as recorded -> (input, output) scaled to one
        # denominator, the denominator; None: not a form read here
        self._rates: dict[tuple[str, str], tuple[int, int, int] | None] = {}

    def _scaled(self, input_rate: str, output_rate: str) -> tuple[int, int, int] | None:
        found = self._rates.get((input_rate, output_rate), False)
        if found is not False:
            return found  # type: ignore[return-value]
        parts = [_RATE.fullmatch(input_rate), _RATE.fullmatch(output_rate)]
        scaled: tuple[int, int, int] | None = None
        if parts[0] is not None and parts[1] is not None:
            places = max(len(part.group(2) or "") for part in parts if part is not None)
            numerators = [int(part.group(1) + (part.group(2) or "").ljust(places, "0"))
                          for part in parts if part is not None]
            scaled = (numerators[0], numerators[1], 10 ** places)
        self._rates[(input_rate, output_rate)] = scaled
        return scaled

    def millionths(self, input_tokens: object, output_tokens: object,
                   cost: object) -> tuple[int, str] | None:
        """(the recorded amount in millionths, its currency) when it agrees with the recorded
        usage (its ``input_tokens`` and ``output_tokens``, the usage being an object) and
        price (``cost``, an answered record's) and every field has douane's form; None
        otherwise."""
        if type(cost) is not dict:
            return None
        price, amount, currency = cost.get("price"), cost.get("amount"), cost.get("currency")
        if type(price) is not dict or type(amount) is not str or type(currency) is not str \
                or currency != price.get("currency"):
            return None
        input_rate, output_rate = price.get("input_per_million"), price.get("output_per_million")
        if type(input_tokens) is not int or type(output_tokens) is not int \
                or input_tokens < 0 or output_tokens < 0 \
                or type(input_rate) is not str or type(output_rate) is not str \
                or _AMOUNT.fullmatch(amount) is None:
            return None
        scaled = self._scaled(input_rate, output_rate)
        if scaled is None:
            return None
        input_scaled, output_scaled, denominator = scaled
        # the exact cost in millionths is exact / denominator; half-up to a whole millionth
        exact = input_tokens * input_scaled + output_tokens * output_scaled
        if exact >= _EXACT_BELOW:
            return None
        recomputed = (2 * exact + denominator) // (2 * denominator)
        recorded = int(amount[:-7] + amount[-6:])
        return (recorded, currency) if recorded == recomputed else None
