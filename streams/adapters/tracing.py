"""Traces: W3C trace context (``traceparent``, ``tracestate``) carried from the caller through
both stages to the provider call, and OpenTelemetry spans exported by OTLP over HTTP/protobuf.

Off unless configured with the standard OpenTelemetry variables (``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; ``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``,
``OTEL_BSP_*``, ``OTEL_EXPORTER_OTLP_HEADERS``... are read by the SDK itself). Off, every
function here returns at its first line: no span, no header read or written, no trace id in
the audit log, and the SDK is not even imported. docs/operations.md, "Traces".

Where the context travels: the front door reads it from the HTTP request and writes it into
the request's Kafka headers; a producing system may write those headers itself. The admit
stage continues it and writes its own into the forward message's Kafka headers (and the
response's); the forward stage continues that one and sends it to the provider in the
``traceparent`` header of each call. The trace id is recorded, signed, in every audit record
of the request (``details.trace_id``), so an operator goes from a trace to its evidence
(``douane audit query --trace-id``) and from a record to its trace.

**No span attribute carries personal data or a value a producer controls.** Attributes are set
only through :func:`note`, whose parameters are the complete list; text values go through the
closed sets of :mod:`streams.adapters.metrics` (anything else becomes ``other``) and tenant or
provider ids through :func:`declared` (kept only when the policy declares them). Request ids,
conversation keys, models and texts never become attributes. Exceptions are recorded by type
name only (their messages may quote what they failed on).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NewType, TypedDict, Unpack

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from streams.adapters import metrics
from streams.core.audit import AUDIT_KINDS
from streams.core.policy import CLASSIFICATIONS
from streams.errors import DouaneError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["CONTEXT_HEADERS", "Declared", "SpanKind", "TracingSettingError", "carrier_of",
           "declared", "enabled", "flush", "http_headers", "kafka_headers", "note", "parent_of",
           "span", "start_tracing", "stop_tracing", "trace_id", "tracing_configured"]

# W3C Trace Context only: what every tracing system and OpenTelemetry SDK reads by default
PROPAGATOR = TraceContextTextMapPropagator()
CONTEXT_HEADERS = ("traceparent", "tracestate")
TRACER_NAME = "douane"
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
# W3C limits a tracestate to 32 members of at most 256 characters each
MAX_HEADER_CHARS = 32 * 257

_tracer: trace.Tracer | None = None  # None: tracing is off
_provider: TracerProvider | None = None

class TracingSettingError(DouaneError, ValueError):
    """An ``OTEL_*`` setting douane cannot honour; the message names it."""


Declared = NewType("Declared", str)  # a tenant or provider id the policy declares, or a marker
OUTCOMES = frozenset({"accepted", "rejected", "ok", "failed"})


def tracing_configured(source: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` settings (``Settings.otel_env``) ask for traces: an OTLP
    endpoint is set, the SDK is not disabled (``OTEL_SDK_DISABLED``) and the traces exporter
    is not ``none``. A setting douane cannot honour raises TracingSettingError naming it."""
    if source.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = source.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if exporter == "none":
        return False
    if exporter not in ("otlp", "otlp_proto_http"):
        raise TracingSettingError(
            f"OTEL_TRACES_EXPORTER={exporter!r}: douane exports traces by OTLP over "
            "HTTP/protobuf only ('otlp'), or not at all ('none')")
    protocol = source.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                          source.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"))
    if protocol.strip().lower() != "http/protobuf":
        raise TracingSettingError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: douane exports traces by OTLP over "
            "HTTP/protobuf only (port 4318 of a collector, not gRPC's 4317)")
    return bool(source.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                or source.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def start_tracing(service_name: str, otel_env: Mapping[str, str],
                  exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for this process if ``otel_env`` (``Settings.otel_env``) configures it,
    or ``exporter`` is given (tests); the service is ``service_name`` unless
    ``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` names it. Returns whether tracing is
    on. A setting douane cannot honour raises TracingSettingError naming it."""
    global _tracer, _provider
    if exporter is None and not tracing_configured(otel_env):
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout, TLS: OTEL_EXPORTER_OTLP_*
    # the sampler comes from OTEL_TRACES_SAMPLER (default: the caller's choice, else always);
    # spans leave in batches from a thread of their own, never from the event loop
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider, _tracer = provider, provider.get_tracer(TRACER_NAME)
    return True


def stop_tracing() -> None:
    """Export what is left and turn tracing off (at the end of a process, or of a test)."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def flush() -> None:
    """Export the spans ended so far now (tests, benchmarks)."""
    if _provider is not None:
        _provider.force_flush()


def enabled() -> bool:
    return _tracer is not None


def span(name: str, parent: Context | None = None,
         kind: SpanKind = SpanKind.INTERNAL) -> contextlib.AbstractContextManager[None]:
    """A span around the block, child of ``parent`` (default: the current span), current
    inside the block. An exception marks it failed with its type name only."""
    if _tracer is None:
        return _NO_SPAN  # one shared object: nothing made per block while tracing is off
    return _span(_tracer, name, parent, kind)


_NO_SPAN = contextlib.nullcontext()


@contextlib.contextmanager
def _span(tracer: trace.Tracer, name: str, parent: Context | None,
          kind: SpanKind) -> Iterator[None]:
    started = tracer.start_span(name, context=parent, kind=kind)
    with trace.use_span(started, end_on_exit=True, record_exception=False,
                        set_status_on_exception=False):
        try:
            yield
        except Exception as error:
            started.set_attribute("error.type", type(error).__name__)
            started.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def declared(value: object, ids: Collection[str]) -> Declared:
    """A tenant or provider id as it may appear on a span: the id if the policy declares it,
    ``unknown`` if not, ``none`` for no value."""
    return Declared(metrics.declared_label(value, ids))


class SpanFacts(TypedDict, total=False):
    """What a span may say, and nothing else: codes from closed sets, declared ids, counts
    (None: not said)."""

    stage: str | None
    tenant: Declared | None
    provider: Declared | None
    decision: str | None
    reasons: Sequence[str] | None
    classification: str | None
    outcome: str | None
    audit_kind: str | None
    audit_seq: int | None
    audit_created: bool | None
    entities: int | None
    messages: int | None
    size_bytes: int | None
    attempt: int | None
    streamed: bool | None
    status_code: int | None
    error_kind: str | None


def note(**facts: Unpack[SpanFacts]) -> None:
    """Set attributes on the current span (if it records): these and no others."""
    if _tracer is None:
        return
    current = trace.get_current_span()
    if not current.is_recording():
        return
    current.set_attributes(attributes(**facts))


def attributes(**facts: Unpack[SpanFacts]) -> dict[str, AttributeValue]:
    """The span attributes for these facts: each text value mapped onto its closed set, each
    number kept only if it is a non-negative integer."""
    found: dict[str, AttributeValue] = {}
    closed: Iterable[tuple[str, object, Collection[str]]] = (
        ("douane.stage", facts.get("stage"), metrics.STAGES),
        ("douane.decision", facts.get("decision"), metrics.DECISIONS),
        ("douane.classification", facts.get("classification"), CLASSIFICATIONS),
        ("douane.outcome", facts.get("outcome"), OUTCOMES),
        ("douane.audit.kind", facts.get("audit_kind"), AUDIT_KINDS),
        ("douane.provider.error", facts.get("error_kind"), metrics.PROVIDER_ERROR_KINDS),
    )
    for key, text, allowed in closed:
        if text is not None:
            found[key] = metrics.closed_label(text, allowed)
    for key, chosen in (("douane.tenant", facts.get("tenant")),
                        ("douane.provider", facts.get("provider"))):
        if chosen is not None:  # Declared: already mapped by declared()
            found[key] = str(chosen)
    reasons = facts.get("reasons")
    if reasons is not None:
        found["douane.reasons"] = [metrics.closed_label(c, metrics.REASON_CODES)
                                   for c in reasons]
    counts = (("douane.audit.seq", facts.get("audit_seq")),
              ("douane.entities", facts.get("entities")),
              ("douane.messages", facts.get("messages")),
              ("douane.size_bytes", facts.get("size_bytes")),
              ("douane.attempt", facts.get("attempt")),
              ("http.response.status_code", facts.get("status_code")))
    for key, number in counts:
        if type(number) is int and number >= 0:
            found[key] = number
    for key, flag in (("douane.audit.created", facts.get("audit_created")),
                      ("douane.streamed", facts.get("streamed"))):
        if type(flag) is bool:
            found[key] = flag
    return found


# ------------------------------------------------------------------------ the context's travel


def carrier_of(headers: Iterable[tuple[str, bytes]] | None) -> tuple[tuple[str, str], ...]:
    """The trace context among a Kafka message's headers (nothing when tracing is off)."""
    if _tracer is None or not headers:
        return ()
    return tuple((name.lower(), value.decode("ascii", errors="replace"))
                 for name, value in headers
                 if name.lower() in CONTEXT_HEADERS and len(value) <= MAX_HEADER_CHARS)


def parent_of(carrier: Iterable[tuple[str, str]] | Mapping[str, str]) -> Context | None:
    """The caller's span as a parent, from ``traceparent``/``tracestate`` (HTTP headers or a
    :func:`carrier_of`); None when tracing is off or there is no valid one (a new trace)."""
    if _tracer is None:
        return None
    pairs = carrier.items() if isinstance(carrier, Mapping) else carrier
    found = {name.lower(): value for name, value in pairs
             if name.lower() in CONTEXT_HEADERS and len(value) <= MAX_HEADER_CHARS}
    if "traceparent" not in found:
        return None
    return PROPAGATOR.extract(found)


def http_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span, for an outgoing call."""
    if _tracer is None:
        return {}
    headers: dict[str, str] = {}
    PROPAGATOR.inject(headers)
    return headers


def kafka_headers() -> tuple[tuple[str, bytes], ...]:
    """The same, as Kafka message headers."""
    return tuple((name, value.encode("ascii")) for name, value in http_headers().items())


def trace_id() -> str | None:
    """The current trace's id (32 lowercase hex digits), for the audit record; None when
    tracing is off or no span is current."""
    if _tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
