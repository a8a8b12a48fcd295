"""The demo's second door: an external provider (an Anthropic Messages stand-in, jurisdiction
US) that the policy allows for *public* data only, next to the sovereign local model.

The demo derives its policy from the configured one: same tenants, rules and redaction, plus
this provider, placed first for the ``public`` classification. Personal and sensitive data keep
their local-only list, so the same run shows requests routed to the local open-weight door
because their classification forbids foreign jurisdictions, and public ones leaving for the
external provider, each with its own audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.adapters.audit.verify import find_verified
from streams.adapters.policy_files import policy_document, policy_yaml
from streams.adapters.private_files import make_private_folder
from streams.config import Settings
from streams.devtools.stand_ins.common import StandIn

EXTERNAL_ID = "external-claude"
EXTERNAL_MODEL = "claude-sonnet-4-6"


def two_doors_policy(source: Path, target: Path, port: int) -> Path | None:
    """Write the demo policy: the configured set as one file, plus the external provider, put
    first in every residency rule for ``public`` data only. None when no rule decides the
    residency of public data by a providers list (then the demo runs with only the local door).
    """
    document: Any = policy_document(source)
    public_rules = [rule for rule in document["rules"]
                    if (rule.get("when") or {}).get("classifications") == ["public"]
                    and isinstance((rule.get("residency") or {}).get("providers"), list)]
    if not public_rules:
        return None
    document["providers"].append({
        "id": EXTERNAL_ID, "kind": "anthropic", "endpoint": f"http://127.0.0.1:{port}/v1",
        "models": [EXTERNAL_MODEL], "jurisdiction": "US", "region": "us-east-1",
        "retains_data": True, "trains_on_data": False, "retention_days": 30,
    })
    for rule in public_rules:
        rule["residency"]["providers"] = [EXTERNAL_ID, *rule["residency"]["providers"]]
    document["description"] = (str(document.get("description", "")) +
                               " Demo: public data may also go to an external provider.")
    make_private_folder(target.parent)
    target.write_text(policy_yaml(document), "utf-8")
    return target


def external_state() -> StandIn:
    return StandIn(provider=EXTERNAL_ID, models=(EXTERNAL_MODEL,))


def received_by_external(state: StandIn, settings: Settings) -> dict[str, dict[str, Any]]:
    """What the external stand-in received, keyed by request id, with the signed audit record
    named in its header checked against the log."""
    out = {}
    for entry in state.received:
        record = find_verified(settings.audit_db, settings.public_key,
                               entry["audit_record_id"] or "")
        out[entry["request_id"]] = {**entry, "audit_verified": record is not None}
    return out
