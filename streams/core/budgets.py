"""Budgets: what a tenant's answers (or those for one of its purposes) may cost per calendar
month, and what the decision does once they have cost that much.

The month is the calendar month in UTC: an answer counts in the month of its ``answered``
record's ``occurred_at``, a request is judged against the month of its decision. The spend of a
month is the sum of the costs the signed ``answered`` records of that tenant (and purpose) in
that month carry, in the budget's currency (``streams.core.pricing``); the audit store keeps it
summed in a ledger (``streams.adapters.audit.spend_ledger``) that :func:`ledger_of` recomputes
from the records alone.

A budget's status, for the spend when a request is decided:
- ``within``: below ``warn_at_percent`` of ``monthly``;
- ``warn``: at or above it, below ``monthly`` (the worker records it once per budget and month);
- ``exhausted``: at or above ``monthly``. ``when_exhausted: block`` blocks the request
  (``budget-exhausted``); ``route`` lets it go only to allowed providers that charge nothing
  (:func:`charges`), in the rule's order, and blocks it (``budget-exhausted``) if there is none.

Pure: the pipeline reads the month's spend from the ledger and passes it in (:class:`MonthSpend`);
nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from streams.core.policy import Budget, Provider
from streams.core.pricing import QUANTUM, UnreadableCost, format_amount, price_in_force

BudgetStatus = Literal["within", "warn", "exhausted"]
NO_PURPOSE = ""  # the ledger's purpose for requests that declared none
MICROS = Decimal(1_000_000)  # the ledger keeps amounts in millionths (costs' precision)

# (tenant, purpose or NO_PURPOSE, month YYYY-MM, currency)
LedgerKey = tuple[str, str, str, str]


def month_of(moment: datetime) -> str:
    """The calendar month (UTC) of ``moment``, as ``YYYY-MM``."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def to_micros(amount: Decimal) -> int:
    return int((amount / QUANTUM).to_integral_value())


def from_micros(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS).quantize(QUANTUM)


@dataclass(frozen=True)
class MonthSpend:
    """What one tenant's answers cost so far in one month, per purpose and currency (the
    ledger's rows for that tenant and month)."""

    tenant: str
    month: str  # YYYY-MM, UTC
    day: date  # the day (UTC) of the decision: which prices are in force
    amounts: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    # (purpose or NO_PURPOSE, currency) -> amount

    @classmethod
    def at(cls, tenant: str, moment: datetime,
           amounts: Mapping[tuple[str, str], Decimal] | None = None) -> MonthSpend:
        utc = moment.astimezone(UTC)
        return cls(tenant, month_of(utc), utc.date(), dict(amounts or {}))

    def of(self, budget: Budget) -> Decimal:
        """The spend ``budget`` counts: its currency, its purpose (or every purpose)."""
        return sum((amount for (purpose, currency), amount in self.amounts.items()
                    if currency == budget.currency
                    and (budget.purpose is None or purpose == budget.purpose)), Decimal(0))


@dataclass(frozen=True)
class BudgetState:
    budget: Budget
    month: str
    spent: Decimal
    status: BudgetStatus

    @property
    def label(self) -> str:
        """How reasons and log lines name the state (ids and amounts, no personal data)."""
        b = self.budget
        scope = f"tenant '{b.tenant}'" + (f", purpose '{b.purpose}'" if b.purpose else "")
        return (f"budget '{b.id}' ({scope}): {format_amount(self.spent)} of "
                f"{format_amount(b.monthly)} {b.currency} spent in {self.month} (UTC)")

    def as_json(self) -> dict[str, Any]:
        b = self.budget
        return {"budget": b.id, "tenant": b.tenant, "purpose": b.purpose, "month": self.month,
                "status": self.status, "spent": format_amount(self.spent),
                "monthly": format_amount(b.monthly), "currency": b.currency,
                "warn_at_percent": b.warn_at_percent, "when_exhausted": b.when_exhausted}


def status_of(budget: Budget, spent: Decimal) -> BudgetStatus:
    if spent >= budget.monthly:
        return "exhausted"
    if spent * 100 >= budget.monthly * budget.warn_at_percent:
        return "warn"
    return "within"


def budget_states(budgets: Iterable[Budget], spend: MonthSpend) -> tuple[BudgetState, ...]:
    return tuple(BudgetState(b, spend.month, spent, status_of(b, spent))
                 for b in budgets for spent in (spend.of(b),))


def charges(provider: Provider, on: date) -> bool:
    """Whether an answer of ``provider`` on the day ``on`` may cost something: unless each of its
    models has a price in force that is zero for input and output. A model without a price in
    force counts as charging: its cost is unknown, not nothing."""
    for model in provider.models:
        price = price_in_force(provider, model, on)
        if price is None or price.input_per_million or price.output_per_million:
            return True
    return False


# ------------------------------------------------------------------ the ledger, from the log


def ledger_entry(payload: Mapping[str, Any], purpose_of: Mapping[str, str | None] | None = None,
                 ) -> tuple[LedgerKey, int] | None:
    """The ledger row an ``answered`` record's payload adds to, and how many millionths; None
    for another kind, or an answer without a cost. The purpose is the record's own
    (``details.purpose``); records written before it was recorded take the one of their
    request's admission, from ``purpose_of`` (request id -> purpose). An answer that names no
    tenant counts against no budget."""
    if payload.get("kind") != "answered":
        return None
    details = payload.get("details")
    if not isinstance(details, Mapping):
        raise UnreadableCost("details is not an object")
    cost = details.get("cost")
    if cost is None:
        return None
    if not isinstance(cost, Mapping):
        raise UnreadableCost("details.cost is not an object")
    try:
        amount = Decimal(str(cost["amount"]))
    except (KeyError, InvalidOperation):
        raise UnreadableCost("details.cost.amount is missing or not a number") from None
    currency, tenant, occurred_at = cost.get("currency"), payload.get("tenant"), \
        payload.get("occurred_at")
    if tenant is None:  # no tenant's budget to count it against (the log keeps it all the same)
        return None
    if not (isinstance(currency, str) and isinstance(tenant, str)
            and isinstance(occurred_at, str) and len(occurred_at) >= 7):
        raise UnreadableCost("tenant, occurred_at or details.cost.currency is missing")
    if "purpose" in details:
        purpose = details["purpose"]
    else:
        purpose = (purpose_of or {}).get(str(payload.get("request_id")))
    return (tenant, purpose or NO_PURPOSE, occurred_at[:7], currency), to_micros(amount)


def ledger_of(payloads: Iterable[Mapping[str, Any]],
              purpose_of: Mapping[str, str | None] | None = None) -> dict[LedgerKey, int]:
    """The whole ledger, recomputed from the log's record payloads (in millionths)."""
    ledger: dict[LedgerKey, int] = {}
    for payload in payloads:
        entry = ledger_entry(payload, purpose_of)
        if entry is not None:
            ledger[entry[0]] = ledger.get(entry[0], 0) + entry[1]
    return ledger
