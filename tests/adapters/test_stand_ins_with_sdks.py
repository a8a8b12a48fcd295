"""The providers' official SDKs against douane's stand-ins: an independent check that the
stand-ins (and so the adapters tested against them) speak each provider's real wire format,
streaming and errors included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import openai
import pytest
import pytest_asyncio
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from mistralai.client import Mistral
from mistralai.client import errors as mistral_errors

from streams.devtools.stand_ins.common import Fault, StandIn
from streams.devtools.stand_ins.server import RunningStandIn, running

KEY = "sk-sdk-check"
PROMPT = "Résume le dossier de <PERSON_1>."


@pytest_asyncio.fixture
async def openai_door() -> AsyncIterator[RunningStandIn]:
    async with running("openai-chat", StandIn("openai", ("gpt-4o-mini",), KEY)) as door:
        yield door


@pytest_asyncio.fixture
async def anthropic_door() -> AsyncIterator[RunningStandIn]:
    async with running("anthropic", StandIn("anthropic", ("claude-sonnet-4-6",), KEY)) as door:
        yield door


@pytest_asyncio.fixture
async def gemini_door() -> AsyncIterator[RunningStandIn]:
    async with running("gemini", StandIn("gemini", ("gemini-2.5-flash",), KEY)) as door:
        yield door


# --- OpenAI (also Mistral, DashScope, Qianfan, vLLM, Ollama: same wire format) -----------

async def test_openai_sdk_completion_and_stream(openai_door: RunningStandIn) -> None:
    client = openai.AsyncOpenAI(base_url=openai_door.base_url, api_key=KEY, max_retries=0)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": PROMPT}]
    completion = await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    text = completion.choices[0].message.content or ""
    assert text.endswith(PROMPT) and completion.choices[0].finish_reason == "stop"

    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True,
        stream_options={"include_usage": True})
    pieces, usage = [], None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert "".join(pieces) == text and len(pieces) > 3 and usage is not None
    assert [m["id"] async for m in _model_ids(client)] == ["gpt-4o-mini"]
    await client.close()


async def _model_ids(client: openai.AsyncOpenAI) -> AsyncIterator[dict[str, str]]:
    async for model in client.models.list():
        yield {"id": model.id}


async def test_openai_sdk_sees_the_real_error_classes(openai_door: RunningStandIn) -> None:
    client = openai.AsyncOpenAI(base_url=openai_door.base_url, api_key=KEY, max_retries=0)
    openai_door.state.faults.append(Fault(status=429, retry_after=1))
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.headers["retry-after"] == "1"
    assert limited.value.code == "rate_limit_exceeded"
    wrong = openai.AsyncOpenAI(base_url=openai_door.base_url, api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await wrong.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    await client.close()
    await wrong.close()


# --- Mistral's own SDK against the same wire format --------------------------------------

@pytest_asyncio.fixture
async def mistral_door() -> AsyncIterator[RunningStandIn]:
    async with running("openai-chat",
                       StandIn("mistral", ("mistral-small-latest",), KEY)) as door:
        yield door


def _mistral(door: RunningStandIn, key: str = KEY) -> Mistral:
    # the SDK appends /v1/chat/completions itself
    return Mistral(api_key=key, server_url=door.base_url.removesuffix("/v1"))


async def test_mistral_sdk_completion_and_stream(mistral_door: RunningStandIn) -> None:
    client = _mistral(mistral_door)
    completion = await client.chat.complete_async(
        model="mistral-small-latest", messages=[{"role": "user", "content": PROMPT}])
    text = completion.choices[0].message.content
    assert isinstance(text, str) and text.endswith(PROMPT)
    assert completion.choices[0].finish_reason == "stop"

    stream = await client.chat.stream_async(
        model="mistral-small-latest", messages=[{"role": "user", "content": PROMPT}])
    pieces = []
    async for event in stream:
        delta = event.data.choices[0].delta.content if event.data.choices else None
        if isinstance(delta, str) and delta:
            pieces.append(delta)
    assert "".join(pieces) == text and len(pieces) > 3
    assert mistral_door.state.received[-1]["body"]["stream"] is True


async def test_mistral_sdk_sees_rate_limit_and_auth_errors(mistral_door: RunningStandIn) -> None:
    mistral_door.state.faults.append(Fault(status=429, retry_after=1))
    with pytest.raises(mistral_errors.SDKError) as limited:
        await _mistral(mistral_door).chat.complete_async(
            model="mistral-small-latest", messages=[{"role": "user", "content": "hi"}])
    assert limited.value.status_code == 429
    assert limited.value.raw_response.headers["retry-after"] == "1"
    with pytest.raises(mistral_errors.SDKError) as refused:
        await _mistral(mistral_door, key="nope").chat.complete_async(
            model="mistral-small-latest", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.status_code == 401


# --- Anthropic Messages ------------------------------------------------------------------

def _anthropic(door: RunningStandIn, key: str = KEY) -> anthropic.AsyncAnthropic:
    # the SDK appends /v1/messages itself
    return anthropic.AsyncAnthropic(base_url=door.base_url.removesuffix("/v1"), api_key=key,
                                    max_retries=0)


async def test_anthropic_sdk_message_and_stream(anthropic_door: RunningStandIn) -> None:
    client = _anthropic(anthropic_door)
    message = await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=256, system="Be brief.",
        messages=[{"role": "user", "content": PROMPT}])
    block = message.content[0]
    assert block.type == "text" and block.text.endswith(PROMPT)
    assert message.stop_reason == "end_turn"

    async with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=256, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == block.text and len(pieces) > 3
    assert final.stop_reason == "end_turn"
    await client.close()


async def test_anthropic_sdk_sees_overload_rate_limit_and_auth(
    anthropic_door: RunningStandIn
) -> None:
    client = _anthropic(anthropic_door)
    anthropic_door.state.faults.extend([Fault(status=529), Fault(status=429, retry_after=3)])
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=16,
                                     messages=[{"role": "user", "content": "hi"}])
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    with pytest.raises(anthropic.RateLimitError) as limited:
        await client.messages.create(model="claude-sonnet-4-6", max_tokens=16,
                                     messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.headers["retry-after"] == "3"
    with pytest.raises(anthropic.AuthenticationError):
        await _anthropic(anthropic_door, "wrong").messages.create(
            model="claude-sonnet-4-6", max_tokens=16,
            messages=[{"role": "user", "content": "hi"}])
    await client.close()


# --- Google Gemini -----------------------------------------------------------------------

def _gemini(door: RunningStandIn) -> genai.Client:
    return genai.Client(api_key=KEY, http_options=genai_types.HttpOptions(
        base_url=door.base_url.removesuffix("/v1beta"), api_version="v1beta"))


async def test_gemini_sdk_generate_and_stream(gemini_door: RunningStandIn) -> None:
    client = _gemini(gemini_door)
    result = await client.aio.models.generate_content(
        model="gemini-2.5-flash", contents=PROMPT,
        config=genai_types.GenerateContentConfig(system_instruction="Be brief."))
    assert (result.text or "").endswith(PROMPT)
    assert gemini_door.state.received[0]["body"]["systemInstruction"]["parts"][0]["text"] \
        == "Be brief."

    pieces = [chunk.text or "" async for chunk in
              await client.aio.models.generate_content_stream(
                  model="gemini-2.5-flash", contents=PROMPT)]
    assert "".join(pieces) == result.text and len(pieces) > 3


async def test_gemini_sdk_sees_resource_exhausted(gemini_door: RunningStandIn) -> None:
    client = _gemini(gemini_door)
    gemini_door.state.faults.append(Fault(status=429, retry_after=7))
    with pytest.raises(genai_errors.ClientError) as caught:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
