"""Traces on the real stack: a worker and a front door exporting by OTLP (HTTP/protobuf) to a
receiver in this test that decodes ``ExportTraceServiceRequest``, on the session's broker and
stand-in model server. A request through the front door with a ``traceparent``, and one a
producing system publishes with a ``traceparent`` Kafka header, are each followed: spans of that
trace from the front door and from both stages of the worker, the provider stand-in receiving a
``traceparent`` of the same trace, the trace id in every audit record of the request, and
``douane audit query --trace-id`` finding them. No span carries personal data or a request id."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import astuple, dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from stack import KafkaClient, Stack, request, wait_until

from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port

pytestmark = pytest.mark.integration
NAME = "Jeanne Martin"
EMAIL = "jeanne.martin@example.fr"
PHONE = "06 12 34 56 78"
PLANTED = (NAME, EMAIL, PHONE, "Jeanne", "jeanne.martin")
WORKER = "worker-traced"
DOOR = "front-door-traced"
WORKER_SPANS = {"douane.admit", "douane.intake", "douane.detection", "douane.decision",
                "douane.audit.append", "douane.forward", "douane.provider.call"}


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


@dataclass
class OtlpReceiver:
    """What an OpenTelemetry collector's OTLP/HTTP receiver does with traces, kept in memory."""

    spans: list[ExportedSpan] = field(default_factory=list)
    content_types: set[str] = field(default_factory=set)

    async def traces(self, http: web.Request) -> web.Response:
        body = await http.read()
        if http.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.content_types.add(http.content_type)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        for resource in export.resource_spans:
            service = next((a.value.string_value for a in resource.resource.attributes
                            if a.key == "service.name"), "")
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append(ExportedSpan(
                        service, span.name, span.trace_id.hex(), span.span_id.hex(),
                        span.parent_span_id.hex(),
                        {a.key: json.loads(_any_value_json(a.value)) for a in span.attributes}))
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    def of_trace(self, trace_id: str) -> list[ExportedSpan]:
        # an export retried after a time-out may bring a span twice
        return list({s.span_id: s for s in self.spans if s.trace_id == trace_id}.values())


def _any_value_json(value: Any) -> str:
    """An OTLP AnyValue as JSON (strings, numbers, booleans, arrays of them)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return json.dumps([json.loads(_any_value_json(v)) for v in value.array_value.values])
    return json.dumps(getattr(value, kind) if kind is not None else None)


@pytest_asyncio.fixture
async def traced(front_door: tuple[str, str], douane: Stack
                 ) -> AsyncIterator[tuple[Stack, OtlpReceiver, str, str]]:
    """An OTLP receiver on 127.0.0.1; the session worker replaced by one exporting to it, and a
    second front door exporting to it: (stack, receiver, front door API URL, API key). The
    session worker is back afterwards."""
    receiver = OtlpReceiver()
    app = web.Application()
    app.router.add_post("/v1/traces", receiver.traces)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # spans leave within 0.2 s of ending
            # a loaded machine must not make an export give up (its spans would be lost)
            "OTEL_EXPORTER_OTLP_TIMEOUT": "120", "OTEL_BSP_EXPORT_TIMEOUT": "120000"}
    worker_port, door_port = free_port(), free_port()
    douane.stop("worker")
    try:
        douane.start(WORKER, "worker", env={**otel, "OTEL_SERVICE_NAME": "douane-worker",
                                            "DOUANE_WORKER_HTTP_PORT": str(worker_port)})
        douane.start(DOOR, "front-door", "--port", str(door_port), "--timeout", "120",
                     env={**otel, "OTEL_SERVICE_NAME": "douane-front-door"})
        await wait_http(f"http://127.0.0.1:{door_port}/livez", timeout_s=60)
        await wait_until(lambda: ready(f"http://127.0.0.1:{worker_port}"), 300,
                         lambda: "worker never ready:\n" + douane.log_text(WORKER)[-3000:],
                         poll_s=1)
        yield douane, receiver, f"http://127.0.0.1:{door_port}/v1", front_door[1]
    finally:
        for name in (WORKER, DOOR):
            if name in douane.processes:
                douane.stop(name)
        douane.start("worker", "worker")
        await runner.cleanup()


async def ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def trace_ids_in_records(stack: Stack, request_id: str) -> dict[str, Any]:
    store = open_sqlite_reader(stack.settings.audit_db)
    try:
        return {r.kind: r.payload["details"].get("trace_id")
                for r in store.records_for_request(request_id)}
    finally:
        store.close()


async def query_trace(stack: Stack, trace_id: str) -> list[dict[str, Any]]:
    """``douane audit query --trace-id`` as an operator runs it."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", "audit", "query", "--trace-id",
                         trace_id, "--format", "jsonl"],
        env=stack.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


async def test_a_trace_goes_from_the_caller_through_both_stages_to_the_provider_and_the_log(
    traced: tuple[Stack, OtlpReceiver, str, str]
) -> None:
    stack, receiver, door_api, key = traced
    http_trace, kafka_trace = uuid.uuid4().hex, uuid.uuid4().hex
    caller_span = uuid.uuid4().hex[:16]

    # --- through the front door, with the caller's traceparent
    async with httpx.AsyncClient(timeout=240) as client:
        answered = await client.post(
            f"{door_api}/chat/completions",
            headers={"Authorization": f"Bearer {key}",
                     "traceparent": f"00-{http_trace}-{caller_span}-01"},
            json={"model": "auto", "messages": [
                {"role": "user", "content": f"Write to {NAME} ({EMAIL}, {PHONE})."}]})
    assert answered.status_code == 200, answered.text
    http_id = answered.headers["X-Douane-Request-Id"]

    # --- straight to Kafka, the traceparent in the message's headers
    kafka_id = f"traced-{uuid.uuid4().hex[:8]}"
    async with KafkaClient(stack.settings) as kafka:
        await kafka.producer.send_and_wait(
            kafka.request_topic(b"", "city-of-lyon"),
            request(kafka_id, f"Call {NAME} on {PHONE}."), key=kafka_id.encode(),
            headers=[("traceparent", f"00-{kafka_trace}-{caller_span}-01".encode())])
        responses = await kafka.responses({kafka_id}, timeout_s=240)
    assert responses[kafka_id][0]["status"] == "answered", responses

    # --- the spans of each trace, from each process and stage
    def names(trace_id: str) -> set[tuple[str, str]]:
        return {(s.service, s.name) for s in receiver.of_trace(trace_id)}

    expected_http = {("douane-front-door", "douane.front_door.request"),
                     *(("douane-worker", n) for n in WORKER_SPANS)}
    expected_kafka = {("douane-worker", n) for n in WORKER_SPANS}

    async def exported() -> bool:
        return (names(http_trace) >= expected_http and names(kafka_trace) >= expected_kafka)

    await wait_until(exported, 60, lambda: f"spans missing: "
                     f"{expected_http - names(http_trace)} {expected_kafka - names(kafka_trace)}"
                     f"; received: {[astuple(s)[:5] for s in receiver.spans]}; records: "
                     f"{trace_ids_in_records(stack, http_id)} "
                     f"{trace_ids_in_records(stack, kafka_id)}")
    assert receiver.content_types == {"application/x-protobuf"}
    spans = {s.span_id: s for s in receiver.of_trace(http_trace)}
    door_span, = [s for s in spans.values() if s.name == "douane.front_door.request"]
    assert door_span.parent_span_id == caller_span
    assert door_span.attributes["http.response.status_code"] == 200
    assert door_span.attributes["douane.tenant"] == "city-of-lyon"
    admit, = [s for s in spans.values() if s.name == "douane.admit"]
    assert admit.parent_span_id == door_span.span_id  # across Kafka, in the request's headers
    forward, = [s for s in spans.values() if s.name == "douane.forward"]
    assert forward.parent_span_id == admit.span_id  # across Kafka, in the forward message's
    call, = [s for s in spans.values() if s.name == "douane.provider.call"]
    assert call.parent_span_id == forward.span_id
    assert call.attributes["douane.provider"] == "sovereign-local"
    kafka_admit, = [s for s in receiver.of_trace(kafka_trace) if s.name == "douane.admit"]
    assert kafka_admit.parent_span_id == caller_span

    # --- the provider stand-in received the provider call's own span as parent
    received = {entry["request_id"]: entry for entry in await stack.received()}
    assert received[http_id]["traceparent"] == f"00-{http_trace}-{call.span_id}-01"
    assert received[kafka_id]["traceparent"].split("-")[1] == kafka_trace

    # --- the evidence: every record of each request names its trace, and the trace finds them
    assert trace_ids_in_records(stack, http_id) == {
        "admitted": http_trace, "forwarded": http_trace, "answered": http_trace}
    assert trace_ids_in_records(stack, kafka_id) == {
        "admitted": kafka_trace, "forwarded": kafka_trace, "answered": kafka_trace}
    found = await query_trace(stack, http_trace)
    assert [(r["request_id"], r["kind"]) for r in found] == [
        (http_id, "admitted"), (http_id, "forwarded"), (http_id, "answered")]
    seqs = {s.attributes.get("douane.audit.seq") for s in spans.values()
            if s.name == "douane.audit.append"}
    assert {r["seq"] for r in found} <= seqs  # and from a span back to its record

    # --- no personal data, no request id, in any span exported
    text = json.dumps([(s.name, s.attributes) for s in receiver.spans])
    assert [v for v in (*PLANTED, http_id, kafka_id) if v in text] == []
