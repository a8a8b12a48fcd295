"""Traces through both stages without Kafka: the pipeline of test_pipeline (a real SQLite audit
log, a fake detector and provider) with tracing on, its spans kept in memory. The trace context
a message's headers carry is continued by each stage, handed on in the forward message's
headers and sent to the provider; the trace id is in every audit record of the request; the
spans carry no personal data and no id a producer chose. Tracing off changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_pipeline import (
    FORWARD_TOPIC,
    PLANTED,
    POLICY,
    FakeProvider,
    Harness,
    harness,
    request,
)

from streams.adapters import tracing
from streams.adapters.providers.base import CallContext, ProviderAnswer
from streams.config import REQUESTS_TOPIC
from streams.core import audit_events
from streams.core.policy import Provider
from streams.pipeline import Outgoing, Source

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"
REQUEST_ID = "req-5e1f0c2a"  # a producer-chosen id: never on a span
ANSWER_TIME = datetime(2026, 11, 30, tzinfo=UTC)


@dataclass
class HeaderRecordingProvider:
    """The fake provider, also keeping the headers each call would send."""

    inner: FakeProvider
    headers: list[dict[str, str]] = field(default_factory=list)

    async def complete(self, provider: Provider, body: dict[str, Any],
                       context: CallContext) -> ProviderAnswer:
        self.headers.append(context.headers())
        return await self.inner.complete(provider, body, context)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    yield from harness(tmp_path, POLICY)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.start_tracing("douane-test", {}, exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.stop_tracing()


def recording(h: Harness) -> HeaderRecordingProvider:
    provider = HeaderRecordingProvider(h.provider)
    h.pipeline.delivery.gateway = provider
    return provider


def consumed(message: Outgoing, offset: int) -> Source:
    """How the worker sees a published message: its headers' trace context in the source."""
    return Source(message.topic, 0, offset, message.key, tracing.carrier_of(message.headers))


async def both_stages(h: Harness, carrier: tuple[tuple[str, str], ...]) -> list[Outgoing]:
    admitted = await h.pipeline.admit(request(REQUEST_ID),
                                      Source(REQUESTS_TOPIC, 2, 7, b"k", carrier))
    assert [o.topic for o in admitted] == [FORWARD_TOPIC]
    return await h.pipeline.forward(admitted[0].value, consumed(admitted[0], 3))


def exported(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    tracing.flush()
    return list(exporter.get_finished_spans())


def trace_ids_recorded(h: Harness) -> set[object]:
    return {r.payload["details"].get("trace_id") for r in h.store.records_for_request(REQUEST_ID)}


async def test_the_callers_trace_goes_through_both_stages_to_the_provider_and_the_records(
    h: Harness, spans: InMemorySpanExporter
) -> None:
    provider = recording(h)
    admitted = await h.pipeline.admit(request(REQUEST_ID),
                                      Source(REQUESTS_TOPIC, 2, 7, b"k",
                                             (("traceparent", TRACEPARENT),)))
    forward_headers = dict(admitted[0].headers)
    assert forward_headers["traceparent"].decode().split("-")[1] == TRACE
    answered = await h.pipeline.forward(admitted[0].value, consumed(admitted[0], 3))
    assert json.loads(answered[0].value)["status"] == "answered"
    assert answered[0].headers and dict(answered[0].headers)["traceparent"].decode().split(
        "-")[1] == TRACE

    found = exported(spans)
    assert {s.context.trace_id for s in found} == {int(TRACE, 16)}
    by_name: dict[str, list[ReadableSpan]] = {}
    for each in found:
        by_name.setdefault(each.name, []).append(each)
    assert set(by_name) == {"douane.admit", "douane.intake", "douane.detection",
                            "douane.decision", "douane.audit.append", "douane.forward",
                            "douane.provider.call"}
    admit, = by_name["douane.admit"]
    forward, = by_name["douane.forward"]
    call, = by_name["douane.provider.call"]
    assert admit.parent is not None and admit.parent.span_id == int(PARENT, 16)
    # the forward stage continues the admit stage's span, from the forward message's headers
    assert forward.parent is not None and forward.parent.span_id == admit.context.span_id
    assert call.parent is not None and call.parent.span_id == forward.context.span_id
    # the provider receives the call's own span as its parent
    assert provider.headers[0]["traceparent"] == (
        f"00-{TRACE}-{call.context.span_id:016x}-01")
    # admitted, forwarded, answered: three appends, each a child of its stage
    appends = by_name["douane.audit.append"]
    assert sorted(str((s.attributes or {})["douane.audit.kind"]) for s in appends) == [
        "admitted", "answered", "forwarded"]
    assert (admit.attributes or {})["douane.decision"] == "forward"
    assert (forward.attributes or {})["douane.decision"] == "answered"
    decision, = by_name["douane.decision"]
    assert (decision.attributes or {})["douane.provider"] == "sovereign-local"
    assert trace_ids_recorded(h) == {TRACE}
    assert [r.kind for r in h.store.records_for_request(REQUEST_ID)] == [
        "admitted", "forwarded", "answered"]


async def test_spans_carry_no_personal_data_nor_producer_chosen_values(
    h: Harness, spans: InMemorySpanExporter
) -> None:
    recording(h)
    await both_stages(h, (("traceparent", TRACEPARENT),))
    text = json.dumps([{"name": s.name, "attributes": dict(s.attributes or {}),
                        "events": [e.name for e in s.events]} for s in exported(spans)],
                      default=str)
    assert [v for v in (*PLANTED, REQUEST_ID, "5e1f0c2a") if v in text] == []


async def test_a_message_without_trace_context_starts_a_trace_of_its_own(
    h: Harness, spans: InMemorySpanExporter
) -> None:
    recording(h)
    await both_stages(h, ())
    found = exported(spans)
    roots = [s for s in found if s.parent is None]
    assert [s.name for s in roots] == ["douane.admit"]
    assert trace_ids_recorded(h) == {f"{roots[0].context.trace_id:032x}"}


async def test_a_caller_that_does_not_sample_still_gets_its_trace_id_recorded_and_handed_on(
    h: Harness, spans: InMemorySpanExporter
) -> None:
    provider = recording(h)
    await both_stages(h, (("traceparent", f"00-{TRACE}-{PARENT}-00"),))
    assert exported(spans) == []  # the caller's sampling decision is followed
    assert trace_ids_recorded(h) == {TRACE}
    assert provider.headers[0]["traceparent"].startswith(f"00-{TRACE}-")


async def test_a_malformed_traceparent_is_ignored(h: Harness, spans: InMemorySpanExporter
                                                  ) -> None:
    recording(h)
    await both_stages(h, (("traceparent", "00-Jeanne-Martin-01"),))
    ids = trace_ids_recorded(h)
    assert len(ids) == 1 and ids != {TRACE}
    assert all(isinstance(i, str) and len(i) == 32 for i in ids)


async def test_with_tracing_off_nothing_is_read_written_or_recorded(h: Harness) -> None:
    assert not tracing.enabled()
    provider = recording(h)
    answered = await both_stages(h, (("traceparent", TRACEPARENT),))
    assert answered[0].headers == ()
    assert "traceparent" not in provider.headers[0]
    assert trace_ids_recorded(h) == {None}
    assert tracing.carrier_of([("traceparent", TRACEPARENT.encode())]) == ()


def test_attribute_values_outside_their_closed_sets_are_replaced() -> None:
    found = tracing.attributes(
        decision=REQUEST_ID, reasons=["redacted", "jeanne.martin@example.fr"],
        tenant=tracing.declared("jeanne.martin@example.fr", POLICY.policy.tenant_ids),
        audit_kind="admitted", audit_seq=-1, entities=True, size_bytes=12,  # type: ignore[arg-type]
        streamed=False)
    assert found == {"douane.decision": "other", "douane.reasons": ["redacted", "other"],
                     "douane.tenant": "unknown", "douane.audit.kind": "admitted",
                     "douane.size_bytes": 12, "douane.streamed": False}


@pytest.mark.parametrize(("env", "on"), [
    ({}, False),
    ({"OTEL_SERVICE_NAME": "douane"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
])
def test_tracing_is_on_only_when_an_otlp_endpoint_is_configured(
    env: dict[str, str], on: bool
) -> None:
    assert tracing.tracing_configured(env) is on


@pytest.mark.parametrize(("env", "named"), [
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
     "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "zipkin"},
     "OTEL_TRACES_EXPORTER"),
])
def test_a_setting_douane_cannot_honour_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(tracing.TracingSettingError, match=named):
        tracing.tracing_configured(env)


@pytest.mark.parametrize("bad", ["4BF92F3577B34DA6A3CE929D0E0E4736", "0" * 32, "abc", TRACE + "0"])
def test_an_audit_record_takes_only_a_w3c_trace_id(bad: str) -> None:
    with pytest.raises(ValueError, match="trace id"):
        audit_events.failed("r-1", "city-of-lyon", "p", [], {}, ANSWER_TIME, trace_id=bad)
    event = audit_events.failed("r-1", "city-of-lyon", "p", [], {}, ANSWER_TIME, trace_id=TRACE)
    assert event.details["trace_id"] == TRACE
    assert "trace_id" not in audit_events.failed("r-1", None, "p", [], {}, ANSWER_TIME).details


