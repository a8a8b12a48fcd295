"""What ``douane audit query`` filters, counts and groups by: the fields of an audit record.

Pure: no I/O. A *field* is a name a DPO types (``provider``, ``entity-type``, ``day``...) and the
values a record has for it, read from the signed payload. Some fields have several values per
record (a record can give several reasons and find several entity types); filtering on them
keeps a record when any of its values is wanted, counting by them counts the record once per
value. Values are codes, names and ids chosen by douane or its policy, never personal data.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from streams.core.durations import parse_duration


def _details(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    details = payload.get("details")
    return details if isinstance(details, Mapping) else {}


def _one(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) and value else ()


def _reasons(payload: Mapping[str, Any]) -> tuple[str, ...]:
    reasons = _details(payload).get("reasons")
    if not isinstance(reasons, list):
        return ()
    return tuple(dict.fromkeys(r["code"] for r in reasons
                               if isinstance(r, Mapping) and isinstance(r.get("code"), str)))


def _entities(payload: Mapping[str, Any]) -> tuple[str, ...]:
    entities = _details(payload).get("entities")
    if not isinstance(entities, Mapping):
        return ()
    return tuple(sorted(name for name, count in entities.items() if count))


def _jurisdiction(payload: Mapping[str, Any]) -> tuple[str, ...]:
    # 'forwarded' records name the jurisdiction of the provider reached; decisions, the chosen one
    details = _details(payload)
    return _one(details.get("jurisdiction")) or _one(details.get("provider_jurisdiction"))


def _policy(payload: Mapping[str, Any]) -> tuple[str, ...]:
    policy = _details(payload).get("policy")
    return _one(policy.get("sha256")) if isinstance(policy, Mapping) else ()


FIELDS: dict[str, Callable[[Mapping[str, Any]], tuple[str, ...]]] = {
    "tenant": lambda p: _one(p.get("tenant")),
    "kind": lambda p: _one(p.get("kind")),
    "decision": lambda p: _one(_details(p).get("decision")),
    "provider": lambda p: _one(_details(p).get("provider")),
    "jurisdiction": _jurisdiction,
    "classification": lambda p: _one(_details(p).get("classification")),
    "purpose": lambda p: _one(_details(p).get("purpose")),
    "reason": _reasons,
    "entity-type": _entities,
    "policy": _policy,
    # the trace the request travelled in (docs/audit.md, "Trace ids")
    "trace": lambda p: _one(_details(p).get("trace_id")),
    "day": lambda p: _one(str(p.get("occurred_at", ""))[:10]),
    "month": lambda p: _one(str(p.get("occurred_at", ""))[:7]),
}
# fields whose values are codes a person may type in any case: PERSON, person, Person
CASE_INSENSITIVE = frozenset({"decision", "jurisdiction", "classification", "reason",
                              "entity-type", "trace"})
MANY_VALUED = frozenset({"reason", "entity-type"})


def values(payload: Mapping[str, Any], field: str) -> tuple[str, ...]:
    """The record's values for ``field`` (none when it does not apply to the record)."""
    return FIELDS[field](payload)


def fold(field: str, value: str) -> str:
    """The form values are compared in."""
    return value.casefold() if field in CASE_INSENSITIVE else value


def matches(payload: Mapping[str, Any], field: str, wanted: Iterable[str]) -> bool:
    """Any of the record's values for ``field`` is one of ``wanted`` (already folded)."""
    wanted = set(wanted)
    if field == "policy":  # a hash prefix is enough
        return any(v.startswith(w) for v in values(payload, field) for w in wanted)
    return any(fold(field, v) in wanted for v in values(payload, field))


def suggestions(value: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known values closest to a mistyped one (case ignored), best first."""
    by_folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(value.casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[c] for c in close]


def count_by(payloads: Iterable[Mapping[str, Any]], fields: Sequence[str]
             ) -> Counter[tuple[str | None, ...]]:
    """How many records per combination of the fields' values (None: the field does not
    apply); a record with several values for a field counts once for each."""
    counts: Counter[tuple[str | None, ...]] = Counter()
    for payload in payloads:
        groups: list[tuple[str | None, ...]] = [()]
        for field in fields:
            found: tuple[str | None, ...] = values(payload, field) or (None,)
            groups = [(*g, v) for g in groups for v in found]
        counts.update(groups)
    return counts


RELATIVE_HELP = ("today or yesterday (from midnight UTC), or a time back from now: a number "
                 "and a unit, s, m (minutes), h, d, w, e.g. 24h, 7d, 2w")


def relative_moment(text: str, now: datetime) -> datetime | None:
    """``today``, ``yesterday``, ``now`` or ``7d`` / ``24h`` / ``30m`` before ``now``; None if
    ``text`` is none of those (it may then be a date)."""
    word = text.strip().casefold()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - timedelta(days=1)
    if word == "now":
        return now
    try:
        return now - timedelta(seconds=parse_duration(word))
    except ValueError:
        return None
