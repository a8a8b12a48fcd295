"""``douane audit query`` as a DPO runs it: filters, time ranges, the three output formats,
and a clear error for a time it cannot read."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from streams import cli
from streams.cli.audit import SUMMARY_COLUMNS, moment
from streams.config import load_settings
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.services.audit_log import open_writer

REASON_MESSAGE = "no provider may receive sensitive data for tenant tax-office"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"  # c-1 travelled in this trace


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("DOUANE_HOME", str(home))
    settings = load_settings({"DOUANE_HOME": str(home)})
    events = [
        ("a-1", "admitted", "city-of-lyon", datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
         {"decision": "forward", "provider": "sovereign-local", "entities": {"PERSON": 2},
          "classification": "personal", "purpose": "case-handling",
          "provider_jurisdiction": "FR", "reasons": []}),
        ("b-1", "blocked", "tax-office", datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
         {"decision": "block", "entities": {"FR_NIR": 1}, "classification": "sensitive",
          "purpose": "tax-assessment", "provider_jurisdiction": None,
          "reasons": [{"code": "no-allowed-provider", "message": REASON_MESSAGE},
                      {"code": "classification-raised", "message": "raised to sensitive"}]}),
        ("c-1", "admitted", "city-of-lyon", datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
         {"decision": "forward", "provider": "mistral-eu", "entities": {"EMAIL_ADDRESS": 1},
          "classification": "internal", "purpose": "drafting", "provider_jurisdiction": "EU",
          "reasons": [{"code": "classification-raised", "message": "raised to internal"}],
          "trace_id": TRACE}),
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
    # repeatable filters: any of the values of one filter, and every filter
    (["--decision", "block", "--decision", "forward"], ["a-1", "b-1", "c-1"]),
    (["--tenant", "tax-office", "--tenant", "city-of-lyon", "--decision", "block"], ["b-1"]),
    (["--provider", "mistral-eu", "--provider", "sovereign-local"], ["a-1", "c-1"]),
    (["--request-id", "a-1", "--request-id", "c-1"], ["a-1", "c-1"]),
    (["--entity-type", "person"], ["a-1"]),
    (["--entity-type", "Fr_Nir", "--entity-type", "EMAIL_ADDRESS"], ["b-1", "c-1"]),
    (["--entity-type", "FR_SIREN"], []),  # known to douane, never found: a true zero
    (["--jurisdiction", "fr"], ["a-1"]),
    (["--classification", "sensitive", "--classification", "internal"], ["b-1", "c-1"]),
    (["--purpose", "drafting"], ["c-1"]),
    (["--reason", "classification-raised"], ["b-1", "c-1"]),
    (["--reason", "no-allowed-provider", "--tenant", "city-of-lyon"], []),
    (["--trace-id", TRACE], ["c-1"]),
    (["--trace-id", TRACE.upper()], ["c-1"]),  # as some tracing systems show it
    (["--trace-id", "f" * 32, "--trace-id", TRACE], ["c-1"]),
    (["--trace-id", "f" * 32], []),
], ids=["all", "tenant", "decision", "entity", "provider", "since-date", "until-date",
        "offset", "one-second", "request", "limit", "decisions-combine", "tenants-and-decision",
        "providers", "requests", "entity-any-case", "entities", "entity-never-found",
        "jurisdiction", "classifications", "purpose", "reason", "reason-and-tenant", "trace",
        "trace-upper-case", "traces", "trace-never-seen"])
def test_filters(capsys: pytest.CaptureFixture[str], args: list[str],
                 expected: list[str]) -> None:
    lines = query(capsys, *args, "--format", "jsonl").splitlines()
    assert [json.loads(line)["request_id"] for line in lines] == expected


def test_csv_has_one_header_and_a_row_per_record(capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(query(capsys, "--format", "csv"))))
    assert [r["request_id"] for r in rows] == ["a-1", "b-1", "c-1"]
    assert rows[0]["entities"] == "PERSON=2" and rows[1]["decision"] == "block"
    assert [r["trace_id"] for r in rows] == ["", "", TRACE]  # from a record back to its trace


@pytest.mark.parametrize("given", ["4bf92f35", "0" * 32, "g" * 32])
def test_a_trace_id_that_is_not_one_is_named(capsys: pytest.CaptureFixture[str],
                                             given: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "query", "--trace-id", given])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --trace-id: '{given}' is not a trace id: 32 hex digits" in err


def test_csv_of_nothing_still_has_the_header(capsys: pytest.CaptureFixture[str]) -> None:
    out = query(capsys, "--format", "csv", "--tenant", "tax-office", "--decision", "forward")
    assert out.splitlines() == [",".join(SUMMARY_COLUMNS)]


def test_table_is_aligned_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    lines = query(capsys, "--tenant", "tax-office").splitlines()
    assert lines[0].split() == ["seq", "occurred_at", "kind", "tenant", "request_id",
                                "decision", "classification", "provider", "reasons", "entities"]
    assert lines[1].split()[2:] == ["blocked", "tax-office", "b-1", "block", "sensitive", "-",
                                    "no-allowed-provider;classification-raised", "FR_NIR=1"]
    assert lines[-1] == "(1 record)"


def test_reasons_are_shown_by_code_never_by_message(capsys: pytest.CaptureFixture[str]) -> None:
    for form in ("table", "csv"):
        out = query(capsys, "--format", form, "--tenant", "tax-office")
        assert "no-allowed-provider" in out and REASON_MESSAGE not in out
    assert len(list(csv.DictReader(io.StringIO(query(capsys, "--format", "csv",
                                                     "--reason", "classification-raised"))))) == 2


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_a_time_it_cannot_read_is_named(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "query", flag, "last tuesday"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: 'last tuesday' is not a date or time" in err
    assert "today or yesterday (from midnight UTC), or a time back from now" in err
    assert "m (minutes)" in err and "Traceback" not in err


NOW = datetime(2026, 11, 25, 14, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("today", "2026-11-25T00:00:00.000000Z"),
    ("Yesterday", "2026-11-24T00:00:00.000000Z"),
    ("now", "2026-11-25T14:30:15.000000Z"),
    ("7d", "2026-11-18T14:30:15.000000Z"),
    ("24h", "2026-11-24T14:30:15.000000Z"),
    ("90m", "2026-11-25T13:00:15.000000Z"),
    ("2w", "2026-11-11T14:30:15.000000Z"),
    ("2026-11-20", "2026-11-20T00:00:00.000000Z"),
])
def test_relative_times(text: str, expected: str) -> None:
    assert moment(text, NOW) == expected


def test_relative_times_on_the_command_line(capsys: pytest.CaptureFixture[str],
                                            home: Path) -> None:
    now = datetime.now(UTC)
    with open_writer(load_settings({"DOUANE_HOME": str(home)}), WORKER) as log:
        for request_id, age in (("older", timedelta(days=3)), ("recent", timedelta(hours=1))):
            log.append(AuditEvent(f"{request_id}/admitted", "admitted", request_id, "archive",
                                  now - age, {"decision": "forward"}))
    def ids(*args: str) -> list[str]:
        out = query(capsys, "--tenant", "archive", "--format", "jsonl", *args)
        return [json.loads(line)["request_id"] for line in out.splitlines()]
    assert ids("--since", "24h") == ["recent"]
    assert ids("--since", "7d") == ["older", "recent"]
    assert ids("--until", "2d") == ["older"]


# --- a value no record has is named, with the closest known ones ----------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["--tenant", "city-of-lyn"], "no record in the log has tenant 'city-of-lyn' (--tenant); "
     "did you mean 'city-of-lyon'? Known: city-of-lyon, tax-office."),
    (["--tenant", "city-of-lyon", "--tenant", "tax-ofice"], "tenant 'tax-ofice' (--tenant); "
     "did you mean 'tax-office'?"),
    (["--provider", "Mistral-EU"], "provider 'Mistral-EU' (--provider); did you mean "
     "'mistral-eu'?"),
    (["--entity-type", "PERSN"], "entity type 'PERSN' (--entity-type); did you mean 'PERSON'?"),
    (["--classification", "secrett"], "did you mean 'secret'?"),
    (["--reason", "no-allowed-providers"], "did you mean 'no-allowed-provider'?"),
    (["--jurisdiction", "US"], "no record in the log has jurisdiction 'US' (--jurisdiction). "
     "Known: EU, FR."),
], ids=["tenant", "second-tenant", "provider-case", "entity", "classification", "reason",
        "jurisdiction"])
def test_an_unknown_value_is_named_with_suggestions(
        capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    capsys.readouterr()
    assert cli.main(["audit", "query", *args, "--format", "csv"]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no empty or partial answer that looks like a real one
    assert expected in err
    assert "Correct the value and run the command again." in err


# --- counts and groups -----------------------------------------------------------------------


def test_count_by_provider_and_day(capsys: pytest.CaptureFixture[str]) -> None:
    lines = query(capsys, "--count-by", "provider,day").splitlines()
    assert [line.split() for line in lines[:-1]] == [
        ["provider", "day", "records"],
        ["-", "2026-11-24", "1"],
        ["mistral-eu", "2026-11-25", "1"],
        ["sovereign-local", "2026-11-24", "1"],
    ]
    assert lines[-1].startswith("(3 records in 3 groups")


def test_count_by_a_field_with_several_values_per_record(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = query(capsys, "--count-by", "reason", "--format", "csv")
    assert list(csv.reader(io.StringIO(out))) == [
        ["reason", "records"], ["", "1"], ["classification-raised", "2"],
        ["no-allowed-provider", "1"]]
    table = query(capsys, "--count-by", "reason,tenant", "--decision", "block")
    assert "a record with several reason values is counted once for each" in table
    counted = [json.loads(line) for line in query(
        capsys, "--count-by", "tenant", "--format", "jsonl").splitlines()]
    assert counted == [{"records": 2, "tenant": "city-of-lyon"},
                       {"records": 1, "tenant": "tax-office"}]


def test_an_unknown_count_field_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["audit", "query", "--count-by", "provider,dya"])
    err = capsys.readouterr().err
    assert "cannot count by dya (did you mean day?)" in err and "entity-type" in err


def test_verify_names_a_changed_search_index_and_reindex_repairs_it(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    assert cli.main(["audit", "verify"]) == 0
    assert "search index agrees with the records" in capsys.readouterr().out
    database = load_settings({"DOUANE_HOME": str(home)}).audit_db
    with sqlite3.connect(database) as conn:  # someone edits the database behind douane's back
        conn.execute("UPDATE audit_index SET tenant = 'tax-office' WHERE seq = 1")
    assert "a-1" not in query(capsys, "--tenant", "city-of-lyon")  # the index hides it
    assert cli.main(["audit", "verify"]) == 3
    out = capsys.readouterr().out
    assert "audit verify: OK - 3 records" in out  # the evidence is intact
    assert "WARNING - the search index disagrees with the signed records: the index row of " \
           "record 1 does not match the record" in out
    assert "douane audit reindex" in out
    assert cli.main(["audit", "reindex"]) == 0
    assert "3 records indexed" in capsys.readouterr().out
    assert cli.main(["audit", "verify"]) == 0
    assert "a-1" in query(capsys, "--tenant", "city-of-lyon")


def test_verify_names_changed_report_facts_and_reindex_repairs_them(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    assert cli.main(["audit", "verify"]) == 0
    assert "the report's facts agree with the records" in capsys.readouterr().out
    database = load_settings({"DOUANE_HOME": str(home)}).audit_db
    with sqlite3.connect(database) as conn:  # someone edits the database behind douane's back
        conn.execute("UPDATE report_facts SET tenant = 'city-of-lyon' WHERE seq = 2")
    assert cli.main(["audit", "verify"]) == 3
    out = capsys.readouterr().out
    assert "audit verify: OK - 3 records" in out  # the evidence is intact
    assert "search index agrees with the records" in out
    assert "WARNING - the report's facts disagree with the signed records: the report facts " \
           "of record 2 do not match the record" in out
    assert cli.main(["audit", "reindex"]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "verify"]) == 0
    assert "the report's facts agree with the records" in capsys.readouterr().out
