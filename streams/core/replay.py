"""Re-deciding a recorded request from its audit metadata alone (no personal data needed).

An ``admitted`` or ``blocked`` record keeps every fact :func:`streams.core.decision.evaluate`
rests on: tenant, purpose, requested classification and model, prompt size, detection method,
language, and the findings (entity type, offsets, score - never the value). ``douane policy
diff`` replays them under two policy sets; ``douane report`` replays them under the set in
force with one provider gone (``unavailable``), to tell how much of its traffic could go
elsewhere.
"""

from __future__ import annotations

import json
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
        loaded, tenant=tenant, purpose=_recorded_text(details.get("purpose")),
        classification=_recorded_text(
            details.get("requested_classification", details.get("classification"))),
        model=_recorded_text(details.get("requested_model")),
        prompt_chars=int(details.get("prompt_chars") or 0),
        detection_method=str(details.get("detection") or "ner+patterns"),
        language=str(details.get("language") or ""), findings=recorded_findings(details),
        unavailable=unavailable, keys_available=True,
    )


def _recorded_text(value: object) -> str | None:
    """A recorded purpose, classification or model. douane records a string or null; a value
    of any other kind (a record written by something else) is replayed as its JSON text,
    which no policy declares, so it is judged as an unknown value is, not a crash."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)
