"""Where a conversation's placeholders are kept between turns: in the personal-value vault.

Each value behind a placeholder (``<PERSON_1>`` -> the name) is one vault entry, AES-256-GCM
encrypted under the data key of the person it names (their keyed fingerprint) for the period
the policy's ``encrypted_payloads`` retention gives, and tagged with its tenant, conversation and
placeholder (:mod:`streams.adapters.personal_vault`). So:

- the mapping belongs to one tenant's conversation: another conversation or tenant sees none of
  it, and a ciphertext moved to another row does not decrypt (it is bound to its entry);
- ``douane erasure request`` for that person destroys the key: the placeholder is withheld from
  then on (never restored, its number not reused while the entry remains), and the prune that
  follows deletes the entry. Each turn's messages are redacted afresh, so a number reused after
  that still gives the model one consistent conversation;
- the end of the retention period does the same for everyone, through ``douane retention run``;
- ``douane subject-access`` lists these values with the request they came from.

A value keeps the period of the turn where it first appeared: retention counts from collection.
"""

from __future__ import annotations

from streams.adapters.personal_vault import ConversationPlaceholder, NewValue, PersonalVault
from streams.core.placeholders import PLACEHOLDER, PlaceholderMap


class PlaceholderVault:
    def __init__(self, vault: PersonalVault) -> None:
        self.vault = vault

    def load(self, tenant: str, conversation: str) -> PlaceholderMap:
        """The conversation's mapping; values no longer held are withheld, not forgotten."""
        mapping = PlaceholderMap()
        for label, value in self.vault.placeholders_of(tenant, conversation).items():
            if value is None:
                mapping.withheld.add(label)
            else:
                mapping.values[label] = value
        return mapping

    def save(self, tenant: str, conversation: str, mapping: PlaceholderMap,
             retention_s: float, request_id: str | None = None) -> None:
        """Keep the placeholders the mapping gained; those already kept stay as they are."""
        kept = self.vault.placeholder_labels(tenant, conversation)
        new = []
        for label, value in mapping.values.items():
            if label in kept:
                continue
            match = PLACEHOLDER.fullmatch(label)
            kind = match.group(1) if match else "PLACEHOLDER"
            new.append(NewValue(value, kind,
                                placeholder=ConversationPlaceholder(conversation, label)))
        if new:
            self.vault.put_many(tenant, new, retention_s=int(retention_s),
                                request_id=request_id)
