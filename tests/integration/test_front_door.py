"""The front door with the official ``openai`` SDK as client, on the real broker and worker:
answers, streams, model listing, API keys (revoked while it runs), policy refusals, timeouts
and their minimum."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from stack import MAX_MESSAGE_BYTES, Stack, wait_until

from streams.adapters.audit.verify import find_verified
from streams.adapters.policy_files import load_policy_set
from streams.config import project_root
from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port
from streams.front_door.keys import KeyStore, keys_path

pytestmark = pytest.mark.integration
NAME = "Jeanne Martin"


def client(front_door: tuple[str, str], key: str | None = None) -> openai.AsyncOpenAI:
    base_url, valid = front_door
    # max_retries=0: a retried call is a new request for douane (a new id, a new audit trail)
    return openai.AsyncOpenAI(base_url=base_url, api_key=key or valid, max_retries=0,
                              timeout=120)


async def test_an_openai_sdk_application_gets_a_governed_answer(
    front_door: tuple[str, str], douane: Stack
) -> None:
    answer = await client(front_door).chat.completions.create(
        model="llama-3.3-70b-instruct",  # the sovereign door's model (the stand-in in tests)
        messages=[{"role": "user", "content": f"Write to {NAME} about her renewal."}])

    text = answer.choices[0].message.content or ""
    assert "You asked: Write to" in text and answer.choices[0].finish_reason == "stop"
    extra = answer.model_extra or {}
    summary = extra["douane"]
    assert summary["provider"] == "sovereign-local"
    assert summary["redacted_entities"] == {"PERSON": 1}
    # the local door (douane's model server, as llama.cpp often does) reports no usage: the
    # tokens douane counted (4 characters a token), as the audit record has them
    usage = answer.usage
    assert usage is not None and summary["usage_estimated"]
    assert usage.completion_tokens >= len(text) // 4 > 0 and usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    received = [r for r in await douane.received() if r["request_id"] == summary["request_id"]]
    assert len(received) == 1 and received[0]["audit_verified"]
    assert NAME not in str(received[0]["body"])  # the model never saw the name


async def test_streaming_with_the_sdk_first_words_before_the_whole_answer(
    front_door: tuple[str, str], douane: Stack
) -> None:
    question = ("List the opening hours of the municipal library, the swimming pool, the town "
                "hall and the museum, one line each, for the public website of the city.")
    stream = await client(front_door).chat.completions.create(
        model="auto", stream=True, messages=[{"role": "user", "content": question}],
        stream_options={"include_usage": True})
    arrivals: list[tuple[float, str]] = []
    finish = None
    usage = None
    async for chunk in stream:
        if not chunk.choices:  # asked for: the last chunk carries the usage and no choice
            usage = chunk.usage
            continue
        if chunk.choices[0].delta.content:
            arrivals.append((time.monotonic(), chunk.choices[0].delta.content))
        finish = chunk.choices[0].finish_reason or finish
    text = "".join(piece for _, piece in arrivals)
    assert finish == "stop" and text.endswith(f"You asked: {question}")
    # the local door's stream reports no usage: douane counted it (4 characters a token)
    assert usage is not None and usage.completion_tokens >= len(text) // 4 > 0
    # the stand-in takes 40 ms per piece and douane releases whole sentences (three here): the
    # first sentence arrived long before the last. How many SSE chunks that makes depends on
    # whether the complete response overtook the last pieces (its rest is then cut into words).
    assert len(arrivals) >= 3 and arrivals[-1][0] - arrivals[0][0] > 0.2


async def test_models_lists_what_the_callers_policy_allows(front_door: tuple[str, str]) -> None:
    listed = [m.id async for m in client(front_door).models.list()]
    # personal data (the tenant's default): our own servers first, then French providers that
    # do not train on it; never a US provider
    assert listed[:2] == ["llama-3.3-70b-instruct", "qwen2.5-72b-instruct"]
    assert "mistral-large-latest" in listed and "gpt-4.1" not in listed


async def test_a_missing_or_wrong_key_gets_401_with_a_clear_message(
    front_door: tuple[str, str]
) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        await client(front_door, key="dk-not-a-key").models.list()
    assert "unknown API key" in str(wrong.value)
    async with httpx.AsyncClient() as http:
        missing = await http.post(f"{front_door[0]}/chat/completions", json={})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"


async def test_a_body_over_the_message_limit_gets_413_whether_its_length_is_sent_or_not(
    front_door: tuple[str, str]
) -> None:
    base_url, key = front_door
    too_long = {"model": "auto", "messages": [
        {"role": "user", "content": "x" * (MAX_MESSAGE_BYTES + 1)}]}
    body = json.dumps(too_long).encode()

    async def in_chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until too long
        for start in range(0, len(body), 8192):
            yield body[start:start + 8192]

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=60) as http:
        with_length = await http.post(f"{base_url}/chat/completions", content=body,
                                      headers=headers)
        chunked = await http.post(f"{base_url}/chat/completions", content=in_chunks(),
                                  headers=headers)
    for refused in (with_length, chunked):
        assert refused.status_code == 413, refused.text
        error = refused.json()["error"]
        assert error["code"] == "request_too_large"
        assert str(MAX_MESSAGE_BYTES) in error["message"]


async def test_a_blocked_request_gets_the_policy_reasons_in_openai_format(
    front_door: tuple[str, str]
) -> None:
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        await client(front_door).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Summarise the plan."}],
            extra_headers={"X-Douane-Classification": "secret"})
    error = blocked.value.body
    assert isinstance(error, dict)
    assert error["type"] == "policy_blocked" and error["code"] == "no-allowed-provider"
    assert error["reasons"][0]["code"] == "no-allowed-provider"
    assert "policy blocked" in error["message"]
    # what the policy is made of is the operator's (in the audit record), not the caller's:
    # no policy file, rule place or id, and none of the providers it excluded
    policy = load_policy_set(project_root() / "policies").policy
    internals = [".yaml", "rules[", *(f"'{r.id}'" for r in policy.rules),
                 *(p.id for p in policy.providers)]
    told = json.dumps(error)
    assert [i for i in internals if i in told] == [], told


async def test_an_answer_later_than_the_timeout_gets_504_and_is_still_audited(
    front_door: tuple[str, str], douane: Stack
) -> None:
    stand_in = douane.stand_in()
    await stand_in.hold()  # the model answers nothing until released: the wait must end first
    try:
        with pytest.raises(openai.APIStatusError) as late:
            await client(front_door).chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "Say hello slowly."}],
                extra_headers={"X-Douane-Timeout-S": "1"})  # the minimum
    finally:
        await stand_in.release()
    assert late.value.status_code == 504
    body = late.value.body
    assert isinstance(body, dict)
    request_id = body["request_id"]
    settings = douane.settings
    deadline = time.monotonic() + 60
    record = None
    while record is None and time.monotonic() < deadline:
        record = find_verified(settings.audit_db, settings.public_key, f"{request_id}/answered")
        await asyncio.sleep(0.5)
    assert record is not None, "the late answer was not audited"


async def test_a_timeout_of_zero_is_refused_naming_the_header(
    front_door: tuple[str, str]
) -> None:
    """Fire and forget (issue 12, item 6): a caller may not queue work it never waits for."""
    with pytest.raises(openai.BadRequestError) as refused:
        await client(front_door).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "Say hello."}],
            extra_headers={"X-Douane-Timeout-S": "0"})
    body = refused.value.body
    assert isinstance(body, dict) and body["code"] == "invalid_timeout"
    assert body["message"].startswith("X-Douane-Timeout-S: must be a number of seconds")


async def test_a_key_revoked_while_the_front_door_runs_is_refused_at_once(
    front_door: tuple[str, str], douane: Stack
) -> None:
    key, entry = KeyStore(keys_path(douane.settings.home)).add("city-of-lyon", "to revoke")
    assert [m.id async for m in client(front_door, key).models.list()]
    revoked = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", "keys", "revoke", entry.key_id],
        env=douane.env, capture_output=True, text=True, timeout=120)
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    with pytest.raises(openai.AuthenticationError) as refused:
        await client(front_door, key).models.list()
    assert f"revoked API key (key id {entry.key_id})" in str(refused.value)
    assert [m.id async for m in client(front_door).models.list()]  # other keys still work


async def test_a_caller_cannot_flood_douane_with_requests_it_gave_up_on(
    front_door: tuple[str, str], douane: Stack
) -> None:
    """Issue 12, item 6, on the real stack: a second front door allows one request in flight per
    key; a request whose caller got its 504 still counts until douane has answered it."""
    port = free_port()
    douane.start("front-door-limited", "front-door", "--port", str(port), "--timeout", "60",
                 env={"DOUANE_FRONT_DOOR_KEY_MAX_IN_FLIGHT": "1"})
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        limited = (f"http://127.0.0.1:{port}/v1", front_door[1])
        stand_in = douane.stand_in()
        await stand_in.hold()
        try:
            with pytest.raises(openai.APIStatusError) as gave_up:
                await client(limited).chat.completions.create(
                    model="auto", messages=[{"role": "user", "content": "Say hello."}],
                    extra_headers={"X-Douane-Timeout-S": "1"})
            assert gave_up.value.status_code == 504
            with pytest.raises(openai.RateLimitError) as refused:
                await client(limited).chat.completions.create(
                    model="auto", messages=[{"role": "user", "content": "Say hello."}])
            assert refused.value.response.headers["retry-after"] == "1"
            body = refused.value.body
            assert isinstance(body, dict) and body["code"] == "concurrency_limit_exceeded"
        finally:
            await stand_in.release()

        async def accepted() -> bool:  # once douane has answered the first one
            try:
                await client(limited).chat.completions.create(
                    model="auto", messages=[{"role": "user", "content": "Say hello."}])
            except openai.RateLimitError:
                return False
            return True

        await wait_until(accepted, 120, lambda: douane.log_text("front-door-limited")[-2000:],
                         poll_s=1)
    finally:
        douane.stop("front-door-limited")
