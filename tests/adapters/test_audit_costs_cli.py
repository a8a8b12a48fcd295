"""``douane audit costs`` on a real signed SQLite log: tokens and cost per tenant, provider and
month (and currency), checked against sums computed by hand, and every record's cost
recomputed from the usage and price it carries."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import structlog

from streams import cli
from streams.adapters.audit.open import open_audit_reader
from streams.adapters.audit.verify import load_audit_schema
from streams.config import load_settings
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.core.policy import Price, Provider
from streams.core.pricing import usage_and_cost
from streams.core.usage import TokenUsage
from streams.services.audit_log import open_writer


def price(valid_from: str, inp: str, out: str, currency: str = "EUR") -> Price:
    return Price(valid_from=date.fromisoformat(valid_from), currency=currency,
                 input_per_million=Decimal(inp), output_per_million=Decimal(out))


MISTRAL = Provider(id="mistral-paris", kind="mistral", endpoint="https://api.mistral.ai/v1",
                   models=("large",), jurisdiction="FR",
                   prices=(price("2026-01-01", "2", "6"), price("2026-11-01", "1", "3")))
OPENAI = Provider(id="openai-eu", kind="openai", endpoint="https://eu.api.openai.com/v1",
                  models=("gpt-4.1",), jurisdiction="US",
                  prices=(price("2026-01-01", "2", "8", "USD"),))
LOCAL = Provider(id="sovereign-local", kind="openai-compatible",
                 endpoint="http://127.0.0.1:8088/v1", models=("llama",), jurisdiction="FR",
                 hosting="on-premises", prices=(price("2024-01-01", "0", "0"),))
OCT, NOV = datetime(2026, 10, 20, 9, tzinfo=UTC), datetime(2026, 11, 24, 9, tzinfo=UTC)

ANSWERS: list[tuple[str, str, Provider, datetime, TokenUsage | None]] = [
    # lyon, mistral, October: 2 EUR / 6 EUR per million
    ("a-1", "city-of-lyon", MISTRAL, OCT, TokenUsage(1000, 500)),     # 0.002 + 0.003
    ("a-2", "city-of-lyon", MISTRAL, OCT, TokenUsage(250, 125)),      # 0.0005 + 0.00075
    # lyon, mistral, November: the new price, 1 / 3
    ("a-3", "city-of-lyon", MISTRAL, NOV, TokenUsage(1000, 1000)),    # 0.001 + 0.003
    # lyon, openai, November, USD: 2 / 8
    ("a-4", "city-of-lyon", OPENAI, NOV, TokenUsage(1117, 46)),       # 0.002234 + 0.000368
    # tax office, local door, November: free, usage counted by douane
    ("a-5", "tax-office", LOCAL, NOV, TokenUsage(40, 10, estimated=True)),
    # an answer recorded before costs were: counted, unpriced
    ("a-6", "tax-office", MISTRAL, NOV, None),
]


def answered_details(provider: Provider, at: datetime,
                     usage: TokenUsage | None) -> dict[str, Any]:
    details: dict[str, Any] = {"provider": provider.id, "model": provider.models[0]}
    if usage is not None:
        details.update(usage_and_cost(provider, provider.models[0], usage, at))
    return details


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("DOUANE_HOME", str(home))
    settings = load_settings({"DOUANE_HOME": str(home)})
    with open_writer(settings, WORKER) as log:
        for request_id, tenant, provider, at, usage in ANSWERS:
            log.append(AuditEvent(f"{request_id}/forwarded/{provider.id}", "forwarded",
                                  request_id, tenant, at, {"provider": provider.id}))
            log.append(AuditEvent(f"{request_id}/answered", "answered", request_id, tenant, at,
                                  answered_details(provider, at, usage)))
    yield home
    structlog.reset_defaults()


def costs(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> str:
    capsys.readouterr()
    assert cli.main(["audit", "costs", *args]) == status
    return capsys.readouterr().out


def test_sums_per_tenant_provider_month_and_currency(
        capsys: pytest.CaptureFixture[str]) -> None:
    rows = [json.loads(line) for line in costs(capsys, "--format", "jsonl").splitlines()]
    shown = [(r["tenant"], r["provider"], r["month"], r["currency"], r["answers"],
              r["input_tokens"], r["output_tokens"], r["estimated"], r["unpriced"], r["cost"],
              r["recomputed"]) for r in rows]
    assert shown == [
        ("city-of-lyon", "mistral-paris", "2026-10", "EUR", 2, 1250, 625, 0, 0,
         "0.006250", "0.006250"),
        ("city-of-lyon", "mistral-paris", "2026-11", "EUR", 1, 1000, 1000, 0, 0,
         "0.004000", "0.004000"),
        ("city-of-lyon", "openai-eu", "2026-11", "USD", 1, 1117, 46, 0, 0,
         "0.002602", "0.002602"),
        ("tax-office", "mistral-paris", "2026-11", None, 1, 0, 0, 0, 1,
         "0.000000", "0.000000"),
        ("tax-office", "sovereign-local", "2026-11", "EUR", 1, 40, 10, 1, 0,
         "0.000000", "0.000000"),
    ]


def test_group_by_other_fields_and_filter(capsys: pytest.CaptureFixture[str]) -> None:
    out = costs(capsys, "--by", "tenant", "--provider", "mistral-paris", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["tenant"], r["currency"], r["answers"], r["cost"]) for r in rows] == [
        ("city-of-lyon", "EUR", "3", "0.010250"), ("tax-office", "", "1", "0.000000")]
    out = costs(capsys, "--by", "provider", "--since", "2026-11-01", "--format", "jsonl")
    assert [json.loads(line)["provider"] for line in out.splitlines()] == [
        "mistral-paris", "mistral-paris", "openai-eu", "sovereign-local"]


def test_the_table_names_its_rounding_and_the_unpriced(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = costs(capsys).splitlines()
    assert lines[0].split() == ["tenant", "provider", "month", "currency", "answers",
                                "input_tokens", "output_tokens", "estimated", "unpriced",
                                "cost", "recomputed"]
    assert lines[-1].startswith("(6 answers in 5 groups; cost rounded half-up")


def test_a_record_whose_cost_disagrees_with_its_usage_and_price_is_named(
        capsys: pytest.CaptureFixture[str], home: Path) -> None:
    details = answered_details(MISTRAL, NOV, TokenUsage(1000, 1000))
    details["cost"]["amount"] = "0.000400"  # a writer that got it wrong, signed as it is
    details_unreadable = answered_details(MISTRAL, NOV, TokenUsage(1, 1))
    details_unreadable["usage"]["input_tokens"] = "many"
    settings = load_settings({"DOUANE_HOME": str(home)})
    with open_writer(settings, WORKER) as log:
        log.append(AuditEvent("z-1/answered", "answered", "z-1", "city-of-lyon", NOV, details))
        log.append(AuditEvent("z-2/answered", "answered", "z-2", "city-of-lyon", NOV,
                              details_unreadable))
    capsys.readouterr()
    assert cli.main(["audit", "costs", "--format", "jsonl"]) == 1
    captured = capsys.readouterr()
    assert "record z-1/answered: recorded cost 0.000400 EUR, recomputed 0.004000" \
        in captured.err
    assert "record z-2/answered: unreadable cost: usage.input_tokens is not a token count" \
        in captured.err
    november = [json.loads(line) for line in captured.out.splitlines()
                if json.loads(line)["month"] == "2026-11"
                and json.loads(line)["provider"] == "mistral-paris"
                and json.loads(line)["tenant"] == "city-of-lyon"]
    # the unreadable one is counted, unpriced; the wrong one with its group, both sums shown
    assert [(r["currency"], r["answers"], r["unpriced"], r["cost"], r["recomputed"])
            for r in november] == [(None, 1, 1, "0.000000", "0.000000"),
                                   ("EUR", 2, 0, "0.004400", "0.008000")]


def test_many_valued_fields_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["audit", "costs", "--by", "reason"])
    assert caught.value.code == 2
    assert "cannot sum costs by reason" in capsys.readouterr().err


def test_records_with_usage_and_cost_are_valid_against_the_record_schema(home: Path) -> None:
    schema = load_audit_schema()
    # new records (usage, cost) and one without them (a-6, as written before) are all valid
    with open_audit_reader(load_settings({"DOUANE_HOME": str(home)})) as reader:
        answered = [r.payload for r in reader.iter_records() if r.kind == "answered"]
    assert len(answered) == len(ANSWERS)
    for payload in answered:
        jsonschema.validate(payload, schema)
    record = {"schema": "douane.audit/v1", "seq": 1, "record_id": "r/answered",
              "kind": "answered", "request_id": "r", "tenant": "t",
              "occurred_at": "2026-11-24T09:00:00.000000Z", "prev_hash": "0" * 64,
              "key_id": "0" * 16, "details": answered_details(MISTRAL, NOV, TokenUsage(3, 4))}
    jsonschema.validate(record, schema)
    record["details"]["cost"]["amount"] = 0.000015  # a float is not how a cost is written
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema)
