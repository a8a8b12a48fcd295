"""Redaction operators: what replaces a detected personal value before a request leaves.

- ``placeholder``: a typed, numbered placeholder (``<PERSON_1>``). The same value gets the same
  placeholder everywhere in one request; two different values never share one.
- ``mask``: letters and digits become ``*`` (``keep_last`` of them stay visible at the end);
  spaces and punctuation stay, so ``FR76 3000 6000`` becomes ``**** **** *000`` with keep_last 3.
- ``keyed-hash``: ``<IBAN_CODE#3f2a9c1d0b7e4a55>``, an HMAC-SHA-256 under the tenant's key:
  stable for one tenant, useless to anyone without the key (never an unkeyed hash, which a
  guess of the value would reverse).
- ``encrypt``: ``<PERSON:enc:...>``, the value encrypted under the tenant's key.
- ``drop``: removed.
- ``keep``: left as it is (an explicit exception, e.g. public officials' names), still counted.
- ``block``: the whole request is refused (``streams.core.decision``).

Keys never enter the core, and neither does their storage: :func:`plan_redaction` says which
value gets which operator and lists the :class:`KeyedValue` s whose tokens must come from the
tenant's keys; the caller obtains those tokens (``streams.adapters.operator_keys.keyed_tokens``,
off the event loop: the ``encrypt`` key store and vault are SQLite) and
:meth:`RedactionPlan.apply` writes the redacted text, purely. Without tokens, a request needing
them is blocked (fail closed).

Overlapping findings are resolved in favour of the higher score, then the longer span; two
overlapping findings of one type are redacted as one (:func:`select_findings`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from streams.core.model import ChatMessage, Finding
from streams.core.placeholders import PlaceholderMap
from streams.core.policy import EntityRule

KEYED_OPERATORS = frozenset({"keyed-hash", "encrypt"})


@dataclass(frozen=True)
class KeyedValue:
    """A value whose replacement needs the tenant's key: its ``operator`` (``keyed-hash`` or
    ``encrypt``) gives the token written as ``<TYPE#token>`` or ``<TYPE:enc:token>``."""

    tenant: str
    operator: str
    entity_type: str
    value: str = field(repr=False)  # personal data: never shown in a repr or a log


class KeyedTokens(Protocol):
    """The tokens of keyed values, obtained outside the core (a ``dict`` will do)."""

    def __getitem__(self, keyed: KeyedValue, /) -> str: ...


def hmac_token(key: bytes, entity_type: str, value: str) -> str:
    """16 hex digits of HMAC-SHA-256(key, type NUL value): what ``keyed-hash`` shows."""
    message = entity_type.encode("utf-8") + b"\x00" + value.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Redacted:
    messages: tuple[ChatMessage, ...]
    counts: dict[str, int]  # per entity type: distinct values handled (keep included)
    operators: dict[str, str]  # per entity type: the operator applied
    # the placeholders written in place of values of these messages ("<PERSON_1>", ...): the
    # only ones an answer may have restored (streams.core.placeholders.restorable_placeholders)
    placeholders: tuple[str, ...] = ()


def select_findings(
    findings: Iterable[Finding], rules: Mapping[str, EntityRule]
) -> list[Finding]:
    """Keep the findings the policy cares about, above their minimum score, without overlaps.

    Of overlapping findings the one with the higher score (then the longer) is kept and the
    others dropped, except that a finding overlapping only one kept finding, of its own type,
    widens it to cover both: two readings of one value ("Pierre Dupont" at 0.9 inside
    "Jean-Pierre Dupont" at 0.85) are redacted whole, where dropping the longer would forward
    its edges ("Jean-"). Positions only, no text: a replay of a decision from its audit record
    selects the same findings (``benchmarks/overlap_rests.py`` measures what other types'
    overlaps still forward)."""
    wanted = [
        f for f in findings
        if f.entity_type in rules and f.score >= rules[f.entity_type].min_score
    ]
    kept: list[Finding] = []
    for candidate in sorted(wanted, key=lambda f: (-f.score, -f.length, f.message_index, f.start)):
        overlapping = [index for index, other in enumerate(kept) if _overlaps(candidate, other)]
        if not overlapping:
            kept.append(candidate)
        elif len(overlapping) == 1 and kept[overlapping[0]].entity_type == candidate.entity_type:
            # the union overlaps nothing else: the candidate meets no other kept finding
            other = kept[overlapping[0]]
            kept[overlapping[0]] = replace(other, start=min(other.start, candidate.start),
                                           end=max(other.end, candidate.end))
    return sorted(kept, key=lambda f: (f.message_index, f.start))


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.message_index == b.message_index and a.start < b.end and b.start < a.end


def mask(value: str, keep_last: int = 0) -> str:
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    visible = set(alnum[-keep_last:]) if 0 < keep_last < len(alnum) else set()
    return "".join(
        ch if (not ch.isalnum() or i in visible) else "*" for i, ch in enumerate(value))


@dataclass(frozen=True)
class RedactionPlan:
    """Which value gets which replacement: text already, or a :class:`KeyedValue` whose token
    the caller must obtain (:attr:`keyed`) before :meth:`apply`."""

    messages: tuple[ChatMessage, ...]
    findings: tuple[Finding, ...]  # in text order, no overlap
    replacements: Mapping[tuple[str, str], str | KeyedValue]  # (type, value) -> replacement
    counts: dict[str, int]
    operators: dict[str, str]

    @property
    def keyed(self) -> tuple[KeyedValue, ...]:
        """The values whose tokens come from the tenant's keys, in text order."""
        return tuple(r for r in self.replacements.values() if isinstance(r, KeyedValue))

    def apply(self, tokens: KeyedTokens | None = None) -> Redacted:
        """The redacted messages. Raises LookupError if a keyed value has no token."""
        replacements = {key: _written(replacement, tokens)
                        for key, replacement in self.replacements.items()}
        redacted = []
        for index, message in enumerate(self.messages):
            text = message.content
            for finding in reversed([f for f in self.findings if f.message_index == index]):
                value = text[finding.start:finding.end]
                text = text[:finding.start] + replacements[(finding.entity_type, value)] \
                    + text[finding.end:]
            redacted.append(ChatMessage(message.role, text))
        written = tuple(sorted({replacement for (kind, _), replacement in replacements.items()
                                if self.operators[kind] == "placeholder"}))
        return Redacted(tuple(redacted), self.counts, self.operators, written)


def plan_redaction(
    messages: Sequence[ChatMessage],
    findings: Sequence[Finding],
    rules: Mapping[str, EntityRule],
    *,
    tenant: str = "",
    placeholders: PlaceholderMap | None = None,
) -> RedactionPlan:
    """Plan each finding's operator. ``findings`` must not overlap (:func:`select_findings`)
    and must not need ``block`` (the caller blocks such requests before redacting).
    With ``placeholders`` (the conversation's map, updated in place), a value seen in an earlier
    turn keeps its placeholder; without, numbering starts at 1 for this request."""
    replacements: dict[tuple[str, str], str | KeyedValue] = {}
    numbers: dict[str, int] = {}
    counts: dict[str, int] = {}
    operators: dict[str, str] = {}
    ordered = tuple(sorted(findings, key=lambda f: (f.message_index, f.start)))
    for finding in ordered:
        kind = finding.entity_type
        value = messages[finding.message_index].content[finding.start:finding.end]
        if (kind, value) in replacements:
            continue
        rule = rules[kind]
        operators[kind] = rule.operator
        counts[kind] = counts.get(kind, 0) + 1
        replacements[(kind, value)] = (
            placeholders.placeholder_for(kind, value)
            if placeholders is not None and rule.operator == "placeholder"
            else _replacement(rule, kind, value, numbers, tenant))
    return RedactionPlan(tuple(messages), ordered, replacements, counts, operators)


def apply_operators(
    messages: Sequence[ChatMessage],
    findings: Sequence[Finding],
    rules: Mapping[str, EntityRule],
    *,
    tenant: str = "",
    tokens: KeyedTokens | None = None,
    placeholders: PlaceholderMap | None = None,
) -> Redacted:
    """:func:`plan_redaction` then :meth:`RedactionPlan.apply`, for callers that hold the
    tokens already (or need none). Raises LookupError if a keyed operator is needed and
    ``tokens`` has no token for it."""
    return plan_redaction(messages, findings, rules, tenant=tenant,
                          placeholders=placeholders).apply(tokens)


def _replacement(
    rule: EntityRule, kind: str, value: str, numbers: dict[str, int], tenant: str,
) -> str | KeyedValue:
    operator = rule.operator
    if operator == "placeholder":
        numbers[kind] = numbers.get(kind, 0) + 1
        return f"<{kind}_{numbers[kind]}>"
    if operator == "mask":
        return mask(value, rule.keep_last)
    if operator == "drop":
        return ""
    if operator == "keep":
        return value
    if operator in KEYED_OPERATORS:
        return KeyedValue(tenant, operator, kind, value)
    raise ValueError(f"operator {operator} does not replace a value")


def _written(replacement: str | KeyedValue, tokens: KeyedTokens | None) -> str:
    if isinstance(replacement, str):
        return replacement
    if tokens is None:
        raise LookupError(f"operator {replacement.operator} needs keys")
    token = tokens[replacement]
    if replacement.operator == "keyed-hash":
        return f"<{replacement.entity_type}#{token}>"
    return f"<{replacement.entity_type}:enc:{token}>"


def apply_placeholders(
    messages: Sequence[ChatMessage], findings: Sequence[Finding]
) -> tuple[tuple[ChatMessage, ...], dict[str, int]]:
    """Every finding as a placeholder: the redacted messages and the distinct values per type."""
    rules = {f.entity_type: EntityRule() for f in findings}
    result = apply_operators(messages, findings, rules)
    return result.messages, result.counts
