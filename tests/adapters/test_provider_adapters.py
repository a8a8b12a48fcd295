"""Every wire format's adapter against its stand-in over real HTTP on 127.0.0.1: answers,
streams, credentials, and each provider's real error shapes mapped to one taxonomy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from streams.adapters.providers.base import CallContext, ProviderError
from streams.adapters.providers.delivery import Delivery
from streams.adapters.providers.gateway import ProviderGateway
from streams.core.policy import Provider
from streams.core.usage import TokenUsage
from streams.devtools.stand_ins.common import Fault, StandIn, chunks_of
from streams.devtools.stand_ins.server import running

MODELS = {"openai-chat": "gpt-4o-mini", "anthropic": "claude-sonnet-4-6",
          "gemini": "gemini-2.5-flash"}
POLICY_KIND = {"openai-chat": "mistral", "anthropic": "anthropic", "gemini": "gemini"}
OVERLOAD_STATUS = {"openai-chat": 503, "anthropic": 529, "gemini": 503}
CONTEXT = CallContext(request_id="req-7", audit_record_id="req-7/forwarded/p")
BODY = {"model": "", "messages": [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Quels sont les horaires de <PERSON_1> ?"},
]}
KEY = "sk-test-0123456789"


@dataclass
class Door:
    wire: str
    provider: Provider
    state: StandIn
    gateway: ProviderGateway

    def body(self) -> dict[str, Any]:
        return {**BODY, "model": MODELS[self.wire]}


@pytest_asyncio.fixture(params=sorted(MODELS))
async def door(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[Door]:
    wire = request.param
    state = StandIn(provider=wire, models=(MODELS[wire],), api_key=KEY)
    async with running(wire, state) as stand_in:
        provider = Provider(id="ext-door", kind=POLICY_KIND[wire], endpoint=stand_in.base_url,
                            models=(MODELS[wire],), jurisdiction="US")
        monkeypatch.setenv("DOUANE_PROVIDER_KEY_EXT_DOOR", KEY)
        gateway = ProviderGateway(timeout_s=2.0)
        yield Door(wire, provider, state, gateway)
        await gateway.aclose()


async def fail_with(door: Door, fault: Fault, stream: bool = False) -> ProviderError:
    door.state.faults.append(fault)
    with pytest.raises(ProviderError) as caught:
        if stream:
            _ = [c async for c in door.gateway.stream(door.provider, door.body(), CONTEXT)]
        else:
            await door.gateway.complete(door.provider, door.body(), CONTEXT)
    return caught.value


async def test_complete_answers_and_carries_the_audit_ids(door: Door) -> None:
    answer = await door.gateway.complete(door.provider, door.body(), CONTEXT)

    assert answer.messages[0]["role"] == "assistant"
    assert answer.messages[0]["content"].endswith("You asked: Quels sont les horaires de "
                                                  "<PERSON_1> ?")
    assert answer.model == MODELS[door.wire] and answer.finish_reason == "stop"
    seen = door.state.received[0]
    assert (seen["request_id"], seen["audit_record_id"]) == ("req-7", "req-7/forwarded/p")


async def test_system_messages_use_each_formats_own_field(door: Door) -> None:
    await door.gateway.complete(door.provider, door.body(), CONTEXT)
    sent = door.state.received[0]["body"]
    if door.wire == "anthropic":
        assert sent["system"] == "You answer briefly." and sent["max_tokens"] == 1024
        assert [m["role"] for m in sent["messages"]] == ["user"]
    elif door.wire == "gemini":
        assert sent["systemInstruction"] == {"parts": [{"text": "You answer briefly."}]}
        assert [c["role"] for c in sent["contents"]] == ["user"]
    else:
        assert sent["messages"] == BODY["messages"]


async def test_stream_yields_several_chunks_that_make_the_answer(door: Door) -> None:
    whole = (await door.gateway.complete(door.provider, door.body(), CONTEXT)).messages[0]
    pieces = [c async for c in door.gateway.stream(door.provider, door.body(), CONTEXT)]
    chunks = [c for c in pieces if isinstance(c, str)]

    assert len(chunks) > 3
    assert "".join(chunks) == whole["content"]
    # the usage, when the stream reports it, comes once, after the text
    assert all(isinstance(c, str) for c in pieces[:-1])


async def test_answers_carry_the_usage_the_provider_reported(door: Door) -> None:
    answer = await door.gateway.complete(door.provider, door.body(), CONTEXT)
    pieces = [c async for c in door.gateway.stream(door.provider, door.body(), CONTEXT)]
    streamed = [c for c in pieces if isinstance(c, TokenUsage)]

    assert answer.usage is not None and not answer.usage.estimated
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (1, 1)
    if door.wire == "openai-chat":  # kind mistral: usage in a stream is not asked for
        assert streamed == []
    elif door.wire == "anthropic":  # input from message_start, output from the last delta
        text = "".join(c for c in pieces if isinstance(c, str))
        assert [(u.input_tokens, u.output_tokens, u.estimated) for u in streamed] == [
            (1, len(chunks_of(text)), False)]
    else:
        assert [(u.input_tokens, u.output_tokens, u.estimated) for u in streamed] == [
            (1, 1, False)]


async def test_an_openai_stream_asks_for_its_usage_and_reads_the_last_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = StandIn(provider="openai-chat", models=("gpt-4.1",), api_key=KEY)
    async with running("openai-chat", state) as stand_in:
        provider = Provider(id="ext-door", kind="openai", endpoint=stand_in.base_url,
                            models=("gpt-4.1",), jurisdiction="US")
        monkeypatch.setenv("DOUANE_PROVIDER_KEY_EXT_DOOR", KEY)
        gateway = ProviderGateway(timeout_s=2.0)
        try:
            pieces = [c async for c in gateway.stream(
                provider, {**BODY, "model": "gpt-4.1"}, CONTEXT)]
        finally:
            await gateway.aclose()
    assert state.received[0]["body"]["stream_options"] == {"include_usage": True}
    assert pieces[-1] == TokenUsage(1, 1, reported=(("completion_tokens", 1),
                                                    ("prompt_tokens", 1), ("total_tokens", 2)))


async def test_a_wrong_key_is_an_auth_error_not_retried(
    door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOUANE_PROVIDER_KEY_EXT_DOOR", "sk-wrong")
    with pytest.raises(ProviderError) as caught:
        await door.gateway.complete(door.provider, door.body(), CONTEXT)
    error = caught.value
    assert error.kind in ("auth", "bad-request") and not error.retryable  # Gemini: 400/403
    assert "sk-wrong" not in str(error) and KEY not in str(error)


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_rate_limit_is_retryable_with_the_providers_retry_after(
    door: Door, stream: bool
) -> None:
    error = await fail_with(door, Fault(status=429, retry_after=2), stream)
    assert (error.kind, error.retryable, error.status) == ("rate-limited", True, 429)
    assert error.retry_after == 2


async def test_overload_is_retryable(door: Door) -> None:
    error = await fail_with(door, Fault(status=OVERLOAD_STATUS[door.wire]))
    assert (error.kind, error.retryable) == ("overloaded", True)


async def test_bad_request_is_not_retryable_and_names_the_type_not_the_text(door: Door) -> None:
    error = await fail_with(door, Fault(status=400))
    assert (error.kind, error.retryable, error.status) == ("bad-request", False, 400)
    assert "scripted failure" not in str(error)  # free text may quote the prompt
    assert "ext-door" in str(error) and "400" in str(error)


async def test_a_slow_provider_times_out_as_retryable(door: Door) -> None:
    error = await fail_with(door, Fault(delay_s=3))
    assert (error.kind, error.retryable) == ("timeout", True)


async def test_an_error_in_the_middle_of_a_stream_is_raised(door: Door) -> None:
    error = await fail_with(door, Fault(status=OVERLOAD_STATUS[door.wire], mid_stream=True),
                            stream=True)
    assert "mid-stream" in str(error)


async def test_an_unreachable_provider_is_retryable() -> None:
    gateway = ProviderGateway(timeout_s=1.0)
    provider = Provider(id="gone", kind="openai-compatible", endpoint="http://127.0.0.1:9/v1",
                        models=("m",), jurisdiction="FR")
    with pytest.raises(ProviderError) as caught:
        await gateway.complete(provider, {"model": "m", "messages": []}, CONTEXT)
    await gateway.aclose()
    assert (caught.value.kind, caught.value.retryable) == ("unreachable", True)


async def test_retry_after_as_an_http_date_and_in_milliseconds() -> None:
    from streams.adapters.providers.base import parse_retry_after

    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert httpx.Headers({"Retry-After": "4"}).get("retry-after") == "4"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_delivery_keeps_the_reported_usage_or_estimates_it(door: Door,
                                                                 stream: bool) -> None:
    async def before_call(provider: Provider, body: dict[str, Any]) -> str:
        return "req-7/forwarded/p"

    async def on_text(text: str) -> None:
        pass

    result = await Delivery(door.gateway).deliver(
        "req-7", [door.provider], door.body(), before_call, on_text if stream else None)
    assert result.answer is not None and result.usage is not None
    assert result.model == MODELS[door.wire]
    if stream and door.wire == "openai-chat":  # kind mistral: the stand-in's stream has none
        sent = sum(-(-len(m["content"]) // 4) for m in BODY["messages"])
        answered = -(-len(result.answer.messages[0]["content"]) // 4)
        assert result.usage == TokenUsage(sent, answered, estimated=True)
    elif stream and door.wire == "anthropic":
        text = result.answer.messages[0]["content"]
        assert (result.usage.input_tokens, result.usage.output_tokens,
                result.usage.estimated) == (1, len(chunks_of(text)), False)
    else:
        assert (result.usage.input_tokens, result.usage.output_tokens,
                result.usage.estimated) == (1, 1, False)
