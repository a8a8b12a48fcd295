"""The values that flow through the governance core: requests, findings, reasons.

Plain frozen dataclasses so the core can be tested with tables of cases and no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.core.client_reasons import client_reason


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str

    def as_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GovernedRequest:
    """A request that passed intake: well-formed, within limits, from a known tenant."""

    id: str
    tenant: str
    messages: tuple[ChatMessage, ...]
    purpose: str | None = None
    classification: str | None = None
    model: str | None = None
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    conversation: str | None = None  # placeholders are stable within one conversation
    stream: bool = False  # the answer's pieces are also published as they arrive

    @property
    def conversation_key(self) -> str:
        """Where this request's placeholders live: its conversation, or itself alone."""
        return self.conversation or self.id


@dataclass(frozen=True)
class Reason:
    """Why something was decided: a stable machine code and a sentence for people.

    The message must never contain personal data: it names rules, types and paths only.
    """

    code: str
    message: str  # for the audit record and the operator: may name rules, files, providers
    # for the caller (response, HTTP error), when the code's sentence is not enough: names
    # only the caller's own request (streams.core.client_reasons)
    client: str | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def for_client(self) -> dict[str, str]:
        """What a caller is told: no rule, policy file or excluded provider."""
        return client_reason(self.code, self.message, self.client)


@dataclass(frozen=True)
class Finding:
    """One detected personal value, by position in one message (never the value itself)."""

    message_index: int
    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str = ""

    @property
    def length(self) -> int:
        return self.end - self.start


# A request whose messages hold more characters than this is detected alone: the worker's
# batcher gives it a batch of its own (short requests neither wait for it nor fail with it on
# the time limit) and the detector's model stages read it alone (its CPU limit is its own)
DETECTED_ALONE_CHARS = 4_000


@dataclass(frozen=True)
class DetectionRequest:
    """What a detector is asked to look at: one request's messages, in its language if known."""

    messages: tuple[ChatMessage, ...]
    language: str | None = None
    # whether the opt-in tiers the detector has (CoreNLP, the trained web NER, the vote) read
    # this request: False for a request the policy decides is ``detection: fast``
    tiers: bool = True


class Detector(Protocol):
    """Finds personal data in one request's messages (``streams.adapters.presidio_detector``
    in production, fakes in tests); raises if it cannot (the request is then blocked)."""

    def detect(self, messages: tuple[ChatMessage, ...], language: str | None) -> Detection: ...


@dataclass(frozen=True)
class Detection:
    """What the detector found in a whole request, and how (NER + patterns, or patterns only)."""

    language: str
    method: str  # "ner+patterns", or "patterns+ner-fallback:<lang>" for unsupported languages
    findings: tuple[Finding, ...]
