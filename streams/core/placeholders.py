"""Placeholders that stay the same for one conversation, and their restoration in answers.

Within one conversation (a tenant and a conversation id), the same personal value keeps the
same typed placeholder in every message and every turn (``<PERSON_1>`` stays Jeanne Martin),
and two different values never share one. A mapping belongs to one tenant's conversation
only; the adapter that stores it (``streams.adapters.placeholder_vault``) keeps each value
encrypted under its person's data key, so an erasure or the end of its retention withholds it.

Restoration puts the values back into the model's answer: ``PlaceholderMap.restore``. For a
streamed answer, where a placeholder can be cut between two chunks (``"<PERS"`` then
``"ON_1> wrote"``), it is the ``transform`` of ``streams.core.holdback.HoldBack``, which
releases only whole placeholders. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_([1-9]\d*)>")


@dataclass
class PlaceholderMap:
    """The placeholders of one conversation: placeholder -> value, and back."""

    values: dict[str, str] = field(default_factory=dict)  # "<PERSON_1>" -> "Jeanne Martin"
    # placeholders whose value douane no longer holds (erased, or its retention ended): their
    # numbers stay taken, so a new value never reuses one, and they are never restored
    withheld: set[str] = field(default_factory=set)

    def placeholder_for(self, entity_type: str, value: str) -> str:
        for placeholder, known in self.values.items():
            if known == value and placeholder.startswith(f"<{entity_type}_"):
                return placeholder
        taken = [_number_of(p) for p in (*self.values, *self.withheld)
                 if _type_of(p) == entity_type]
        placeholder = f"<{entity_type}_{1 + max(taken, default=0)}>"
        self.values[placeholder] = value
        return placeholder

    def restore(self, text: str) -> str:
        """The text with every known placeholder replaced by its value; unknown ones stay."""
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)


def _type_of(placeholder: str) -> str:
    match = PLACEHOLDER.fullmatch(placeholder)
    return match.group(1) if match else ""


def _number_of(placeholder: str) -> int:
    match = PLACEHOLDER.fullmatch(placeholder)
    return int(match.group(2)) if match else 0
