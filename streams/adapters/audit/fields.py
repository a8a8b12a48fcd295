"""Reading a few fields of every record of a period with SQL, without parsing whole records.

``douane report`` reads, of a million records, only what ``streams.core.transparency``
names (``TOP_FIELDS``, and per kind ``DETAIL_FIELDS``): the database picks them out of the
stored canonical bytes (the bytes that were hashed and signed) with its own JSON functions
(SQLite ``json_extract``, PostgreSQL ``jsonb``), one small JSON array per record, and Python
reads only that array. Nothing else is trusted: not the search index, not the columns copied
from the payload except to narrow the scan (``occurred_at``, ``tenant``: a record they leave
out is not read, a record they let in is checked against its own signed fields), and the
``kind`` column only to choose which fields to pick (a record whose signed kind differs stops
the read: run ``douane audit verify``).

Records are read in seq order, in pages of :data:`PAGE` by seq (keyset), between the first
and the last seq of the period, so neither database holds a million rows at once. Of each
record only what is asked for is picked: the record id only of the kinds named, the signed
moment only when a period or tenant is given (every picked path costs, a million times).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from streams.adapters.audit.protocols import AuditStoreCorruptError

PAGE = 5000  # records per statement
MAPPED_BYTES = 1 << 31  # SQLite: how much of the file is read through a memory map (its cap)
# the decoder's own scanner (C), without the checks ``loads`` makes around it
_DECODER = json.JSONDecoder()
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
TOP = ("kind", "tenant", "request_id")  # read from every record
# read when a period or tenant is given (the signed fields checked), and of the kinds asked for
CHECKED, NAMED = ("occurred_at",), ("record_id",)
# kind, tenant, request_id, record_id (as signed), and the values of the details' fields of
# its kind, in the order asked for
FieldRecord = tuple[object, object, object, object, Sequence[object]]
Fetch = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]  # a statement's rows


def _picks(dialect: str, fields: Sequence[str]) -> str:
    """The SQL that gives ``fields`` (top-level or ``details.x``) of the record as a JSON
    array (null for a missing field)."""
    if dialect == "postgresql":
        return "jsonb_build_array(" + ", ".join(
            f"j #> '{{{field.replace('.', ',')}}}'" for field in fields) + ")"
    return "json_extract(t, " + ", ".join(f"'$.{field}'" for field in fields) + ")"


def _present(dialect: str, field: str) -> str:
    if dialect == "postgresql":
        return f"(j #> '{{{field.replace('.', ',')}}}') IS NOT NULL"
    return f"json_type(t, '$.{field}') IS NOT NULL"


def _top(kind: str | None, checked: bool, named: Collection[str]) -> list[str]:
    """The top-level fields read of a record of ``kind`` (None: of a kind not asked for), in
    the order :func:`read` takes them."""
    return [*TOP, *(CHECKED if checked else ()), *(NAMED if kind in named else ())]


def period_clauses(since: str | None, until: str | None, tenant: str | None,
                   ) -> tuple[list[str], list[object]]:
    """The SQL conditions (and their parameters) that narrow a scan to a period and tenant."""
    within: list[str] = []
    params: list[object] = []
    for clause, value in (("occurred_at >= ?", since), ("occurred_at < ?", until),
                          ("tenant = ?", tenant)):
        if value is not None:
            within.append(clause)
            params.append(value)
    return within, params


def statement(dialect: str, by_kind: Mapping[str, Sequence[str]], presence: str,
              since: str | None, until: str | None, tenant: str | None,
              named: Collection[str] = ()) -> tuple[str, tuple[object, ...]]:
    """One page's SELECT and the period's parameters; two more follow them: the seq after
    which and the seq up to which. It gives seq, the kind column, the picked fields as a JSON
    array (NULL: the columns place the record outside the period), and whether ``presence``
    is there (for the kinds that read it). The record id is picked of the kinds ``named``
    only, the signed moment only when a period or tenant is given."""
    checked = since is not None or until is not None or tenant is not None
    cases = " ".join(
        f"WHEN '{kind}' THEN "
        f"{_picks(dialect, [*_top(kind, checked, named), *(f'details.{f}' for f in fields)])}"
        for kind, fields in by_kind.items())
    within, params = period_clauses(since, until, tenant)
    decisions = ", ".join(f"'{kind}'" for kind, fields in by_kind.items() if presence in fields)
    picked = f"CASE kind {cases} ELSE {_picks(dialect, _top(None, checked, named))} END"
    flag = (f"CASE WHEN kind IN ({decisions}) THEN {_present(dialect, 'details.' + presence)} "
            "END") if decisions else "NULL"
    if within:
        inside = " AND ".join(within)
        picked = f"CASE WHEN {inside} THEN {picked} END"
        flag = f"CASE WHEN {inside} THEN {flag} END"
        params = params * 2
    source = ("SELECT seq, kind, occurred_at, tenant, convert_from(canonical, 'UTF8')::jsonb "
              "AS j FROM audit_records" if dialect == "postgresql" else
              "SELECT seq, kind, occurred_at, tenant, CAST(canonical AS TEXT) AS t FROM "
              "audit_records")
    sql = (f"SELECT seq, kind, {picked} AS picked, {flag} AS present FROM ({source} "
           f"WHERE seq > ? AND seq <= ?) r ORDER BY seq LIMIT {PAGE}")
    return sql, tuple(params)


def seq_range(fetch: Fetch, since: str | None, until: str | None,
              tenant: str | None) -> tuple[int, int] | None:
    """The first and last seq of the records the columns place in the period (None: none)."""
    clauses: list[str] = []
    params: list[object] = []
    for clause, value in (("occurred_at >= ?", since), ("occurred_at < ?", until),
                          ("tenant = ?", tenant)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = fetch(f"SELECT min(seq) AS first, max(seq) AS last FROM audit_records {where}",
                 params)
    if not rows or rows[0][0] is None:
        return None
    return int(rows[0][0]), int(rows[0][1])


def read(fetch: Fetch, dialect: str, by_kind: Mapping[str, Sequence[str]], presence: str,
         since: str | None, until: str | None, tenant: str | None,
         missing: object = None, named: Collection[str] = (),
         read_up_to: Callable[[int], None] | None = None, after_seq: int = 0,
         ) -> Iterator[FieldRecord]:
    """(kind, tenant, request_id, record_id, the values of the details' fields of its kind in
    ``by_kind``, in that order) of each record of the period, in seq order. A details field
    missing from the record is read as null (the same to the report), except ``presence``,
    read as ``missing`` when the record lacks it. The record id is read of the kinds
    ``named`` only (None for the others). The period is checked on the signed fields too, as
    ``query`` checks its filters. ``read_up_to(seq)`` is told, after each page, the seq of
    the last record given so far. Only records after ``after_seq`` are read."""
    bounds = seq_range(fetch, since, until, tenant)
    if bounds is None:
        return
    first, last = max(bounds[0], after_seq + 1), bounds[1]
    if first > last:
        return
    sql, params = statement(dialect, by_kind, presence, since, until, tenant, named)
    after = first - 1
    checked = since is not None or until is not None or tenant is not None
    top = len(TOP) + checked  # where a named kind's record id sits
    # where ``presence`` sits among each kind's values (the kinds that read it)
    place = {kind: list(fields).index(presence) for kind, fields in by_kind.items()
             if presence in fields}
    given = 0  # the seq of the last record given
    while after < last:
        rows = fetch(sql, (*params, after, last))
        if not rows:
            return
        for seq, column_kind, picked, present in rows:
            if picked is None:
                continue
            # the database wrote the array: valid JSON, so the C scanner alone reads it
            values = _scan(picked, 0)[0] if isinstance(picked, str) else picked
            kind, tenant_, request_id = values[0], values[1], values[2]
            if kind != column_kind:
                raise AuditStoreCorruptError(
                    f"record {seq}: its kind column differs from its signed payload; run "
                    "`douane audit verify`")
            if checked:
                occurred = "" if values[3] is None else str(values[3])
                if ((since is not None and occurred < since)
                        or (until is not None and occurred >= until)
                        or (tenant is not None and tenant_ != tenant)):
                    continue
            if kind in named:
                record_id, details = values[top], values[top + 1:]
            else:
                record_id, details = None, values[top:]
            if not present and kind in place:
                details[place[kind]] = missing
            given = seq
            yield kind, tenant_, request_id, record_id, details
        after = int(rows[-1][0])
        if read_up_to is not None and given:
            read_up_to(given)
