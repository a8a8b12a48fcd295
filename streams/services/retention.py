"""Retention runs, legal holds and what is held: crypto-shredding over time.

A retention run destroys expired data keys (not under hold), prunes the vault entries they
leave unreadable and appends a signed ``retention_run`` record; it is safe to repeat and to run
in several processes. Nothing returned or audited here contains a personal value: subjects
appear as keyed fingerprints.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from streams.adapters.audit.protocols import AuditStore
from streams.adapters.key_store import DestroyedKeys, KeyStore, StoredHold
from streams.adapters.personal_vault import PersonalVault
from streams.config import Settings
from streams.core import audit_events
from streams.core.audit import format_timestamp
from streams.core.key_periods import KeyRef, format_duration
from streams.core.loaded_policy import LoadedPolicy
from streams.services.audit_log import append_record
from streams.services.persons import held_persons, person_holds
from streams.services.stores import Clock, open_stores

if TYPE_CHECKING:  # the Kafka client is loaded only by the commands that talk to the broker
    from streams.adapters.topic_retention import OnDisk

log = structlog.get_logger(__name__)


def as_of(clock: Clock) -> str:
    return format_timestamp(datetime.fromtimestamp(clock(), UTC))


@dataclass(frozen=True)
class RetentionReport:
    destroyed: DestroyedKeys
    pruned: int
    record_id: str

    def per_period(self) -> dict[str, int]:
        return dict(Counter(k.period.label for k in self.destroyed.keys))

    def text(self) -> str:
        lines = [f"retention run: {len(self.destroyed.keys)} data keys destroyed, "
                 f"{len(self.destroyed.keks)} period keys destroyed, {self.pruned} vault "
                 f"entries pruned, {self.destroyed.held} expired keys kept under hold"]
        lines += [f"  key store  {label}: {count} data keys"
                  for label, count in sorted(self.per_period().items())]
        lines.append(f"  vault      {self.pruned} entries")
        lines.append(f"audit record {self.record_id}")
        return "\n".join(lines)


@dataclass(frozen=True)
class RetentionPlan:
    """What a run at ``as_of`` would do (``retention run --dry-run``): nothing is changed."""

    as_of: float
    doomed: tuple[KeyRef, ...]
    kept: tuple[KeyRef, ...]  # expired, kept under hold
    vault_entries: int
    kept_by: tuple[tuple[StoredHold, int], ...]  # each hold and how many expired keys it keeps

    def text(self) -> str:
        moment = datetime.fromtimestamp(self.as_of, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines = [f"retention run --dry-run as of {moment}: {len(self.doomed)} data keys would be "
                 f"destroyed, {self.vault_entries} vault entries pruned, {len(self.kept)} "
                 "expired keys kept under hold (nothing was changed or recorded)"]
        lines += [f"  key store  {label}: {count} data keys" for label, count in
                  sorted(Counter(k.period.label for k in self.doomed).items())]
        lines += [f"  hold       {stored.hold_id} ({stored.reason}) keeps {count} expired keys"
                  for stored, count in self.kept_by]
        return "\n".join(lines)


def plan_retention_run(keys: KeyStore, vault: PersonalVault, as_of_s: float) -> RetentionPlan:
    doomed, kept = keys.expired(as_of_s, person_holds(keys, vault))
    counts: Counter[str] = Counter()
    held = held_persons(keys, vault)
    for key in kept:
        for stored, members in held:
            if stored.hold.tenant == key.tenant and (members is None or key.subject in members):
                counts[stored.hold_id] += 1
                break
    return RetentionPlan(as_of_s, tuple(doomed), tuple(kept),
                         vault.count_for_keys(k.key_id for k in doomed),
                         tuple((stored, counts[stored.hold_id]) for stored, _ in held
                               if counts[stored.hold_id]))


def retention_run(keys: KeyStore, vault: PersonalVault, audit: AuditStore) -> RetentionReport:
    """Destroy what has expired now; a hold on one identifier keeps the whole person's keys."""
    destroyed = keys.destroy_expired(person_holds(keys, vault))
    pruned = vault.prune(keys.live_key_ids())
    record_id = append_record(audit, functools.partial(
        audit_events.retention_run, as_of(keys.clock), len(destroyed.keys),
        len(destroyed.keks), destroyed.held, pruned,
        Counter(k.period.period_id for k in destroyed.keys)))
    return RetentionReport(destroyed, pruned, record_id)


def scheduled_retention_run(settings: Settings, audit: AuditStore) -> RetentionReport:
    """What ``douane worker`` runs on its timer (DOUANE_RETENTION_INTERVAL_S), appending
    through the worker's own audit writer."""
    with open_stores(settings) as (keys, vault):
        report = retention_run(keys, vault, audit)
    log.info("retention run", data_keys_destroyed=len(report.destroyed.keys),
             period_keys_destroyed=len(report.destroyed.keks), vault_entries_pruned=report.pruned,
             kept_under_hold=report.destroyed.held, audit_record=report.record_id)
    return report


def unknown_tenant(policy: LoadedPolicy | None, keys: KeyStore, tenant: str) -> str | None:
    """Why ``tenant`` cannot be meant, or None. Known: the tenants of the policy in force, and
    every tenant douane has kept something about (one may have left the policy and still have
    data)."""
    known = keys.tenants()
    # an unreadable policy must not stop an erasure: the key store still answers
    if policy is not None:
        known |= set(policy.policy.tenant_ids)
    if tenant in known:
        return None
    return f"unknown tenant {tenant!r} (known: {', '.join(sorted(known)) or 'none'})"


# --------------------------------------------------------------------------- holds


def place_hold(keys: KeyStore, audit: AuditStore, tenant: str, subject: str | None,
               reason: str) -> StoredHold:
    """Keep a tenant's (or one subject's) keys through retention runs and erasure (audited)."""
    hold = keys.add_hold(tenant, subject, reason)
    append_record(audit, functools.partial(audit_events.hold_placed, tenant, hold.hold_id,
                                           subject, reason))
    return hold


def release_hold(keys: KeyStore, audit: AuditStore, hold_id: str) -> StoredHold | None:
    """End a hold (audited); None if there is no such hold."""
    removed = keys.remove_hold(hold_id)
    if removed is not None:
        append_record(audit, functools.partial(
            audit_events.hold_released, removed.hold.tenant, removed.hold_id,
            removed.hold.subject, removed.reason))
    return removed


# --------------------------------------------------------------------------- reports


def status_text(keys: KeyStore, vault: PersonalVault) -> str:
    periods = keys.status(person_holds(keys, vault))
    lines = [f"retention status: {sum(p.keys for p in periods)} data keys in {len(periods)} "
             f"periods, {vault.count()} vault entries, {len(keys.holds())} holds"]
    for p in periods:
        until = datetime.fromtimestamp(p.period.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  key store  {p.period.label}: {p.keys} keys, {p.subjects} subjects, "
                     f"destroyed from {until}" + (f", {p.held} under hold" if p.held else "")
                     + f" (policy retention {format_duration(p.period.retention_s)})")
    return "\n".join(lines)


def policy_text(settings: Settings, loaded: LoadedPolicy | None) -> str:
    """What the policy in force says (the raw topics' retention and the encrypt operator's),
    and how long the broker really keeps each topic's records on disk (nothing when the set in
    force cannot be read: see ``PolicyInForce.text``)."""
    from streams.adapters.shredding_operator_keys import shortest_payload_retention
    from streams.adapters.topic_retention import retention_ms

    if loaded is None:
        return "  policy     the set in force cannot be read: no figure from it is shown"
    ref = loaded.reference
    lines = [f"  policy     {ref['name']} {ref['version']} (sha256 {ref['sha256'][:12]}): "
             f"encrypt-operator values kept "
             f"{format_duration(shortest_payload_retention(loaded))}"]
    wanted = retention_ms(loaded, settings.topic_layout)
    on_disk, problem = _read_on_disk(settings, sorted(wanted))
    lines += kafka_lines(settings.kafka_bootstrap, wanted, on_disk, problem)
    return "\n".join(lines)


def _read_on_disk(settings: Settings, names: list[str]) -> tuple[OnDisk | None, str | None]:
    import asyncio

    from streams.adapters.kafka_security import kafka_connection
    from streams.adapters.topic_retention import read_on_disk

    try:
        kafka = kafka_connection(settings, "admin")
        return asyncio.run(asyncio.wait_for(read_on_disk(kafka, names, BROKER_TIMEOUT_S),
                                            BROKER_TIMEOUT_S * 2)), None
    except Exception as exc:  # whatever stops the read is reported, the rest still printed
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


BROKER_TIMEOUT_S = 10.0


def _duration(ms: int) -> str:
    return format_duration(ms // 1000) if ms % 1000 == 0 else f"{ms} ms"


def kafka_lines(bootstrap: str, wanted: dict[str, int], on_disk: OnDisk | None,
                problem: str | None) -> list[str]:
    """One line per topic: the policy's retention and, read from the broker, the longest a
    record stays in the topic's files (or, plainly, why that is not known)."""
    from streams.core.retention import (
        KAFKA_DEFAULT_RETENTION_CHECK_MS,
        topic_retention_settings,
        worst_case_on_disk_ms,
    )

    lines: list[str] = []
    if on_disk is None:
        lines.append(f"  kafka      the broker at {bootstrap} could not be read ({problem}): how "
                     "long records stay on its disk is NOT known; below, what douane sets "
                     "and the longest that gives once it is set")
        check_ms = KAFKA_DEFAULT_RETENTION_CHECK_MS
        check_text = f"the broker's check, {_duration(check_ms)} by default"
    elif on_disk.retention_check_ms is None:
        check_ms = KAFKA_DEFAULT_RETENTION_CHECK_MS
        check_text = f"Kafka's default check, {_duration(check_ms)}"
        lines.append(f"  kafka      the broker at {bootstrap}: log.retention.check.interval.ms "
                     f"not readable ({on_disk.check_problem}); {_duration(check_ms)} (Kafka's "
                     "default) assumed")
    else:
        check_ms = on_disk.retention_check_ms
        check_text = f"the broker's check every {_duration(check_ms)}"
        lines.append(f"  kafka      the broker at {bootstrap} looks for expired segments every "
                     f"{_duration(check_ms)} (log.retention.check.interval.ms)")
    for topic, ms in sorted(wanted.items()):
        line = f"  kafka      {topic}: retention.ms {ms} ({_duration(ms)})"
        if on_disk is None:
            planned = topic_retention_settings(ms)
            segment, delay = int(planned["segment.ms"]), int(planned["file.delete.delay.ms"])
            worst = worst_case_on_disk_ms(ms, segment, delay, check_ms)
            lines.append(f"{line}, segment.ms {_duration(segment)}, file.delete.delay.ms "
                         f"{_duration(delay)}: at most {_duration(worst)} on disk with "
                         f"{check_text}, once set")
            continue
        config = on_disk.topics.get(topic)
        if config is None:
            lines.append(f"{line}; not on the broker yet (the worker creates it)")
            continue
        actual = config.number("retention.ms")
        if actual != ms:
            line += (f"; the broker has {_duration(actual)} (the worker sets the policy's when it "
                     "starts and on each reload)")
        worst_ms = on_disk.worst_case_ms(topic, check_ms)
        segment = config.number("segment.ms")
        delay = config.number("file.delete.delay.ms")
        settings_text = (f"segment.ms {_duration(segment)}, file.delete.delay.ms "
                         f"{_duration(delay)}")
        if worst_ms is None:
            lines.append(f"{line}, {settings_text}: NO bound on disk, records keep the "
                         f"producer's timestamps (message.timestamp.type "
                         f"{config.values.get('message.timestamp.type')}), and one stamped in "
                         "the future keeps its segment")
        else:
            lines.append(f"{line}, {settings_text}: at most {_duration(worst_ms)} on disk "
                         f"with {check_text}")
    return lines
