"""Token usage as each wire format reports it, from answers shaped like the providers' own
(the examples of their API references), and the estimate when a provider reports none or
sends something that is not a count: usage never fails an answer."""

from __future__ import annotations

from typing import Any

import pytest

from streams.adapters.providers import anthropic_messages, gemini, openai_chat
from streams.core.usage import TokenUsage, body_texts, estimate_tokens, estimated_usage

OPENAI_ANSWER = {  # OpenAI chat.completion, with the details objects it sends today
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion",
    "created": 1741570283, "model": "gpt-4.1-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour.",
                                         "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
              "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0,
                                            "rejected_prediction_tokens": 0}},
    "service_tier": "default", "system_fingerprint": "fp_fc9f1d7035",
}
OPENAI_USAGE_CHUNK = {  # the last chunk of a stream asked with stream_options.include_usage
    "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190,
    "model": "gpt-4.1-mini", "system_fingerprint": "fp_44709d6fcb", "choices": [],
    "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
}
OPENAI_TEXT_CHUNK = {  # every other chunk of that stream: "usage": null
    "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190,
    "model": "gpt-4.1-mini", "choices": [{"index": 0, "delta": {"content": "Bon"},
                                          "finish_reason": None}], "usage": None,
}
MISTRAL_ANSWER = {  # La Plateforme: Chat Completions shape, usage always present
    "id": "cmpl-e5cc70bb28c444948073e77776eb30ef", "object": "chat.completion",
    "model": "mistral-small-latest", "created": 1702256327,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour.",
                                         "tool_calls": None}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 16, "completion_tokens": 34, "total_tokens": 50},
}
LLAMA_CPP_ANSWER = {  # a local server that does not count: zeros as placeholders
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour."},
                 "finish_reason": "stop"}],
    "model": "llama-3.3-70b-instruct",
    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
}
ANTHROPIC_ANSWER = {  # Messages API, with prompt caching
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": "Bonjour."}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 21, "cache_creation_input_tokens": 188,
              "cache_read_input_tokens": 1800, "output_tokens": 393,
              "service_tier": "standard"},
}
GEMINI_ANSWER = {  # generateContent, a thinking model
    "candidates": [{"content": {"parts": [{"text": "Bonjour."}], "role": "model"},
                    "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 3, "totalTokenCount": 1026,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
                      "thoughtsTokenCount": 1015},
    "modelVersion": "gemini-2.5-flash", "responseId": "Hc5raLDXB6OMkdUPm9ysmAw",
}


def counts(usage: TokenUsage | None) -> tuple[int, int] | None:
    return None if usage is None else (usage.input_tokens, usage.output_tokens)


@pytest.mark.parametrize(
    ("parse", "payload", "expected"),
    [
        pytest.param(openai_chat.usage_of, OPENAI_ANSWER, (1117, 46), id="openai"),
        pytest.param(openai_chat.usage_of, OPENAI_USAGE_CHUNK, (9, 12), id="openai-stream-last"),
        pytest.param(openai_chat.usage_of, OPENAI_TEXT_CHUNK, None, id="openai-stream-text"),
        pytest.param(openai_chat.usage_of, MISTRAL_ANSWER, (16, 34), id="mistral"),
        pytest.param(openai_chat.usage_of, LLAMA_CPP_ANSWER, None, id="local-zeros"),
        pytest.param(openai_chat.usage_of, {"choices": []}, None, id="openai-absent"),
        # input counts the cache writes and reads Anthropic keeps apart from input_tokens
        pytest.param(anthropic_messages.usage_of, ANTHROPIC_ANSWER["usage"], (2009, 393),
                     id="anthropic"),
        pytest.param(anthropic_messages.usage_of, {"input_tokens": 25, "output_tokens": 1},
                     (25, 1), id="anthropic-no-cache"),
        # thinking tokens are billed as output
        pytest.param(gemini.usage_of, GEMINI_ANSWER, (8, 1018), id="gemini-thinking"),
        pytest.param(gemini.usage_of, {"usageMetadata": {"promptTokenCount": 4,
                                                         "candidatesTokenCount": 7,
                                                         "totalTokenCount": 11}},
                     (4, 7), id="gemini"),
        pytest.param(gemini.usage_of, {"candidates": []}, None, id="gemini-absent"),
    ],
)
def test_each_wire_format_reads_its_own_usage(parse: Any, payload: Any,
                                              expected: tuple[int, int] | None) -> None:
    usage = parse(payload)
    assert counts(usage) == expected
    if usage is not None:
        assert not usage.estimated


def test_the_providers_own_fields_are_kept_as_reported() -> None:
    usage = openai_chat.usage_of(OPENAI_ANSWER)
    assert usage is not None
    # integers only: nested details and strings (service_tier) are left out
    assert usage.as_json() == {
        "input_tokens": 1117, "output_tokens": 46, "estimated": False,
        "reported": {"completion_tokens": 46, "prompt_tokens": 1117, "total_tokens": 1163}}
    anthropic = anthropic_messages.usage_of(ANTHROPIC_ANSWER["usage"])
    assert anthropic is not None
    assert dict(anthropic.reported) == {"input_tokens": 21, "cache_creation_input_tokens": 188,
                                        "cache_read_input_tokens": 1800, "output_tokens": 393}


@pytest.mark.parametrize(
    "garbled",
    [
        None, "12 tokens", [], {"prompt_tokens": "12", "completion_tokens": 3},
        {"prompt_tokens": 12}, {"prompt_tokens": -1, "completion_tokens": 3},
        {"prompt_tokens": True, "completion_tokens": 3},
        {"prompt_tokens": 1.5, "completion_tokens": 3},
        {"prompt_tokens": 2**60, "completion_tokens": 3},
    ],
)
def test_garbled_usage_is_no_usage_never_an_error(garbled: Any) -> None:
    assert openai_chat.usage_of({"usage": garbled}) is None
    assert anthropic_messages.usage_of(garbled) is None
    assert gemini.usage_of({"usageMetadata": garbled}) is None


def test_a_garbled_cache_field_makes_the_whole_usage_unreported() -> None:
    # a count that cannot be read is not silently left out of the input
    assert anthropic_messages.usage_of({"input_tokens": 21, "output_tokens": 3,
                                        "cache_read_input_tokens": "many"}) is None


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("a", 1), ("abcd", 1), ("abcde", 2),
                                              ("é" * 8, 2)])
def test_the_estimate_is_one_token_per_four_characters_rounded_up(text: str, tokens: int
                                                                   ) -> None:
    assert estimate_tokens(text) == tokens


def test_an_estimate_counts_every_message_sent_and_the_answer_and_says_so() -> None:
    body = {"model": "llama", "messages": [
        {"role": "system", "content": "You answer briefly."},          # 19 chars: 5
        {"role": "user", "content": "Quels sont les horaires de <PERSON_1> ?"},  # 39: 10
    ]}
    usage = estimated_usage(body_texts(body), ["Bonjour, de 9h à 17h."])  # 21: 6
    assert usage == TokenUsage(15, 6, estimated=True)
    assert usage.as_json() == {"input_tokens": 15, "output_tokens": 6, "estimated": True}
    assert body_texts({"messages": "not a list"}) == []
