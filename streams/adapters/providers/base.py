"""What every provider adapter shares: the answer, the error taxonomy, credentials, SSE reading.

The error taxonomy is what resilience decides on: ``retryable`` (try again, maybe after
``retry_after`` seconds) or not (a bad request or a refused key will not get better by
repeating it; the next allowed provider may still be tried). Error messages name the provider,
the URL and the status, never the prompt or the answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Literal, Protocol

import httpx

from streams.core.policy import Provider
from streams.core.usage import TokenUsage
from streams.errors import DouaneError

REQUEST_ID_HEADER = "X-Douane-Request-Id"
AUDIT_RECORD_HEADER = "X-Douane-Audit-Record"

ErrorKind = Literal[
    "rate-limited", "overloaded", "server-error", "timeout", "unreachable",
    "bad-request", "auth", "not-found", "malformed", "circuit-open",
]
RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"rate-limited", "overloaded", "server-error", "timeout", "unreachable"}
)


@dataclass(frozen=True)
class ProviderAnswer:
    messages: tuple[dict[str, str], ...]
    model: str
    finish_reason: str | None = None
    usage: TokenUsage | None = None  # as the provider reported it; None: it reported none


class ProviderError(DouaneError, RuntimeError):
    """A provider call that gave no usable answer, classified for retry and fallback."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None,
        kind: ErrorKind | None = None, retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.kind: ErrorKind = kind or ("server-error" if retryable else "bad-request")
        self.retry_after = retry_after

    def diagnostics(self) -> str:
        return f"{self} [{self.kind}, {'retryable' if self.retryable else 'not retryable'}]"


@dataclass(frozen=True)
class CallContext:
    """What travels with every call besides the body: ids tying it to the audit evidence."""

    request_id: str
    audit_record_id: str
    # W3C trace context of the call's span (traceparent, tracestate): none when tracing is off
    trace: tuple[tuple[str, str], ...] = ()

    def headers(self) -> dict[str, str]:
        return {REQUEST_ID_HEADER: self.request_id, AUDIT_RECORD_HEADER: self.audit_record_id,
                **dict(self.trace)}


class Adapter(Protocol):
    """Something that answers in a provider's wire format: one adapter per format, the gateway
    that picks the adapter for a provider's ``kind``, the pipeline and delivery (which call it)
    and the tests' stand-ins all meet on this one protocol. Every failure is a
    :class:`ProviderError`. ``stream`` yields the answer's text piece by piece and, when the
    provider reported the usage of the streamed answer, one :class:`TokenUsage` after the
    text."""

    async def complete(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> ProviderAnswer: ...

    def stream(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[str | TokenUsage]: ...


class WireFormatAdapter(ABC):
    """One wire format's adapter: how the format writes a request and reads an answer or a
    stream. Sending, error statuses, SSE framing and turning a shape it does not expect into a
    ``malformed`` error are the same for every format, and done here."""

    # what a 200 answer must contain, named in the error when it does not
    answer_shape: ClassVar[str]

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @abstractmethod
    def build_request(self, provider: Provider, body: dict[str, Any], context: CallContext,
                      stream: bool) -> httpx.Request: ...

    @abstractmethod
    def read_answer(self, payload: Any, body: dict[str, Any]) -> ProviderAnswer:
        """The answer in a 200 response's JSON; KeyError, TypeError... when its shape is not
        the format's (reported as ``malformed``)."""

    @abstractmethod
    def read_stream(self, events: AsyncIterator[tuple[str, str]], where: str
                    ) -> AsyncIterator[str | TokenUsage]:
        """The text pieces of a stream's events, then its usage if the provider reported it."""

    def retry_delay(self, response: httpx.Response) -> float | None:
        """A retry delay the format puts in an error's body (beside ``retry-after``)."""
        return None

    def _where(self, provider: Provider, request: httpx.Request) -> str:
        return f"provider {provider.id} at {request.url}"

    async def complete(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> ProviderAnswer:
        request = self.build_request(provider, body, context, stream=False)
        where = self._where(provider, request)
        response = await send_for_answer(self._http, request, where, self.retry_delay)
        try:
            return self.read_answer(response.json(), body)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise malformed(where, self.answer_shape) from None

    async def stream(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> AsyncIterator[str | TokenUsage]:
        request = self.build_request(provider, body, context, stream=True)
        where = self._where(provider, request)
        async with event_stream(self._http, request, where, self.retry_delay) as events:
            async for piece in self.read_stream(events, where):
                yield piece


def call_headers(context: CallContext, provider: Provider, key_header: str,
                 key_prefix: str = "") -> dict[str, str]:
    """The headers of every call (ids tying it to its evidence) and the provider's key, if it
    has one, in the header its format expects."""
    headers = context.headers()
    key = api_key(provider)
    if key:
        headers[key_header] = key_prefix + key
    return headers


def api_key(provider: Provider, env: Mapping[str, str] | None = None) -> str | None:
    """The provider's credential, from ``DOUANE_PROVIDER_KEY_<ID>`` (never from the policy).

    Policies are data reviewed by security teams and hashed into every decision; secrets do
    not belong in them. ``local-llama`` reads ``DOUANE_PROVIDER_KEY_LOCAL_LLAMA``.
    """
    source = os.environ if env is None else env
    return source.get("DOUANE_PROVIDER_KEY_" + re.sub(r"[^A-Z0-9]", "_", provider.id.upper()))


def classify_status(
    status: int, headers: Mapping[str, str], where: str, detail: str,
    retry_after: float | None = None,
) -> ProviderError:
    """One HTTP error status -> the taxonomy. ``detail`` is the provider's error type/code."""
    after = retry_after if retry_after is not None else parse_retry_after(headers)
    kind: ErrorKind
    if status == 429:
        kind = "rate-limited"
    elif status in (503, 529):
        kind = "overloaded"
    elif status in (408, 504):
        kind = "timeout"
    elif status >= 500 or status in (409, 425):
        kind = "server-error"
    elif status in (401, 403):
        kind = "auth"
    elif status == 404:
        kind = "not-found"
    else:
        kind = "bad-request"
    suffix = f" ({detail})" if detail else ""
    return ProviderError(f"{where} answered HTTP {status}{suffix}",
                         retryable=kind in RETRYABLE_KINDS, status=status, kind=kind,
                         retry_after=after)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` (OpenAI), ``retry-after`` in seconds or as an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def transport_error(error: httpx.HTTPError, where: str) -> ProviderError:
    # Under the aiohttp transport (providers.gateway) a refused connection arrives as
    # httpx.ConnectTimeout; the aiohttp error it was made from says whether time really ran out.
    cause = error.__cause__
    if isinstance(error, httpx.TimeoutException) and (cause is None
                                                      or isinstance(cause, TimeoutError)):
        return ProviderError(f"{where} did not answer in time", retryable=True, kind="timeout")
    return ProviderError(f"{where} is unreachable ({type(error).__name__})", retryable=True,
                         kind="unreachable")


def malformed(where: str, what: str) -> ProviderError:
    return ProviderError(f"{where} sent a malformed answer ({what})", retryable=False,
                         kind="malformed")


def error_detail(response: httpx.Response) -> str:
    """The provider's machine-readable error type or code, never its free-text message
    (which may quote the prompt)."""
    try:
        payload = response.json()
    except ValueError:
        return ""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error", payload)
    if isinstance(error, dict):
        for key in ("type", "status", "code"):
            if isinstance(error.get(key), str | int) and error.get(key) != "":
                return str(error[key])
    return ""


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """Server-sent events as (event name, data) pairs; multi-line data joined with newlines."""
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield event, "\n".join(data)


async def send_for_answer(
    http: httpx.AsyncClient, request: httpx.Request, where: str,
    retry_after: Callable[[httpx.Response], float | None] | None = None,
) -> httpx.Response:
    """Send a non-streaming request; a transport error or an error status becomes the taxonomy's
    ProviderError, so the adapter only parses a 200 answer."""
    try:
        response = await http.send(request)
    except httpx.HTTPError as error:
        raise transport_error(error, where) from None
    if response.status_code != 200:
        raise classify_status(response.status_code, response.headers, where,
                              error_detail(response),
                              retry_after(response) if retry_after else None)
    return response


@contextlib.asynccontextmanager
async def event_stream(
    http: httpx.AsyncClient, request: httpx.Request, where: str,
    retry_after: Callable[[httpx.Response], float | None] | None = None,
) -> AsyncIterator[AsyncIterator[tuple[str, str]]]:
    """Send a streaming request and give its server-sent events; every adapter's stream shares
    this: transport errors and error statuses mapped to the taxonomy, the response closed
    whatever happens (also when the caller stops reading early)."""
    try:
        response = await http.send(request, stream=True)
    except httpx.HTTPError as error:
        raise transport_error(error, where) from None
    try:
        if response.status_code != 200:
            await response.aread()
            raise classify_status(response.status_code, response.headers, where,
                                  error_detail(response),
                                  retry_after(response) if retry_after else None)
        yield sse_events(response)
    except httpx.HTTPError as error:
        raise transport_error(error, where) from None
    finally:
        await response.aclose()


def load_json(data: str, where: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise malformed(where, "an event is not JSON") from None
