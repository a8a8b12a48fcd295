"""Searching the audit log and summarising it: what the console's search and overview show.

**Rows.** A search returns ``RecordSummary`` rows, newest first, a page at a time: a page ends
at a seq, and the next page asks for records ``before_seq`` it (keyset pagination, so a page
never shifts when records are appended meanwhile). A row shows ids, codes and names chosen by
douane or its policy, never personal data; the whole record is ``reader.get(record_id)``.

**Status of a request.** Every request douane handles ends in exactly one of four records, and
its status is that record's kind:

- ``answered``: a provider's answer was returned;
- ``blocked``: the policy (or a failed detection) kept the request from every provider;
- ``rejected``: the message was not a valid request (intake), or the forward stage refused it;
- ``failed``: it was allowed but got no answer (providers down, delivery uncertain).

A request still in flight (``admitted``, perhaps ``forwarded``, no outcome yet) has no status
and is not counted; nor are records that belong to no request (policy changes, key rotations,
the DPO's actions). A request counts on the UTC day of its outcome record. douane writes one
outcome per request; should a log hold two, each counts.

**Overview figures**, over the requests (or records) the filters keep:

- ``by_day_and_status``: requests per (UTC day, status); ``total_requests`` their sum;
- ``by_tenant``: requests per tenant;
- ``by_entity_type``: decisions (``admitted`` and ``blocked`` records) that found each entity
  type in the prompt, once per decision whatever the number of findings;
- ``by_provider`` and ``by_jurisdiction``: ``forwarded`` records, i.e. where the data went
  (a request that failed over to a second provider went to both);
- ``by_reason``: reason codes of the requests that got no answer (``blocked``, ``rejected``,
  ``failed`` records), once per record.

The filters are those of ``douane audit query`` (``AuditQuery``) and apply to the records
counted: ``--provider X`` counts the records naming provider X.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.adapters.audit.protocols import AuditQuery, StoredRecord
from streams.core.audit_index import (
    STATUSES,
    Contribution,
    Overview,
    contribution,
    status,
    tally,
)
from streams.core.audit_query import values

__all__ = ["STATUSES", "Contribution", "Overview", "RecordSummary", "SearchPage",
           "SearchableLog", "contribution", "overview", "search", "status", "summarise",
           "tally"]

DEFAULT_PAGE = 50
MAX_PAGE = 1000


class SearchableLog(Protocol):
    """What the search reads: every store's reader and log (``SqlRecords``) provides it."""

    def query(self, filters: AuditQuery) -> Iterator[StoredRecord]: ...

    def indexed_page(self, filters: AuditQuery, before_seq: int | None,
                     limit: int) -> tuple[list[StoredRecord], int] | None: ...

    def indexed_overview(self, filters: AuditQuery) -> Overview | None: ...


@dataclass(frozen=True)
class RecordSummary:
    """What a result row shows; codes and ids only, never personal data."""

    seq: int
    record_id: str
    time: str  # occurred_at, RFC 3339 UTC
    kind: str
    tenant: str | None  # None: records of no tenant (key rotation, policy changes)
    request_id: str | None
    decision: str | None
    provider: str | None
    jurisdiction: str | None
    entity_types: tuple[str, ...]
    reason_codes: tuple[str, ...]
    policy_hash: str | None


@dataclass(frozen=True)
class SearchPage:
    rows: list[RecordSummary]  # newest first
    total: int  # records matching the filters, on every page
    next_before_seq: int | None  # pass as before_seq for the next page; None: last page


def _first(payload: Mapping[str, Any], field: str) -> str | None:
    found = values(payload, field)
    return found[0] if found else None


def summarise(seq: int, payload: Mapping[str, Any]) -> RecordSummary:
    """A record's row, from its signed payload."""
    return RecordSummary(
        seq=seq, record_id=str(payload["record_id"]), time=str(payload["occurred_at"]),
        kind=str(payload["kind"]), tenant=payload.get("tenant"),
        request_id=payload.get("request_id"), decision=_first(payload, "decision"),
        provider=_first(payload, "provider"), jurisdiction=_first(payload, "jurisdiction"),
        entity_types=values(payload, "entity-type"), reason_codes=values(payload, "reason"),
        policy_hash=_first(payload, "policy"))


def search(reader: SearchableLog, filters: AuditQuery, *, before_seq: int | None = None,
           limit: int = DEFAULT_PAGE) -> SearchPage:
    """One page of the records matching ``filters``, newest first, below ``before_seq``:
    from the search index, or by reading the records if the index does not cover the log.
    Rows are made from the records' signed bytes (the index only finds them)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit {limit}: a page holds 1 to {MAX_PAGE} records")
    indexed = reader.indexed_page(filters, before_seq, limit + 1)
    if indexed is not None:
        found, total = indexed
        page = [(record.seq, record.payload) for record in found]
    else:
        matching = [(record.seq, record.payload) for record in reader.query(filters)]
        total = len(matching)
        page = [m for m in reversed(matching) if before_seq is None or m[0] < before_seq]
        page = page[:limit + 1]
    more = len(page) > limit
    page = page[:limit]
    return SearchPage(rows=[summarise(seq, payload) for seq, payload in page],
                      total=total, next_before_seq=page[-1][0] if more else None)


def scan_overview(reader: SearchableLog, filters: AuditQuery) -> Overview:
    """The overview from the records themselves (the reference the fast path must equal)."""
    return tally(contribution(record.payload) for record in reader.query(filters))


def overview(reader: SearchableLog, filters: AuditQuery) -> Overview:
    """The overview's figures over the records matching ``filters``: from the daily counts
    (and the index) when it covers the log, else by reading the records."""
    fast = reader.indexed_overview(filters)
    return fast if fast is not None else scan_overview(reader, filters)
