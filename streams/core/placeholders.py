"""Placeholders that stay the same for one conversation, and their restoration in answers.

Within one conversation (a tenant and a conversation id), the same personal value keeps the
same typed placeholder in every message and every turn (``<PERSON_1>`` stays Jeanne Martin),
and two different values never share one. A mapping belongs to one tenant's conversation
only; the adapter that stores it (``streams.adapters.placeholder_vault``) encrypts it, binds
the ciphertext to the tenant and conversation, and drops it when its retention ends.

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

    def placeholder_for(self, entity_type: str, value: str) -> str:
        for placeholder, known in self.values.items():
            if known == value and placeholder.startswith(f"<{entity_type}_"):
                return placeholder
        number = 1 + sum(1 for p in self.values if _type_of(p) == entity_type)
        placeholder = f"<{entity_type}_{number}>"
        self.values[placeholder] = value
        return placeholder

    def restore(self, text: str) -> str:
        """The text with every known placeholder replaced by its value; unknown ones stay."""
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)

    def as_json(self) -> dict[str, str]:
        return dict(self.values)

    @classmethod
    def from_json(cls, data: dict[str, str]) -> PlaceholderMap:
        return cls(dict(data))


def _type_of(placeholder: str) -> str:
    match = PLACEHOLDER.fullmatch(placeholder)
    return match.group(1) if match else ""
