"""Token usage of one answer: as the provider reported it, or counted by douane when it reported
none (a local server), then marked ``estimated``.

The estimate is deliberately simple and stated: one token per 4 characters (rounded up) of the
text sent (every message's content) and of the text answered - the rule of thumb OpenAI and
Anthropic publish for English, and the one ``tokens_per_minute`` limits already use. It is the
same for every provider, so estimated figures compare with each other; a bill is never
recomputed from them without the ``estimated`` mark saying so.

Each wire format's parser (``streams.adapters.providers.*``) reads the provider's own fields
into :class:`TokenUsage` with :func:`reported_usage`, which never raises: a missing or garbled
usage field gives ``None`` and the answer is then estimated, never refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4
# a count beyond this is not a token count (and would not survive canonical JSON as an integer)
MAX_TOKENS = 2**53 - 1
MAX_REPORTED_FIELDS = 16  # the provider's own fields kept in the record, at most


@dataclass(frozen=True)
class TokenUsage:
    """Tokens in and out of one answer. ``reported``: the provider's own usage fields, as it
    sent them (integers only), kept in the evidence beside the normalised counts."""

    input_tokens: int
    output_tokens: int
    estimated: bool = False
    reported: tuple[tuple[str, int], ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"input_tokens": self.input_tokens,
                               "output_tokens": self.output_tokens, "estimated": self.estimated}
        if self.reported:
            out["reported"] = dict(self.reported)
        return out


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimated_usage(sent: Iterable[str], answered: Iterable[str]) -> TokenUsage:
    """Counted tokens of the texts sent and answered, marked estimated."""
    return TokenUsage(sum(estimate_tokens(text) for text in sent),
                      sum(estimate_tokens(text) for text in answered), estimated=True)


def body_texts(body: Mapping[str, Any]) -> list[str]:
    """The text contents of a Chat Completions body's messages (what the estimate counts)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    return [m["content"] for m in messages
            if isinstance(m, dict) and isinstance(m.get("content"), str)]


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_TOKENS else None


def _sum(fields: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first key's count (required) plus the others' (optional)."""
    total = _count(fields.get(keys[0]))
    for key in keys[1:]:
        if total is None or key not in fields:
            continue
        extra = _count(fields[key])
        total = None if extra is None else total + extra
    return total


def reported_usage(fields: Any, inputs: tuple[str, ...], outputs: tuple[str, ...],
                   ) -> TokenUsage | None:
    """A provider's usage object as :class:`TokenUsage`: input tokens are ``fields[inputs[0]]``
    plus any further ``inputs`` present (e.g. Anthropic's cache reads, which its
    ``input_tokens`` leaves out), output tokens likewise (e.g. Gemini's thinking tokens, billed
    as output). ``None`` when the first fields are missing or not counts, or when everything
    is zero (local servers that do not count send zeros as placeholders; an answer is never 0
    tokens): the caller then estimates. Never raises."""
    if not isinstance(fields, Mapping):
        return None
    input_tokens, output_tokens = _sum(fields, inputs), _sum(fields, outputs)
    if input_tokens is None or output_tokens is None or input_tokens + output_tokens == 0:
        return None
    reported = tuple(sorted(
        (key, value) for key, value in fields.items()
        if isinstance(key, str) and len(key) <= 64 and key.isidentifier()
        and _count(value) is not None))[:MAX_REPORTED_FIELDS]
    return TokenUsage(input_tokens, output_tokens, reported=reported)
