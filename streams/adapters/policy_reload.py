"""Reloading the policy set while the worker runs.

Every few seconds the worker compares a fingerprint of the policy files with the last one.
A change is read only once the files have stopped changing for a moment (a team copying
several files is not caught half-way), then the whole set is validated. A valid set replaces
the old one in a single assignment: each request is judged by exactly one set. An invalid set
- or one that needs a restart (a new provider needs its forward topic consumed; new languages
or entity types need the detector reloaded) - is refused and the old set stays in force.
Applied and refused changes are both logged and written to the audit log
(``policy_changed``), with the hashes before and after and which process loaded them.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from streams.adapters.audit.protocols import AuditStore
from streams.adapters.policy_files import fingerprint, load_policy_set
from streams.core.audit import AuditEvent
from streams.core.policy import LoadedPolicy, PolicyError

log = structlog.get_logger(__name__)
MAX_PROBLEMS_RECORDED = 20


class PolicyHolder(Protocol):
    policy: LoadedPolicy
    detection: Any  # what it detects: ``languages`` and ``entities`` (None when not known)

    def replace_policy(self, policy: LoadedPolicy) -> None: ...


def policy_event(
    event: str, before: LoadedPolicy | None, after: LoadedPolicy | None, source: Path,
    app_id: str, problems: list[str] | None = None, now: datetime | None = None,
) -> AuditEvent:
    moment = now or datetime.now(UTC)
    loader = {"process": "douane worker", "app_id": app_id, "host": socket.gethostname(),
              "pid": os.getpid()}
    in_force = after or before
    details: dict[str, Any] = {
        "event": event,  # loaded (at start) | applied (hot reload) | refused
        "before": before.reference if before else None,
        "after": after.reference if after else None,
        "policy": in_force.reference if in_force else None,
        "source": str(source),
        "files": [{"path": p, "sha256": h} for p, h in (after.files if after else ())],
        "loaded_by": loader,
    }
    if problems:
        details["problems"] = problems[:MAX_PROBLEMS_RECORDED]
        details["problem_count"] = len(problems)
    stamp = moment.strftime("%Y%m%dT%H%M%S.%fZ")
    return AuditEvent(record_id=f"policy/{app_id}/{loader['host']}/{loader['pid']}/{stamp}",
                      kind="policy_changed", request_id=None, tenant=None, occurred_at=moment,
                      details=details)


def restart_needed(holder: PolicyHolder, new: LoadedPolicy) -> list[str]:
    """What in ``new`` this running worker cannot take without a restart."""
    problems = []
    known = {p.id for p in holder.policy.policy.providers}
    added = [p.id for p in new.policy.providers if p.id not in known]
    if added:
        problems.append(f"new provider(s) {', '.join(added)}: their forward topics are consumed "
                        "after a restart of the worker")
    languages = getattr(holder.detection, "languages", None)
    if languages is not None:
        missing = [lang for lang in new.policy.detection.languages if lang not in languages]
        if missing:
            problems.append(f"new detection language(s) {', '.join(missing)}: restart to load "
                            "their models")
    entities = getattr(holder.detection, "entities", None)
    if entities is not None:
        missing = sorted(new.policy.entity_types - set(entities))
        if missing:
            problems.append(f"new entity type(s) {', '.join(missing)}: restart to load their "
                            "recognizers")
    return problems


class PolicyReloader:
    def __init__(
        self, path: Path, holder: PolicyHolder, audit: AuditStore, app_id: str,
        on_applied: Callable[[LoadedPolicy], Awaitable[None]] | None = None,
        settle_s: float = 1.0,
    ) -> None:
        self.path = path
        self.holder = holder
        self.audit = audit
        self.app_id = app_id
        self.on_applied = on_applied
        self.settle_s = settle_s
        self.seen = fingerprint(path)
        self._pending: tuple[str, float] | None = None

    async def check(self) -> str | None:
        """Called periodically; returns "applied", "refused" or None (nothing to do yet)."""
        now = fingerprint(self.path)
        if now == self.seen:
            self._pending = None
            return None
        if self._pending is None or self._pending[0] != now:
            self._pending = (now, time.monotonic())
            return None
        if time.monotonic() - self._pending[1] < self.settle_s:
            return None
        self.seen, self._pending = now, None
        return await self.reload()

    async def reload(self) -> str | None:
        old = self.holder.policy
        try:
            new = load_policy_set(self.path)
        except PolicyError as error:
            return self._refuse(old, None, error.problems)
        if new.digest == old.digest:
            log.info("policy files changed, policy unchanged", sha256=new.digest)
            return None
        problems = restart_needed(self.holder, new)
        if problems:
            return self._refuse(old, new, problems)
        self.holder.replace_policy(new)
        self.audit.append(policy_event("applied", old, new, self.path, self.app_id))
        log.info("policy reloaded", before=old.reference, after=new.reference)
        if self.on_applied is not None:
            await self.on_applied(new)
        return "applied"

    def _refuse(self, old: LoadedPolicy, new: LoadedPolicy | None, problems: list[str]) -> str:
        log.error("policy change refused; the previous policy stays in force",
                  policy=old.reference, problems=problems[:MAX_PROBLEMS_RECORDED],
                  problem_count=len(problems))
        event = policy_event("refused", old, new, self.path, self.app_id, problems)
        self.audit.append(AuditEvent(event.record_id, event.kind, None, None, event.occurred_at,
                                     {**event.details, "policy": old.reference}))
        return "refused"
