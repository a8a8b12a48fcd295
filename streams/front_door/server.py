"""``douane front-door``: ``POST /v1/chat/completions`` (JSON or SSE) and ``GET /v1/models``.

Every request is authenticated by its API key (-> tenant; revoked and expired keys are refused
as soon as the key file says so), held to its key's and tenant's limits (``limits``: 429 with
``retry-after``), translated to a douane request, published to the tenant's
``douane.requests.<tenant>`` and answered from its ``douane.responses.<tenant>`` (``bridge``):
the same intake, detection, policy and audit as any Kafka producer gets. ``stream: true``
answers with Chat Completions chunks cut from the governed answer (see ``streaming``).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web

from streams.adapters import metrics, tracing
from streams.adapters.providers.fallback import allowed_ids
from streams.config import Settings
from streams.core.loaded_policy import LoadedPolicy
from streams.core.tenant_topics import request_topics
from streams.front_door.bridge import KafkaBridge, bridge_for
from streams.front_door.keys import Caller, KeyFileError, KeyStore, keys_path
from streams.front_door.limits import Limiter, LimitSettings, Refused, Slot
from streams.front_door.openai_format import (
    CLASSIFICATION_HEADER,
    BadRequest,
    chunk,
    completion,
    error_body,
    refusal,
    to_douane_request,
    usage_chunk,
    wants_usage_chunk,
)
from streams.front_door.readiness import WorkerGroupWatch
from streams.front_door.streaming import pieces
from streams.runtime.event_loop import loop_name
from streams.runtime.health import metrics_response

log = structlog.get_logger(__name__)
TIMEOUT_HEADER = "X-Douane-Timeout-S"  # a caller may ask for less than the configured time
# below this, a caller would only queue work it never waits for (fire and forget)
MIN_TIMEOUT_S = 1.0


@dataclass
class FrontDoor:
    policy: LoadedPolicy
    keys: KeyStore
    bridge: KafkaBridge
    timeout_s: float
    max_message_bytes: int = 256 * 1024  # DOUANE_MAX_MESSAGE_BYTES: the worker's intake limit
    limiter: Limiter = field(default_factory=lambda: Limiter(LimitSettings()))
    min_timeout_s: float = MIN_TIMEOUT_S
    # whether a worker consumes its request topics (None: not watched, as in tests of the
    # HTTP layer alone)
    readiness: WorkerGroupWatch | None = None

    def ready(self) -> tuple[bool, dict[str, Any]]:
        if self.readiness is None:
            return True, {"ready": True, "checks": {"worker_consuming": "not watched"}}
        reading = self.bridge.reading_answers
        is_ready = self.readiness.consuming and reading
        return is_ready, {"ready": is_ready,
                          "checks": {**self.readiness.status(), "reading_answers": reading}}


FRONT_DOOR: web.AppKey[FrontDoor] = web.AppKey("front_door", FrontDoor)
CALLER: web.RequestKey[Caller] = web.RequestKey("caller", Caller)


def _error(status: int, message: str, kind: str, code: str | None, **extra: Any
           ) -> web.Response:
    """One of the front door's own refusals (not douane's decision on the request)."""
    metrics.FRONT_DOOR_REFUSALS.labels(
        metrics.closed_label(code, metrics.FRONT_DOOR_CODES)).inc()
    return web.json_response(error_body(message, kind, code, **extra), status=status)


@web.middleware
async def measure(request: web.Request, handler: Any) -> web.StreamResponse:
    """Counts and times the API's requests (never /metrics or the health checks). Labels:
    the API key's tenant (one the policy declares: the key file names only those the front
    door serves, others are refused before) and the HTTP status."""
    if not request.path.startswith("/v1/"):
        return await handler(request)  # type: ignore[no-any-return]
    started = time.perf_counter()
    status = "500"
    try:
        response: web.StreamResponse = await handler(request)
        status = str(response.status)
        return response
    except web.HTTPException as error:
        status = str(error.status)
        raise
    finally:
        caller = request.get(CALLER)
        tenant = metrics.declared_label(
            caller.tenant if caller is not None else None,
            request.app[FRONT_DOOR].policy.policy.tenant_ids)
        metrics.FRONT_DOOR_REQUESTS.labels(
            tenant, metrics.closed_label(status, metrics.HTTP_STATUSES)).inc()
        metrics.FRONT_DOOR_SECONDS.observe(time.perf_counter() - started)


@web.middleware
async def traced(request: web.Request, handler: Any) -> web.StreamResponse:
    """The API's requests in a span continuing the caller's trace (its ``traceparent``
    header), whose context the request carries on Kafka (``bridge``). Attributes: the route,
    the status and the API key's tenant (one the policy declares)."""
    if not request.path.startswith("/v1/") or not tracing.enabled():
        return await handler(request)  # type: ignore[no-any-return]
    with tracing.span("douane.front_door.request", tracing.parent_of(request.headers),
                      tracing.SpanKind.SERVER):
        status = 500
        try:
            response: web.StreamResponse = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            caller = request.get(CALLER)
            tracing.note(status_code=status, tenant=tracing.declared(
                caller.tenant if caller is not None else None,
                request.app[FRONT_DOOR].policy.policy.tenant_ids))


@web.middleware
async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/v1/"):
        return await handler(request)  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return _error(401, "missing API key: send 'Authorization: Bearer <key>' (an OpenAI "
                           "SDK does this with api_key=...); an operator creates keys with "
                           "'douane keys add --tenant <tenant>'",
                      "invalid_request_error", "missing_api_key")
    try:
        caller = request.app[FRONT_DOOR].keys.caller(header[7:].strip())
    except KeyFileError as error:  # fail closed: revocations cannot be known
        log.error("key file unreadable; every request refused", error=str(error))
        return _error(503, "the front door cannot read its key file; the operator must fix it",
                      "server_error", "key_file_unreadable")
    if not isinstance(caller, Caller):
        if caller.reason == "unknown":
            return _error(401, "unknown API key: it is not in this douane's key file (keys "
                               "are shown once, when created; ask the operator for a new one)",
                          "invalid_request_error", "invalid_api_key")
        return _error(401, f"{caller.reason} API key (key id {caller.key_id}): ask the "
                           "operator for a new one", "invalid_request_error",
                      f"{caller.reason}_api_key")
    if not request.app[FRONT_DOOR].bridge.serves(caller.tenant):
        # per-tenant topics: only the tenants of the policy it started with have topics and
        # ACLs this front door may use
        return _error(403, "this API key's tenant is not served by this front door (not in the "
                           "policy it started with; an operator restarts it after adding the "
                           "tenant)", "permission_error", "tenant_not_served")
    request[CALLER] = caller
    return await handler(request)  # type: ignore[no-any-return]


def _refused(refused: Refused) -> web.Response:
    """429 in the OpenAI shape; OpenAI's SDKs wait ``retry-after`` seconds and try again."""
    metrics.FRONT_DOOR_REFUSALS.labels(
        metrics.closed_label(refused.code, metrics.FRONT_DOOR_CODES)).inc()
    return web.json_response(
        error_body(f"{refused.message}; try again in {refused.retry_after_s}s",
                   "requests", refused.code),
        status=429, headers={"Retry-After": str(refused.retry_after_s)})


def _timeout(door: FrontDoor, headers: Mapping[str, str]) -> float | web.Response:
    """The time to wait for the answer: the configured one, or less if the caller asks, never
    less than the minimum (a 400 naming the header otherwise)."""
    if TIMEOUT_HEADER not in headers:
        return door.timeout_s
    text = headers[TIMEOUT_HEADER]
    try:
        asked = float(text)
    except ValueError:
        asked = math.nan
    if not math.isfinite(asked) or asked < door.min_timeout_s:
        return _error(400, f"{TIMEOUT_HEADER}: must be a number of seconds of at least "
                           f"{door.min_timeout_s:g} (got {text[:32]!r}); douane goes on working "
                           "on a request its caller stopped waiting for, so shorter waits only "
                           "queue work", "invalid_request_error", "invalid_timeout",
                      param=TIMEOUT_HEADER)
    return min(door.timeout_s, asked)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    door = request.app[FRONT_DOOR]
    caller: Caller = request[CALLER]
    request_id = f"fd-{uuid.uuid4().hex}"
    if (request.content_length or 0) > door.max_message_bytes:
        return _too_large(door.max_message_bytes)
    try:
        body = await request.json()
        message = to_douane_request(body, caller.tenant, request_id, request.headers)
    except web.HTTPRequestEntityTooLarge:  # a body sent in chunks, without its length first
        return _too_large(door.max_message_bytes)
    except (ValueError, BadRequest) as error:
        text = str(error) if isinstance(error, BadRequest) else "the body is not valid JSON"
        return _error(400, text, "invalid_request_error", "invalid_request")
    timeout = _timeout(door, request.headers)
    if isinstance(timeout, web.Response):
        return timeout
    slot = door.limiter.admit(caller.key_id, caller.tenant)
    if isinstance(slot, Refused):
        log.warning("request refused by the limits", key_id=caller.key_id,
                    tenant=caller.tenant, code=slot.code)
        return _refused(slot)
    if body.get("stream"):
        return await relay_stream(request, door.bridge, message, timeout, slot,
                                  include_usage=wants_usage_chunk(body))
    try:
        # the slot is freed when douane's final response comes back, even after a 504
        response = await door.bridge.ask(message, timeout, on_done=slot.release)
    except TimeoutError:
        return _timed_out(request_id, timeout)
    if response.get("status") != "answered":
        status, refused = refusal(response)
        return web.json_response(refused, status=status, headers=_ids(response))
    return web.json_response(completion(response), headers=_ids(response))


def _too_large(limit: int) -> web.Response:
    return _error(413, f"the request body is larger than this douane accepts ({limit} bytes, "
                       "DOUANE_MAX_MESSAGE_BYTES); shorten the messages or split the work",
                  "invalid_request_error", "request_too_large")


def _ids(response: dict[str, Any]) -> dict[str, str]:
    return {"X-Douane-Request-Id": str(response.get("id")),
            "X-Douane-Audit-Record": str(response.get("audit_record_id") or "")}


def _timed_out(request_id: str, timeout: float) -> web.Response:
    log.warning("no answer in time", request_id=request_id, timeout_s=timeout)
    return _error(504, f"no answer within {timeout:g}s; douane keeps processing the "
                       f"request and audits its answer (request id {request_id})",
                  "timeout", "answer_timeout", request_id=request_id)


async def relay_stream(request: web.Request, bridge: KafkaBridge, message: dict[str, Any],
                       timeout: float, slot: Slot | None = None, include_usage: bool = False
                       ) -> web.StreamResponse:
    """Chat Completions chunks from the answer's pieces as douane publishes them.

    Until the first piece, nothing is sent, so a blocked or failed request still gets its HTTP
    error status. Once streaming, the complete response ends the stream: whatever of its text
    was not relayed yet is sent, then ``[DONE]`` (or an error event if it failed meanwhile).
    """
    request_id = message["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    events = await bridge.send(message, slot.release if slot is not None else None)
    out: web.StreamResponse | None = None
    relayed, next_seq = "", 1
    try:
        while True:
            try:
                kind, body = await asyncio.wait_for(events.get(),
                                                    max(0.0, deadline - loop.time()))
            except TimeoutError:
                bridge.close(request_id, timed_out=True)
                if out is None:
                    return _timed_out(request_id, timeout)
                await _sse(out, error_body(f"no complete answer within {timeout:g}s",
                                           "timeout", "answer_timeout", request_id=request_id))
                return out
            if out is None and kind == "final" and body.get("status") != "answered":
                status, refused = refusal(body)
                return web.json_response(refused, status=status, headers=_ids(body))
            if out is None:
                out = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                                  "Cache-Control": "no-cache",
                                                  "X-Douane-Request-Id": request_id})
                await out.prepare(request)
                await _sse(out, chunk(body, {"role": "assistant", "content": ""}, None))
            if kind == "chunk":
                if body.get("seq") == next_seq:  # a redelivered piece is not relayed twice
                    next_seq += 1
                    relayed += body.get("delta", "")
                    await _sse(out, chunk({**body, "model": ""},
                                          {"content": body.get("delta", "")}, None))
                continue
            if body.get("status") != "answered":
                _, refused = refusal(body)
                await _sse(out, refused)
                return out
            answer = (body.get("messages") or [{"content": ""}])[0].get("content", "")
            rest = answer[len(relayed):] if answer.startswith(relayed) else ""
            for piece in pieces(rest) if rest else []:
                await _sse(out, chunk(body, {"content": piece}, None))
            await _sse(out, chunk(body, {}, "stop"))
            if include_usage:
                await _sse(out, usage_chunk(body))
            await out.write(b"data: [DONE]\n\n")
            return out
    finally:
        bridge.close(request_id)


async def _sse(out: web.StreamResponse, data: dict[str, Any]) -> None:
    await out.write(f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())


async def models(request: web.Request) -> web.Response:
    door = request.app[FRONT_DOOR]
    policy = door.policy.policy
    caller: Caller = request[CALLER]
    tenant = policy.tenant(caller.tenant)
    classification = request.headers.get(CLASSIFICATION_HEADER) or tenant.default_classification
    allowed = [policy.provider(pid)
               for pid in allowed_ids(door.policy, caller.tenant, None, classification)]
    data = [{"id": model, "object": "model", "created": 0, "owned_by": provider.id}
            for provider in allowed for model in provider.models]
    return web.json_response({"object": "list", "data": data})


async def live(_: web.Request) -> web.Response:
    return web.json_response({"alive": True, "event_loop": loop_name()})


async def ready(request: web.Request) -> web.Response:
    """200 while a worker consumes every request topic this front door publishes to; 503
    (with what is missing) otherwise: a request sent now would wait for its time-out."""
    is_ready, body = request.app[FRONT_DOOR].ready()
    return web.json_response(body, status=200 if is_ready else 503)


async def health(request: web.Request) -> web.Response:
    """The first health check, kept for what polls it to know the front door is up: 200
    whenever it answers (as /livez), and whether it is ready in the body (as /readyz)."""
    _, body = request.app[FRONT_DOOR].ready()
    return web.json_response({"alive": True, **body})


async def front_door_metrics(request: web.Request) -> web.Response:
    metrics.FRONT_DOOR_WAITING.set(len(request.app[FRONT_DOOR].bridge.waiting))
    return await metrics_response(request)


def build_app(door: FrontDoor) -> web.Application:
    # aiohttp stops reading a body past this (one sent in chunks has no length to check first)
    app = web.Application(middlewares=[measure, traced, authenticate],
                          client_max_size=door.max_message_bytes + 1)
    app[FRONT_DOOR] = door
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/livez", live)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/healthz", health)
    app.router.add_get("/metrics", front_door_metrics)
    return app


async def serve(settings: Settings, port: int, host: str, timeout_s: float | None) -> None:
    from streams.adapters.kafka_security import kafka_connection
    from streams.adapters.topic_retention import topic_settings
    from streams.services.topics import ensure_topics, front_door_topics
    from streams.worker import load_policy

    policy = load_policy(settings.policy_path)
    tracing.start_tracing("douane-front-door", dict(settings.otel_env))  # when configured
    kafka = kafka_connection(settings, "front-door")
    # only the topics it uses: its principal may see no others (the worker makes the rest)
    tenants = sorted(policy.policy.tenant_ids)
    await ensure_topics(kafka, front_door_topics(settings.topic_layout, tenants),
                        settings.topic_partitions, topic_settings(policy, settings.topic_layout),
                        settings.topic_replication_factor)
    # a bad setting stops here; the policy may give a tenant its own
    limits = LimitSettings.from_environment(
        dict(settings.front_door_limits_env)).with_policy(policy.policy)
    bridge = bridge_for(kafka, tenants, settings.topic_layout, settings.front_door_abandon_s,
                        settings.kafka_client)
    await bridge.start()
    # the workers' group is DOUANE_APP_ID (the same setting the workers read)
    watch = WorkerGroupWatch(kafka, settings.app_id, request_topics(settings.topic_layout,
                                                                    tenants))
    await watch.start()
    timeout = timeout_s or settings.front_door_timeout_s
    door = FrontDoor(policy, KeyStore(keys_path(settings.home, settings.front_door_keys)),
                     bridge, timeout,
                     max_message_bytes=settings.max_message_bytes, limiter=Limiter(limits),
                     readiness=watch)
    runner = web.AppRunner(build_app(door), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("front door listening", url=f"http://{host}:{port}/v1", timeout_s=timeout,
             event_loop=loop_name(),
             keys=len(door.keys.entries), per_key=limits.per_key.__dict__,
             per_tenant=limits.per_tenant.__dict__)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await watch.stop()
        await bridge.stop()
        tracing.stop_tracing()
