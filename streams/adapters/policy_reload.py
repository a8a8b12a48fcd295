"""Reloading the policy set while the worker runs.

Every few seconds the worker compares a fingerprint of the policy files with the last one.
A change is read only once the files have stopped changing for a moment (a team copying
several files is not caught half-way), then the whole set is validated and its own test cases
(``tests/*.yaml`` beside it, as ``douane policy test`` runs them) are run against it, with this
worker's detector for the cases that declare no entities. A valid set whose cases all pass
replaces the old one in a single assignment: each request is judged by exactly one set.
The old set stays in force, and the change is refused, when the new set is invalid, when one
of its cases fails (or a test file cannot be read), when its content changed but its
``version`` did not (two different sets would carry the same name in the audit log), or when
it needs a restart (a new provider needs its forward topic consumed; new languages or entity
types need the detector reloaded). Applied and refused changes are both logged and written to
the audit log (``policy_changed``), with the hashes before and after, which process loaded
them, and the test cases run: how many, and for each failing one its file, line, name and the
``expect`` keys that differed - never the expected or actual values, which can repeat the
case's text.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from streams.adapters.audit.protocols import AuditStore
from streams.adapters.policy_files import fingerprint, load_policy_set, read_cases
from streams.core import audit_events
from streams.core.audit import AuditEvent
from streams.core.audit_events import MAX_PROBLEMS_RECORDED
from streams.core.decision import detection_depth
from streams.core.entities import wants_possible_names
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection
from streams.core.policy import PolicyError
from streams.core.policy_cases import Case, CaseResult, run_case

log = structlog.get_logger(__name__)


class PolicyHolder(Protocol):
    policy: LoadedPolicy
    # the running detector: async ``detect(messages, language, tiers=...)`` (for the test cases that
    # declare no entities), and what it detects: ``languages`` and ``entities`` (None when
    # not known)
    detection: Any

    def replace_policy(self, policy: LoadedPolicy) -> None: ...


def shadow_event(in_force: LoadedPolicy, shadow: LoadedPolicy, source: Path, app_id: str,
                 limits: list[str]) -> AuditEvent:
    """``policy_changed`` with event ``shadow-loaded``, loaded by this process now."""
    return audit_events.shadow_loaded(in_force.reference, shadow.reference, shadow.files,
                                      limits, str(source), _loader(app_id), datetime.now(UTC))


def policy_event(
    event: str, before: LoadedPolicy | None, after: LoadedPolicy | None, source: Path,
    app_id: str, problems: list[str] | None = None, now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """``policy_changed`` (loaded, applied or refused), loaded by this process."""
    return audit_events.policy_changed(
        event, before.reference if before else None, after.reference if after else None,
        after.files if after else (), str(source), _loader(app_id), now or datetime.now(UTC),
        problems or (), extra)


def _loader(app_id: str) -> dict[str, Any]:
    """Which process loads a policy set, for its ``policy_changed`` record."""
    return {"process": "douane worker", "app_id": app_id, "host": socket.gethostname(),
            "pid": os.getpid()}


def version_problem(old: LoadedPolicy, new: LoadedPolicy) -> list[str]:
    """A set whose content changed must say so in its ``version``: records name the set by
    name and version, and two different sets must not share one."""
    problem = same_version_problem(old.reference, new.reference, new.source)
    return [problem] if problem else []


def same_version_problem(running: dict[str, Any], new: dict[str, Any],
                         source: str) -> str | None:
    """``version_problem`` on references ({name, version, sha256}), e.g. one read from the
    audit log."""
    if new.get("sha256") == running.get("sha256") or new.get("name") != running.get("name") \
            or new.get("version") != running.get("version"):
        return None
    return (f"the set changed (sha256 {str(running.get('sha256'))[:12]}... -> "
            f"{str(new.get('sha256'))[:12]}...) but its version is still "
            f"{running.get('version')}: raise 'version' in {source} to roll it out")


def restart_needed(holder: PolicyHolder, new: LoadedPolicy) -> list[str]:
    """What in ``new`` this running worker cannot take without a restart."""
    problems = []
    known = {p.id for p in holder.policy.policy.providers}
    added = [p.id for p in new.policy.providers if p.id not in known]
    if added:
        problems.append(f"new provider(s) {', '.join(added)}: their forward topics are consumed "
                        "after a restart of the worker")
    return problems + detection_gaps(holder.detection, new)


def detection_gaps(detection: Any, new: LoadedPolicy) -> list[str]:
    """Languages and entity types ``new`` needs that the running detection did not load."""
    problems = []
    languages = getattr(detection, "languages", None)
    if languages is not None:
        missing = [lang for lang in new.policy.detection.languages if lang not in languages]
        if missing:
            problems.append(f"new detection language(s) {', '.join(missing)}: restart to load "
                            "their models")
    entities = getattr(detection, "entities", None)
    if entities is not None:
        missing = sorted(new.policy.entity_types - set(entities))
        if missing:
            problems.append(f"new entity type(s) {', '.join(missing)}: restart to load their "
                            "recognizers")
    lowest_person = new.policy.lowest_min_score("PERSON")
    if getattr(detection, "possible_names", None) is False and \
            wants_possible_names(lowest_person):
        problems.append(f"PERSON redacted from min_score {lowest_person}: restart to look for "
                        "possible names (recognizers/possible_names.py)")
    return problems


@dataclass
class OwnCases:
    """What the new set's own test cases said: audited with the change, applied or refused."""

    total: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"cases": self.total, "passed": self.total - len(self.failed),
                "failed": self.failed[:MAX_PROBLEMS_RECORDED],
                "file_errors": len(self.file_errors)}

    def problems(self) -> list[str]:
        lines = [f"{len(self.failed)} of {self.total} of the set's own test case(s) fail "
                 "(douane policy test shows why)"] if self.failed else []
        lines.extend(f"{f['file']}:{f['line']}: test case '{f['name']}' fails "
                     f"({', '.join(f['differs'])} differ)" for f in self.failed)
        lines.extend(f"test file: {error}" for error in self.file_errors)
        return lines


class _Given:
    """A detection made already (by the running detector, at the case's depth), as a case's
    detector."""

    def __init__(self, found: Detection) -> None:
        self.found = found

    def __call__(self, messages: tuple[ChatMessage, ...], language: str | None, *,
                 tiers: bool = True) -> Detection:
        return self.found


async def run_own_cases(cases: list[Case], file_errors: list[str], loaded: LoadedPolicy,
                        detection: Any) -> OwnCases:
    """Run ``cases`` against ``loaded``. A case without declared entities uses the running
    detector (awaited, batched with live traffic); the decisions themselves are pure and run
    off the event loop."""
    detected: dict[int, Detection | Exception] = {}
    for index, case in enumerate(cases):
        if case.entities is None:
            if detection is None or not hasattr(detection, "detect"):
                detected[index] = RuntimeError("no detector")
                continue
            try:
                request = case.request
                # as deep as the new set reads such a request (its rules' ``detection``)
                detected[index] = await detection.detect(
                    request.messages, request.language, tiers=detection_depth(
                        loaded, request.tenant, request.purpose,
                        request.classification) != "fast")
            except Exception as error:  # fail closed: the case fails, the set is refused
                detected[index] = error

    def judge() -> list[CaseResult]:
        results = []
        for index, case in enumerate(cases):
            found = detected.get(index)
            if isinstance(found, Exception):
                results.append(CaseResult(case, {}, None, f"detection failed "
                                          f"({type(found).__name__})"))
                continue

            results.append(run_case(case, loaded,
                                    _Given(found) if found is not None else None))
        return results

    results = await asyncio.to_thread(judge)
    failed = [{"file": r.case.file, "line": r.case.line, "name": r.case.name,
               "differs": r.failed_keys()} for r in results if not r.passed]
    return OwnCases(len(cases), failed, list(file_errors))


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
        try:  # files read off the event loop: the set and its test cases, at the same moment
            new, (cases, file_errors) = await asyncio.to_thread(
                lambda: (load_policy_set(self.path), read_cases(self.path)))
        except PolicyError as error:
            return self._refuse(old, None, error.problems)
        if new.digest == old.digest:
            log.info("policy files changed, policy unchanged", sha256=new.digest)
            return None
        problems = version_problem(old, new) + restart_needed(self.holder, new)
        if problems:
            return self._refuse(old, new, problems)
        own = await run_own_cases(cases, file_errors, new, self.holder.detection)
        if own.failed or own.file_errors:
            return self._refuse(old, new, own.problems(), {"tests": own.as_json()})
        self.holder.replace_policy(new)
        self.audit.append(policy_event("applied", old, new, self.path, self.app_id,
                                       extra={"tests": own.as_json()}))
        log.info("policy reloaded", before=old.reference, after=new.reference,
                 test_cases=own.total)
        if self.on_applied is not None:
            await self.on_applied(new)
        return "applied"

    def _refuse(self, old: LoadedPolicy, new: LoadedPolicy | None, problems: list[str],
                extra: dict[str, Any] | None = None) -> str:
        log.error("policy change refused; the previous policy stays in force",
                  policy=old.reference, problems=problems[:MAX_PROBLEMS_RECORDED],
                  problem_count=len(problems))
        self.audit.append(audit_events.policy_refused(
            old.reference, new.reference if new else None, new.files if new else (),
            str(self.path), _loader(self.app_id), datetime.now(UTC), problems, extra))
        return "refused"
