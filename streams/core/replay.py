"""Re-deciding a recorded request from its audit metadata alone (no personal data needed).

An ``admitted`` or ``blocked`` record keeps every fact :func:`streams.core.decision.evaluate`
rests on: tenant, purpose, requested classification and model, prompt size, detection method,
language, and the findings (entity type, offsets, score - never the value). ``douane policy
diff`` replays them under two policy sets; ``douane report`` replays them under the set in
force with one provider gone (``unavailable``), to tell how much of its traffic could go
elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from streams.core.decision import Verdict, evaluate
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import Finding


def recorded_findings(details: Mapping[str, Any]) -> tuple[Finding, ...]:
    return tuple(
        Finding(int(f["message"]), str(f["type"]), int(f["start"]), int(f["end"]),
                float(f["score"]))
        for f in details.get("findings") or [])


def replay(loaded: LoadedPolicy, details: Mapping[str, Any], tenant: str,
           unavailable: Collection[str] = ()) -> Verdict:
    """The verdict ``loaded`` gives the recorded request (keys assumed available: a replay
    asks whether the policy allows the request, not whether this process holds keys)."""
    return evaluate(
        loaded, tenant=tenant, purpose=details.get("purpose"),
        classification=details.get("requested_classification", details.get("classification")),
        model=details.get("requested_model"), prompt_chars=int(details.get("prompt_chars") or 0),
        detection_method=str(details.get("detection") or "ner+patterns"),
        language=str(details.get("language") or ""), findings=recorded_findings(details),
        unavailable=unavailable, keys_available=True,
    )
