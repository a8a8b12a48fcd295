"""Retries, circuit breakers and fallback over real HTTP stand-ins, and through the pipeline's
forward stage with a real signed audit log: only allowed providers, in policy order, each one
audited before it receives anything; when none is left, a ``failed`` response with reasons."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.audit.verify import load_audit_schema, verify_store
from streams.adapters.policy_files import parse_policy, policy_document, policy_yaml
from streams.adapters.providers.base import ProviderError
from streams.adapters.providers.delivery import Delivery
from streams.adapters.providers.fallback import candidates, fallback_ids
from streams.adapters.providers.gateway import ProviderGateway
from streams.adapters.providers.resilience import Breakers, CircuitBreaker, RetryPolicy
from streams.adapters.signer import load_or_create_signer
from streams.config import RESPONSES_TOPIC, project_root
from streams.core.decision import forwarded_digest
from streams.core.intake import RequestIntake
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection
from streams.core.policy import Provider
from streams.core.tenant_topics import SINGLE
from streams.devtools.stand_ins.common import Fault, StandIn
from streams.devtools.stand_ins.server import running
from streams.pipeline import Pipeline, Source

ROOT = project_root()
REQUEST_SCHEMA = json.loads((ROOT / "schemas" / "request.schema.json").read_text("utf-8"))


def err(retryable: bool, retry_after: float | None = None) -> ProviderError:
    return ProviderError("x", retryable=retryable, retry_after=retry_after)


@pytest.mark.parametrize(("attempt", "error", "expected"), [
    pytest.param(1, err(False), None, id="not-retryable"),
    pytest.param(3, err(True), None, id="attempts-used-up"),
    pytest.param(1, err(True, retry_after=2.5), 2.5, id="retry-after-honoured"),
    pytest.param(1, err(True, retry_after=120), None, id="retry-after-too-long-next-provider"),
    pytest.param(1, err(True), 0.5, id="first-backoff-full-jitter-top"),
    pytest.param(2, err(True), 1.0, id="second-backoff-doubles"),
])
def test_retry_timing(attempt: int, error: ProviderError, expected: float | None) -> None:
    policy = RetryPolicy(attempts=3, base_delay_s=0.5, max_retry_after_s=30, rng=lambda: 1.0)
    assert policy.delay_before(attempt, error) == expected
    half = RetryPolicy(attempts=3, base_delay_s=0.5, rng=lambda: 0.5)
    if expected is not None and error.retry_after is None:
        assert half.delay_before(attempt, error) == expected / 2  # jitter scales the delay


def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown_s=10, clock=lambda: now[0])
    breaker.failed()
    assert breaker.allow() and breaker.state == "closed"
    breaker.failed()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow() and not breaker.allow()  # one trial call only
    breaker.failed()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allow()


# --- policies with several doors -----------------------------------------------------------

def policy_with(endpoints: dict[str, tuple[str, str, str]], personal: list[str]) -> LoadedPolicy:
    """The shipped policy with these providers {id: (kind, endpoint, model)}; ``personal``
    data may go to ``personal`` in that order, ``public`` data to every provider."""
    document = policy_document(ROOT / "policies")
    template = document["providers"][0]
    document["providers"] = [
        {**template, "id": pid, "kind": kind, "endpoint": endpoint, "models": [model],
         "jurisdiction": "FR" if kind == "openai-compatible" else "US"}
        for pid, (kind, endpoint, model) in endpoints.items()]
    baseline = next(r for r in document["rules"] if r["id"] == "baseline")
    document["rules"] = [
        {"id": "secret", "when": {"classifications": ["secret"]},
         "residency": {"providers": []}},
        {"id": "public", "when": {"classifications": ["public"]},
         "residency": {"providers": list(endpoints)}},
        # doors of every kind, whatever their law: these tests are about failover
        {"id": "others", "residency": {"providers": personal},
         "residency_exception": "failover tests across providers of every kind"},
        baseline,
    ]
    return parse_policy(policy_yaml(document), "test-policy.yaml")


class Doors:
    def __init__(self) -> None:
        self.states: dict[str, StandIn] = {}
        self.endpoints: dict[str, tuple[str, str, str]] = {}


@pytest_asyncio.fixture
async def doors() -> AsyncIterator[Doors]:
    specs = {"claude-eu": ("anthropic", "anthropic", "claude-sonnet-4-6"),
             "gemini-us": ("gemini", "gemini", "gemini-2.5-flash"),
             "local-llama": ("openai-chat", "openai-compatible", "llama-3.1-8b-instruct")}
    found = Doors()
    async with AsyncExitStack() as stack:
        for pid, (wire, kind, model) in specs.items():
            state = StandIn(pid, (model,))
            door = await stack.enter_async_context(running(wire, state))
            found.states[pid] = state
            found.endpoints[pid] = (kind, door.base_url, model)
        yield found


class NoFindings:
    def detect(self, messages: tuple[ChatMessage, ...], language: str | None) -> Detection:
        return Detection(language or "en", "ner+patterns", ())


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[GroupCommitLog]:
    signer = load_or_create_signer(tmp_path / "k.pem", tmp_path / "audit.pub.pem")
    store = open_sqlite_log(tmp_path / "audit.sqlite3", signer)
    yield store
    report = verify_store(tmp_path / "audit.sqlite3", [tmp_path / "audit.pub.pem"],
                          load_audit_schema())
    store.close()
    assert report.ok, report.problem


async def run_request(
    policy: LoadedPolicy, store: GroupCommitLog, classification: str, breakers: Breakers
    | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    gateway = ProviderGateway(timeout_s=2.0)
    pipeline = Pipeline(policy, RequestIntake(REQUEST_SCHEMA, policy.policy.tenant_ids, 65536),
                        NoFindings(), store, gateway, retry_delay_s=0,
                        topic_layout=SINGLE)  # publishes on douane.requests
    if breakers is not None:
        pipeline.delivery.breakers = breakers
    raw = json.dumps({"id": "req-9", "tenant": "city-of-lyon", "classification": classification,
                      "messages": [{"role": "user", "content": "Horaires de la mairie ?"}]})
    [forward] = await pipeline.admit(raw.encode(), Source("douane.requests", 0, 1))
    message = json.loads(forward.value)
    [out] = await pipeline.forward(forward.value, Source(forward.topic, 0, 1))
    await gateway.aclose()
    assert out.topic == RESPONSES_TOPIC
    return message, json.loads(out.value)


async def test_overloaded_first_choice_falls_back_to_the_next_allowed_provider(
    doors: Doors, audit: GroupCommitLog
) -> None:
    policy = policy_with(doors.endpoints, ["claude-eu", "local-llama"])
    doors.states["claude-eu"].faults.extend([Fault(status=529)] * 3)

    message, response = await run_request(policy, audit, "personal")

    assert (message["provider"], message["fallbacks"]) == ("claude-eu", ["local-llama"])
    assert response["status"] == "answered" and response["provider"] == "local-llama"
    assert len(doors.states["claude-eu"].received) == 3  # retried, then given up
    assert doors.states["gemini-us"].received == []      # not allowed for personal data
    [llama_call] = doors.states["local-llama"].received
    assert llama_call["audit_record_id"] == "req-9/forwarded/local-llama"
    assert llama_call["body"]["model"] == "llama-3.1-8b-instruct"
    kinds = [(r.kind, r.record_id) for r in audit.records_for_request("req-9")]
    assert kinds == [("admitted", "req-9/admitted"),
                     ("forwarded", "req-9/forwarded/claude-eu"),
                     ("forwarded", "req-9/forwarded/local-llama"),
                     ("answered", "req-9/answered")]
    record = audit.get("req-9/forwarded/local-llama")
    assert record is not None
    assert record.payload["details"]["forwarded_sha256"] == forwarded_digest(llama_call["body"])
    answered = audit.get("req-9/answered")
    assert answered is not None
    assert answered.payload["details"]["failed_over_from"] == ["claude-eu"]


async def test_a_rejected_request_is_not_retried_but_the_next_provider_is_tried(
    doors: Doors, audit: GroupCommitLog
) -> None:
    policy = policy_with(doors.endpoints, ["claude-eu", "local-llama"])
    doors.states["claude-eu"].faults.append(Fault(status=400))
    _, response = await run_request(policy, audit, "personal")
    assert response["provider"] == "local-llama"
    assert len(doors.states["claude-eu"].received) == 1


async def test_when_no_allowed_provider_answers_the_request_fails_with_every_reason(
    doors: Doors, audit: GroupCommitLog
) -> None:
    policy = policy_with(doors.endpoints, ["claude-eu", "local-llama"])
    doors.states["claude-eu"].faults.append(Fault(status=401))
    doors.states["local-llama"].faults.extend([Fault(status=503)] * 3)

    _, response = await run_request(policy, audit, "personal")

    assert response["status"] == "failed" and response["audit_record_id"] == "req-9/failed"
    assert [r["code"] for r in response["reasons"]] == ["provider-failed"] * 2
    # what each provider answered is the operator's: in the failed record, not the response
    [failed] = [r for r in audit.records_for_request("req-9") if r.kind == "failed"]
    audited = failed.payload["details"]["reasons"]
    assert "claude-eu" in audited[0]["message"] and "HTTP 503" in audited[1]["message"]
    assert "claude-eu" not in json.dumps(response["reasons"])
    assert "HTTP 503" not in json.dumps(response["reasons"])
    assert doors.states["gemini-us"].received == []
    assert [r.kind for r in audit.records_for_request("req-9")] == [
        "admitted", "forwarded", "forwarded", "failed"]


async def test_rate_limit_waits_as_long_as_the_provider_asks(doors: Doors) -> None:
    policy = policy_with(doors.endpoints, ["gemini-us"])
    doors.states["gemini-us"].faults.append(Fault(status=429, retry_after=0.25))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def audit_forwarded(target: Provider, _body: dict[str, Any]) -> str:
        return f"r/forwarded/{target.id}"

    gateway = ProviderGateway(timeout_s=2.0)
    delivery = Delivery(gateway, RetryPolicy(attempts=3), sleep=sleep)
    result = await delivery.deliver(
        "r", [policy.policy.provider("gemini-us")],
        {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]},
        audit_forwarded)
    await gateway.aclose()
    assert result.answer is not None and slept == [0.25]


async def test_an_open_breaker_skips_the_provider_without_sending_anything(
    doors: Doors, audit: GroupCommitLog
) -> None:
    policy = policy_with(doors.endpoints, ["claude-eu", "local-llama"])
    breakers = Breakers(threshold=1, cooldown_s=60)
    breakers("claude-eu").failed()

    _, response = await run_request(policy, audit, "personal", breakers)

    assert response["provider"] == "local-llama"
    assert doors.states["claude-eu"].received == []
    assert audit.get("req-9/forwarded/claude-eu") is None  # nothing left, nothing recorded


def test_stage_two_never_calls_a_provider_the_policy_does_not_allow() -> None:
    endpoints = {"a": ("anthropic", "http://127.0.0.1:1/v1", "m"),
                 "b": ("openai-compatible", "http://127.0.0.1:2/v1", "m"),
                 "c": ("gemini", "http://127.0.0.1:3/v1beta", "other")}
    policy = policy_with(endpoints, ["b", "a"])
    message = {"provider": "b", "fallbacks": ["c", "a", "ghost"], "classification": "personal",
               "tenant": "city-of-lyon"}
    assert [p.id for p in candidates(policy, message)] == ["b", "a"]
    assert [p.id for p in candidates(policy, {**message, "classification": "secret"})] == []
    assert fallback_ids(policy, "city-of-lyon", None, "public", "a", None) == ["b", "c"]
    assert fallback_ids(policy, "city-of-lyon", None, "public", "a", "m") == ["b"]  # asked-for
    assert isinstance(policy.policy.provider("a"), Provider)


# --- streamed answers ------------------------------------------------------------------------

class Sink:
    """Collects the chunk messages stage 2 publishes, with the time each one left."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, dict[str, Any]]] = []

    async def __call__(self, topic: str, key: bytes, value: bytes) -> None:
        assert topic == "douane.responses.chunks" and key == b"req-9"
        self.sent.append((time.monotonic(), json.loads(value)))


async def run_streamed(
    policy: LoadedPolicy, store: GroupCommitLog, sink: Sink
) -> tuple[dict[str, Any], float]:
    gateway = ProviderGateway(timeout_s=5.0)
    pipeline = Pipeline(policy, RequestIntake(REQUEST_SCHEMA, policy.policy.tenant_ids, 65536),
                        NoFindings(), store, gateway, retry_delay_s=0,
                        topic_layout=SINGLE)  # publishes on douane.requests
    pipeline.chunk_sink = sink
    pipeline.answer_hook = str.upper  # stands for placeholder restoration (issue 4)
    raw = json.dumps({"id": "req-9", "tenant": "city-of-lyon", "classification": "personal",
                      "stream": True,
                      "messages": [{"role": "user", "content": " ".join(["Un mot."] * 30)}]})
    [forward] = await pipeline.admit(raw.encode(), Source("douane.requests", 0, 1))
    assert json.loads(forward.value)["stream"] is True
    [out] = await pipeline.forward(forward.value, Source(forward.topic, 0, 1))
    finished = time.monotonic()
    await gateway.aclose()
    return json.loads(out.value), finished


async def test_a_streamed_answer_leaves_piece_by_piece_before_it_is_complete(
    doors: Doors, audit: GroupCommitLog
) -> None:
    doors.states["local-llama"].chunk_delay_s = 0.03
    policy = policy_with(doors.endpoints, ["local-llama"])
    sink = Sink()

    response, finished = await run_streamed(policy, audit, sink)

    assert response["status"] == "answered"
    pieces = [body["delta"] for _, body in sink.sent]
    assert len(pieces) > 5 and [b["seq"] for _, b in sink.sent] == list(range(1, len(pieces) + 1))
    assert "".join(pieces) == response["messages"][0]["content"]  # hook applied once, to all
    assert response["messages"][0]["content"].startswith("[LLAMA-3.1-8B-INSTRUCT]")
    assert finished - sink.sent[0][0] > 0.15  # the first piece left long before the end
    answered = audit.get("req-9/answered")
    assert answered is not None and answered.payload["details"]["streamed"] is True
    [call] = doors.states["local-llama"].received
    forwarded = audit.get("req-9/forwarded/local-llama")
    assert forwarded is not None and call["body"]["stream"] is True
    assert forwarded.payload["details"]["forwarded_sha256"] == forwarded_digest(call["body"])


async def test_a_stream_failing_before_its_first_piece_falls_back(
    doors: Doors, audit: GroupCommitLog
) -> None:
    policy = policy_with(doors.endpoints, ["claude-eu", "local-llama"])
    doors.states["claude-eu"].faults.append(Fault(status=401))
    response, _ = await run_streamed(policy, audit, Sink())
    assert response["status"] == "answered" and response["provider"] == "local-llama"


async def test_a_stream_broken_in_the_middle_is_not_resent_anywhere(
    doors: Doors, audit: GroupCommitLog
) -> None:
    policy = policy_with(doors.endpoints, ["claude-eu", "local-llama"])
    doors.states["claude-eu"].faults.append(Fault(status=529, mid_stream=True))
    sink = Sink()

    response, _ = await run_streamed(policy, audit, sink)

    assert response["status"] == "failed"
    assert [r["code"] for r in response["reasons"]] == ["provider-failed", "stream-interrupted"]
    assert len(doors.states["claude-eu"].received) == 1  # not retried
    assert doors.states["local-llama"].received == []      # not sent elsewhere
