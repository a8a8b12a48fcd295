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
import yaml

from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.signer import load_or_create_signer
from streams.cli import main
from streams.config import project_root
from streams.core.audit_events import decided
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
    store = open_sqlite_log(db, load_or_create_signer(key, tmp_path / "key.pub.pem"))
    text = "Reply to Ana Sol."
    request = GovernedRequest("old-1", "city-of-lyon", (ChatMessage("user", text),))
    detection = Detection("en", "ner+patterns", (Finding(0, "PERSON", 9, 16, 0.9),))
    decision = decide(request, detection, load_policy_set(POLICIES))
    store.append(decided(decision, datetime(2025, 3, 1, tzinfo=UTC)))
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
    old_sha = load_policy_set(POLICIES).digest[:12]
    assert f"old-1 (2025-03-01T00:00:00.000000Z, city-of-lyon, recorded under OLD (sha256 " \
        f"{old_sha}...)): OLD forward via sovereign-local -> NEW forward via " \
        "secnumcloud-mistral" in out
    assert 'operators: {"PERSON": "placeholder"} -> {"PERSON": "drop"}' in out
    assert "1 of 1 recorded request(s) would be decided differently by NEW than by OLD" in out


def test_diff_compares_old_and_new_on_the_same_inputs_whoever_recorded_them(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A decision recorded by a third set is replayed under OLD and under NEW, and the two
    replays are compared; the third set is named by its hash, not taken for OLD."""
    from streams.adapters.policy_files import load_policy_set
    from streams.core.decision import decide

    shipped = load_policy_set(POLICIES)
    # a third set decided it: city casework went to secnumcloud-mistral
    third_path = tmp_path / "third"
    shutil.copytree(POLICIES, third_path)
    general = third_path / "general.yaml"
    general.write_text(general.read_text().replace(
        "providers: [sovereign-local, secnumcloud-mistral, mistral-paris]",
        "providers: [secnumcloud-mistral]"))
    (third_path / "policy.yaml").write_text(
        (third_path / "policy.yaml").read_text().replace("version: 1", "version: 7"))
    third = load_policy_set(third_path)
    db, key = tmp_path / "audit.sqlite3", tmp_path / "key.pem"
    store = open_sqlite_log(db, load_or_create_signer(key, tmp_path / "key.pub.pem"))
    request = GovernedRequest("third-1", "city-of-lyon",
                              (ChatMessage("user", "Reply to Ana Sol."),))
    detection = Detection("en", "ner+patterns", (Finding(0, "PERSON", 9, 16, 0.9),))
    store.append(decided(decide(request, detection, third), datetime(2025, 3, 1, tzinfo=UTC)))
    store.close()
    # NEW changes only the prompt limit: OLD and NEW decide this request alike (sovereign-local),
    # although the recorded decision (secnumcloud-mistral) differs from both
    (copy / "general.yaml").write_text((copy / "general.yaml").read_text().replace(
        "max_prompt_chars: 60000", "max_prompt_chars: 50000"))
    assert main(["policy", "diff", str(POLICIES), str(copy), "--audit-db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"OLD: sha256 {shipped.digest[:12]}... ('national-administration' v1)" in out
    assert "none of 1 recorded request(s) would be decided differently" in out
    assert f"recorded under: another set, sha256 {third.digest[:12]}... " \
        "('national-administration' v7): 1" in out
    assert "third-1" not in out


def test_run_selects_cases_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test", str(POLICIES), "--run", "^public information"]) == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("PASS")] == [
        "PASS policies/tests/general.yaml:41: public information goes to our own servers first",
        "PASS policies/tests/general.yaml:53: public information may fall back to contracted "
        "providers"]
    assert "2 passed, 0 failed" in out
    assert main(["policy", "test", str(POLICIES), "--run", "(unclosed"]) == 2
    assert "'(unclosed' is not a regular expression" in capsys.readouterr().err


def test_verbose_shows_the_rules_that_decided_each_case(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test", str(POLICIES), "-v", "--run", "city casework"]) == 0
    out = capsys.readouterr().out
    assert "PASS policies/tests/general.yaml:2: city casework" in out
    assert "rule 'baseline-personal' (policies/general.yaml rules[2]): residency\n" in out
    assert "rule 'baseline' (policies/general.yaml rules[5]): redaction.PERSON, " \
        "redaction.EMAIL_ADDRESS, redaction.PHONE_NUMBER, retention.audit_metadata" in out
    assert "reason routed: classification 'personal' may go to sovereign-local" in out


def test_coverage_names_the_rules_no_case_exercises(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test", str(POLICIES)]) == 0
    assert "coverage: 14 of 14 rules decided something" in capsys.readouterr().out
    assert main(["policy", "test", str(POLICIES), "--format", "json", "--run",
                 "city casework"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"cases": 1, "passed": 1, "failed": 0, "file_errors": 0}
    [case] = report["cases"]
    assert [r["rule"] for r in case["rules"]] == ["baseline-personal", "baseline"]
    assert report["coverage"]["exercised"] == 2 and report["coverage"]["rules"] == 14
    assert {"rule": "secret-never-leaves", "where": "'secret-never-leaves' "
            "(policies/guardrails.yaml rules[0])"} in report["coverage"]["not_exercised"]


def test_a_typo_in_one_case_fails_that_case_only(
        copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / "tests" / "typo.yaml").write_text(yaml.safe_dump({"cases": [
        {"name": "typo", "request": {"tenant": "city-of-lyon", "text": "Hello."},
         "entities": {}, "expect": {"decision": "forward", "provder": "sovereign-local"}},
        {"name": "sound", "request": {"tenant": "city-of-lyon", "text": "Hello."},
         "entities": {}, "expect": {"decision": "forward", "provider": "sovereign-local"}},
    ]}), "utf-8")
    assert main(["policy", "test", str(copy), "--run", "^(typo|sound)$"]) == 1
    out = capsys.readouterr().out.replace(str(copy.parent) + "/", "")
    assert "FAIL policies/tests/typo.yaml:2: typo\n" in out
    assert "cases[0].expect: unknown key 'provder' (did you mean 'provider'?)" in out
    assert re.search(r"PASS policies/tests/typo.yaml:\d+: sound\n", out)
    assert "1 passed, 1 failed, 0 file error(s)" in out


def test_junit_output_for_ci(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xml.etree import ElementTree

    general = copy / "general.yaml"
    general.write_text(general.read_text().replace(
        "providers: [sovereign-local, secnumcloud-mistral, mistral-paris]",
        "providers: [mistral-paris, sovereign-local, secnumcloud-mistral]"))
    assert main(["policy", "test", str(copy), "--format", "junit"]) == 1
    root = ElementTree.fromstring(capsys.readouterr().out)
    assert root.tag == "testsuites" and root.get("failures") == "1" and root.get("errors") == "0"
    suite = next(s for s in root.iter("testsuite") if s.get("name", "").endswith(
        "tests/general.yaml"))
    failing = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == [
        "city casework stays under French law, names and contacts replaced"]
    failure = failing[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "expectations differ: provider, fallbacks"
    assert "+provider: mistral-paris" in (failure.text or "")
    assert int(root.get("tests", "0")) == sum(
        int(s.get("tests", "0")) for s in root.iter("testsuite"))


def test_validate_against_the_running_set_needs_a_new_version(
        copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from streams.adapters.policy_files import load_policy_set
    from streams.adapters.policy_reload import policy_event

    general = copy / "general.yaml"
    general.write_text(general.read_text().replace("max_prompt_chars: 60000",
                                                   "max_prompt_chars: 50000"))
    assert main(["policy", "validate", str(copy), "--running", str(POLICIES)]) == 1
    out = capsys.readouterr().out
    assert "but its version is still 1: raise 'version'" in out
    # the running set as a worker recorded it in the audit log
    db = tmp_path / "audit.sqlite3"
    store = open_sqlite_log(db, load_or_create_signer(tmp_path / "k.pem", tmp_path / "k.pub"))
    store.append(policy_event("loaded", None, load_policy_set(POLICIES), POLICIES, "app"))
    store.close()
    assert main(["policy", "validate", str(copy), "--running", "audit",
                 "--audit-db", str(db)]) == 1
    out = capsys.readouterr().out
    assert f"running: sha256 {load_policy_set(POLICIES).digest[:12]}... " \
        "('national-administration' v1) (in force since " in out
    assert "but its version is still 1" in out
    manifest = copy / "policy.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1", "version: 2"))
    assert main(["policy", "validate", str(copy), "--running", "audit",
                 "--audit-db", str(db)]) == 0
    # the running set itself is not a change
    assert main(["policy", "validate", str(POLICIES), "--running", str(POLICIES)]) == 0
