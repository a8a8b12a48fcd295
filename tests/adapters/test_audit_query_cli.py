"""``douane audit query`` as a DPO runs it: filters, time ranges, the three output formats,
and a clear error for a time it cannot read."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from streams import cli
from streams.cli.audit import SUMMARY_COLUMNS
from streams.config import load_settings
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.services.audit_log import open_writer


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DOUANE_HOME", str(home))
    settings = load_settings({"DOUANE_HOME": str(home)})
    events = [
        ("a-1", "admitted", "city-of-lyon", datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
         {"decision": "forward", "provider": "sovereign-local", "entities": {"PERSON": 2}}),
        ("b-1", "blocked", "tax-office", datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
         {"decision": "block", "entities": {"FR_NIR": 1}}),
        ("c-1", "admitted", "city-of-lyon", datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
         {"decision": "forward", "provider": "mistral-eu", "entities": {"EMAIL_ADDRESS": 1}}),
    ]
    with open_writer(settings, WORKER) as log:
        for request_id, kind, tenant, when, details in events:
            log.append(AuditEvent(f"{request_id}/{kind}", kind, request_id, tenant, when,
                                  details))
    yield home
    structlog.reset_defaults()


def query(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert cli.main(["audit", "query", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("args", "expected"), [
    ([], ["a-1", "b-1", "c-1"]),
    (["--tenant", "city-of-lyon"], ["a-1", "c-1"]),
    (["--decision", "block"], ["b-1"]),
    (["--entity-type", "PERSON"], ["a-1"]),
    (["--provider", "mistral-eu"], ["c-1"]),
    (["--since", "2026-11-25"], ["c-1"]),
    (["--until", "2026-11-25"], ["a-1", "b-1"]),
    # an offset is honoured: 00:00+01:00 is 23:00 UTC the day before
    (["--since", "2026-11-25T00:00:00+01:00"], ["b-1", "c-1"]),
    (["--since", "2026-11-24T09:00:00Z", "--until", "2026-11-24T09:00:01Z"], ["a-1"]),
    (["--request-id", "b-1"], ["b-1"]),
    (["--limit", "2"], ["a-1", "b-1"]),
], ids=["all", "tenant", "decision", "entity", "provider", "since-date", "until-date",
        "offset", "one-second", "request", "limit"])
def test_filters(capsys: pytest.CaptureFixture[str], args: list[str],
                 expected: list[str]) -> None:
    lines = query(capsys, *args, "--format", "jsonl").splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == expected


def test_csv_has_one_header_and_a_row_per_record(capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(query(capsys, "--format", "csv"))))
    assert [r["request_id"] for r in rows] == ["a-1", "b-1", "c-1"]
    assert rows[0]["entities"] == "PERSON=2" and rows[1]["decision"] == "block"


def test_csv_of_nothing_still_has_the_header(capsys: pytest.CaptureFixture[str]) -> None:
    out = query(capsys, "--format", "csv", "--tenant", "nobody")
    assert out.splitlines() == [",".join(SUMMARY_COLUMNS)]


def test_table_is_aligned_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    lines = query(capsys, "--tenant", "tax-office").splitlines()
    assert lines[0].split() == ["seq", "occurred_at", "kind", "tenant", "request_id",
                                "decision", "provider", "entities"]
    assert lines[1].split()[2:] == ["blocked", "tax-office", "b-1", "block", "-", "FR_NIR=1"]
    assert lines[-1] == "(1 record)"


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_a_time_it_cannot_read_is_named(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "query", flag, "last tuesday"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: 'last tuesday' is not a date or time" in err
    assert "Traceback" not in err
