"""What the audit log's search index and overview counts hold for each record. Pure: no I/O.

The signed records are the evidence; the index is derived from them (by the append path, in
the same transaction) only to find records fast. For each record it keeps:

- an **entry**: the record's single-valued search fields (in the form filters compare them,
  see ``streams.core.audit_query.fold``) and its many-valued ones (entity types, reasons);
- **counts**: one per (UTC day, tenant, kind, field, value), the number of records of that day,
  tenant and kind with that value (field ``""``: the records themselves). The overview and
  the totals of a search add these up instead of reading the records.

``contribution`` says what one record adds to the overview; ``tally`` adds contributions up
(the scan), ``overview_from_counts`` reads the same figures from counts (the fast path). Both
follow the rules in ``streams.services.audit_search``'s docstring, and a test keeps them equal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from streams.core.audit_query import fold, values

STATUSES = ("answered", "blocked", "rejected", "failed")  # the outcome kinds, one per request
DECISION_KINDS = frozenset({"admitted", "blocked"})  # records whose details list entity types
NO_ANSWER = frozenset({"blocked", "rejected", "failed"})  # whose reasons say why not answered
SINGLE_FIELDS = ("decision", "provider", "jurisdiction", "classification", "purpose", "policy")
MANY_FIELDS = ("entity-type", "reason")
COUNTED_FIELDS = SINGLE_FIELDS + MANY_FIELDS
RECORDS = ""  # the field of the count of records themselves
_FIRST = "T00:00:00.000000Z"  # the earliest and latest time of a day, as records write it
_LAST = "T23:59:59.999999Z"
NO_TENANT = ""  # the tenant of counts of records that name none


def field_values(payload: Mapping[str, Any], field: str) -> tuple[str, ...]:
    """The record's values for ``field``, once each as filters compare them (the first
    spelling kept): a record counts once per value, even if it spelled one two ways."""
    seen: dict[str, str] = {}
    for value in values(payload, field):
        seen.setdefault(fold(field, value), value)
    return tuple(seen.values())


CountKey = tuple[str, str, str, str, str]  # (day, tenant or NO_TENANT, kind, field, value)


@dataclass(frozen=True)
class IndexEntry:
    """A record's row in the search index (values folded as filters compare them) and the
    daily counts it adds 1 to (values as the record spells them)."""

    seq: int
    occurred_at: str
    tenant: str | None
    kind: str
    request_id: str | None
    single: tuple[str | None, ...]  # folded value of each of SINGLE_FIELDS
    many: tuple[tuple[str, str], ...]  # (field, folded value) of MANY_FIELDS
    counts: tuple[CountKey, ...]


def index_entry(seq: int, payload: Mapping[str, Any]) -> IndexEntry:
    found = {field: field_values(payload, field) for field in COUNTED_FIELDS}
    tenant, request_id = payload.get("tenant"), payload.get("request_id")
    tenant = tenant if isinstance(tenant, str) else None
    occurred_at, kind = str(payload["occurred_at"]), str(payload["kind"])
    day, counted_tenant = occurred_at[:10], tenant or NO_TENANT
    counts = [(day, counted_tenant, kind, RECORDS, "")]
    counts += [(day, counted_tenant, kind, field, value)
               for field in COUNTED_FIELDS for value in found[field]]
    return IndexEntry(
        seq=seq, occurred_at=occurred_at, tenant=tenant, kind=kind,
        request_id=request_id if isinstance(request_id, str) else None,
        single=tuple(fold(field, found[field][0]) if found[field] else None
                     for field in SINGLE_FIELDS),
        many=tuple((field, fold(field, value)) for field in MANY_FIELDS
                   for value in found[field]),
        counts=tuple(counts))


def count_keys(payload: Mapping[str, Any]) -> list[CountKey]:
    """The counts one record adds 1 to (values as the record spells them)."""
    return list(index_entry(0, payload).counts)


@dataclass(frozen=True)
class Overview:
    by_day_and_status: dict[tuple[str, str], int]  # (YYYY-MM-DD, answered|blocked|...)
    by_entity_type: dict[str, int]
    by_provider: dict[str, int]
    by_jurisdiction: dict[str, int]
    by_reason: dict[str, int]
    by_tenant: dict[str, int]
    total_requests: int


@dataclass(frozen=True)
class Contribution:
    """What one record adds to the overview."""

    day: str
    tenant: str | None
    status: str | None
    entity_types: tuple[str, ...]
    provider: str | None  # only for ``forwarded``
    jurisdiction: str | None  # only for ``forwarded``
    reasons: tuple[str, ...]


def status(kind: str) -> str | None:
    """The status a record of ``kind`` gives its request; None: not an outcome."""
    return kind if kind in STATUSES else None


def _first(payload: Mapping[str, Any], field: str) -> str | None:
    found = values(payload, field)
    return found[0] if found else None


def contribution(payload: Mapping[str, Any]) -> Contribution:
    """What the record with ``payload`` counts for in the overview."""
    kind = str(payload.get("kind"))
    forwarded = kind == "forwarded"
    tenant = payload.get("tenant")
    return Contribution(
        day=str(payload.get("occurred_at", ""))[:10],
        tenant=tenant if isinstance(tenant, str) and tenant else None,
        status=status(kind),
        entity_types=field_values(payload, "entity-type") if kind in DECISION_KINDS else (),
        provider=_first(payload, "provider") if forwarded else None,
        jurisdiction=_first(payload, "jurisdiction") if forwarded else None,
        reasons=field_values(payload, "reason") if kind in NO_ANSWER else ())


class OverviewCounter:
    """Overview figures being added up, from contributions or from stored counts."""

    def __init__(self) -> None:
        self.by_status: Counter[tuple[str, str]] = Counter()
        self.entities: Counter[str] = Counter()
        self.providers: Counter[str] = Counter()
        self.jurisdictions: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.tenants: Counter[str] = Counter()

    def add(self, item: Contribution) -> None:
        if item.status is not None:
            self.by_status[(item.day, item.status)] += 1
            if item.tenant is not None:
                self.tenants[item.tenant] += 1
        self.entities.update(item.entity_types)
        if item.provider is not None:
            self.providers[item.provider] += 1
        if item.jurisdiction is not None:
            self.jurisdictions[item.jurisdiction] += 1
        self.reasons.update(item.reasons)

    def add_count(self, day: str, tenant: str, kind: str, field: str, value: str,
                  n: int) -> None:
        """Add a stored count (see ``count_keys``) as its records would have contributed."""
        if field == RECORDS and kind in STATUSES:
            self.by_status[(day, kind)] += n
            if tenant != NO_TENANT:
                self.tenants[tenant] += n
        elif field == "entity-type" and kind in DECISION_KINDS:
            self.entities[value] += n
        elif field == "provider" and kind == "forwarded":
            self.providers[value] += n
        elif field == "jurisdiction" and kind == "forwarded":
            self.jurisdictions[value] += n
        elif field == "reason" and kind in NO_ANSWER:
            self.reasons[value] += n

    def overview(self) -> Overview:
        def plain(counter: Counter[str]) -> dict[str, int]:
            return {k: n for k, n in sorted(counter.items()) if n}

        by_status = {k: n for k, n in sorted(self.by_status.items()) if n}
        return Overview(by_day_and_status=by_status, by_entity_type=plain(self.entities),
                        by_provider=plain(self.providers),
                        by_jurisdiction=plain(self.jurisdictions),
                        by_reason=plain(self.reasons), by_tenant=plain(self.tenants),
                        total_requests=sum(by_status.values()))


def tally(contributions: Iterable[Contribution]) -> Overview:
    """The overview of records, from what each contributes (the scan)."""
    counter = OverviewCounter()
    for item in contributions:
        counter.add(item)
    return counter.overview()


def overview_from_counts(rows: Iterable[tuple[str, str, str, str, str, int]]) -> Overview:
    """The overview from stored counts (day, tenant, kind, field, value, n)."""
    counter = OverviewCounter()
    for row in rows:
        counter.add_count(*row)
    return counter.overview()


@dataclass(frozen=True)
class DayPlan:
    """A time range cut into whole UTC days (read from the counts) and the parts of days at
    its ends (read from the index): ``edges`` are (since, until) ranges."""

    first_day: str | None  # the first whole day, None: from the log's start
    end_day: str | None  # the day after the last whole day, None: to the log's end
    edges: tuple[tuple[str | None, str | None], ...]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def day_plan(since: str | None, until: str | None) -> DayPlan | None:
    """The whole days in [since, until) and the rest; None if a bound is not a time."""
    first: date | None = None
    end: date | None = None
    if since is not None:
        first = _day(since)
        if first is None:
            return None
        if first.isoformat() + _FIRST < since:
            first += timedelta(days=1)
    if until is not None:
        last = _day(until)
        if last is None:
            return None
        if not last.isoformat() + _LAST < until:
            last -= timedelta(days=1)
        end = last + timedelta(days=1)
    if first is not None and end is not None and end <= first:  # no whole day: all edge
        return DayPlan(first.isoformat(), first.isoformat(), ((since, until),))
    edges: list[tuple[str | None, str | None]] = []
    if since is not None and first is not None and since[:10] < first.isoformat():
        edges.append((since, first.isoformat() + _FIRST))
    if until is not None and end is not None and until > end.isoformat() + _FIRST:
        edges.append((end.isoformat() + _FIRST, until))
    return DayPlan(first.isoformat() if first else None, end.isoformat() if end else None,
                   tuple(edges))
