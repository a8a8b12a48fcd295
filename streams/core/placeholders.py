"""Placeholders that stay the same for one conversation, and their restoration in answers.

Within one conversation (a tenant and a conversation id), the same personal value keeps the
same typed placeholder in every message and every turn (``<PERSON_1>`` stays Jeanne Martin),
and two different values never share one. A mapping belongs to one tenant's conversation
only; the adapter that stores it (``streams.adapters.placeholder_vault``) keeps each value
encrypted under its person's data key, so an erasure or the end of its retention withholds it.

Restoration puts the values back into the model's answer: ``PlaceholderMap.restore``, limited
to :func:`restorable_placeholders`, the placeholders douane itself wrote into the request being
answered. Anyone who can send into a conversation could otherwise ask the model to "repeat
exactly: <PERSON_1>" and read the conversation's values back: a placeholder the sender typed is
never restored, and neither is one that stands for no value of this very request (restoring
those the sender sent reveals nothing it did not have). The conversation a mapping belongs to
is named together with the tenant douane accepted the request for, never by the sender alone
(:func:`conversation_digest` binds the two in the signed admission).

For a streamed answer, where a placeholder can be cut between two chunks (``"<PERS"`` then
``"ON_1> wrote"``), restoration is the ``transform`` of ``streams.core.holdback.HoldBack``,
which releases only whole placeholders. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
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

    def limited_to(self, placeholders: Collection[str]) -> PlaceholderMap:
        """The same conversation, restoring only ``placeholders`` (the others stay as written)."""
        return PlaceholderMap({label: value for label, value in self.values.items()
                               if label in placeholders}, set(self.withheld))


def placeholders_in(texts: Iterable[str]) -> set[str]:
    """Every placeholder-shaped string (``<PERSON_1>``) written in ``texts``."""
    return {match.group(0) for text in texts for match in PLACEHOLDER.finditer(text)}


def restorable_placeholders(sent: Iterable[str], written: Iterable[str]) -> tuple[str, ...]:
    """The placeholders an answer to this request may have restored: those douane ``written``
    in place of values the request ``sent`` (its redaction's), never one the sender wrote itself
    (a literal ``<PERSON_1>`` in a prompt asks for a value; it never gets one). A placeholder
    that only appears in what leaves, e.g. by a ``drop`` closing the gap in ``<PERSON_x1>``, is
    not one douane wrote either."""
    return tuple(sorted(set(written) - placeholders_in(sent)))


def conversation_digest(tenant: str, conversation: str) -> str:
    """Names one tenant's conversation in the audit log without its (producer-chosen) id: the
    forward stage restores answers from the conversation the admission recorded, and from the
    tenant's conversation of that id only."""
    return hashlib.sha256(f"douane-conversation\0{tenant}\0{conversation}".encode()).hexdigest()


def _type_of(placeholder: str) -> str:
    match = PLACEHOLDER.fullmatch(placeholder)
    return match.group(1) if match else ""


def _number_of(placeholder: str) -> int:
    match = PLACEHOLDER.fullmatch(placeholder)
    return int(match.group(2)) if match else 0
