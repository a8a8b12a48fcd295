"""A running worker applies a changed policy set only if the set passes its own test cases and
says it changed (a new ``version``); otherwise the old set stays in force and the refusal is
audited, naming the failing cases without repeating their text."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.policy_files import load_policy_set, read_cases
from streams.adapters.policy_reload import PolicyReloader
from streams.adapters.signer import load_or_create_signer
from streams.config import project_root
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, Finding

POLICIES = project_root() / "policies"
# a case of the shipped set: city casework goes first to the administration's own servers
CASEWORK_ORDER = "providers: [sovereign-local, secnumcloud-mistral, mistral-paris]"


@dataclass
class RecordingDetection:
    """The running worker's detector as the reloader sees it: async, and asked only for the
    cases that declare no entities."""

    findings: tuple[Finding, ...] = ()
    asked: list[tuple[str, ...]] = field(default_factory=list)
    languages: tuple[str, ...] | None = None
    entities: frozenset[str] | None = None

    async def detect(self, messages: tuple[ChatMessage, ...],
                     language: str | None, tiers: bool = True) -> Detection:
        self.asked.append(tuple(m.content for m in messages))
        return Detection(language or "en", "ner+patterns", self.findings)


@dataclass
class Worker:
    policy: LoadedPolicy
    detection: RecordingDetection

    def replace_policy(self, policy: LoadedPolicy) -> None:
        self.policy = policy


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


@pytest.fixture()
def audit(tmp_path: Path) -> Iterator[GroupCommitLog]:
    store = open_sqlite_log(tmp_path / "audit.sqlite3", load_or_create_signer(
        tmp_path / "key.pem", tmp_path / "key.pub.pem"))
    yield store
    store.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def new_version(policies: Path, version: int = 2) -> None:
    edit(policies / "policy.yaml", "version: 1", f"version: {version}")


def policy_records(audit: GroupCommitLog) -> list[dict[str, Any]]:
    return [r.payload["details"] for r in audit.iter_records() if r.kind == "policy_changed"]


def reload(policies: Path, worker: Worker, audit: GroupCommitLog) -> str | None:
    return asyncio.run(PolicyReloader(policies, worker, audit, "test-app").reload())


def test_a_set_whose_own_cases_fail_is_refused_and_audited(
        policies: Path, audit: GroupCommitLog) -> None:
    old = load_policy_set(policies)
    worker = Worker(old, RecordingDetection())
    # a valid set (new version, schema and references fine) that breaks its own test case
    edit(policies / "general.yaml", CASEWORK_ORDER,
         "providers: [mistral-paris, sovereign-local, secnumcloud-mistral]")
    new_version(policies)
    assert reload(policies, worker, audit) == "refused"
    assert worker.policy is old  # the old set stays in force
    [record] = policy_records(audit)
    assert record["event"] == "refused"
    assert record["policy"]["sha256"] == old.digest
    assert record["after"]["version"] == 2
    [failed] = record["tests"]["failed"]
    assert failed["name"] == "city casework stays under French law, names and contacts replaced"
    assert failed["file"].endswith("tests/general.yaml") and failed["line"] == 2
    assert failed["differs"] == ["provider", "fallbacks"]
    assert record["tests"]["cases"] == record["tests"]["passed"] + 1
    assert any("test case 'city casework stays" in p for p in record["problems"])
    # the case's text and values stay out of the record
    written = json.dumps(record)
    assert "Jeanne Martin" not in written and "jeanne.martin@" not in written
    assert "mistral-paris" not in json.dumps(record["tests"])


def test_a_set_that_passes_its_cases_is_applied_with_the_count_audited(
        policies: Path, audit: GroupCommitLog) -> None:
    old = load_policy_set(policies)
    worker = Worker(old, RecordingDetection())
    edit(policies / "general.yaml", "max_prompt_chars: 60000", "max_prompt_chars: 50000")
    new_version(policies)
    assert reload(policies, worker, audit) == "applied"
    assert worker.policy.digest != old.digest and worker.policy.policy.version == 2
    [record] = policy_records(audit)
    assert record["event"] == "applied"
    assert record["tests"]["cases"] == record["tests"]["passed"] == len(read_cases(policies)[0])
    assert record["tests"]["failed"] == []


def test_a_changed_set_with_the_same_version_is_refused(
        policies: Path, audit: GroupCommitLog) -> None:
    old = load_policy_set(policies)
    worker = Worker(old, RecordingDetection())
    edit(policies / "general.yaml", "max_prompt_chars: 60000", "max_prompt_chars: 50000")
    assert reload(policies, worker, audit) == "refused"
    assert worker.policy is old
    [record] = policy_records(audit)
    [problem] = record["problems"]
    assert "but its version is still 1: raise 'version'" in problem
    # the same content under another version is a change like any other
    new_version(policies)
    assert reload(policies, worker, audit) == "applied"


def test_cases_without_entities_use_the_running_detector(
        policies: Path, audit: GroupCommitLog) -> None:
    old = load_policy_set(policies)
    text = "Write to Ana Sol about her appointment."
    (policies / "tests" / "detected.yaml").write_text(json.dumps({"cases": [{
        "name": "names the detector finds are replaced",
        "request": {"tenant": "ministry-of-health", "text": text},
        "expect": {"decision": "forward", "redacted": ["PERSON"]}}]}), "utf-8")
    new_version(policies)
    finds_the_name = RecordingDetection((Finding(0, "PERSON", 9, 16, 0.9),))
    assert reload(policies, Worker(old, finds_the_name), audit) == "applied"
    assert finds_the_name.asked == [(text,)]
    # the same set, judged with a detector that finds nothing: its case fails
    finds_nothing = Worker(old, RecordingDetection())
    assert reload(policies, finds_nothing, audit) == "refused"
    assert finds_nothing.policy is old
    assert policy_records(audit)[-1]["tests"]["failed"][0]["differs"] == ["redacted"]


def test_a_test_file_that_cannot_be_read_refuses_the_set(
        policies: Path, audit: GroupCommitLog) -> None:
    old = load_policy_set(policies)
    worker = Worker(old, RecordingDetection())
    (policies / "tests" / "broken.yaml").write_text("cases: [", "utf-8")
    new_version(policies)
    assert reload(policies, worker, audit) == "refused"
    assert worker.policy is old
    assert any("broken.yaml" in p for p in policy_records(audit)[-1]["problems"])
