"""``douane redact``: try the detector on your own text, without Kafka or a model.

Reads standard input and prints the redacted text; with ``--jsonl`` reads one JSON object per
line (``{"text": ..., "language": ...}``, language optional) and writes one per line:
``{"text": <redacted>, "language": <used>, "detection": <method>, "findings": [{"type",
"start", "end", "score"}], "blocked": [<types whose operator is block>]}`` with offsets into
the *original* text. This is how a security team tries detection on its own documents before
rollout, and how detection is evaluated from outside.

Which entity types are looked for, from which score, comes from the policy (``--policy``, or
``DOUANE_POLICY``); ``--tenant``/``--classification`` select the rules that apply to them when
the policy has rules per tenant and classification.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from streams.cli import Commands
from streams.config import Settings
from streams.core.model import ChatMessage, Finding
from streams.core.policy import EntityRule
from streams.core.redaction import apply_placeholders, select_findings

DEFAULT_RULE = EntityRule(min_score=0.5, operator="placeholder")


def register(commands: Commands) -> None:
    redact = commands.add_parser(
        "redact", help="redact personal data in standard input (try the detector)")
    redact.add_argument("--language", help="language of the text (default: detected)")
    redact.add_argument("--policy", help="policy file (default: DOUANE_POLICY)")
    redact.add_argument("--tenant", help="apply the rules for this tenant")
    redact.add_argument("--classification", help="apply the rules for this classification")
    redact.add_argument("--jsonl", action="store_true",
                        help='read {"text", "language"} per line, write results with offsets')
    redact.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return run_redact(settings, language=args.language, policy_path=args.policy,
                      tenant=args.tenant, classification=args.classification, jsonl=args.jsonl)


def entity_rules(loaded: Any, tenant: str | None, classification: str | None,
                 ) -> Mapping[str, Any]:
    """The redaction rules (entity type -> min_score, operator) that apply.

    A policy with per-tenant rules resolves them for the tenant and classification; the first
    policy model has one ``redaction.entities`` table for everybody.
    """
    resolve = getattr(loaded, "resolve", None)
    if resolve is not None and tenant is not None:
        policy = loaded.policy
        chosen = classification or policy.tenant(tenant).default_classification
        resolution = resolve(tenant, None, chosen)
        for name in ("redaction", "entities"):
            rules = getattr(resolution, name, None)
            if isinstance(rules, Mapping):
                return rules
    redaction = getattr(loaded.policy, "redaction", None)
    rules = getattr(redaction, "entities", None)
    if isinstance(rules, Mapping):
        return rules
    types = getattr(loaded.policy, "entity_types", ())
    return {entity: DEFAULT_RULE for entity in types}


def redact_one(detector: Any, rules: Mapping[str, Any], text: str, language: str | None,
               ) -> dict[str, Any]:
    detection = detector.detect((ChatMessage("user", text),), language)
    findings: list[Finding] = select_findings(detection.findings, rules)
    (redacted,), _ = apply_placeholders((ChatMessage("user", text),), findings)
    blocked = sorted({f.entity_type for f in findings
                      if getattr(rules[f.entity_type], "operator", "") == "block"})
    return {
        "text": redacted.content,
        "language": detection.language,
        "detection": detection.method,
        "findings": [{"type": f.entity_type, "start": f.start, "end": f.end,
                      "score": round(f.score, 3)} for f in findings],
        "blocked": blocked,
    }


def run_redact(settings: Settings, *, language: str | None, policy_path: str | None,
               tenant: str | None, classification: str | None, jsonl: bool,
               stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    from streams.adapters.presidio_detector import detector_for_policy
    from streams.worker import load_policy

    loaded = load_policy(Path(policy_path) if policy_path else settings.policy_path)
    if tenant is not None and not _has_tenant(loaded.policy, tenant):
        print(f"douane redact: unknown tenant '{tenant}' in {loaded.source}", file=sys.stderr)
        return 2
    rules = entity_rules(loaded, tenant, classification)
    detector = detector_for_policy(loaded.policy, settings.phone_regions)
    if not jsonl:
        result = redact_one(detector, rules, stdin.read(), language)
        stdout.write(result["text"])
        if result["blocked"]:
            print(f"douane redact: the policy blocks requests containing "
                  f"{', '.join(result['blocked'])}", file=sys.stderr)
        return 0
    for number, line in enumerate(_lines(stdin), start=1):
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            print(f"douane redact: line {number}: expected a JSON object with a string "
                  f"\"text\"", file=sys.stderr)
            return 2
        result = redact_one(detector, rules, text, item.get("language") or language)
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def _lines(stream: TextIO) -> Iterable[str]:
    return (line for line in stream if line.strip())


def _has_tenant(policy: Any, tenant: str) -> bool:
    has = getattr(policy, "has_tenant", None)
    if has is not None:
        return bool(has(tenant))
    return tenant in getattr(policy, "tenant_ids", ())
