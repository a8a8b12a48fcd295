"""What douane holds about one person (a subject access request), found from one identifier.

The person is the asked identifier and those linked to it (``streams.core.persons``): their
values, the decisions on the requests that held them, the holds that protect them, the
erasures the audit log records for any of them (when, by whom, which case), and what douane
cannot erase. Values are shown only for the person's own identifiers: an identifier merely
named beside them in a request about several people appears as a fingerprint and its entity
types, and when the person is ambiguous the values behind unconfirmed links are withheld until
a DPO confirms or splits them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from streams.adapters.audit.protocols import AuditQuery, AuditReader
from streams.adapters.key_store import StoredHold
from streams.adapters.personal_vault import PersonalVault
from streams.core.audit import format_timestamp
from streams.core.persons import Member, Person
from streams.services.persons import find_person

LINKING_RULE = ("identifiers kept from one request that names at most one person are suggested "
                "as one person's; a request naming several persons links nothing; a DPO "
                "confirms or splits links (douane subject confirm|split); see docs/retention.md")


def subject_access(vault: PersonalVault, audit: AuditReader | None, tenant: str,
                   subject: str | Sequence[str], *, holds: Sequence[StoredHold] = (),
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The person's values and the decisions on the requests that held them (``audit``: the
    log to look them up in, None when there is no log yet); ``holds``: the holds in force;
    ``extra``: more fields for the answer (the policy used, what cannot be erased)."""
    asked = [subject] if isinstance(subject, str) else list(subject)
    person = find_person(vault, tenant, asked)
    shown = set(person.acted_on)
    by_subject = {m.subject: m for m in person.members}
    values = [v for v in vault.of_subjects(tenant, person.subjects) if v.entry.subject in shown]
    request_ids = sorted({v.entry.request_id for v in values if v.entry.request_id})
    members = set(person.subjects)
    return {
        "tenant": tenant, "subject_fingerprint": person.asked[0],
        "person": person_summary(person),
        "values": [{"kind": v.entry.kind, "value": v.value, "request_id": v.entry.request_id,
                    "subject_fingerprint": v.entry.subject,
                    "link": by_subject[v.entry.subject].how,
                    "stored_at": moment(v.entry.stored_at),
                    "deleted_from": moment(v.entry.expires_at)} for v in values],
        "withheld": [_identifier(m) for m in person.members if m.subject not in shown],
        "decisions": _decisions(audit, request_ids) if audit is not None else [],
        "holds": [{"hold_id": h.hold_id, "reason": h.reason, "since": moment(h.placed_at),
                   "on": h.hold.subject or "every subject of the tenant"}
                  for h in holds if h.hold.tenant == tenant
                  and (h.hold.subject is None or h.hold.subject in members)],
        "erasures": erasures_of(audit, tenant, members) if audit is not None else [],
        **(extra or {}),
    }


def person_summary(person: Person) -> dict[str, Any]:
    """The person found, without a single value: fingerprints, entity types, how linked."""
    return {
        "rule": LINKING_RULE,
        "ambiguous": person.ambiguous,
        "identifiers": [_identifier(m) for m in person.members],
        "unresolved_links": [{"between": [link.first, link.second], "requests": link.requests}
                             for link in person.unresolved_links],
        "seen_with_not_linked": [{"subject_fingerprint": m.subject, "kinds": list(m.kinds)}
                                 for m in person.seen_with],
        "split_by_dpo": list(person.split),
    }


def _identifier(member: Member) -> dict[str, Any]:
    return {"subject_fingerprint": member.subject, "kinds": list(member.kinds),
            "link": member.how, "via": member.via, "requests": list(member.requests),
            "case": member.case}


def moment(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))


def erasures_of(audit: AuditReader, tenant: str, subjects: set[str]) -> list[dict[str, Any]]:
    """The ``erased`` records of the log that reached any of ``subjects``: when, by whom (the
    account and host that asked, the key that signed), which case."""
    query = getattr(audit, "query", None)
    records = (query(AuditQuery(kinds=("erased",), tenants=(tenant,))) if query is not None
               else (r for r in audit.iter_records() if r.kind == "erased"
                     and r.payload.get("tenant") == tenant))
    found = []
    for record in records:
        details = record.payload.get("details") or {}
        erased = {details.get("subject_fingerprint"), *(details.get("subjects") or ())}
        if not erased & subjects:
            continue
        found.append({"erased_at": record.payload["occurred_at"],
                      "requested_by": details.get("requested_by"),
                      "signed_by_key": record.payload.get("key_id"),
                      "case": details.get("case"), "reason": details.get("reason"),
                      "identifiers": len(erased - {None}),
                      "data_keys_destroyed": len(details.get("data_keys") or ()),
                      "record_id": record.record_id})
    return found


def _decisions(audit: AuditReader, request_ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for request_id in request_ids:
        for record in audit.records_for_request(request_id):
            details = record.payload.get("details") or {}
            found.append({"request_id": request_id, "kind": record.kind,
                          "occurred_at": record.payload["occurred_at"],
                          "decision": details.get("decision"),
                          "provider": details.get("provider"), "record_id": record.record_id})
    return found
