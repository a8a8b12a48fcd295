"""One person's identifiers, found in the vault by the core's linking rule, and a DPO's
decisions on them (confirm, split); the holds that protect a whole person.

The vault is read in rounds: the requests of the identifiers found so far, then what those
requests kept, until the person grows no more (or reaches :data:`MAX_IDENTIFIERS`, when it is
reported as incomplete and treated as ambiguous: an identifier shared that widely is a shared
mailbox or a switchboard, not one person).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

from streams.adapters.audit.protocols import AuditStore
from streams.adapters.key_store import KeyStore, StoredHold
from streams.adapters.personal_vault import PersonalVault
from streams.core import audit_events
from streams.core.key_periods import Hold
from streams.core.persons import CONFIRMED, Person, Sighting, person_of
from streams.services.audit_log import append_record

MAX_IDENTIFIERS = 200


def find_person(vault: PersonalVault, tenant: str, asked: Sequence[str]) -> Person:
    """The person ``asked`` (the fingerprints of one value) belongs to."""
    sightings: set[Sighting] = set()
    looked_up: set[str] = set()
    frontier = set(asked)
    while True:
        sightings |= set(vault.sightings(tenant, frontier))
        looked_up |= frontier
        person = person_of(asked, sightings, vault.link_decisions(tenant, looked_up))
        frontier = set(person.subjects) - looked_up
        if not frontier:
            return person
        if len(looked_up) >= MAX_IDENTIFIERS:
            return dataclasses.replace(person, complete=False)


def known_fingerprints(keys: KeyStore, vault: PersonalVault, tenant: str,
                       value: str) -> list[str]:
    """The fingerprints to look ``value`` up by: the current one, and the older one only when
    something is kept under it (a value stored before the normal form changed)."""
    current, *older = keys.fingerprints(tenant, value)
    kept = {e.subject for e in vault.entries_of(tenant, older)}
    return [current, *(f for f in older if f in kept or keys.keys_of(tenant, f))]


def holds_covering(keys: KeyStore, tenant: str, person: Person) -> list[StoredHold]:
    """The stored holds that protect ``person``: on the tenant, or on any of its identifiers."""
    members = set(person.subjects)
    return [h for h in keys.holds()
            if h.hold.tenant == tenant and (h.hold.subject is None or h.hold.subject in members)]


def held_persons(keys: KeyStore, vault: PersonalVault
                 ) -> list[tuple[StoredHold, frozenset[str] | None]]:
    """Each stored hold with the identifiers it protects (None: every subject of its tenant)."""
    return [(stored, None if stored.hold.subject is None else frozenset(
                find_person(vault, stored.hold.tenant, [stored.hold.subject]).subjects))
            for stored in keys.holds()]


def person_holds(keys: KeyStore, vault: PersonalVault) -> list[Hold]:
    """Holds on each identifier of every held person, beyond the held identifier itself: what a
    retention run must also keep."""
    return [Hold(stored.hold.tenant, s) for stored, members in held_persons(keys, vault)
            if members is not None for s in sorted(members) if s != stored.hold.subject]


def decide_link(keys: KeyStore, vault: PersonalVault, audit: AuditStore, tenant: str,
                first: str, second: str, *, same_person: bool, case: str,
                requested_by: str) -> str:
    """Keep a DPO's decision on two identifiers and audit it; returns the record id."""
    vault.decide_link(tenant, first, second, same_person=same_person, case=case,
                      decided_at=keys.clock())
    return append_record(audit, functools.partial(
        audit_events.subject_linked, tenant, CONFIRMED if same_person else "split",
        (first, second), case, requested_by))
