"""``douane report`` on a real signed SQLite log holding the hand-computed log of
``tests/transparency_log.py``: the same figures from the log and from an evidence bundle of
the period (checked first), the checkpoint it names, and the three output forms."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from transparency_log import LOG, POLICY_TEXT

from streams import cli
from streams.adapters.audit.open import open_audit_reader
from streams.adapters.policy_files import parse_policy
from streams.config import load_settings
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.core.transparency import compute_report
from streams.services.audit_log import open_writer
from streams.services.report_formats import CSV_COLUMNS

START = datetime(2026, 11, 10, 9, tzinfo=UTC)
PERIOD = ("--since", "2026-11-01", "--until", "2026-12-01")


def event(payload: dict[str, Any], at: datetime) -> AuditEvent:
    return AuditEvent(payload["record_id"], payload["kind"], payload["request_id"],
                      payload["tenant"], at, payload["details"])


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY_TEXT)
    reference = parse_policy(POLICY_TEXT, str(policy_file)).reference
    monkeypatch.setenv("DOUANE_HOME", str(home))
    monkeypatch.setenv("DOUANE_POLICY", str(policy_file))
    settings = load_settings({"DOUANE_HOME": str(home)})
    outside = {"kind": "answered", "request_id": "old", "tenant": "city",
               "details": {"provider": "virginia", "model": "gpt", "usage": None, "cost": None}}
    with open_writer(settings, WORKER) as log:
        # before and after the period: never counted
        log.append(event({**outside, "record_id": "old/answered"}, datetime(2026, 10, 5,
                                                                             tzinfo=UTC)))
        for i, payload in enumerate(LOG):
            if payload["kind"] == "policy_changed":  # the worker's record of the set it runs
                payload = {**payload, "details": {"event": "loaded", "policy": reference,
                                                  "source": str(policy_file)}}
            log.append(event(payload, START + timedelta(minutes=i)))
        log.append(event({**outside, "record_id": "late/answered", "request_id": "late"},
                         datetime(2026, 12, 2, tzinfo=UTC)))
    yield home
    structlog.reset_defaults()


def douane(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> tuple[str, str]:
    capsys.readouterr()
    assert cli.main(list(args)) == status
    captured = capsys.readouterr()
    return captured.out, captured.err


def json_report(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    out, _ = douane(capsys, "report", "--format", "json", *args)
    report: dict[str, Any] = json.loads(out)
    return report


def test_figures_from_the_log_are_the_hand_computed_ones(
        capsys: pytest.CaptureFixture[str], home: Path) -> None:
    report = json_report(capsys, *PERIOD)
    expected = compute_report(LOG, parse_policy(POLICY_TEXT, "report.yaml"))
    assert report["figures"] == expected  # the figures test_transparency.py checks by hand
    assert report["policy"]["reference"]["name"] == "report-under-test"
    assert report["policy"]["home_jurisdiction"] == "FR"
    assert report["period"] == {"since": "2026-11-01T00:00:00.000000Z",
                                "until": "2026-12-01T00:00:00.000000Z", "tenant": None}
    # no checkpoint yet: one is signed, covering the whole log (1 + 22 + 1 records)
    checkpoint = report["checkpoint"]
    assert (checkpoint["size"], checkpoint["issued_now"]) == (24, True)
    with open_audit_reader(load_settings({"DOUANE_HOME": str(home)})) as reader:
        stored = reader.latest_checkpoint()
    assert stored is not None and checkpoint["note"] == stored.note.decode()
    assert checkpoint["root_hash"] == stored.root_hash.hex()
    # asked again: the same checkpoint is named, none signed
    again = json_report(capsys, *PERIOD)
    assert (again["checkpoint"]["size"], again["checkpoint"]["issued_now"]) == (24, False)


def test_verify_records_reads_every_record_whole_for_the_same_figures(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fast = json_report(capsys, *PERIOD)
    whole = json_report(capsys, *PERIOD, "--verify-records")
    assert whole["figures"] == fast["figures"]
    assert (fast["read"].split(":")[0], whole["read"].split(":")[0]) == ("fields", "records")
    _, err = douane(capsys, "report", "--bundle", str(tmp_path / "b.json"),
                    "--verify-records", status=2)
    assert "--verify-records is for the log" in err


def test_one_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    everyone = json_report(capsys, *PERIOD)
    city = json_report(capsys, *PERIOD, "--tenant", "city")
    assert city["figures"]["overall"] == everyone["figures"]["tenants"]["city"]
    assert list(city["figures"]["tenants"]) == ["city"]


def test_a_bundle_gives_the_same_figures(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path, home: Path) -> None:
    from_log = json_report(capsys, *PERIOD)
    bundle = tmp_path / "bundle.json"
    douane(capsys, "audit", "export", *PERIOD, "--out", str(bundle))
    from_bundle = json_report(capsys, "--bundle", str(bundle), "--policy",
                              str(tmp_path / "policy.yaml"), "--keyring",
                              str(home / "audit.keyring.json"))
    assert from_bundle["figures"] == from_log["figures"]
    assert from_bundle["computed_from"] == "evidence bundle"
    assert from_bundle["period"] == from_log["period"]  # the bundle's own period
    for key in ("origin", "size", "root_hash"):
        assert from_bundle["checkpoint"][key] == from_log["checkpoint"][key]
    assert from_bundle["policy"]["reference"] == from_log["policy"]["reference"]
    # one tenant, from the log and from the bundle
    city = json_report(capsys, "--bundle", str(bundle), "--policy",
                       str(tmp_path / "policy.yaml"), "--tenant", "city")
    assert city["figures"]["overall"] == from_log["figures"]["tenants"]["city"]
    # without the policy set: only what the log alone says
    alone = json_report(capsys, "--bundle", str(bundle))
    assert alone["figures"]["overall"]["dependence"] == \
        from_log["figures"]["overall"]["dependence"]
    assert alone["figures"]["overall"]["exit_readiness"][0]["share"] is None


def test_a_bundle_at_an_earlier_checkpoint(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    """A report names its checkpoint; a later bundle recomputes it with --at-size."""
    earlier = json_report(capsys, *PERIOD)  # signs the checkpoint of 24 records
    settings = load_settings()
    with open_writer(settings, WORKER) as log:
        log.append(event({**LOG[2], "record_id": "r9/answered", "request_id": "r9"},
                         START + timedelta(days=1)))
    bundle = tmp_path / "later.json"
    douane(capsys, "audit", "export", *PERIOD, "--out", str(bundle))
    later = json_report(capsys, "--bundle", str(bundle), "--policy",
                        str(tmp_path / "policy.yaml"))
    assert later["figures"]["overall"]["requests"]["answered"] == 6  # r9 counted
    at = json_report(capsys, "--bundle", str(bundle), "--policy",
                     str(tmp_path / "policy.yaml"), "--at-size", "24")
    assert at["figures"] == earlier["figures"]
    assert at["checkpoint"]["size"] == 24  # the bundle carries the older checkpoint
    _, err = douane(capsys, "report", "--bundle", str(bundle), "--at-size", "99", status=2)
    assert "--at-size 99 is not a checkpoint size of this bundle: it must be 1 to 25" in err


def test_a_tampered_bundle_gives_no_figure(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.json"
    douane(capsys, "audit", "export", *PERIOD, "--out", str(bundle))
    document = json.loads(bundle.read_text())
    record = next(r for r in document["records"]
                  if b'"0.006000"' in base64.b64decode(r["canonical"]))
    record["canonical"] = base64.b64encode(base64.b64decode(record["canonical"]).replace(
        b'"0.006000"', b'"0.000600"')).decode()
    bundle.write_text(json.dumps(document))
    out, err = douane(capsys, "report", "--bundle", str(bundle), "--format", "json",
                      status=2)
    assert out == ""
    assert "not valid evidence, no figure computed" in err
    assert "signature does not verify" in err


def test_csv_has_the_documented_columns(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = douane(capsys, "report", *PERIOD, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    table = {(r[0], r[1], r[2], r[6], r[7]): r[8] for r in rows[1:]}
    assert table[("report", "source", "", "", "checkpoint_size")] == "24"
    assert table[("overall", "requests", "", "", "decided")] == "7"
    assert table[("overall", "usage", "virginia", "USD", "cost")] == "0.021000"
    assert table[("overall", "personal", "", "", "stayed_home_share")] == "0.75"
    assert table[("overall", "dependence", "", "", "traffic_hhi")] == "4400.0"
    assert table[("tenant:city", "exit_readiness", "virginia", "", "share")] == "0.6667"
    assert table[("overall", "exit_readiness", "virginia", "", "moved_to:local")] == "3"


@pytest.mark.parametrize(("lang", "title"), [
    ("en", "Transparency report"), ("fr", "Rapport de transparence")])
def test_html_is_self_contained(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                lang: str, title: str) -> None:
    out_file = tmp_path / f"report.{lang}.html"
    out, _ = douane(capsys, "report", *PERIOD, "--lang", lang, "--out", str(out_file))
    assert "cost per provider" in out and f"-> {out_file}" in out  # the summary, then where
    page = out_file.read_text()
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    assert title in page
    assert "<script" not in page.lower()
    # nothing fetched from elsewhere: no link, image or stylesheet by URL
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert page.count("<svg") >= 4  # jurisdictions, personal, traffic, spend, exit
    assert "4400.0" in page  # the traffic HHI
