"""What the transparency report counts of one record, as plain values: the report's facts.

The append path stores them next to each record (``streams.adapters.audit.report_facts``), so
that ``douane report`` reads a few plain columns per record instead of picking fields out of
a million stored JSON documents and building nested objects from them. They are derived from
the signed payload by :func:`report_facts` alone (no policy: the report applies the policy in
force when it runs), and are not evidence: ``douane report --verify-records`` reads the
records themselves and must give the same figures, and a bundle's report never uses them.

A record has *plain* facts when every field the report reads has the form douane writes
(names are strings or null, counts are integers, an answer's cost agrees with its usage and
price in douane's form, findings do not overlap, ...): then the facts hold exactly what the
report's pass (``streams.core.transparency``) would make of the record. Any other record is
stored with ``plain`` 0 and the report reads that record itself, as before.

What each kind keeps (every other column null):

- every record: ``kind``, ``tenant`` (a non-empty string, else null), ``request_id`` (a
  non-empty string, else ``""``), ``occurred_at`` (for the period);
- ``forwarded``: ``provider`` and ``jurisdiction`` (``unknown`` when not a non-empty string);
- ``answered``: ``provider`` and ``model`` (``unknown`` likewise), ``input_tokens`` and
  ``output_tokens`` (as the report adds them: anything but a positive count is 0),
  ``estimated`` (0/1), ``cost_micros`` and ``currency`` (the agreeing cost in millionths;
  both null: unpriced);
- ``admitted`` and ``blocked``: ``provider`` (a non-empty string, else null), ``personal``
  (classified personal or above, or some personal data found: 0/1), ``replay_profile`` (what
  a replay rests on besides the prompt size and the findings: purpose, classification asked
  for - the classification when none was -, model asked for, detection, language; canonical
  JSON), ``prompt_chars``, ``finding_scores`` (``TYPE=score;...``: what the replay key reads
  of the findings) and ``findings`` (canonical JSON, for the replays themselves).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from streams.core.pricing import AgreeingCosts

UNKNOWN = "unknown"
PERSONAL_CLASSIFICATIONS = frozenset({"personal", "sensitive", "secret"})
DECISIONS = frozenset({"admitted", "blocked"})
# the columns, in this order (see the module); ``plain`` 0: read the record itself
COLUMNS = ("kind", "plain", "occurred_at", "tenant", "request_id", "provider", "jurisdiction",
           "model", "input_tokens", "output_tokens", "estimated", "cost_micros", "currency",
           "personal", "replay_profile", "prompt_chars", "finding_scores", "findings")
FactValues = tuple[object, ...]  # one record's COLUMNS, in that order
_LARGEST = 2 ** 63 - 1  # what both databases' 64-bit integer columns hold
_EXACT_FLOAT = 2 ** 53  # integers a float holds exactly (a score read back with float())
_NO_FACTS = (None,) * (len(COLUMNS) - 5)


def _canonical(value: object) -> str:
    """One text per JSON value, the same for a record before it is signed and for the record
    read back from its signed bytes (``douane audit verify`` compares the two): keys sorted,
    and a float with an integral value written as the integer RFC 8785 makes of it (a score
    1.0 is 1 once signed). ``json`` rather than the canonical encoder: floats take the
    latter's slow path, three times the CPU of the facts."""
    return json.dumps(_integral_floats_as_int(value), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)


def _integral_floats_as_int(value: object) -> object:
    if type(value) is float:
        return int(value) if value.is_integer() else value
    if type(value) is list:
        return [_integral_floats_as_int(item) for item in value]
    if type(value) is dict:
        return {key: _integral_floats_as_int(item) for key, item in value.items()}
    return value


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: object) -> bool:
    return type(value) is int and -_LARGEST <= value <= _LARGEST


def _count(value: object) -> int:
    return value if type(value) is int and value > 0 else 0


def report_facts(payload: Mapping[str, Any], costs: AgreeingCosts) -> FactValues:
    """The report's facts of one signed payload (:data:`COLUMNS`): ``plain`` 1 with the
    values, or ``plain`` 0 (and no values) when the report must read the record itself."""
    kind, occurred_at = payload.get("kind"), payload.get("occurred_at")
    tenant, request_id = payload.get("tenant"), payload.get("request_id")
    details = payload.get("details")
    given: Mapping[str, Any] = details if isinstance(details, dict) else {}
    if not isinstance(kind, str) or not isinstance(occurred_at, str) \
            or not (tenant is None or isinstance(tenant, str)):
        return (kind if isinstance(kind, str) else "", 0, "", None, "", *_NO_FACTS)
    top = (kind, 1, occurred_at, tenant or None, _name(request_id) or "")
    if kind == "forwarded":
        return (*top, _name(given.get("provider")) or UNKNOWN,
                _name(given.get("jurisdiction")) or UNKNOWN, *(None,) * 11)
    if kind == "answered":
        answer = _answer(given, costs)
        if answer is not None:
            return (*top, _name(given.get("provider")) or UNKNOWN, None,
                    _name(given.get("model")) or UNKNOWN, *answer, *(None,) * 5)
    elif kind in DECISIONS:
        decision = _decision(given)
        if decision is not None:
            return (*top, _name(given.get("provider")), *(None,) * 7, *decision)
    else:
        return (*top, *_NO_FACTS)
    return (kind, 0, "", None, "", *_NO_FACTS)


def _answer(given: Mapping[str, Any], costs: AgreeingCosts) -> tuple[object, ...] | None:
    """(input tokens, output tokens, estimated, cost in millionths, currency), or None when
    the cost is neither absent nor agreeing in douane's form (the report then says why)."""
    usage, cost = given.get("usage"), given.get("cost")
    if isinstance(usage, dict):
        input_tokens, output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
        estimated = usage.get("estimated") is True
        agreeing = costs.millionths(input_tokens, output_tokens, cost)
    else:
        input_tokens = output_tokens = agreeing = None
        estimated = False
    if agreeing is None and cost is not None:
        return None
    if agreeing is not None and agreeing[0] > _LARGEST:
        return None
    counted = (_count(input_tokens), _count(output_tokens))
    if max(counted) > _LARGEST:
        return None
    return (*counted, int(estimated), *(agreeing if agreeing is not None else (None, None)))


def _decision(given: Mapping[str, Any]) -> tuple[object, ...] | None:
    """(personal, replay profile, prompt chars, finding scores, findings), or None when a
    field the replay reads has another form than douane writes."""
    classification, entities = given.get("classification"), given.get("entities")
    names = [given.get(name) for name in ("purpose", "requested_model", "detection",
                                          "language")]
    requested = given.get("requested_classification", classification)
    chars = given.get("prompt_chars")
    if not all(value is None or isinstance(value, str)
               for value in (classification, requested, *names)) \
            or not (chars is None or _integer(chars)):
        return None
    scores = _finding_scores(given.get("findings"))
    if scores is None:
        return None
    personal = classification in PERSONAL_CLASSIFICATIONS \
        or (isinstance(entities, dict) and any(entities.values()))
    profile = _canonical([names[0], requested, names[1], names[2], names[3]])
    findings = given.get("findings")
    return (int(personal), profile, chars, scores,
            _canonical(findings) if findings else None)


def _finding_scores(findings: object) -> str | None:
    """``TYPE=score;...`` of findings that no two of one message overlap, each with an integer
    message, start and end, a type and a finite score; "" when there are none; None
    otherwise (the report then reads the record itself)."""
    if not findings:
        return "" if findings is None or isinstance(findings, list) else None
    if not isinstance(findings, list):
        return None
    spans: list[tuple[int, int, int]] = []
    parts: list[str] = []
    for finding in findings:
        if not isinstance(finding, dict):
            return None
        message, start, end = finding.get("message"), finding.get("start"), finding.get("end")
        kind, score = finding.get("type"), finding.get("score")
        if type(message) is not int or type(start) is not int or type(end) is not int \
                or not isinstance(kind, str) or not kind or "=" in kind or ";" in kind \
                or not _score(score):
            return None
        spans.append((message, start, end))
        parts.append(f"{kind}={_canonical(score)}")
    spans.sort()
    for a, b in pairwise(spans):
        if a[0] == b[0] and b[1] < a[2]:
            return None  # overlapping: the replay key reads each finding's place
    return ";".join(parts)


def _score(score: object) -> bool:
    if type(score) is float:
        return math.isfinite(score)
    return type(score) is int and abs(score) < _EXACT_FLOAT


def replay_details(profile: str, chars: object, findings: str | None) -> dict[str, Any]:
    """The details a replay (``streams.core.replay``) reads, from a decision's facts."""
    purpose, classification, model, detection, language = json.loads(profile)
    return {"purpose": purpose, "requested_classification": classification,
            "requested_model": model, "prompt_chars": chars, "detection": detection,
            "language": language, "findings": json.loads(findings) if findings else []}


def scored(finding_scores: str) -> Sequence[tuple[str, float]]:
    """The (type, score) pairs of ``finding_scores``."""
    return [(kind, float(score)) for kind, _, score in
            (part.partition("=") for part in finding_scores.split(";"))]
