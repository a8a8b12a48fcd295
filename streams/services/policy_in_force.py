"""The policy set the worker runs, as the audit log records it: what the DPO commands read.

A worker writes a ``policy_changed`` record when it starts (``loaded``) and when it applies a
new set (``applied``), naming the set (name, version, sha256) and the folder it read
(``source``). The DPO commands take the latest such record, read the set from that folder and
use it only if its hash is the recorded one; the current folder, or ``DOUANE_POLICY``, counts
only when it holds that very set. When no file holds it any more, they say so and show no
figure from a policy, rather than figures from a set no worker runs. With no record at all (no
worker has started on this log) they read ``DOUANE_POLICY`` and say that it is not known to be
in force.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.adapters.audit.protocols import AuditQuery
from streams.config import Settings
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy import PolicyError

RUNNING_EVENTS = ("loaded", "applied")


@dataclass(frozen=True)
class PolicyInForce:
    loaded: LoadedPolicy | None  # None: the set in force is on no disk this command can read
    recorded: dict[str, Any] | None  # the reference the log names; None: no worker recorded one
    since: str | None  # when the worker loaded or applied it
    record_id: str | None
    path: str | None  # where this command read it

    @property
    def reference(self) -> dict[str, Any] | None:
        return self.recorded or (self.loaded.reference if self.loaded else None)

    def text(self) -> str:
        """One line for people: which set, and why this one."""
        if self.recorded is None:
            if self.loaded is None:
                return (f"policy: none - no worker has recorded loading a policy in the audit "
                        f"log, and {self.path} cannot be read")
            return (f"policy: {_named(self.loaded.reference)} read from {self.path} - no worker "
                    "has recorded loading a policy in the audit log, so this set is not known "
                    "to be in force")
        named = _named(self.recorded)
        if self.loaded is None:
            return (f"policy: the worker runs {named} (since {self.since}, audit record "
                    f"{self.record_id}), but no policy folder this command can read holds that "
                    f"set any more ({self.path}): figures from the policy are not shown")
        return (f"policy: {named}, in force in the worker since {self.since} (audit record "
                f"{self.record_id}), read from {self.path}")

    def summary(self) -> dict[str, Any]:
        """For JSON outputs."""
        return {"reference": self.reference, "in_force_since": self.since,
                "audit_record": self.record_id, "read_from": self.path,
                "readable": self.loaded is not None, "note": self.text()}


def _named(reference: dict[str, Any]) -> str:
    return (f"{reference.get('name')} {reference.get('version')} "
            f"(sha256 {str(reference.get('sha256'))[:12]})")


def _latest_running(settings: Settings) -> tuple[dict[str, Any], str, str, str] | None:
    """(reference, source folder, occurred_at, record id) of the latest loaded/applied record."""
    if not audit_log_exists(settings):
        return None
    latest = None
    with open_audit_reader(settings) as reader:
        for record in reader.query(AuditQuery(kinds=("policy_changed",))):
            details = record.payload.get("details") or {}
            if details.get("event") in RUNNING_EVENTS and isinstance(details.get("policy"), dict):
                latest = (details["policy"], str(details.get("source") or ""),
                          str(record.payload.get("occurred_at")), record.record_id)
    return latest


def _read(path: Path) -> LoadedPolicy | None:
    from streams.adapters.policy_files import load_policy_set

    with contextlib.suppress(PolicyError, OSError):
        return load_policy_set(path)
    return None


def policy_in_force(settings: Settings) -> PolicyInForce:
    running = _latest_running(settings)
    if running is None:
        loaded = _read(settings.policy_path)
        return PolicyInForce(loaded, None, None, None, str(settings.policy_path))
    reference, source, since, record_id = running
    tried = []
    for candidate in dict.fromkeys(p for p in (source, str(settings.policy_path)) if p):
        tried.append(candidate)
        loaded = _read(Path(candidate))
        if loaded is not None and loaded.digest == reference.get("sha256"):
            return PolicyInForce(loaded, reference, since, record_id, candidate)
    return PolicyInForce(None, reference, since, record_id, " nor ".join(tried))


@dataclass(frozen=True)
class PolicyChange:
    """One ``policy_changed`` record: a set loaded, applied, refused or loaded in shadow."""

    record_id: str
    occurred_at: str
    event: str
    policy: dict[str, Any] | None  # the set in force after it
    before: dict[str, Any] | None
    files: dict[str, str]  # path -> sha256 of the new set's files
    source: str
    problems: tuple[str, ...]


def policy_changes(settings: Settings) -> list[PolicyChange]:
    """Every ``policy_changed`` record of the log, newest first."""
    if not audit_log_exists(settings):
        return []
    found = []
    with open_audit_reader(settings) as reader:
        for record in reader.query(AuditQuery(kinds=("policy_changed",))):
            details = record.payload.get("details") or {}
            found.append(PolicyChange(
                record.record_id, str(record.payload.get("occurred_at")),
                str(details.get("event")), _reference(details.get("policy")),
                _reference(details.get("before")),
                {str(f.get("path")): str(f.get("sha256")) for f in details.get("files") or ()
                 if isinstance(f, dict)},
                str(details.get("source") or ""), tuple(details.get("problems") or ())))
    return found[::-1]


def _reference(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def compare_files(older: PolicyChange, newer: PolicyChange) -> list[tuple[str, str]]:
    """(path, added|removed|changed) for each file that differs between two recorded sets."""
    paths = sorted(set(older.files) | set(newer.files))
    return [(p, "added" if p not in older.files else "removed" if p not in newer.files
             else "changed") for p in paths if older.files.get(p) != newer.files.get(p)]
