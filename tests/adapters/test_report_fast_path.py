"""The report's fast path (only the fields it reads, picked out by the database) gives the same
figures as reading every signed record whole (``--verify-records``), figure for figure: on the
hand-computed log of ``tests/transparency_log.py`` and on a generated log, for a table of
periods and tenants, on real SQLite and PostgreSQL logs written through the append path."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from transparency_log import LOG, POLICY_TEXT, answered, decided, forwarded

from streams.adapters.audit.open import open_audit_reader
from streams.adapters.audit.protocols import AuditStoreCorruptError
from streams.adapters.policy_files import parse_policy
from streams.config import Settings, load_settings
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.core.transparency import DETAIL_FIELDS, PRESENCE_MATTERS
from streams.services.audit_log import open_writer
from streams.services.report import Period, report_from_log

START = datetime(2026, 11, 10, 9, tzinfo=UTC)
ENTITY_TYPES = ("PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "LOCATION")


def generated_log(requests: int, seed: int = 17) -> list[dict[str, Any]]:
    """Requests of every outcome over the policy of ``transparency_log``, with what the log
    can hold that is rare: failovers, answers without their forwarded record or forwarded
    before the period, no usage, estimated usage, unpriced and disagreeing costs, a missing
    requested classification (the replay then takes the classification), findings that
    overlap, rejections and failures, records of other kinds, records without a tenant."""
    rng = random.Random(seed)
    log: list[dict[str, Any]] = []
    for n in range(requests):
        rid, tenant = f"g{n}", rng.choice(("city", "tax", "tax", "city", ""))
        roll = rng.random()
        if roll < 0.05:
            log.append({"kind": "rejected", "record_id": f"{rid}/rejected", "request_id": rid,
                        "tenant": tenant or None, "details": {}})
            continue
        if roll < 0.08:
            log.append({"kind": "policy_changed", "record_id": f"policy/{n}",
                        "request_id": None, "tenant": None, "details": {"event": "loaded"}})
            continue
        classification = rng.choice(("public", "internal", "personal", "sensitive", "secret"))
        provider = rng.choice(("virginia", "paris", "local", None))
        record = decided(rid, tenant, classification, provider,
                         entities={rng.choice(ENTITY_TYPES): 1} if rng.random() < 0.3
                         else None, requested_model=rng.choice((None, None, "gpt", "large")))
        details = record["details"]
        details["prompt_chars"] = rng.randint(1, 9000)
        findings = []
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            start = rng.randint(0, 40)
            findings.append({"message": rng.choice((0, 0, 1)), "type": rng.choice(ENTITY_TYPES),
                             "start": start, "end": start + rng.randint(1, 12),
                             "score": round(rng.uniform(0.2, 1.0), 3)})
        details["findings"] = findings
        if rng.random() < 0.1:
            del details["requested_classification"]
        elif rng.random() < 0.05:
            details["requested_classification"] = None
        log.append(record)
        if provider is None:
            continue
        reached = [provider]
        if rng.random() < 0.1:  # failed over to another provider
            reached.append(rng.choice(("virginia", "paris", "local")))
        for each in reached:
            if rng.random() < 0.95:
                log.append(forwarded(rid, tenant, each, "US" if each == "virginia" else "FR"))
        if rng.random() < 0.1:
            log.append({"kind": "failed", "record_id": f"{rid}/failed", "request_id": rid,
                        "tenant": tenant, "details": {"provider": reached[-1]}})
            continue
        tokens = (rng.randint(0, 5000), rng.randint(0, 2000))
        price = rng.choice((("2", "8", "USD"), ("1", "3", "EUR"), ("0.5", "0.5", "EUR")))
        exact = (tokens[0] * float(price[0]) + tokens[1] * float(price[1])) / 1e6
        off = 0.001 if rng.random() < 0.05 else 0  # a cost that disagrees with its usage
        cost = None if rng.random() < 0.1 else f"{exact + off:.6f}"
        answer = answered(rid, tenant, reached[-1], rng.choice(("gpt", "large", "llama")),
                          tokens, estimated=rng.random() < 0.2, cost=cost, price=price)
        if rng.random() < 0.05:
            answer["details"]["usage"] = None
        log.append(answer)
    return log


def write_log(settings: Settings, records: list[dict[str, Any]], policy_file: Path,
              step: timedelta) -> None:
    reference = parse_policy(POLICY_TEXT, str(policy_file)).reference
    with open_writer(settings, WORKER) as log:
        events = []
        for i, payload in enumerate(records):
            if payload["kind"] == "policy_changed":
                payload = {**payload, "details": {"event": "loaded", "policy": reference,
                                                  "source": str(policy_file)}}
            events.append(AuditEvent(payload["record_id"], payload["kind"],
                                     payload["request_id"], payload["tenant"] or None,
                                     START + i * step, payload["details"]))
        for first in range(0, len(events), 200):
            log.append_many(events[first:first + 200])


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    home = tmp_path / "home"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY_TEXT)
    environment = {"DOUANE_HOME": str(home), "DOUANE_POLICY": str(policy_file)}
    if request.param == "postgresql":
        environment["DOUANE_AUDIT_DSN"] = request.getfixturevalue("postgres_database")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    yield load_settings(environment)
    structlog.reset_defaults()


def both_ways(settings: Settings, period: Period) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = report_from_log(settings, period)
    whole = report_from_log(settings, period, verify_records=True)
    assert fast["read"].startswith("fields") and whole["read"].startswith("records")
    return fast, whole


def test_the_hand_computed_log(settings: Settings) -> None:
    policy_file = settings.policy_path
    write_log(settings, [{**LOG[2], "record_id": "early/answered"}, *LOG], policy_file,
              timedelta(minutes=1))
    for period in (Period(None, None), Period("2026-11-10T09:01:00.000000Z", None),
                   Period(None, None, "tax"), Period(None, None, "city")):
        fast, whole = both_ways(settings, period)
        assert fast["figures"] == whole["figures"], period
        # the same checkpoint (the first report signed it, the second found it)
        assert fast["checkpoint"]["note"] == whole["checkpoint"]["note"]
    # the hand-computed figures themselves (tests/unit/test_transparency.py works them out)
    fast, _ = both_ways(settings, Period("2026-11-10T09:01:00.000000Z", None))
    assert fast["figures"]["records_read"] == len(LOG) == 22
    assert fast["figures"]["overall"]["requests"] == {
        "decided": 7, "admitted": 6, "blocked": 1, "rejected": 1, "failed": 1, "answered": 5}
    assert fast["figures"]["overall"]["totals"]["cost"] == {"EUR": "0.005250",
                                                            "USD": "0.021000"}


# (since, until, tenant) over a log starting at START, a record every 7 minutes
PERIODS = [
    pytest.param(None, None, None, id="whole-log"),
    pytest.param("2026-11-11", "2026-11-12", None, id="one-day"),
    pytest.param("2026-11-10T13:17:00Z", "2026-11-11T02:03:00Z", None, id="mid-day-bounds"),
    pytest.param("2026-11-10T13:17:00Z", None, "tax", id="since-one-tenant"),
    pytest.param(None, "2026-11-11T08:00:00Z", "city", id="until-other-tenant"),
    pytest.param(None, None, "nobody", id="unknown-tenant"),
    pytest.param("2027-01-01", None, None, id="after-the-log"),
]


@pytest.mark.parametrize(("since", "until", "tenant"), PERIODS)
def test_a_generated_log_for_periods_and_tenants(
        settings: Settings, since: str | None, until: str | None, tenant: str | None,
        request: pytest.FixtureRequest) -> None:
    policy_file = settings.policy_path
    write_log(settings, generated_log(300), policy_file, timedelta(minutes=7))
    period = Period(moment(since), moment(until), tenant)
    fast, whole = both_ways(settings, period)
    assert fast["figures"] == whole["figures"]
    if since is None and until is None and tenant is None:  # the log is not trivial
        figures = fast["figures"]
        assert figures["records_read"] > 500
        assert figures["cost_disagreements"]
        assert len(figures["tenants"]) == 2
        assert all(row["still_allowed"] for row in figures["overall"]["exit_readiness"])


def moment(text: str | None) -> str | None:
    """A bound as the CLI gives it to the report (the records' RFC 3339 form)."""
    if text is None:
        return None
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_kind_column_that_differs_from_the_signed_record_stops_the_fast_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY_TEXT)
    environment = {"DOUANE_HOME": str(tmp_path / "home"), "DOUANE_POLICY": str(policy_file)}
    settings = load_settings(environment)
    write_log(settings, LOG, policy_file, timedelta(minutes=1))
    with sqlite3.connect(settings.audit_db) as db:  # someone edits the database
        db.execute("UPDATE audit_records SET kind = 'rejected' WHERE kind = 'answered'")
    with open_audit_reader(settings) as reader, pytest.raises(AuditStoreCorruptError,
                                                              match="audit verify"):
        list(reader.read_fields(DETAIL_FIELDS, PRESENCE_MATTERS, None, None, None))
    structlog.reset_defaults()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_report_leaves_the_cycle_collector_as_it_found_it(
        tmp_path: Path, enabled_before: bool) -> None:
    import gc

    from streams.services.report import _collector_paused

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY_TEXT)
    settings = load_settings({"DOUANE_HOME": str(tmp_path / "home"),
                              "DOUANE_POLICY": str(policy_file)})
    write_log(settings, LOG, policy_file, timedelta(minutes=1))
    was = gc.isenabled()
    try:
        if not enabled_before:
            gc.disable()
        with _collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled_before
        with pytest.raises(RuntimeError), _collector_paused():
            raise RuntimeError("the figures failed")
        assert gc.isenabled() is enabled_before
        report_from_log(settings, Period(None, None))
        assert gc.isenabled() is enabled_before
    finally:
        if was:
            gc.enable()
        structlog.reset_defaults()


# ----------------------------------------------------------------- the stored report facts


def run_sql(settings: Settings, statement: str) -> list[tuple[Any, ...]]:
    """One statement on the log's database, behind douane's back (as an operator could)."""
    if settings.audit_dsn is not None:
        import psycopg

        with psycopg.connect(settings.audit_dsn, autocommit=True) as db:
            cursor = db.execute(statement)
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    with sqlite3.connect(settings.audit_db) as db:
        return db.execute(statement).fetchall()


def facts_state(settings: Settings) -> tuple[int, int, int]:
    """(records 1..k have facts, records in the log, records whose facts are not plain)."""
    with open_audit_reader(settings) as reader:
        stored, size = reader.report_facts_stored(), reader.size()
    if not stored:
        return 0, size, 0
    return stored, size, run_sql(settings, "SELECT count(*) FROM report_facts "
                                           "WHERE plain = 0")[0][0]


def test_the_append_path_stores_the_facts_of_every_record(settings: Settings) -> None:
    write_log(settings, generated_log(300), settings.policy_path, timedelta(minutes=7))
    stored, size, not_plain = facts_state(settings)
    # every record, and some the report reads whole (disagreeing costs, overlapping findings)
    assert stored == size > 500
    assert 0 < not_plain < size // 10
    answers = run_sql(settings, "SELECT count(*) FROM report_facts WHERE kind = 'answered' "
                                "AND plain = 1 AND cost_micros IS NOT NULL")[0][0]
    assert answers > 100
    # made from each record before it was signed, they agree with what `douane audit verify`
    # makes again from the signed bytes (keys sorted, a score 1.0 written 1)
    with open_audit_reader(settings) as reader:
        assert reader.check_report_facts().ok


PERIODS_OF_AN_OLDER_LOG = [Period(None, None),
                           Period(moment("2026-11-10T13:17:00Z"), moment("2026-11-11T02:03:00Z")),
                           Period(None, None, "tax")]


def test_an_older_log_gives_the_same_figures_and_is_filled_in_by_a_writer(
        settings: Settings) -> None:
    from structlog.testing import capture_logs

    write_log(settings, generated_log(300), settings.policy_path, timedelta(minutes=7))
    expected = [report_from_log(settings, period, verify_records=True)["figures"]
                for period in PERIODS_OF_AN_OLDER_LOG]
    # records a process of an older version appended: the facts stop half-way
    size = facts_state(settings)[1]
    run_sql(settings, f"DELETE FROM report_facts WHERE seq > {size // 2}")
    assert facts_state(settings)[0] == size // 2
    assert [report_from_log(settings, p)["figures"] for p in PERIODS_OF_AN_OLDER_LOG] \
        == expected
    # a log written before the table existed, read by a reader (which creates no table)
    run_sql(settings, "DROP TABLE report_facts")
    assert facts_state(settings)[0] == 0
    assert [report_from_log(settings, p)["figures"] for p in PERIODS_OF_AN_OLDER_LOG] \
        == expected
    # the first writer to open it fills the facts in, and says so in its log
    with capture_logs() as logged, open_writer(settings, WORKER):
        pass
    assert facts_state(settings)[0] == size
    filling = [e for e in logged if e["event"].startswith("report facts filling")]
    assert filling and filling[-1]["indexed"] == size
    assert [report_from_log(settings, p)["figures"] for p in PERIODS_OF_AN_OLDER_LOG] \
        == expected


def test_the_facts_are_not_evidence(settings: Settings) -> None:
    """Edited facts change the fast report (they are what it reads), never the reference
    (every record read whole): `--verify-records` tells; `audit reindex` rebuilds them."""
    write_log(settings, LOG, settings.policy_path, timedelta(minutes=1))
    fast, whole = both_ways(settings, Period(None, None))
    assert fast["figures"] == whole["figures"]
    run_sql(settings, "UPDATE report_facts SET cost_micros = cost_micros + 1000000 "
                      "WHERE kind = 'answered' AND cost_micros IS NOT NULL")
    edited, reference = both_ways(settings, Period(None, None))
    assert reference["figures"] == whole["figures"]
    assert edited["figures"]["overall"]["totals"]["cost"] \
        != whole["figures"]["overall"]["totals"]["cost"]
    with open_audit_reader(settings) as reader:  # as `douane audit verify` finds it
        assert "do not match the record" in str(reader.check_report_facts().problem)
    with open_writer(settings, WORKER) as store:
        store.rebuild_index()
    assert report_from_log(settings, Period(None, None))["figures"] == whole["figures"]
    with open_audit_reader(settings) as reader:
        assert reader.check_report_facts().ok
