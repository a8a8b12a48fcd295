"""What douane holds about one person while their keys exist (a subject access request)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.adapters.audit.protocols import AuditReader
from streams.adapters.personal_vault import PersonalVault
from streams.core.audit import format_timestamp


def subject_access(vault: PersonalVault, audit: AuditReader | None, tenant: str,
                   subject: str) -> dict[str, Any]:
    """The subject's values and the decisions on the requests that held them (``audit``: the
    log to look them up in, None when there is no log yet)."""
    values = vault.of_subject(tenant, subject)
    request_ids = sorted({v.entry.request_id for v in values if v.entry.request_id})
    return {
        "tenant": tenant, "subject_fingerprint": subject,
        "values": [{"kind": v.entry.kind, "value": v.value, "request_id": v.entry.request_id,
                    "stored_at": moment(v.entry.stored_at),
                    "deleted_from": moment(v.entry.expires_at)} for v in values],
        "decisions": _decisions(audit, request_ids) if audit is not None else [],
    }


def moment(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))


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
