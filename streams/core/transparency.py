"""The transparency and dependence report (``douane report``): what each provider cost, where
the data went, and how dependent a period's traffic is on any one provider.

Pure: no I/O. :func:`compute_report` reads audit record payloads (as signed), in log order,
once; of each it reads only ``kind``, ``tenant``, ``request_id``, ``record_id`` and the fields
of ``details`` that :data:`DETAIL_FIELDS` names for its kind (:func:`report_record`), so that
a reader can give it just those, by place (:func:`compute_report_from_records`: read with
SQL from the stored signed bytes; the record id only of the kinds in :data:`NAMED_KINDS`), or
the plain values the append path derived from them (:func:`compute_report_from_facts`, see
``streams.core.report_facts``: the audit log's fast path). It sums per tenant and overall:

- **requests**: decided (``admitted`` + ``blocked``), ``rejected`` at intake, ``failed``
  (admitted, no answer), ``answered``;
- **usage**: per provider, model, jurisdiction and hosting: answers, input and output tokens
  (``estimated``: answers whose tokens douane counted), and cost per currency as recorded in
  the signed ``answered`` record (``unpriced``: answers without a cost). The jurisdiction is
  the one the ``forwarded`` record names for that request and provider (the policy's when the
  period does not hold it); the hosting is the policy's declaration (``unknown`` without it);
- **where data went**: ``forwarded`` records per provider and jurisdiction;
- **personal requests**: requests classified ``personal``, ``sensitive`` or ``secret``, or in
  which personal data was found (any entity): how many were sent nowhere, only to providers of
  the home jurisdiction (the policy set's ``jurisdiction``), or to at least one provider
  elsewhere; ``stayed_home`` = (not sent + sent home only) / personal requests;
- **dependence**: each provider's share of the answers (traffic) and of the spend (per
  currency), and the Herfindahl-Hirschman index of each: the sum of the squared shares in
  percent, on the scale 0 to 10 000 (10 000: one provider has everything; n providers with
  equal shares: 10 000 / n). Thresholds of the 2023 US Merger Guidelines, for reading:
  above 1 800 highly concentrated, 1 000 to 1 800 moderately;
- **exit readiness**: for each provider, the admitted requests the policy routed to it, each
  replayed from its decision metadata under the policy in force with that provider unavailable
  (:func:`streams.core.replay.replay`); ``share`` = those the policy would still forward
  elsewhere / those routed to it, with where they would go (``alternatives``).

Shares are exact fractions rounded once (:data:`SHARE_DIGITS`); amounts are
:class:`decimal.Decimal` kept to the millionth, as recorded (``streams.core.pricing``).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any, Final

from streams.core.loaded_policy import LoadedPolicy
from streams.core.pricing import AgreeingCosts, UnreadableCost, format_amount, recorded_cost
from streams.core.replay import replay
from streams.core.report_facts import PERSONAL_CLASSIFICATIONS, UNKNOWN, replay_details, scored

REPORT_FORMAT = "douane.transparency-report/v1"
SHARE_DIGITS = 4  # shares as fractions of 1, e.g. 0.3333
HHI_SCALE = ("Herfindahl-Hirschman index: sum of the squared shares in percent, 0 to 10000 "
             "(10000: a single provider; n equal providers: 10000/n); 2023 US Merger "
             "Guidelines: above 1800 highly concentrated, 1000 to 1800 moderately")
OVERALL = "overall"

UsageKey = tuple[str, str, str, str]  # provider, model, jurisdiction, hosting

# What the report reads of a record's details, by kind (any other kind: nothing). A decision's
# fields are those its counts and its exit-readiness replay (streams.core.replay) rest on.
DECISION_FIELDS = ("provider", "classification", "entities", "purpose",
                   "requested_classification", "requested_model", "prompt_chars", "detection",
                   "language", "findings")
DETAIL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "admitted": DECISION_FIELDS, "blocked": DECISION_FIELDS,
    "forwarded": ("provider", "jurisdiction"),
    "answered": ("provider", "model", "usage", "cost"),
}
# A field that counts even when absent: a replay takes the classification when the request
# named none (``requested_classification`` missing), not when it named null.
PRESENCE_MATTERS = "requested_classification"
TOP_FIELDS = ("kind", "tenant", "request_id", "record_id")
# the kinds whose record id the report may name (an answer whose cost disagrees); of the others
# a reader may give None
NAMED_KINDS = frozenset({"answered"})
# the value of PRESENCE_MATTERS in a record that lacks it (any other missing field: None)
MISSING: Final = object()
# (kind, tenant, request_id, record_id, the values of its kind's DETAIL_FIELDS in that order),
# as the payload holds them (any JSON value; a missing one None, or MISSING): values by
# place, not in a dict, as a million records are read
ReportRecord = tuple[object, object, object, object, Sequence[object]]


def report_record(payload: Mapping[str, Any]) -> ReportRecord:
    """What the report reads of a signed payload."""
    kind, details = payload.get("kind"), payload.get("details")
    fields = DETAIL_FIELDS.get(kind, ()) if isinstance(kind, str) else ()
    given: Mapping[str, Any] = details if isinstance(details, dict) else {}
    values = tuple(given.get(name, MISSING) if name == PRESENCE_MATTERS else given.get(name)
                   for name in fields)
    return (kind, payload.get("tenant"), payload.get("request_id"), payload.get("record_id"),
            values)


def decision_details(values: Sequence[object]) -> dict[str, Any]:
    """A decision's values (DECISION_FIELDS) as the details a replay reads."""
    return {name: value for name, value in zip(DECISION_FIELDS, values, strict=True)
            if value is not MISSING}


@dataclass
class UsageRow:
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: int = 0
    unpriced: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency -> amount as recorded
    # currency -> amounts in millionths that agree with their usage (AgreeingCosts), added
    # to ``cost`` at the end of the pass: integers add up faster than Decimals
    millionths: dict[str, int] = field(default_factory=dict)


@dataclass
class ExitRow:
    routed: int = 0         # admitted requests the policy routed to this provider
    still_allowed: int = 0  # ... that the policy in force would forward elsewhere without it
    alternatives: Counter[str] = field(default_factory=Counter)  # where they would go


@dataclass
class Scope:
    """The sums of one tenant, or of all of them."""

    decided: int = 0
    admitted: int = 0
    blocked: int = 0
    rejected: int = 0
    failed: int = 0
    usage: dict[UsageKey, UsageRow] = field(default_factory=dict)
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (provider, jurisdiction)
    # personal requests by the jurisdictions they were sent to ("" : sent nowhere)
    personal: Counter[frozenset[str]] = field(default_factory=Counter)
    exits: dict[str, ExitRow] = field(default_factory=dict)


@dataclass
class Tally:
    """What one pass over the records gathers; :func:`figures` turns it into the report."""

    home: str | None
    policy_known: bool
    scopes: dict[str, Scope] = field(default_factory=lambda: {OVERALL: Scope()})
    records: int = 0
    replayed: int = 0  # decisions actually replayed (the others shared a replay's outcome)
    # personal requests of the period: request id -> (tenant, jurisdictions reached)
    personal_requests: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    # jurisdiction named by each forwarded record not yet answered: (request id, provider)
    forwarded_to: dict[tuple[str, str], str] = field(default_factory=dict)
    disagreeing: list[tuple[str, str]] = field(default_factory=list)  # (record id, why)

    def scopes_of(self, tenant: str | None) -> tuple[Scope, ...]:
        overall = self.scopes[OVERALL]
        if tenant is None:
            return (overall,)
        own = self.scopes.get(tenant)
        if own is None:
            own = self.scopes[tenant] = Scope()
        return (overall, own)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _hashable(value: object) -> object:
    """A decision's value as part of a replay's key. douane records strings here; a record
    written by something else may hold a JSON object or list, which becomes a text of its
    own kind (never equal to a string's) instead of stopping the report."""
    if isinstance(value, (dict, list)):
        return ("json", json.dumps(value, sort_keys=True, default=str))
    return value


def _count(value: object) -> int:
    """A recorded token count as the report adds it up: anything but a positive count, 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class _Replays:
    """Replays under the policy in force, memoised on what their outcome can depend on, so
    that the requests of a period that differ only in what cannot change it are replayed once:
    - the prompt size only through the policy's ``max_prompt_chars`` limits: the key holds
      which of them it exceeds, not the size;
    - the findings through :func:`streams.core.redaction.select_findings` and the ``block``
      operator (a replay assumes keys available, so no other operator can stop a request):
      when no two of one message overlap, every finding at or above its minimum score is kept
      whatever its place, so the key holds the findings of the types some rule blocks, and
      which of the policy's ``min_score`` values each score reaches; when some overlap, every
      finding with its place and exact score (the higher score wins the place).
    """

    def __init__(self, loaded: LoadedPolicy) -> None:
        self.loaded = loaded
        self.limits = sorted({rule.limits.max_prompt_chars for rule in loaded.policy.rules
                              if rule.limits is not None
                              and rule.limits.max_prompt_chars is not None})
        self.min_scores = sorted({entity.min_score for rule in loaded.policy.rules
                                  for entity in rule.redaction.values()})
        self.blockable = frozenset(kind for rule in loaded.policy.rules
                                   for kind, entity in rule.redaction.items()
                                   if entity.operator == "block")
        self.known: dict[tuple[Any, ...], str | None] = {}
        self.replayed = 0

    def _reached(self, score: object) -> object:
        """How many of the (sorted) ``min_score`` values the score reaches: which ones, since
        a score reaching one reaches every lower one; anything else as it is, apart."""
        if isinstance(score, int | float) and not isinstance(score, bool) \
                and score == score:  # NaN reaches none, but bisect would place it last
            return bisect_right(self.min_scores, score)
        return (score,)

    def _findings(self, listed: object) -> tuple[bool, tuple[Any, ...]]:
        """(whether two findings of one message overlap, the findings' part of the key)."""
        if not listed or not isinstance(listed, list):  # most requests: nothing found
            return False, ()
        if len(listed) == 1:  # the next most: one finding, overlapping none
            only = listed[0]
            if isinstance(only, (dict, Mapping)):
                kind = only.get("type")
                return False, (((kind, self._reached(only.get("score"))),)
                               if kind in self.blockable else ())
            return False, ()
        # parsed JSON: a dict is checked first (an ABC check costs more, per finding)
        found = [f for f in listed if isinstance(f, (dict, Mapping))]
        if not found:
            return False, ()
        overlapping = False
        if len(found) > 1:  # (a loop, not any(): a million decisions)
            spans = sorted((f.get("message"), f.get("start"), f.get("end")) for f in found)
            for a, b in pairwise(spans):
                if a[0] == b[0] and isinstance(a[2], int) and isinstance(b[1], int) \
                        and b[1] < a[2]:
                    overlapping = True
                    break
        kept: list[tuple[Any, ...]]
        if overlapping:
            kept = [(f.get("message"), f.get("type"), f.get("start"), f.get("end"),
                     f.get("score")) for f in found]
        else:
            kept = [(f.get("type"), self._reached(f.get("score"))) for f in found
                    if f.get("type") in self.blockable]
        if len(kept) > 1:
            kept.sort(key=repr)
        return overlapping, tuple(kept)

    def key(self, values: Sequence[object], tenant: str, gone: str) -> tuple[Any, ...]:
        """The key of a decision's values (DECISION_FIELDS)."""
        (_, classification, _, purpose, requested, model, chars, detection, language,
         findings) = values
        # how many of the (sorted) limits it exceeds: which ones, as for scores
        size = bisect_left(self.limits, chars) if isinstance(chars, int) else (chars,)
        overlapping, kept = self._findings(findings or [])
        return (tenant, gone, _hashable(purpose),
                _hashable(classification if requested is MISSING else requested),
                _hashable(model), size, _hashable(detection), _hashable(language), overlapping,
                kept)

    def planned_elsewhere(self, row: FactRow, tenant: str, gone: str) -> str | None:
        """:meth:`elsewhere` of a decision's stored facts (:data:`FactRow`): the same
        outcome, keyed on the stored replay profile instead of its five values."""
        chars, scores = row[5], row[8]
        size = bisect_left(self.limits, chars) if chars is not None else (None,)
        kept: tuple[Any, ...] = ()
        if scores:
            blockable, reached = self.blockable, self.min_scores
            found = [(kind, bisect_right(reached, score)) for kind, score in scored(scores)
                     if kind in blockable]
            if len(found) > 1:
                found.sort(key=repr)
            kept = tuple(found)
        key = (tenant, gone, row[4], size, kept)
        known = self.known.get(key, MISSING)
        if known is MISSING:
            self.replayed += 1
            verdict = replay(self.loaded, replay_details(row[4], chars, row[10]), tenant,
                             unavailable=(gone,))
            known = self.known[key] = verdict.provider.id if verdict.outcome == "forward" \
                and verdict.provider is not None else None
        return known  # type: ignore[return-value]

    def elsewhere(self, values: Sequence[object], tenant: str, gone: str) -> str | None:
        """The provider the request would go to without ``gone``; None: it would be blocked."""
        key = self.key(values, tenant, gone)
        known = self.known.get(key, MISSING)
        if known is MISSING:
            self.replayed += 1
            verdict = replay(self.loaded, decision_details(values), tenant, unavailable=(gone,))
            known = self.known[key] = verdict.provider.id if verdict.outcome == "forward" \
                and verdict.provider is not None else None
        return known  # type: ignore[return-value]


def tally_records(payloads: Iterable[Mapping[str, Any]], policy: LoadedPolicy | None,
                  progress: Callable[[int], None] | None = None,
                  every: int = 100_000) -> Tally:
    """One pass over the period's signed payloads, in log order (see
    :func:`tally_report_records`)."""
    return tally_report_records(map(report_record, payloads), policy, progress, every)


def tally_report_records(records: Iterable[ReportRecord], policy: LoadedPolicy | None,
                         progress: Callable[[int], None] | None = None,
                         every: int = 100_000) -> Tally:
    """One pass over what the report reads of the period's records (:func:`report_record`),
    in log order. ``policy``: the set in force (None: hosting unknown, no home jurisdiction,
    no exit readiness). ``progress(n)`` is called every ``every`` records."""
    return tally_report((), records, policy, progress, every)


# One record's stored report facts as a reader gives them (streams.core.report_facts), in log
# order, by place: 0 kind, 1 tenant, 2 request id, 3 provider, 4 forwarded: jurisdiction,
# answered: model, decisions: replay profile; 5 input tokens or prompt chars; 6 output tokens
# or personal; 7 cost in millionths; 8 currency or finding scores; 9 estimated; 10 findings.
# A kind of None: the record's facts are not plain, and place 5 holds its seq (read it whole).
FactRow = tuple[Any, ...]
WholeRecord = Callable[[int], "ReportRecord | None"]  # seq -> the record (None: not in period)


def tally_report(facts: Iterable[FactRow], records: Iterable[ReportRecord],
                 policy: LoadedPolicy | None, progress: Callable[[int], None] | None = None,
                 every: int = 100_000, whole: WholeRecord | None = None) -> Tally:
    """One pass over the period's records in log order: first those whose report facts are
    stored (``facts``, see :data:`FactRow`; ``whole(seq)`` gives a record whose facts are not
    plain), then the others (``records``, as :func:`tally_report_records`)."""
    tally = Tally(policy.policy.jurisdiction if policy else None, policy is not None)
    adding = _Pass(tally, policy, progress, every)
    adding.facts(facts, whole)
    for record in records:
        adding.record(record)
    return adding.finish()


class _Pass:
    """The state of one pass over a period's records."""

    def __init__(self, tally: Tally, policy: LoadedPolicy | None,
                 progress: Callable[[int], None] | None, every: int) -> None:
        self.tally, self.progress, self.every = tally, progress, every
        self.replays = _Replays(policy) if policy is not None else None
        self.costs = AgreeingCosts()
        self.declared = {p.id: p for p in policy.policy.providers} if policy is not None \
            else {}
        # each record is added to its tenant's sums only (those without a tenant to their
        # own), and overall is their total, added up at the end: one scope per record
        self.unattributed = Scope()
        self.scope_of: dict[str | None, Scope] = {None: self.unattributed}
        self.count = 0

    def _scope(self, tenant: str | None) -> Scope:
        scope = self.scope_of.get(tenant)
        if scope is None:
            scope = self.scope_of[tenant] = self.tally.scopes_of(tenant)[1]
        return scope

    def record(self, record: ReportRecord) -> None:
        """Add one record as :func:`report_record` gives it."""
        kind, given_tenant, given_request_id, record_id, values = record
        tally = self.tally
        self.count += 1
        if self.progress is not None and self.count % self.every == 0:
            self.progress(self.count)
        tenant = given_tenant if isinstance(given_tenant, str) and given_tenant else None
        scope = self._scope(tenant)
        if kind == "forwarded":
            provider, jurisdiction = values
            if not isinstance(provider, str) or not provider:
                provider = UNKNOWN
            if not isinstance(jurisdiction, str) or not jurisdiction:
                jurisdiction = UNKNOWN
            request_id = given_request_id \
                if isinstance(given_request_id, str) and given_request_id else ""
            tally.forwarded_to[(request_id, provider)] = jurisdiction
            scope.sent[(provider, jurisdiction)] += 1
            personal = tally.personal_requests.get(request_id)
            if personal is not None:
                personal[1].add(jurisdiction)
        elif kind == "answered":
            _answered(tally, scope, given_request_id, record_id, values, self.declared,
                      self.costs)
        elif kind == "admitted" or kind == "blocked":
            _decided(tally, scope, kind == "admitted", given_request_id, values, tenant,
                     self.replays)
        elif kind == "rejected":
            scope.rejected += 1
        elif kind == "failed":
            scope.failed += 1

    def facts(self, rows: Iterable[FactRow], whole: WholeRecord | None) -> None:
        """Add the records of ``rows`` (:data:`FactRow`): the same sums as :meth:`record`
        gives their records, from plain values (the hot loop of a million records: locals)."""
        tally, progress, every = self.tally, self.progress, self.every
        replays, declared, scope_of = self.replays, self.declared, self.scope_of
        forwarded_to, personal_requests = tally.forwarded_to, tally.personal_requests
        count = self.count
        for row in rows:
            kind, tenant, request_id, provider = row[0], row[1], row[2], row[3]
            if kind is None:  # not plain: the record itself, read whole
                given = whole(row[5]) if whole is not None else None
                if given is not None:
                    self.count = count
                    self.record(given)
                    count = self.count
                continue
            count += 1
            if progress is not None and count % every == 0:
                progress(count)
            scope = scope_of.get(tenant)
            if scope is None:
                scope = self._scope(tenant)
            if kind == "forwarded":
                jurisdiction = row[4]
                forwarded_to[(request_id, provider)] = jurisdiction
                scope.sent[(provider, jurisdiction)] += 1
                personal = personal_requests.get(request_id)
                if personal is not None:
                    personal[1].add(jurisdiction)
            elif kind == "answered":
                declaration = declared.get(provider)
                jurisdiction = forwarded_to.pop((request_id, provider), None) \
                    or (declaration.jurisdiction if declaration is not None else UNKNOWN)
                key = (provider, row[4], jurisdiction,
                       declaration.hosting if declaration is not None else UNKNOWN)
                usage = scope.usage.get(key)
                if usage is None:
                    usage = scope.usage[key] = UsageRow()
                usage.answers += 1
                usage.input_tokens += row[5]
                usage.output_tokens += row[6]
                usage.estimated += row[9]
                micros = row[7]
                if micros is None:
                    usage.unpriced += 1
                else:
                    currency = row[8]
                    usage.millionths[currency] = usage.millionths.get(currency, 0) + micros
            elif kind == "admitted" or kind == "blocked":
                admitted = kind == "admitted"
                scope.decided += 1
                if admitted:
                    scope.admitted += 1
                else:
                    scope.blocked += 1
                if tenant is None:
                    continue
                if request_id and row[6]:
                    personal_requests[request_id] = (tenant, set())
                if not admitted or provider is None:
                    continue
                elsewhere = replays.planned_elsewhere(row, tenant, provider) \
                    if replays is not None else None
                exits = scope.exits.get(provider)
                if exits is None:
                    exits = scope.exits[provider] = ExitRow()
                exits.routed += 1
                if elsewhere is not None:
                    exits.still_allowed += 1
                    exits.alternatives[elsewhere] += 1
            elif kind == "rejected":
                scope.rejected += 1
            elif kind == "failed":
                scope.failed += 1
        self.count = count

    def finish(self) -> Tally:
        tally = self.tally
        tally.records = self.count
        tally.replayed = self.replays.replayed if self.replays is not None else 0
        overall = tally.scopes[OVERALL]
        for own in self.scope_of.values():
            _add_up(overall, own)
        for scope in tally.scopes.values():
            for row in scope.usage.values():
                for currency, millionths in row.millionths.items():
                    row.cost[currency] = row.cost.get(currency, Decimal(0)) \
                        + Decimal(millionths).scaleb(-6)
                row.millionths.clear()
        for tenant, reached in tally.personal_requests.values():
            for each in tally.scopes_of(tenant):
                each.personal[frozenset(reached)] += 1
        return tally


def _add_up(total: Scope, part: Scope) -> None:
    """Add ``part``'s sums to ``total`` (before the personal requests are counted)."""
    total.decided += part.decided
    total.admitted += part.admitted
    total.blocked += part.blocked
    total.rejected += part.rejected
    total.failed += part.failed
    for key, row in part.usage.items():
        into = total.usage.get(key)
        if into is None:
            into = total.usage[key] = UsageRow()
        into.answers += row.answers
        into.input_tokens += row.input_tokens
        into.output_tokens += row.output_tokens
        into.estimated += row.estimated
        into.unpriced += row.unpriced
        for currency, amount in row.cost.items():
            into.cost[currency] = into.cost.get(currency, Decimal(0)) + amount
        for currency, millionths in row.millionths.items():
            into.millionths[currency] = into.millionths.get(currency, 0) + millionths
    total.sent.update(part.sent)
    for provider, exits in part.exits.items():
        into_exits = total.exits.get(provider)
        if into_exits is None:
            into_exits = total.exits[provider] = ExitRow()
        into_exits.routed += exits.routed
        into_exits.still_allowed += exits.still_allowed
        into_exits.alternatives.update(exits.alternatives)


def _decided(tally: Tally, scope: Scope, admitted: bool, given_request_id: object,
             values: Sequence[object], tenant: str | None, replays: _Replays | None) -> None:
    """An admitted or blocked record; ``values``: its DECISION_FIELDS."""
    scope.decided += 1
    if admitted:
        scope.admitted += 1
    else:
        scope.blocked += 1
    provider, classification, entities = values[0], values[1], values[2]
    if tenant is not None and isinstance(given_request_id, str) and given_request_id and (
            (isinstance(classification, str) and classification in PERSONAL_CLASSIFICATIONS)
            or (isinstance(entities, (dict, Mapping)) and any(entities.values()))):
        tally.personal_requests[given_request_id] = (tenant, set())
    if not admitted or not isinstance(provider, str) or not provider or tenant is None:
        return
    elsewhere = replays.elsewhere(values, tenant, provider) if replays is not None else None
    row = scope.exits.get(provider)
    if row is None:
        row = scope.exits[provider] = ExitRow()
    row.routed += 1
    if elsewhere is not None:
        row.still_allowed += 1
        row.alternatives[elsewhere] += 1


def _answered(tally: Tally, scope: Scope, given_request_id: object, record_id: object,
              values: Sequence[object], declared: Mapping[str, Any], costs: AgreeingCosts
              ) -> None:
    """An answered record; ``values``: its provider, model, usage and cost."""
    provider, model, usage, cost_fields = values
    if not isinstance(provider, str) or not provider:
        provider = UNKNOWN
    if not isinstance(model, str) or not model:
        model = UNKNOWN
    declaration = declared.get(provider)
    jurisdiction = tally.forwarded_to.pop((_text(given_request_id) or "", provider), None) \
        or (declaration.jurisdiction if declaration is not None else UNKNOWN)
    hosting = declaration.hosting if declaration is not None else UNKNOWN
    if isinstance(usage, dict):
        input_tokens, output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
        estimated = usage.get("estimated") is True
        # most answers: checked in integers; the others (and disagreements) with Decimal
        agreeing = costs.millionths(input_tokens, output_tokens, cost_fields)
    else:
        input_tokens = output_tokens = agreeing = None
        estimated = False
    cost = None
    if agreeing is None:
        try:
            cost = recorded_cost({"usage": usage, "cost": cost_fields})
        except UnreadableCost as error:
            tally.disagreeing.append((str(record_id), f"unreadable cost: {error}"))
        if cost is not None and cost[0] != cost[1]:
            tally.disagreeing.append((str(record_id), f"recorded cost "
                                      f"{format_amount(cost[0])} {cost[2]}, recomputed "
                                      f"{format_amount(cost[1])}"))
    key = (provider, model, jurisdiction, hosting)
    row = scope.usage.get(key)
    if row is None:
        row = scope.usage[key] = UsageRow()
    row.answers += 1
    row.input_tokens += _count(input_tokens)
    row.output_tokens += _count(output_tokens)
    row.estimated += estimated
    if agreeing is not None:
        row.millionths[agreeing[1]] = row.millionths.get(agreeing[1], 0) + agreeing[0]
    elif cost is None:
        row.unpriced += 1
    else:
        row.cost[cost[2]] = row.cost.get(cost[2], Decimal(0)) + cost[0]


# ------------------------------------------------------------------------------ figures


def share(part: int | Decimal, whole: int | Decimal) -> float | None:
    """``part / whole`` rounded to :data:`SHARE_DIGITS` (None when there is no whole)."""
    if not whole:
        return None
    return round(float(Fraction(part) / Fraction(whole)), SHARE_DIGITS)


def hhi(parts: Iterable[int | Decimal]) -> float | None:
    """The Herfindahl-Hirschman index of ``parts`` (0 to 10 000, see the module), to 0.1."""
    values = [Fraction(p) for p in parts]
    whole = sum(values)
    if not whole:
        return None
    return round(float(sum((100 * v / whole) ** 2 for v in values)), 1)


def concentration(index: float | None) -> str | None:
    if index is None:
        return None
    return "high" if index > 1800 else "moderate" if index >= 1000 else "low"


def scope_figures(scope: Scope, home: str | None, policy_known: bool) -> dict[str, Any]:
    usage = [{"provider": k[0], "model": k[1], "jurisdiction": k[2], "hosting": k[3],
              "answers": r.answers, "input_tokens": r.input_tokens,
              "output_tokens": r.output_tokens, "estimated": r.estimated, "unpriced": r.unpriced,
              "cost": {c: format_amount(a) for c, a in sorted(r.cost.items())}}
             for k, r in sorted(scope.usage.items())]
    answers: Counter[str] = Counter()
    spend: dict[str, dict[str, Decimal]] = {}  # currency -> provider -> amount
    tokens: Counter[str] = Counter()
    for (provider, *_), row in scope.usage.items():
        answers[provider] += row.answers
        tokens[provider] += row.input_tokens + row.output_tokens
        for currency, amount in row.cost.items():
            by_provider = spend.setdefault(currency, {})
            by_provider[provider] = by_provider.get(provider, Decimal(0)) + amount
    total_answers = sum(answers.values())
    totals = {c: sum(by.values(), Decimal(0)) for c, by in spend.items()}
    providers = [{"provider": p, "answers": answers[p], "tokens": tokens[p],
                  "traffic_share": share(answers[p], total_answers),
                  "spend": {c: {"amount": format_amount(spend[c][p]),
                                "share": share(spend[c][p], totals[c])}
                            for c in sorted(spend) if p in spend[c]}}
                 for p in sorted(answers)]
    traffic_hhi = hhi(answers.values())
    spend_hhi = {c: hhi(by.values()) for c, by in sorted(spend.items())}
    personal_total = sum(scope.personal.values())
    not_sent = scope.personal.get(frozenset(), 0)
    home_only = sum(n for reached, n in scope.personal.items()
                    if reached and home is not None and reached == {home})
    return {
        "requests": {"decided": scope.decided, "admitted": scope.admitted,
                     "blocked": scope.blocked, "rejected": scope.rejected,
                     "failed": scope.failed, "answered": total_answers},
        "usage": usage,
        "totals": {"answers": total_answers,
                   "input_tokens": sum(r.input_tokens for r in scope.usage.values()),
                   "output_tokens": sum(r.output_tokens for r in scope.usage.values()),
                   "cost": {c: format_amount(a) for c, a in sorted(totals.items())}},
        "sent": [{"provider": p, "jurisdiction": j, "requests": n}
                 for (p, j), n in sorted(scope.sent.items())],
        "personal": {
            "home_jurisdiction": home, "requests": personal_total, "not_sent": not_sent,
            "sent_home_only": home_only if home is not None else None,
            "sent_elsewhere": personal_total - not_sent - home_only if home is not None
            else None,
            "stayed_home_share": share(not_sent + home_only, personal_total)
            if home is not None else None,
            "by_jurisdictions": [{"jurisdictions": sorted(reached), "requests": n}
                                 for reached, n in sorted(scope.personal.items(),
                                                          key=lambda i: sorted(i[0]))],
        },
        "dependence": {
            "scale": HHI_SCALE,
            "providers": providers,
            "traffic_hhi": traffic_hhi, "traffic_concentration": concentration(traffic_hhi),
            "spend_hhi": spend_hhi,
            "spend_concentration": {c: concentration(v) for c, v in spend_hhi.items()},
        },
        "exit_readiness": [
            {"provider": p, "routed": r.routed,
             "still_allowed": r.still_allowed if policy_known else None,
             "share": share(r.still_allowed, r.routed) if policy_known else None,
             "alternatives": dict(sorted(r.alternatives.items())) if policy_known else None}
            for p, r in sorted(scope.exits.items())],
    }


def figures(tally: Tally) -> dict[str, Any]:
    """The report's figures: ``overall`` and ``tenants`` (by id), each as
    :func:`scope_figures` gives it, and the answers whose cost disagrees with its own usage
    and price."""
    return {
        "records_read": tally.records,
        "overall": scope_figures(tally.scopes[OVERALL], tally.home, tally.policy_known),
        "tenants": {t: scope_figures(s, tally.home, tally.policy_known)
                    for t, s in sorted(tally.scopes.items()) if t != OVERALL},
        "cost_disagreements": [{"record_id": r, "why": why} for r, why in tally.disagreeing],
    }


def compute_report(payloads: Iterable[Mapping[str, Any]], policy: LoadedPolicy | None,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    return figures(tally_records(payloads, policy, progress))


def compute_report_from_records(records: Iterable[ReportRecord], policy: LoadedPolicy | None,
                                progress: Callable[[int], None] | None = None
                                ) -> dict[str, Any]:
    """The same figures from what the report reads of each record (:func:`report_record`)."""
    return figures(tally_report_records(records, policy, progress))


def compute_report_from_facts(facts: Iterable[FactRow], records: Iterable[ReportRecord],
                              policy: LoadedPolicy | None,
                              progress: Callable[[int], None] | None = None,
                              whole: WholeRecord | None = None) -> dict[str, Any]:
    """The same figures from the stored report facts of the period's first records and what
    the report reads of the others (:func:`tally_report`)."""
    return figures(tally_report(facts, records, policy, progress, whole=whole))
