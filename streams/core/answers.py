"""What the policy does with personal data a model writes into its answer.

The answer is held to the operators the policy applies to the request (same tenant, purpose and
classification): ``block`` withholds the whole answer, ``mask``, ``drop``, ``keyed-hash`` and
``encrypt`` are applied. ``placeholder`` and ``keep`` leave a value as it is: a placeholder
stands for a value douane removed from the prompt, and there is nothing to stand for in an
answer that goes back to the system that asked. Placeholders douane put in the prompt are not
personal data and are skipped (they are restored afterwards). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streams.core.model import ChatMessage, Finding
from streams.core.placeholders import PLACEHOLDER
from streams.core.policy import EntityRule
from streams.core.redaction import OperatorKeys, apply_operators, select_findings

LEFT_AS_IS = frozenset({"placeholder", "keep"})


@dataclass(frozen=True)
class AnswerVerdict:
    messages: tuple[ChatMessage, ...]  # the answer with the policy's operators applied
    counts: dict[str, int]  # entity type -> values the model wrote (placeholders excluded)
    operators: dict[str, str]  # entity type -> operator applied to them
    blocked: tuple[str, ...]  # entity types whose operator is block: the answer is withheld


def govern_answer(
    messages: Sequence[ChatMessage],
    findings: Sequence[Finding],
    rules: Mapping[str, EntityRule],
    *,
    tenant: str,
    keys: OperatorKeys | None,
    request_id: str | None = None,
) -> AnswerVerdict:
    """Raises LookupError when a keyed operator is needed and ``keys`` is None (fail closed)."""
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
        return AnswerVerdict(tuple(messages), counts, operators, blocked)
    to_apply = [f for f in selected if rules[f.entity_type].operator not in LEFT_AS_IS]
    redacted = apply_operators(messages, to_apply, rules, tenant=tenant, keys=keys,
                               request_id=request_id)
    return AnswerVerdict(redacted.messages, counts, operators, ())
