"""Replacing detected personal values with typed, numbered placeholders.

The same value gets the same placeholder everywhere in one request (``<PERSON_1>`` stays
Jeanne Martin in every message), and two different values never share one. Overlapping
findings are resolved in favour of the higher score, then the longer span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from streams.core.model import ChatMessage, Finding
from streams.core.policy import EntityRule


def select_findings(
    findings: Iterable[Finding], rules: Mapping[str, EntityRule]
) -> list[Finding]:
    """Keep the findings the policy cares about, above their minimum score, without overlaps."""
    wanted = [
        f for f in findings
        if f.entity_type in rules and f.score >= rules[f.entity_type].min_score
    ]
    kept: list[Finding] = []
    for candidate in sorted(wanted, key=lambda f: (-f.score, -f.length, f.message_index, f.start)):
        if not any(_overlaps(candidate, other) for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda f: (f.message_index, f.start))


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.message_index == b.message_index and a.start < b.end and b.start < a.end


def apply_placeholders(
    messages: Sequence[ChatMessage], findings: Sequence[Finding]
) -> tuple[tuple[ChatMessage, ...], dict[str, int]]:
    """Return the redacted messages and, per entity type, how many distinct values were replaced.

    ``findings`` must not overlap (see :func:`select_findings`).
    """
    placeholders: dict[tuple[str, str], str] = {}
    per_type: dict[str, int] = {}
    for finding in sorted(findings, key=lambda f: (f.message_index, f.start)):
        value = messages[finding.message_index].content[finding.start : finding.end]
        key = (finding.entity_type, value)
        if key not in placeholders:
            per_type[finding.entity_type] = per_type.get(finding.entity_type, 0) + 1
            placeholders[key] = f"<{finding.entity_type}_{per_type[finding.entity_type]}>"
    redacted = []
    for index, message in enumerate(messages):
        text = message.content
        for finding in sorted(
            (f for f in findings if f.message_index == index), key=lambda f: -f.start
        ):
            value = text[finding.start : finding.end]
            text = text[: finding.start] + placeholders[(finding.entity_type, value)] + text[
                finding.end :
            ]
        redacted.append(ChatMessage(message.role, text))
    return tuple(redacted), per_type
