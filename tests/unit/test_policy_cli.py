"""douane policy validate / test / explain / diff on the shipped set and on broken ones."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from streams.adapters.audit.sqlite import SqliteAuditStore
from streams.adapters.signer import load_or_create_signer
from streams.cli import main
from streams.config import project_root
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest

POLICIES = project_root() / "policies"


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    """``main`` configures structlog on the captured stdout; later tests must not log to it."""
    yield
    structlog.reset_defaults()


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def test_validate_the_shipped_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert "valid - policy 'national-administration' v1, sha256 " in out
    assert "warning" not in out  # every tenant handling personal data has a minimum


def test_validate_warns_of_a_tenant_handling_personal_data_without_a_minimum(
        copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    organisation = copy / "organisation.yaml"
    text = organisation.read_text()
    organisation.write_text(text.replace(
        "    default_classification: sensitive\n    minimum_classification: personal\n",
        "    default_classification: sensitive\n", 1))
    assert main(["policy", "validate", str(copy)]) == 0  # valid, but a reviewer must look
    out = capsys.readouterr().out.replace(str(copy.parent) + "/", "")
    assert "1 warning(s):" in out
    assert re.search(r"policies/organisation\.yaml:\d+:5: tenants\[0\]: tenant "
                     r"'ministry-of-health' handles personal data \(default_classification "
                     r"'sensitive'\) but has no minimum_classification", out), out


def test_validate_reports_every_problem_and_fails(copy: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    health = copy / "health.yaml"
    health.write_text(health.read_text().replace("FR_NIR: {", "FR_NIRR: {").replace(
        "jurisdictions: [FR]", "jurisdictions: [FR]\n      providers: [openai-us]"))
    assert main(["policy", "validate", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "2 problem(s)" in out
    assert re.search(r"health\.yaml:\d+:19: rules\[1\]\.residency\.providers\[0\]: unknown "
                     r"provider 'openai-us'", out)
    assert "rules[1].redaction.FR_NIRR: unknown entity type 'FR_NIRR'" in out


def test_the_shipped_test_cases_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and " 0 failed" in out


def test_a_failing_case_prints_a_diff(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    general = copy / "general.yaml"
    general.write_text(general.read_text().replace(
        "providers: [sovereign-local, secnumcloud-mistral, mistral-paris]",
        "providers: [mistral-paris, sovereign-local, secnumcloud-mistral]"))
    assert main(["policy", "test", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "FAIL policies/tests/general.yaml:2: city casework stays under French law" in \
        out.replace(str(copy.parent) + "/", "")
    assert "-provider: sovereign-local\n" in out.replace("     ", "")
    assert "+provider: mistral-paris\n" in out.replace("     ", "")


def test_explain_lists_rules_exclusions_and_operators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({
        "request": {"id": "q1", "tenant": "ministry-of-health", "text": "Letter to Ana Sol."},
        "entities": {"PERSON": ["Ana Sol"]}}))
    assert main(["policy", "explain", str(request), "--policy", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert "decision: FORWARD" in out
    assert "'health-data-stays-on-hds-hardware' (policies/health.yaml rules[1]): decided " \
        "residency" in out
    assert "excluded mistral-paris: retains submitted data for 30 days (require.no_retention); " \
        "lacks attestation hds (require.attestations)" in out
    assert "excluded openai-eu: jurisdiction US not in allowed [FR]" in out
    assert "PERSON x1: placeholder" in out
    assert "[user] Letter to <PERSON_1>." in out


def test_diff_shows_changed_cases_and_recorded_decisions(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from streams.adapters.policy_files import load_policy_set
    from streams.core.decision import decide

    # a recorded decision under the shipped policy: city casework went to sovereign-local
    db, key = tmp_path / "audit.sqlite3", tmp_path / "key.pem"
    store = SqliteAuditStore(db, load_or_create_signer(key, tmp_path / "key.pub.pem"))
    text = "Reply to Ana Sol."
    request = GovernedRequest("old-1", "city-of-lyon", (ChatMessage("user", text),))
    detection = Detection("en", "ner+patterns", (Finding(0, "PERSON", 9, 16, 0.9),))
    decision = decide(request, detection, load_policy_set(POLICIES))
    store.append(decision.audit_event(datetime(2025, 3, 1, tzinfo=UTC)))
    store.close()
    # the new policy no longer allows personal data outside our own servers, and bans names
    general = copy / "general.yaml"
    general.write_text(general.read_text().replace(
        "providers: [sovereign-local, secnumcloud-mistral, mistral-paris]",
        "providers: [secnumcloud-mistral]").replace(
        "      PERSON: {min_score: 0.5, operator: placeholder}",
        "      PERSON: {min_score: 0.5, operator: drop}"))
    assert main(["policy", "diff", str(POLICIES), str(copy), "--audit-db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "CHANGED" in out and "city casework stays under French law" in out
    assert 'provider: "sovereign-local" -> "secnumcloud-mistral"' in out
    assert "old-1 (2025-03-01T00:00:00.000000Z, city-of-lyon, decided by v1): forward via " \
        "sovereign-local -> forward via secnumcloud-mistral" in out
    assert 'operators: {"PERSON": "placeholder"} -> {"PERSON": "drop"}' in out
    assert "1 of 1 recorded decision(s) would change" in out
