"""The worker's own small HTTP server: liveness, readiness and Prometheus metrics.

``GET /livez``: 200 whenever the worker's event loop answers (a hung loop does not), naming
the loop that runs (``uvloop`` or ``asyncio``, ``DOUANE_EVENT_LOOP``).
``GET /readyz``: 200 while the worker does its job, 503 otherwise, with the checks in JSON:

- ``consuming``: the consumer loop runs and has partitions assigned (a worker beyond the
  number of partitions, or one still joining its group or stopping, is not ready);
- ``audit_store_writable``: the last write to the audit store succeeded (every append, and the
  checkpoint timer, which opens a write transaction each ``DOUANE_CHECKPOINT_INTERVAL_S`` even
  when idle); while it cannot write, messages are held, never forwarded;
- ``policy_loaded``: the policy files on disk were loaded; a change that was refused (invalid,
  or its test cases fail) leaves the previous set in force and the worker not ready until the
  files load again, so that a deployment that did not take effect is seen.

``GET /metrics``: every metric of ``streams.adapters.metrics``; the gauges that describe a
state (consumer lag, audit log size, checkpoint age, circuit breakers) are read at the scrape.

Served on ``DOUANE_WORKER_HTTP_HOST``:``DOUANE_WORKER_HTTP_PORT`` (loopback by default; off when
the port is 0, the default, so that several workers on one machine need no port each).
Nothing it answers holds a request id, a tenant's text or any personal value.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from streams.adapters import metrics
from streams.adapters.audit.records import SqlRecords
from streams.pipeline import Pipeline
from streams.runtime.event_loop import loop_name
from streams.runtime.parallel_consumer import ParallelStages

log = structlog.get_logger(__name__)


@dataclass
class WorkerHealth:
    """What the worker's readiness and metrics read; the worker updates it as it runs."""

    pipeline: Pipeline
    audit_log: SqlRecords | None = None
    consumer: ParallelStages | None = None
    # the policy files on disk failed to load (the previous set stays in force)
    policy_refused: bool = False

    def checks(self) -> dict[str, bool]:
        return {
            "consuming": self.consumer is not None and self.consumer.consuming,
            "audit_store_writable": self.pipeline.audit_writable,
            "policy_loaded": not self.policy_refused,
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        checks = self.checks()
        ready = all(checks.values())
        metrics.WORKER_READY.set(1 if ready else 0)
        return ready, {"ready": ready, "checks": checks,
                       "policy": self.pipeline.policy.reference}

    async def refresh_metrics(self) -> None:
        """Set the gauges that describe the worker's state as it is now."""
        self.readiness()
        for provider, breaker in self.pipeline.delivery.breakers.by_provider.items():
            metrics.record_circuit(provider, breaker.state)
        await self._refresh_consumer()
        if self.audit_log is not None:
            await self._refresh_audit(self.audit_log)

    async def _refresh_consumer(self) -> None:
        consumer = self.consumer
        assigned = consumer.assignment() if consumer is not None else set()
        metrics.CONSUMER_PARTITIONS.set(len(assigned))
        metrics.CONSUMER_IN_FLIGHT.clear()
        if consumer is not None:
            for topic, count in consumer.in_flight_by_topic.items():
                metrics.CONSUMER_IN_FLIGHT.labels(topic).set(count)
        lag = await consumer.lag() if consumer is not None else {}
        # the topics are the worker's own (the policy's tenants and providers); partitions
        # revoked since the last scrape disappear
        metrics.CONSUMER_LAG.clear()
        for partition, behind in lag.items():
            metrics.CONSUMER_LAG.labels(partition.topic, str(partition.partition)).set(behind)

    async def _refresh_audit(self, audit_log: SqlRecords) -> None:
        try:
            size, latest = await asyncio.to_thread(
                lambda: (audit_log.size(), audit_log.latest_checkpoint_issued()))
        except Exception as error:  # a store that cannot be read: the gauges keep their values
            log.warning("audit log metrics unavailable", error_type=type(error).__name__)
            return
        metrics.AUDIT_RECORDS.set(size)
        if latest is not None:
            covered, issued_at = latest
            issued = datetime.fromisoformat(issued_at).timestamp()
            metrics.AUDIT_CHECKPOINTED.set(covered)
            metrics.AUDIT_CHECKPOINT_TIME.set(issued)
            metrics.AUDIT_CHECKPOINT_AGE.set(max(0.0, time.time() - issued))


async def metrics_response(_: web.Request) -> web.Response:
    body, content_type = metrics.exposition()
    # aiohttp wants the charset apart from the type
    mime, _sep, params = content_type.partition(";")
    charset = params.split("charset=")[-1].strip() if "charset=" in params else None
    return web.Response(body=body, content_type=mime.strip(), charset=charset)


async def live(_: web.Request) -> web.Response:
    return web.json_response({"alive": True, "event_loop": loop_name()})


HEALTH: web.AppKey[WorkerHealth] = web.AppKey("worker_health", WorkerHealth)


async def ready(request: web.Request) -> web.Response:
    is_ready, body = request.app[HEALTH].readiness()
    return web.json_response(body, status=200 if is_ready else 503)


async def worker_metrics(request: web.Request) -> web.Response:
    await request.app[HEALTH].refresh_metrics()
    return await metrics_response(request)


def health_app(health: WorkerHealth) -> web.Application:
    app = web.Application()
    app[HEALTH] = health
    app.router.add_get("/livez", live)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", worker_metrics)
    return app


async def start_health_server(health: WorkerHealth, host: str, port: int) -> web.AppRunner:
    """Serve ``health`` on ``host``:``port``; the caller cleans the runner up."""
    runner = web.AppRunner(health_app(health), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise OSError(f"the worker's health and metrics server cannot listen on {host}:{port} "
                      f"(DOUANE_WORKER_HTTP_HOST, DOUANE_WORKER_HTTP_PORT): {error.strerror}"
                      ) from error
    log.info("health and metrics", url=f"http://{host}:{port}",
             endpoints=["/livez", "/readyz", "/metrics"])
    return runner
