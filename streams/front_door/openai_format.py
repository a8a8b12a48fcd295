"""Translating between the OpenAI Chat Completions format and douane's message contract.

Pure functions: an OpenAI request body -> a ``douane.requests`` message, a ``douane.responses``
message -> a ``chat.completion`` (or its stream of chunks), and the OpenAI error envelope
``{"error": {"message", "type", "param", "code"}}`` for everything that is not an answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from streams.errors import DouaneError

AUTO_MODELS = frozenset({"", "auto", "douane", "douane-auto"})
CLASSIFICATION_HEADER = "X-Douane-Classification"
PURPOSE_HEADER = "X-Douane-Purpose"
STATUS_FOR = {"blocked": 403, "rejected": 400, "failed": 502}
TYPE_FOR = {"blocked": "policy_blocked", "rejected": "invalid_request_error",
            "failed": "provider_error"}


class BadRequest(DouaneError, ValueError):
    """The OpenAI request cannot be expressed as a douane request; names the field."""


def error_body(message: str, kind: str, code: str | None, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code, **extra}}


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for number, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise BadRequest(f"{where}[{number}]: only text parts are accepted by douane")
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise BadRequest(f"{where}: must be a string or a list of text parts")


def to_douane_request(
    body: Any, tenant: str, request_id: str, headers: Mapping[str, str]
) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: a non-empty list is required")
    converted = []
    for number, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequest(f"messages[{number}]: must be an object")
        role = "system" if message.get("role") == "developer" else message.get("role")
        if role not in ("system", "user", "assistant"):
            raise BadRequest(f"messages[{number}].role: must be system, developer, user or "
                             f"assistant")
        converted.append({"role": role,
                          "content": _text(message.get("content"),
                                           f"messages[{number}].content")})
    request: dict[str, Any] = {"id": request_id, "tenant": tenant, "messages": converted}
    model = body.get("model")
    if isinstance(model, str) and model not in AUTO_MODELS:
        request["model"] = model
    classification = headers.get(CLASSIFICATION_HEADER) or body.get("classification")
    if classification:
        request["classification"] = classification
    purpose = headers.get(PURPOSE_HEADER) or body.get("purpose")
    if purpose:
        request["purpose"] = purpose
    if body.get("stream"):
        request["stream"] = True  # douane streams the answer's pieces back as they come
    if isinstance(body.get("metadata"), dict):
        request["metadata"] = body["metadata"]
    return request


def completion(response: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{response['id']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.get("model") or "",
        "choices": [{"index": i, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": m.get("role", "assistant"),
                                 "content": m.get("content", "")}}
                    for i, m in enumerate(response.get("messages", []))],
        "usage": openai_usage(response),
        "douane": douane_summary(response),
    }


def openai_usage(response: dict[str, Any]) -> dict[str, int]:
    """The answer's tokens in Chat Completions' names, as douane recorded them (reported by the
    provider, or estimated: ``douane.usage_estimated``); zeros when there are none."""
    usage = response.get("usage")
    fields = usage if isinstance(usage, dict) else {}
    prompt, completion = (int(fields.get(name) or 0) for name in ("input_tokens", "output_tokens"))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def wants_usage_chunk(body: dict[str, Any]) -> bool:
    """``stream_options.include_usage``: a streamed answer then ends with a usage chunk."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def douane_summary(response: dict[str, Any]) -> dict[str, Any]:
    """What douane adds to an answer: who answered, the evidence, what was replaced."""
    return {"request_id": response["id"], "provider": response.get("provider"),
            "audit_record_id": response.get("audit_record_id"),
            "redacted_entities": response.get("redacted_entities", {}),
            "usage_estimated": bool((response.get("usage") or {}).get("estimated")),
            "reasons": response.get("reasons", [])}


def chunk(response: dict[str, Any], delta: dict[str, str], finish: str | None
          ) -> dict[str, Any]:
    return {"id": f"chatcmpl-{response['id']}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": response.get("model") or "",
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish}]}


def usage_chunk(response: dict[str, Any]) -> dict[str, Any]:
    """The last chunk of a stream whose caller asked for usage: no choices, the usage."""
    return {"id": f"chatcmpl-{response['id']}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": response.get("model") or "",
            "choices": [], "usage": openai_usage(response)}


def refusal(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and OpenAI error body for a blocked, rejected or failed request."""
    status = response.get("status", "failed")
    reasons = response.get("reasons", [])
    sentences = "; ".join(r.get("message", "") for r in reasons) or "no reason given"
    verb = {"blocked": "douane's policy blocked this request",
            "rejected": "douane could not accept this request",
            "failed": "no allowed provider could answer this request"}.get(status, status)
    return STATUS_FOR.get(status, 502), error_body(
        f"{verb}: {sentences}", TYPE_FOR.get(status, "provider_error"),
        reasons[0].get("code") if reasons else None,
        reasons=reasons, request_id=response.get("id"),
        audit_record_id=response.get("audit_record_id"))
