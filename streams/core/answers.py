"""What the policy does with personal data a model writes into its answer.

The answer is held to the operators the policy applies to the request (same tenant, purpose and
classification): ``block`` withholds the whole answer, ``mask``, ``drop``, ``keyed-hash`` and
``encrypt`` are applied. ``placeholder`` and ``keep`` leave a value as it is: a placeholder
stands for a value douane removed from the prompt, and there is nothing to stand for in an
answer that goes back to the system that asked. Placeholders douane put in the prompt are not
personal data and are skipped (they are restored afterwards). Pure: no I/O; keyed tokens are
obtained by the caller (:attr:`AnswerPlan.keyed`, as for prompts: ``streams.core.redaction``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streams.core.model import ChatMessage, Finding
from streams.core.placeholders import PLACEHOLDER
from streams.core.policy import EntityRule
from streams.core.redaction import (
    KeyedTokens,
    KeyedValue,
    RedactionPlan,
    plan_redaction,
    select_findings,
)

LEFT_AS_IS = frozenset({"placeholder", "keep"})


@dataclass(frozen=True)
class AnswerVerdict:
    messages: tuple[ChatMessage, ...]  # the answer with the policy's operators applied
    counts: dict[str, int]  # entity type -> values the model wrote (placeholders excluded)
    operators: dict[str, str]  # entity type -> operator applied to them
    blocked: tuple[str, ...]  # entity types whose operator is block: the answer is withheld


@dataclass(frozen=True)
class AnswerPlan:
    """What the policy does with an answer, before the tokens of :attr:`keyed` are known."""

    messages: tuple[ChatMessage, ...]
    counts: dict[str, int]
    operators: dict[str, str]
    blocked: tuple[str, ...]
    redaction: RedactionPlan | None  # None when the answer is withheld

    @property
    def keyed(self) -> tuple[KeyedValue, ...]:
        return self.redaction.keyed if self.redaction is not None else ()

    def complete(self, tokens: KeyedTokens | None = None) -> AnswerVerdict:
        """Raises LookupError when a keyed operator is needed and ``tokens`` has no token."""
        if self.redaction is None:
            return AnswerVerdict(self.messages, self.counts, self.operators, self.blocked)
        return AnswerVerdict(self.redaction.apply(tokens).messages, self.counts, self.operators,
                             ())


def plan_answer(
    messages: Sequence[ChatMessage],
    findings: Sequence[Finding],
    rules: Mapping[str, EntityRule],
    *,
    tenant: str,
) -> AnswerPlan:
    placeholders = [
        (index, match.start(), match.end())
        for index, message in enumerate(messages)
        for match in PLACEHOLDER.finditer(message.content)
    ]
    written = [
        f for f in findings
        if not any(f.message_index == i and f.start < end and start < f.end
                   for i, start, end in placeholders)
    ]
    selected = select_findings(written, rules)
    counts = dict(sorted(Counter(f.entity_type for f in selected).items()))
    operators: dict[str, str] = {f.entity_type: rules[f.entity_type].operator for f in selected}
    blocked = tuple(sorted(kind for kind, operator in operators.items() if operator == "block"))
    if blocked:
        return AnswerPlan(tuple(messages), counts, operators, blocked, None)
    to_apply = [f for f in selected if rules[f.entity_type].operator not in LEFT_AS_IS]
    return AnswerPlan(tuple(messages), counts, operators, (),
                      plan_redaction(messages, to_apply, rules, tenant=tenant))


def govern_answer(
    messages: Sequence[ChatMessage],
    findings: Sequence[Finding],
    rules: Mapping[str, EntityRule],
    *,
    tenant: str,
    tokens: KeyedTokens | None,
) -> AnswerVerdict:
    """:func:`plan_answer` completed with ``tokens`` already at hand. Raises LookupError when
    a keyed operator is needed and ``tokens`` is None (fail closed)."""
    return plan_answer(messages, findings, rules, tenant=tenant).complete(tokens)
