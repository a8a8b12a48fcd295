"""Erasing one person: every identifier linked to the one asked (``streams.core.persons``),
their data keys destroyed (crypto-shredding), the vault pruned, a signed ``erased`` record.

Refused, with a signed ``erasure_refused`` record and nothing destroyed, when a legal hold
covers any of the person's identifiers (the hold and its case reference are named) or when the
person is ambiguous (suggested links join names no DPO confirmed as one person's). A plan
(:func:`plan_erasure`) is what ``--dry-run`` prints: it changes nothing and records nothing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.adapters.audit.protocols import AuditStore
from streams.adapters.key_store import DestroyedKeys, KeyStore, StoredHold, SubjectHeldError
from streams.adapters.personal_vault import PersonalVault
from streams.config import FORWARD_TOPIC_PREFIX
from streams.core import audit_events
from streams.core.key_periods import KeyRef, format_duration
from streams.core.loaded_policy import LoadedPolicy
from streams.core.persons import Person
from streams.errors import DouaneError
from streams.services.audit_log import append_record
from streams.services.persons import find_person, holds_covering
from streams.services.retention import as_of


class ErasureRefusedError(DouaneError, RuntimeError):
    """An erasure was refused because the person's identifiers are linked ambiguously."""


@dataclass(frozen=True)
class ErasurePlan:
    tenant: str
    person: Person
    keys: tuple[KeyRef, ...]  # what would be destroyed
    vault_entries: int  # what would be pruned
    holds: tuple[StoredHold, ...]  # holds that refuse it
    last_stored_at: float | None  # the person's most recent value, for what Kafka still holds

    @property
    def refused_by(self) -> str | None:
        if self.holds:
            return "hold"
        if self.person.ambiguous:
            return "ambiguous-person"
        return None


@dataclass(frozen=True)
class ErasureReport:
    tenant: str
    subject: str
    destroyed: DestroyedKeys
    pruned: int
    record_id: str
    subjects: tuple[str, ...] = field(default=())

    def text(self) -> str:
        lines = [f"erasure: subject {self.subject} of tenant {self.tenant}: "
                 f"{len(self.destroyed.keys)} data keys destroyed, {self.pruned} vault entries "
                 f"pruned ({len(self.subjects) or 1} identifiers of the person)"]
        if not self.destroyed.keys:
            lines.append("  douane held no data key for this subject: nothing to erase (the "
                         "request is recorded; check the spelling, or search by --subject)")
        lines += [f"  key {k.key_id} ({k.period.label}) of {k.subject[:12]}"
                  for k in self.destroyed.keys]
        lines.append(f"audit record {self.record_id}")
        return "\n".join(lines)


def plan_erasure(keys: KeyStore, vault: PersonalVault, tenant: str,
                 asked: list[str]) -> ErasurePlan:
    person = find_person(vault, tenant, asked)
    acted = person.acted_on
    doomed = keys.keys_of_many(tenant, acted)
    entries = vault.entries_of(tenant, person.subjects)
    return ErasurePlan(tenant, person, tuple(doomed),
                       vault.count_for_keys(k.key_id for k in doomed),
                       tuple(holds_covering(keys, tenant, person)),
                       max((e.stored_at for e in entries), default=None))


def erase_person(keys: KeyStore, vault: PersonalVault, audit: AuditStore, plan: ErasurePlan,
                 reason: str, *, case: str | None = None, requested_by: str | None = None,
                 policy: dict[str, Any] | None = None) -> ErasureReport:
    """Erase what ``plan`` found, or refuse and record why: SubjectHeldError (a hold covers the
    person), ErasureRefusedError (ambiguous links)."""
    tenant, person = plan.tenant, plan.person
    request = audit_events.erasure_request(as_of(keys.clock), person.asked[0], person.subjects,
                                           reason, case, requested_by, policy)
    if plan.holds:
        hold = plan.holds[0]
        record_id = append_record(audit, functools.partial(
            audit_events.erasure_refused_by_hold, tenant, request, hold.hold_id, hold.reason,
            hold.hold.subject))
        raise SubjectHeldError(
            f"the person is under legal hold {hold.hold_id} ({hold.reason}), placed "
            f"{_moment(hold.placed_at)} on "
            + (f"identifier {hold.hold.subject[:12]}" if hold.hold.subject
               else f"every subject of tenant {tenant}")
            + f"; refusal recorded as {record_id}", hold)
    if person.ambiguous:
        record_id = append_record(audit, functools.partial(
            audit_events.erasure_refused_ambiguous, tenant, request,
            [(link.first, link.second) for link in person.unresolved_links]))
        raise ErasureRefusedError(
            "the identifiers linked to this one include names no DPO has confirmed as one "
            "person's: confirm or split the links listed above (douane subject confirm|split), "
            f"then ask again; refusal recorded as {record_id}")
    destroyed = keys.erase_many(tenant, person.acted_on)
    pruned = vault.prune(keys.live_key_ids())
    record_id = append_record(audit, functools.partial(
        audit_events.erased, tenant, request,
        [{"key_id": k.key_id, "period": k.period.period_id, "subject_fingerprint": k.subject}
         for k in destroyed.keys], pruned))
    return ErasureReport(tenant, person.asked[0], destroyed, pruned, record_id, person.subjects)


def erase_subject(keys: KeyStore, vault: PersonalVault, audit: AuditStore, tenant: str,
                  subject: str, reason: str) -> ErasureReport:
    """Erase the person ``subject`` belongs to. SubjectHeldError (nothing destroyed) if a legal
    hold covers the person, ErasureRefusedError if the person is ambiguous."""
    return erase_person(keys, vault, audit, plan_erasure(keys, vault, tenant, [subject]), reason)


def _moment(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def beyond_reach(policy: LoadedPolicy | None, tenant: str, layout: str,
                 last_stored_at: float | None) -> list[str]:
    """What an erasure by douane cannot reach, for this tenant under ``policy``."""
    from streams.adapters.topic_retention import retention_ms
    from streams.core.tenant_topics import answer_topics, rejection_topic, request_topics

    lines = []
    if policy is None:
        lines.append("Kafka topics keep prompts and answers in clear until their retention.ms "
                     "passes (the policy in force could not be read: see the policy line)")
    else:
        topics = retention_ms(policy, layout)
        mine = [t for t in (*request_topics(layout, [tenant]), *answer_topics(layout, [tenant]),
                            rejection_topic(layout, tenant))
                if t in topics]
        mine += sorted(t for t in topics if t.startswith(FORWARD_TOPIC_PREFIX))
        by_duration: dict[int, list[str]] = {}
        for topic in mine:
            by_duration.setdefault(topics[topic] // 1000, []).append(topic)
        for seconds, names in sorted(by_duration.items()):
            until = ("" if last_stored_at is None else
                     f"; the person's last kept request ({_moment(last_stored_at)}) is gone from "
                     f"them by {_moment(last_stored_at + seconds)} plus the broker's check "
                     "interval")
            lines.append(f"Kafka keeps messages in clear for {format_duration(seconds)} "
                         f"(retention.ms; erasure does not rewrite topics) in "
                         f"{', '.join(names)}{until}")
        by_days: dict[int, list[str]] = {}
        for provider in policy.policy.providers:
            if provider.retains_data:
                by_days.setdefault(provider.retention_days, []).append(provider.id)
        lines += [f"providers {', '.join(ids)} keep what they were sent for {days} days under "
                  "their own terms (douane cannot delete it: ask them)"
                  for days, ids in sorted(by_days.items())]
        kept_nothing = [p.id for p in policy.policy.providers if not p.retains_data]
        if kept_nothing:
            lines.append(f"providers declaring they keep nothing: {', '.join(kept_nothing)}")
    lines.append("what the requesting systems and people kept (answers, copies) is theirs to "
                 "erase")
    return lines
