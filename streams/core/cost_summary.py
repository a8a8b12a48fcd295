"""What ``douane audit costs`` sums: tokens and cost of ``answered`` records, per group of audit
fields (tenant, provider, month...) and per currency, with every record's cost recomputed from
the usage and price it records (``streams.core.pricing.recorded_cost``).

Pure: no I/O. Amounts in different currencies are never added: the currency is part of each
group. A record whose recorded cost differs from its recomputation, or whose cost fields
cannot be read, is counted in its group and named in :attr:`CostSummary.disagreeing`: the
bill it belongs to cannot be trusted as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from streams.core.audit_query import values
from streams.core.pricing import UnreadableCost, format_amount, recorded_cost

GroupKey = tuple[str | None, ...]


@dataclass
class CostGroup:
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: int = 0       # answers whose usage douane counted (the provider reported none)
    unpriced: int = 0        # answers without a cost (no price in force, or older records)
    cost: Decimal = Decimal(0)        # as recorded
    recomputed: Decimal = Decimal(0)  # from each record's usage and price

    def as_json(self) -> dict[str, Any]:
        return {"answers": self.answers, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "estimated": self.estimated,
                "unpriced": self.unpriced, "cost": format_amount(self.cost),
                "recomputed": format_amount(self.recomputed)}


@dataclass
class CostSummary:
    fields: tuple[str, ...]
    groups: dict[GroupKey, CostGroup] = field(default_factory=dict)  # key: fields + currency
    disagreeing: list[tuple[str, str]] = field(default_factory=list)  # (record id, why)

    def rows(self) -> list[tuple[GroupKey, CostGroup]]:
        return sorted(self.groups.items(), key=lambda item: tuple(v or "" for v in item[0]))


def _count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def summarise_costs(records: Iterable[tuple[str, Mapping[str, Any]]],
                    fields: Sequence[str]) -> CostSummary:
    """``records``: (record id, payload) of ``answered`` records (others are skipped)."""
    summary = CostSummary(tuple(fields))
    for record_id, payload in records:
        if payload.get("kind") != "answered":
            continue
        details = payload.get("details")
        details = details if isinstance(details, Mapping) else {}
        try:
            cost = recorded_cost(details)
        except UnreadableCost as error:
            summary.disagreeing.append((record_id, f"unreadable cost: {error}"))
            cost = None
        currency = cost[2] if cost is not None else None
        key = (*(next(iter(values(payload, f)), None) for f in fields), currency)
        group = summary.groups.setdefault(key, CostGroup())
        group.answers += 1
        usage = details.get("usage")
        if isinstance(usage, Mapping):
            group.input_tokens += _count(usage, "input_tokens")
            group.output_tokens += _count(usage, "output_tokens")
            group.estimated += usage.get("estimated") is True
        if cost is None:
            group.unpriced += 1
            continue
        recorded, recomputed, _ = cost
        group.cost += recorded
        group.recomputed += recomputed
        if recorded != recomputed:
            summary.disagreeing.append((record_id, f"recorded cost {format_amount(recorded)} "
                                        f"{currency}, recomputed {format_amount(recomputed)}"))
    return summary
