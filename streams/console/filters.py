"""The search filters of the console's pages, read from a query string into an ``AuditQuery``.

Filters hold codes, names and ids chosen by douane or its policy, never personal data, so they
may sit in URLs (a page's link to its search is a plain link). Dates a reader types are days
or times in the reader's own time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlencode

from streams.adapters.audit.protocols import AuditQuery
from streams.core.audit import format_timestamp
from streams.core.audit_query import relative_moment
from streams.errors import DouaneError

# query-string name -> AuditQuery field
FIELDS = {"tenant": "tenants", "kind": "kinds", "decision": "decisions",
          "entity_type": "entity_types", "provider": "providers",
          "jurisdiction": "jurisdictions", "reason": "reason_codes",
          "policy_hash": "policy_hashes", "request_id": "request_ids"}
PERIODS = ("24h", "7d", "30d", "all")


class FilterError(DouaneError, ValueError):
    """A search filter the console cannot read (names the filter, repeats no value)."""


@dataclass(frozen=True)
class Filters:
    query: AuditQuery
    given: dict[str, str]  # what the form shows back, by query-string name

    def link(self, **changes: str | None) -> str:
        """This search's query string with ``changes`` (None removes a filter)."""
        wanted = {**self.given, **changes}
        return urlencode({k: v for k, v in wanted.items() if v})


def moment(text: str, name: str, where: tzinfo, now: datetime) -> str:
    """A day or time typed in the reader's zone (or 7d, 24h, today) as the records' UTC form."""
    relative = relative_moment(text, now)
    if relative is not None:
        return format_timestamp(relative)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"filter {name}: not a date or time (write e.g. 2026-11-25 or "
                          "2026-11-25T14:30, or 7d, 24h, today)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=where)
    return format_timestamp(parsed)


def read_filters(params: Mapping[str, str], where: tzinfo,
                 now: datetime | None = None) -> Filters:
    now = now or datetime.now(UTC)
    given = {k: params[k].strip() for k in (*FIELDS, "since", "until", "period")
             if params.get(k, "").strip()}
    for name, value in given.items():
        if len(value) > 256 or any(ord(c) < 32 for c in value):
            raise FilterError(f"filter {name}: too long or holds control characters")
    period = given.get("period")
    if period is not None and period not in PERIODS:
        raise FilterError(f"filter period: one of {', '.join(PERIODS)}")
    since = given.get("since")
    since_moment = (moment(since, "since", where, now) if since else
                    moment(period, "period", where, now) if period and period != "all" else None)
    until = given.get("until")

    def one(name: str) -> tuple[str, ...]:
        return (given[name],) if name in given else ()

    return Filters(AuditQuery(
        since=since_moment, until=moment(until, "until", where, now) if until else None,
        tenants=one("tenant"), kinds=one("kind"), decisions=one("decision"),
        entity_types=one("entity_type"), providers=one("provider"),
        jurisdictions=one("jurisdiction"), reason_codes=one("reason"),
        policy_hashes=one("policy_hash"), request_ids=one("request_id")), given)
