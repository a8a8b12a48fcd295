"""Front-door pieces without a broker: hashed API keys, OpenAI <-> douane translation,
stream cutting that never splits a placeholder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from streams.front_door.keys import KeyStore
from streams.front_door.openai_format import (
    BadRequest,
    completion,
    refusal,
    to_douane_request,
    usage_chunk,
    wants_usage_chunk,
)
from streams.front_door.streaming import pieces


def test_keys_are_stored_hashed_and_map_to_their_tenant(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    key, entry = store.add("tax-office", "intake form")
    text = (tmp_path / "keys.json").read_text()
    assert key.startswith("dk-") and key not in text and entry.sha256 in text
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    reloaded = KeyStore(tmp_path / "keys.json")
    assert reloaded.tenant_for(key) == "tax-office"
    assert reloaded.tenant_for(key + "x") is None


def test_an_openai_body_becomes_a_douane_request() -> None:
    body = {"model": "auto", "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Bonjour "},
                                     {"type": "text", "text": "Jeanne"}]}],
        "metadata": {"ticket": "7"}}
    request = to_douane_request(body, "city-of-lyon", "fd-1",
                                {"X-Douane-Classification": "public"})
    assert request == {"id": "fd-1", "tenant": "city-of-lyon", "classification": "public",
                       "messages": [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Bonjour Jeanne"}],
                       "metadata": {"ticket": "7"}}
    named = to_douane_request({**body, "model": "douane-echo-1"}, "t", "fd-2", {})
    assert named["model"] == "douane-echo-1"


@pytest.mark.parametrize(("body", "problem"), [
    ({"messages": []}, "messages: a non-empty list"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[0].content[0]: only text parts"),
])
def test_what_douane_cannot_carry_is_named(body: dict[str, object], problem: str) -> None:
    with pytest.raises(BadRequest, match=problem.replace("[", r"\[").replace("]", r"\]")):
        to_douane_request(body, "t", "fd-3", {})


def test_a_blocked_response_becomes_a_403_with_every_reason() -> None:
    status, body = refusal({"id": "fd-4", "status": "blocked", "audit_record_id": "fd-4/blocked",
                            "reasons": [{"code": "blocked-entity", "message": "CREDIT_CARD"},
                                        {"code": "x", "message": "y"}]})
    assert status == 403
    assert body["error"]["type"] == "policy_blocked" and body["error"]["code"] == "blocked-entity"
    assert len(body["error"]["reasons"]) == 2 and "CREDIT_CARD; y" in body["error"]["message"]


def test_stream_pieces_never_split_a_placeholder() -> None:
    text = "Réponse à <PERSON_1> (<EMAIL_ADDRESS_1>) : rendez-vous confirmé."
    cut = pieces(text, words_per_piece=1)
    assert "".join(cut) == text and len(cut) > 5
    assert "<PERSON_1>" in cut


def test_an_answer_carries_its_usage_in_chat_completions_names() -> None:
    answered = {"id": "r-1", "status": "answered", "model": "m",
                "messages": [{"role": "assistant", "content": "Bonjour"}],
                "usage": {"input_tokens": 12, "output_tokens": 3, "estimated": True}}
    body = completion(answered)
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert body["douane"]["usage_estimated"] is True
    last = usage_chunk(answered)
    assert last["choices"] == [] and last["usage"]["total_tokens"] == 15
    unknown = completion({**answered, "usage": None})
    assert unknown["usage"]["total_tokens"] == 0 and unknown["douane"]["usage_estimated"] is False


@pytest.mark.parametrize(("body", "wanted"), [
    ({"stream": True, "stream_options": {"include_usage": True}}, True),
    ({"stream": True, "stream_options": {"include_usage": False}}, False),
    ({"stream": True}, False),
    ({"stream": True, "stream_options": "yes"}, False),
])
def test_a_usage_chunk_only_when_asked(body: dict[str, object], wanted: bool) -> None:
    assert wants_usage_chunk(body) is wanted
