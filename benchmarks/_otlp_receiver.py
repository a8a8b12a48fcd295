"""An OTLP/HTTP traces receiver in a process of its own, for the benchmarks that trace.

It decodes every export as a collector would (so its CPU is not counted in the process being
measured), keeps each span's name, trace id, start, end and ``douane.audit.kind`` attribute,
and hands them over when asked. Used by ``latency_breakdown.py`` (stages of each request) and
``tracing_overhead.py`` (what exporting costs; it counts the spans).

    with TraceReceiver() as receiver:
        ... export to receiver.endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) ...
        spans = receiver.spans()  # once the exporters have flushed
"""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

# (name, trace id in hex, start ns, end ns, the audit kind of an audit append or None)
SpanRow = tuple[str, str, int, int, str | None]


def _receive(pipe: Connection) -> None:
    """The receiver process: sends its port, then, when asked, every span it decoded."""
    spans: list[SpanRow] = []

    async def traces(request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    kind = next((a.value.string_value for a in span.attributes
                                 if a.key == "douane.audit.kind"), None)
                    spans.append((span.name, span.trace_id.hex(), span.start_time_unix_nano,
                                  span.end_time_unix_nano, kind))
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    async def serve() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", traces)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        pipe.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "send them"
        pipe.send(spans)

    asyncio.run(serve())


class TraceReceiver:
    """The receiver process, started on entering; ``spans()`` stops it and returns what it
    received (a receiver not asked is stopped on exit)."""

    def __init__(self) -> None:
        self._pipe: Connection | None = None
        self._process: BaseProcess | None = None
        self.endpoint = ""

    def __enter__(self) -> TraceReceiver:
        ours, theirs = multiprocessing.Pipe()
        # spawned: the benchmark may hold threads (a tracing SDK's exporter) a fork would copy
        self._process = multiprocessing.get_context("spawn").Process(
            target=_receive, args=(theirs,), name="otlp-receiver")
        self._process.start()
        self._pipe = ours
        self.endpoint = f"http://127.0.0.1:{ours.recv()}"
        return self

    def spans(self) -> list[SpanRow]:
        assert self._pipe is not None and self._process is not None, "not started"
        self._pipe.send("send them")
        received: list[SpanRow] = self._pipe.recv()
        self._process.join()
        return received

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()
