"""The two pipeline stages without Kafka: a fake detector and provider, a real SQLite audit log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import structlog
import yaml
from aiokafka.errors import KafkaConnectionError
from prometheus_client import REGISTRY

from streams.adapters import metrics
from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.audit.verify import load_audit_schema, verify_store
from streams.adapters.kek_store import FileKekStore
from streams.adapters.key_store import KeyStore
from streams.adapters.personal_vault import RESPONSES_SUBJECT, PersonalVault
from streams.adapters.policy_files import load_policy_set, parse_policy, policy_document
from streams.adapters.providers.base import CallContext, ProviderAnswer, ProviderError
from streams.adapters.signer import load_or_create_signer
from streams.config import REJECTED_TOPIC, REQUESTS_TOPIC, RESPONSES_TOPIC, project_root
from streams.core.audit import AuditEvent
from streams.core.decision import forwarded_digest
from streams.core.intake import RequestIntake
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, Finding
from streams.core.policy import Provider
from streams.core.tenant_topics import PER_TENANT, SINGLE
from streams.core.usage import TokenUsage
from streams.pipeline import Outgoing, Pipeline, Source

ROOT = project_root()


def single_door_policy() -> LoadedPolicy:
    """The shipped policy with only its sovereign door, so a failing provider has no fallback."""
    document = policy_document(ROOT / "policies")
    document["providers"] = document["providers"][:1]
    for rule in document["rules"]:
        residency = rule.get("residency") or {}
        if "providers" in residency:
            residency["providers"] = [p for p in residency["providers"]
                                      if p == "sovereign-local"]
    return parse_policy(yaml.safe_dump(document), "single-door.yaml")


POLICY = single_door_policy()
REQUEST_SCHEMA = json.loads((ROOT / "schemas" / "request.schema.json").read_text("utf-8"))
RESPONSE_SCHEMA = json.loads((ROOT / "schemas" / "response.schema.json").read_text("utf-8"))
REJECTED_SCHEMA = json.loads((ROOT / "schemas" / "rejected.schema.json").read_text("utf-8"))
FORWARD_SCHEMA = json.loads((ROOT / "schemas" / "forward.schema.json").read_text("utf-8"))
FORWARD_TOPIC = "douane.forward.sovereign-local"
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

NAME = "Jeanne Martin"
EMAIL = "jeanne.martin@example.fr"
CARD = "4970 1012 3456 7890"
PLANTED = (NAME, EMAIL, CARD, "Jeanne", "jeanne.martin")
TEXT = f"Bonjour, je suis {NAME} ({EMAIL}). {NAME} a besoin d'un rendez-vous."
CARD_TEXT = f"Ma carte est la {CARD}, au nom de {NAME}."
ENTITIES = {NAME: "PERSON", EMAIL: "EMAIL_ADDRESS", CARD: "CREDIT_CARD"}


# --- fakes ---------------------------------------------------------------------------------


def locate(messages: tuple[ChatMessage, ...]) -> tuple[Finding, ...]:
    """Findings for every occurrence of the planted values (what a real detector would find)."""
    found = []
    for index, message in enumerate(messages):
        for value, kind in ENTITIES.items():
            start = message.content.find(value)
            while start >= 0:
                found.append(Finding(index, kind, start, start + len(value), 0.9, "fake"))
                start = message.content.find(value, start + 1)
    return tuple(found)


@dataclass
class FakeDetector:
    """Returns the given findings (by default: where the planted values are), or raises."""

    findings: tuple[Finding, ...] | None = None
    error: Exception | None = None
    method: str = "ner+patterns"
    calls: int = 0

    def detect(self, messages: tuple[ChatMessage, ...], language: str | None) -> Detection:
        self.calls += 1
        if self.error is not None:
            raise self.error
        findings = locate(messages) if self.findings is None else self.findings
        return Detection(language or "fr", self.method, findings)


ANSWER = ProviderAnswer(
    messages=({"role": "assistant", "content": "Rendez-vous fixé pour <PERSON_1>."},),
    model="douane-echo-1",
)


@dataclass
class FakeProvider:
    """Records calls; pops one scripted outcome per call (an exception to raise, or None)."""

    script: list[Exception | None] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def complete(
        self, provider: Provider, body: dict[str, Any], context: CallContext
    ) -> ProviderAnswer:
        self.calls.append({"endpoint": provider.endpoint, "body": body,
                           "request_id": context.request_id,
                           "audit_record_id": context.audit_record_id})
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        return ANSWER


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 60) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Harness:
    pipeline: Pipeline
    detector: FakeDetector
    provider: FakeProvider
    store: GroupCommitLog
    clock: Clock
    db: Path
    public_key: Path
    vault: PersonalVault

    def kinds(self, request_id: str) -> list[str]:
        return [r.kind for r in self.store.records_for_request(request_id)]

    def count(self) -> int:
        return sum(1 for _ in self.store.iter_records())

    def all_audit_text(self) -> str:
        return "\n".join(r.canonical.decode("utf-8") for r in self.store.iter_records())


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    yield from harness(tmp_path, POLICY)


@pytest.fixture
def shipped(tmp_path: Path) -> Iterator[Harness]:
    """The shipped policy whole: every provider, so some are excluded for most requests."""
    yield from harness(tmp_path, load_policy_set(ROOT / "policies"))


def harness(tmp_path: Path, policy: LoadedPolicy, **options: Any) -> Iterator[Harness]:
    signer = load_or_create_signer(tmp_path / "keys" / "audit.pem", tmp_path / "audit.pub.pem")
    store = open_sqlite_log(tmp_path / "audit.sqlite3", signer)
    detector, provider, clock = FakeDetector(), FakeProvider(), Clock()
    # where answered responses are kept for a redelivery (real SQLite, real keys)
    vault = PersonalVault(tmp_path / "vault.sqlite3",
                          KeyStore(tmp_path / "keys.sqlite3", FileKekStore(tmp_path / "kek")))
    pipeline = Pipeline(
        policy,
        RequestIntake(REQUEST_SCHEMA, policy.policy.tenant_ids, 64 * 1024),
        detector,
        store,
        provider,
        clock=clock,
        retry_delay_s=0,
        # these tests publish on douane.requests: the per-tenant layout has its own tests
        # (test_tenant_topics.py)
        topic_layout=SINGLE,
        responses=vault,
        **options,
    )
    yield Harness(pipeline, detector, provider, store, clock, tmp_path / "audit.sqlite3",
                  tmp_path / "audit.pub.pem", vault)
    vault.close()
    vault.keys.close()
    # whatever a test did, the log it leaves is a valid signed chain without personal data
    report = verify_store(tmp_path / "audit.sqlite3", [tmp_path / "audit.pub.pem"],
                          load_audit_schema())
    text = "\n".join(r.canonical.decode("utf-8") for r in store.iter_records())
    store.close()
    assert report.ok, report.problem
    assert [v for v in PLANTED if v in text] == []


def request(request_id: str = "req-1", text: str = TEXT, **extra: Any) -> bytes:
    body = {"id": request_id, "tenant": "city-of-lyon",
            "messages": [{"role": "user", "content": text}], **extra}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def src(offset: int = 7, topic: str = REQUESTS_TOPIC, key: bytes | None = b"req-1") -> Source:
    return Source(topic, 2, offset, key)


def on(out: list[Outgoing], topic: str) -> list[dict[str, Any]]:
    """Bodies published on ``topic`` (responses and rejections checked against their schema)."""
    bodies = [json.loads(o.value) for o in out if o.topic == topic]
    for body in bodies:
        if topic == RESPONSES_TOPIC:
            jsonschema.validate(body, RESPONSE_SCHEMA)
        if topic == REJECTED_TOPIC:
            jsonschema.validate(body, REJECTED_SCHEMA)
    return bodies


def no_planted_values(out: list[Outgoing]) -> bool:
    text = b"\n".join(o.value for o in out).decode("utf-8")
    return not [v for v in PLANTED if v in text]


# --- stage 1: admit ------------------------------------------------------------------------


async def test_admit_publishes_the_redacted_request_after_auditing_it(h: Harness) -> None:
    out = await h.pipeline.admit(request(), src())

    assert [(o.topic, o.key) for o in out] == [(FORWARD_TOPIC, b"req-1")]
    message = json.loads(out[0].value)
    assert message["body"] == {
        "model": "llama-3.3-70b-instruct",
        "messages": [{"role": "user", "content": "Bonjour, je suis <PERSON_1> "
                      "(<EMAIL_ADDRESS_1>). <PERSON_1> a besoin d'un rendez-vous."}],
    }
    assert message["redacted_entities"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}
    assert (message["id"], message["tenant"], message["provider"]) == (
        "req-1", "city-of-lyon", "sovereign-local")
    assert message["audit_record_id"] == "req-1/admitted"
    assert message["policy_hash"] == POLICY.digest
    assert no_planted_values(out)

    record = h.store.get("req-1/admitted")
    assert record is not None
    details = record.payload["details"]
    assert details["forwarded_sha256"] == forwarded_digest(message["body"])
    assert details["source"] == {"topic": REQUESTS_TOPIC, "partition": 2, "offset": 7}
    assert record.payload["occurred_at"] == "2025-03-01T09:30:00.000000Z"
    assert h.kinds("req-1") == ["admitted"]
    assert h.provider.calls == []  # nothing leaves at this stage


@pytest.fixture
def one_store_thread(tmp_path: Path) -> Iterator[Harness]:
    yield from harness(tmp_path, POLICY, store_threads=1)


async def test_the_store_work_of_many_requests_at_once_runs_in_the_threads_it_is_given(
        one_store_thread: Harness) -> None:
    """DOUANE_STORE_THREADS: eight requests admitted at once share one store thread, their
    audit appends still made durable (group commit needs no second thread to lead it)."""
    h = one_store_thread
    threads: set[str] = set()
    append = h.store.append

    def noting_the_thread(event: AuditEvent) -> Any:
        threads.add(threading.current_thread().name)
        return append(event)

    h.pipeline.audit.append = noting_the_thread  # type: ignore[method-assign]
    ids = [f"req-{n}" for n in range(8)]
    outs = await asyncio.gather(*(
        h.pipeline.admit(request(i), src(offset=n, key=i.encode()))
        for n, i in enumerate(ids)))
    assert [[o.key for o in out] for out in outs] == [[i.encode()] for i in ids]
    assert [h.kinds(i) for i in ids] == [["admitted"]] * 8
    assert len(threads) == 1, threads


async def test_metadata_travels_to_the_forward_message(h: Harness) -> None:
    out = await h.pipeline.admit(request(metadata={"ticket": "T-42"}), src())
    assert json.loads(out[0].value)["metadata"] == {"ticket": "T-42"}


async def test_the_forward_message_is_versioned_and_valid_against_its_schema(
        h: Harness) -> None:
    out = await h.pipeline.admit(request(metadata={"ticket": "T-42"}, stream=True,
                                         conversation="conv-9"), src())
    message = json.loads(out[0].value)
    jsonschema.validate(message, FORWARD_SCHEMA)
    assert (message["version"], message["stream"], message["conversation"]) == (1, True, "conv-9")
    # written before the field existed: still the layout of version 1; another version is not
    jsonschema.validate({k: v for k, v in message.items() if k != "version"}, FORWARD_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**message, "version": 2}, FORWARD_SCHEMA)


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        pytest.param(request(classification="secret"), ["no-allowed-provider"], id="secret"),
        pytest.param(request(text=CARD_TEXT), ["blocked-entity"], id="credit-card"),
        pytest.param(request(model="gpt-4o"), ["model-not-allowed"], id="model-not-allowed"),
    ],
)
async def test_blocked_request_gets_a_blocked_response_and_no_forward(
    h: Harness, raw: bytes, codes: list[str]
) -> None:
    out = await h.pipeline.admit(raw, src())

    assert [(o.topic, o.key) for o in out] == [(RESPONSES_TOPIC, b"req-1")]
    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == "blocked"
    assert [r["code"] for r in response["reasons"]] == codes
    assert response["audit_record_id"] == "req-1/blocked"
    assert response["policy_hash"] == POLICY.digest
    assert no_planted_values(out)
    assert h.kinds("req-1") == ["blocked"]
    assert h.provider.calls == []


def policy_internals(policy: LoadedPolicy) -> list[str]:
    """What a caller must not learn from a refusal: the policy's files, its rules' places and
    ids, and its providers (a refused request reached none; the excluded ones are among them)."""
    return [".yaml", "rules[", *(f"'{rule.id}'" for rule in policy.policy.rules),
            *(provider.id for provider in policy.policy.providers)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(request(classification="secret"), "no-allowed-provider", id="secret"),
        pytest.param(request(text=CARD_TEXT), "blocked-entity", id="credit-card"),
        pytest.param(request(text="x" * 61_000), "prompt-too-large", id="too-large"),
    ],
)
async def test_a_blocked_response_names_no_rule_policy_file_or_excluded_provider(
    shipped: Harness, raw: bytes, code: str
) -> None:
    out = await shipped.pipeline.admit(raw, src())

    [response] = on(out, RESPONSES_TOPIC)
    assert code in [r["code"] for r in response["reasons"]]
    [decided] = shipped.store.records_for_request("req-1")
    audit_text = json.dumps(decided.payload["details"]["reasons"])
    internals = policy_internals(shipped.pipeline.policy)
    # the audit record keeps them (so this test would see them if they leaked) ...
    assert any(i in audit_text for i in internals), audit_text
    # ... and the caller gets the code and what to do, none of them
    told = json.dumps(response["reasons"])
    assert [i for i in internals if i in told] == [], told


async def test_a_detector_failure_logs_which_guard_failed_and_never_the_text(
        h: Harness) -> None:
    from streams.adapters.presidio_detector import DetectorError

    h.detector.error = DetectorError("PII detection failed (StepsOverCpuLimit)")
    with structlog.testing.capture_logs() as logs:
        out = await h.pipeline.admit(request(), src())
    assert [r["code"] for r in on(out, RESPONSES_TOPIC)[0]["reasons"]] == ["detector-failed"]
    [failed] = [e for e in logs if e["event"] == "detector failed; request blocked"]
    assert failed["detail"] == "PII detection failed (StepsOverCpuLimit)"
    # an error that is not douane's may quote the text: its message is never logged
    h.detector.error = RuntimeError(f"model crashed on '{NAME}'")
    with structlog.testing.capture_logs() as logs:
        await h.pipeline.admit(request(request_id="req-2"), src(offset=1, key=b"req-2"))
    [failed] = [e for e in logs if e["event"] == "detector failed; request blocked"]
    assert failed["detail"] is None and NAME not in json.dumps(logs, default=str)


async def test_detector_failure_blocks_the_request(h: Harness) -> None:
    h.detector.error = RuntimeError(f"model crashed on '{NAME}'")  # errors may quote the text
    out = await h.pipeline.admit(request(metadata={"ticket": "T-42"}), src())

    [response] = on(out, RESPONSES_TOPIC)
    assert len(out) == 1
    assert response["status"] == "blocked"
    assert [r["code"] for r in response["reasons"]] == ["detector-failed"]
    assert "RuntimeError" in response["reasons"][0]["message"]
    assert response["metadata"] == {"ticket": "T-42"}
    assert no_planted_values(out)
    assert h.kinds("req-1") == ["blocked"]
    assert h.provider.calls == []


# --- rejected ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "request_id"),
    [
        pytest.param(request()[:-2], "not-json", None, id="not-json"),
        pytest.param(request().replace(b"Bonjour", b"Bonjour \xff"), "invalid-utf8", None,
                     id="invalid-utf8"),
        pytest.param(request(text="x" * 70_000), "oversize", None, id="oversize"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, "too-deep", None, id="too-deep"),
        pytest.param(request(request_id="req 1"), "schema-violation", None,
                     id="schema-violation-unusable-id"),
        pytest.param(request(classification=NAME), "schema-violation", "req-1",
                     id="schema-violation-usable-id"),
        pytest.param(request().replace(b"city-of-lyon", b"paris"), "unknown-tenant", "req-1",
                     id="unknown-tenant"),
    ],
)
async def test_rejected_message_keeps_the_original_bytes(
    h: Harness, raw: bytes, code: str, request_id: str | None
) -> None:
    out = await h.pipeline.admit(raw, src(offset=11, key=b"k\x00y"))

    [rejected] = on(out, REJECTED_TOPIC)
    assert base64.b64decode(rejected["original_base64"]) == raw
    assert rejected["original_size"] == len(raw)
    assert rejected["source"] == {"topic": REQUESTS_TOPIC, "partition": 2, "offset": 11,
                                  "key_base64": base64.b64encode(b"k\x00y").decode()}
    assert rejected["error"]["code"] == code
    assert rejected["request_id"] == request_id
    assert rejected["rejected_at"] == "2025-03-01T09:30:00.000000Z"
    record_id = f"{request_id}/rejected" if request_id else f"rejected/{REQUESTS_TOPIC}/2/11"
    assert out[0].key == (request_id or record_id).encode()
    record = h.store.get(record_id)
    assert record is not None and record.kind == "rejected"
    assert record.payload["details"]["size"] == len(raw)

    responses = on(out, RESPONSES_TOPIC)
    if request_id is None:
        assert responses == [] and len(out) == 1
    else:
        [response] = responses
        assert (response["id"], response["status"]) == (request_id, "rejected")
        error = rejected["error"]
        assert response["reasons"] == [{"code": code,
                                        "message": f"{error['message']}; {error['what_to_do']}"}]
        assert "new id" in error["what_to_do"]
        assert response["audit_record_id"] == record_id
        assert [o.key for o in out] == [request_id.encode()] * 2
    assert h.detector.calls == 0 and h.provider.calls == []


async def test_a_rejected_message_too_large_to_copy_whole_keeps_its_beginning(h: Harness) -> None:
    h.pipeline.original_kept_bytes = 1000  # what fits in the worker's Kafka message size
    raw = request(text="x" * 70_000)

    [rejected] = on(await h.pipeline.admit(raw, src(offset=12)), REJECTED_TOPIC)
    assert base64.b64decode(rejected["original_base64"]) == raw[:1000]
    assert rejected["original_truncated"] is True
    assert rejected["original_size"] == len(raw)
    assert rejected["original_sha256"] == hashlib.sha256(raw).hexdigest()


# --- redelivery and duplicates -------------------------------------------------------------


def crash_detector(h: Harness) -> None:
    h.detector.error = RuntimeError("detector down")


ADMIT_CASES = [
    pytest.param(request(), None, id="forward"),
    pytest.param(request(classification="secret"), None, id="blocked"),
    pytest.param(request(classification=NAME), None, id="rejected-with-id"),
    pytest.param(b"{", None, id="rejected-without-id"),
    pytest.param(request(), crash_detector, id="detector-failed"),
]


@pytest.mark.parametrize(("raw", "setup"), ADMIT_CASES)
async def test_redelivery_republishes_the_same_outputs_without_a_new_record(
    h: Harness, raw: bytes, setup: Any
) -> None:
    if setup:
        setup(h)
    first = await h.pipeline.admit(raw, src())
    records = h.count()
    h.clock.advance()  # a redelivery comes later; what it publishes must not change
    again = await h.pipeline.admit(raw, src())

    assert first and again == first
    assert h.count() == records == 1


@pytest.mark.parametrize(
    ("raw", "setup"), [c for c in ADMIT_CASES if c.id != "rejected-without-id"]
)
async def test_a_reused_id_gets_a_duplicate_id_copy_and_no_second_response(
    h: Harness, raw: bytes, setup: Any
) -> None:
    if setup:
        setup(h)
    first = await h.pipeline.admit(raw, src(offset=7))
    assert first
    kinds = h.kinds("req-1")
    for offset in (8, 3):
        out = await h.pipeline.admit(raw, src(offset=offset))
        [copy] = on(out, REJECTED_TOPIC)
        assert len(out) == 1  # no response: the id's response is the first message's
        assert copy["request_id"] == "req-1"
        if copy["error"]["code"] == "duplicate-id":
            assert "offset 7" in copy["error"]["message"]
        else:  # a malformed message is refused for what is wrong with it
            assert json.loads(first[0].value)["error"]["code"] == copy["error"]["code"]
        record = h.store.get(f"rejected/{REQUESTS_TOPIC}/2/{offset}")
        assert record is not None and record.kind == "rejected"
    assert h.kinds("req-1") == [*kinds, "rejected", "rejected"]
    # the same message again (a redelivery after a crash) is not a duplicate of itself
    again = await h.pipeline.admit(raw, src(offset=8))
    assert [o.topic for o in again] == [REJECTED_TOPIC]
    assert h.kinds("req-1") == [*kinds, "rejected", "rejected"]


@pytest.mark.parametrize(
    ("first", "duplicate", "setup"),
    [
        pytest.param(request(), request(), crash_detector, id="detector-fails-on-duplicate"),
        pytest.param(request(), request(text=CARD_TEXT), None, id="duplicate-would-be-blocked"),
        pytest.param(request(text=CARD_TEXT), request(), None, id="duplicate-would-be-admitted"),
        pytest.param(request(), request()[:-2], None, id="valid-then-malformed"),
        pytest.param(request(classification=NAME), request(), None, id="malformed-then-valid"),
        pytest.param(request(classification=NAME), request(purpose=NAME), None,
                     id="malformed-twice"),
    ],
)
async def test_a_request_id_gets_one_response_whatever_the_order(
    h: Harness, first: bytes, duplicate: bytes, setup: Any
) -> None:
    """One id, one response: the first message with an id gets it; every later message with
    the same id, valid or not, lands on douane.rejected (never silence, never a second
    decision)."""
    original = await h.pipeline.admit(first, src(offset=7))
    kinds = h.kinds("req-1")
    if setup:
        setup(h)
    later = await h.pipeline.admit(duplicate, src(offset=8))
    assert on(later, RESPONSES_TOPIC) == []
    [copy] = on(later, REJECTED_TOPIC)
    assert copy["source"]["offset"] == 8
    assert copy["error"]["code"] in ("duplicate-id", "not-json", "schema-violation")
    assert h.kinds("req-1")[:len(kinds)] == kinds
    assert len(on(original, RESPONSES_TOPIC)) + len(on(original, FORWARD_TOPIC)) == 1


# --- stage 2: forward ----------------------------------------------------------------------


async def admitted(h: Harness, raw: bytes | None = None) -> Outgoing:
    [forward] = await h.pipeline.admit(raw or request(metadata={"ticket": "T-42"}), src())
    assert forward.topic == FORWARD_TOPIC
    return forward


def fsrc(offset: int = 0) -> Source:
    return src(offset=offset, topic=FORWARD_TOPIC)


class LockedFor:
    """The audit store, locked (as SQLite says when another writer holds it) for the first
    ``times`` appends of one kind of record."""

    def __init__(self, store: GroupCommitLog, kind: str, times: int) -> None:
        self.store, self.kind, self.left = store, kind, times

    def append(self, event: AuditEvent) -> Any:
        if event.kind == self.kind and self.left > 0:
            self.left -= 1
            raise sqlite3.OperationalError("database is locked")
        return self.store.append(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_an_answer_received_during_an_audit_outage_is_kept_until_recorded(
    h: Harness,
) -> None:
    forward = await admitted(h)
    locked = LockedFor(h.store, "answered", times=3)
    h.pipeline.audit = locked  # type: ignore[assignment]
    h.pipeline.audit_retry_delay_s = 0

    out = await h.pipeline.forward(forward.value, fsrc())

    assert locked.left == 0 and len(h.provider.calls) == 1
    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == "answered"
    assert h.kinds("req-1") == ["admitted", "forwarded", "answered"]


async def test_forward_calls_the_provider_once_and_answers(h: Harness) -> None:
    forward = await admitted(h)
    out = await h.pipeline.forward(forward.value, fsrc())

    assert len(h.provider.calls) == 1
    call = h.provider.calls[0]
    assert call["endpoint"] == "http://127.0.0.1:8088/v1"
    assert call["body"] == json.loads(forward.value)["body"]
    assert (call["request_id"], call["audit_record_id"]) == (
        "req-1", "req-1/forwarded/sovereign-local")
    assert not [v for v in PLANTED if v in json.dumps(call["body"], ensure_ascii=False)]

    assert [(o.topic, o.key) for o in out] == [(RESPONSES_TOPIC, b"req-1")]
    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == "answered"
    assert response["messages"] == list(ANSWER.messages)
    assert (response["provider"], response["model"]) == ("sovereign-local", "douane-echo-1")
    assert response["audit_record_id"] == "req-1/answered"
    assert response["redacted_entities"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}
    assert response["metadata"] == {"ticket": "T-42"}
    assert response["reasons"] == []
    assert h.kinds("req-1") == ["admitted", "forwarded", "answered"]
    forwarded = h.store.get("req-1/forwarded/sovereign-local")
    assert forwarded is not None
    assert forwarded.payload["details"]["admitted_record"] == "req-1/admitted"
    assert forwarded.payload["details"]["forwarded_sha256"] == forwarded_digest(call["body"])
    assert forwarded.payload["details"]["source"] == fsrc().as_json()


async def test_a_redelivery_after_the_answer_publishes_it_again_identical(h: Harness) -> None:
    forward = await admitted(h)
    first = await h.pipeline.forward(forward.value, fsrc())
    records = h.count()
    h.clock.advance()  # a redelivery comes later; what it publishes must not change

    # killed after the answered record, before Kafka acknowledged the response: redelivered
    again = await h.pipeline.forward(forward.value, fsrc())

    assert [(o.topic, o.key) for o in first] == [(RESPONSES_TOPIC, b"req-1")]
    assert again == first  # same topic, key and bytes
    assert len(h.provider.calls) == 1
    assert h.count() == records
    assert h.kinds("req-1") == ["admitted", "forwarded", "answered"]


async def test_the_response_is_kept_before_the_record_that_says_it_exists(h: Harness) -> None:
    """Both in one store job, in this order: a redelivery that finds ``answered`` must find
    the copy to publish again."""
    forward = await admitted(h)
    kept_when_recorded: list[bool] = []
    append = h.store.append

    def noting_the_kept_copy(event: AuditEvent) -> Any:
        if event.kind == "answered":
            kept_when_recorded.append(
                h.vault.kept_response("city-of-lyon", event.request_id or "") is not None)
        return append(event)

    h.pipeline.audit.append = noting_the_kept_copy  # type: ignore[method-assign]
    out = await h.pipeline.forward(forward.value, fsrc())
    assert kept_when_recorded == [True]
    assert h.vault.kept_response("city-of-lyon", "req-1") == out[0].value


async def test_the_forward_stage_finds_the_admission_among_the_requests_records(
        h: Harness) -> None:
    """One audit read before the provider call, not two (issue 10, "storejobs2"): the signed
    admission is one of the request's records; it is looked up by its id only when it is not
    among them."""
    forward = await admitted(h)
    asked: list[tuple[str, str]] = []
    get, records_for_request = h.store.get, h.store.records_for_request

    def noting_get(record_id: str) -> Any:
        asked.append(("get", record_id))
        return get(record_id)

    def noting_records(request_id: str) -> Any:
        asked.append(("records", request_id))
        return records_for_request(request_id)

    h.pipeline.audit.get = noting_get  # type: ignore[method-assign]
    h.pipeline.audit.records_for_request = noting_records  # type: ignore[method-assign]
    out = await h.pipeline.forward(forward.value, fsrc())
    assert on(out, RESPONSES_TOPIC)[0]["status"] == "answered"
    assert asked == [("records", "req-1")]
    # a message nobody admitted: its id's admission is still looked for by id, and refused
    asked.clear()
    forged = {**json.loads(forward.value), "id": "req-9"}
    out = await h.pipeline.forward(json.dumps(forged).encode(), fsrc(1))
    assert asked[:2] == [("records", "req-9"), ("get", "req-9/admitted")]
    assert on(out, RESPONSES_TOPIC)[0]["status"] == "failed"
    assert len(h.provider.calls) == 1


class TopicSeen:
    """The worker's look at the response topics, as a table: what was published, or an error."""

    def __init__(self, published: set[tuple[str, bytes]] | Exception) -> None:
        self.published = published
        self.asked: list[tuple[str, bytes, datetime]] = []

    async def __call__(self, topic: str, key: bytes, since: datetime) -> bool:
        self.asked.append((topic, key, since))
        if isinstance(self.published, Exception):
            raise self.published
        return (topic, key) in self.published


@pytest.mark.parametrize(("seen", "published_again"), [
    (TopicSeen({(RESPONSES_TOPIC, b"req-1")}), False),  # acknowledged before the kill
    (TopicSeen(set()), True),  # killed before Kafka had it
    (TopicSeen({(RESPONSES_TOPIC, b"req-2")}), True),  # another request's response
    (TopicSeen(KafkaConnectionError()), True),  # cannot look: a duplicate, never a loss
], ids=["on-the-topic", "not-there", "another-key", "check-failed"])
async def test_a_redelivered_answer_is_published_again_only_if_not_on_its_topic(
        h: Harness, seen: TopicSeen, published_again: bool) -> None:
    forward = await admitted(h)
    first = await h.pipeline.forward(forward.value, fsrc())
    h.pipeline.published_check = seen
    h.clock.advance()

    again = await h.pipeline.forward(forward.value, fsrc())

    assert again == (first if published_again else [])
    [(topic, key, since)] = seen.asked
    answered = h.store.get("req-1/answered")
    assert answered is not None
    assert (topic, key) == (RESPONSES_TOPIC, b"req-1")
    assert since == datetime.fromisoformat(answered.payload["occurred_at"])
    assert len(h.provider.calls) == 1


async def test_a_first_delivery_never_looks_at_the_response_topic(h: Harness) -> None:
    seen = TopicSeen({(RESPONSES_TOPIC, b"req-1")})
    h.pipeline.published_check = seen
    forward = await admitted(h)
    assert on(await h.pipeline.forward(forward.value, fsrc()), RESPONSES_TOPIC)
    assert seen.asked == []


async def test_a_copy_of_the_forward_message_at_another_offset_publishes_nothing(
        h: Harness) -> None:
    forward = await admitted(h)
    await h.pipeline.forward(forward.value, fsrc())
    records = h.count()
    # the admit stage published the forward message twice (redelivered after the first was
    # acknowledged): the message the request was forwarded from owns the response
    assert await h.pipeline.forward(forward.value, fsrc(offset=5)) == []
    assert len(h.provider.calls) == 1
    assert h.count() == records


@pytest.mark.parametrize("pruned", [False, True], ids=["key-destroyed", "copy-pruned"])
async def test_an_answer_whose_kept_copy_was_shredded_is_said_failed_not_silence(
        h: Harness, pruned: bool) -> None:
    forward = await admitted(h)
    await h.pipeline.forward(forward.value, fsrc())
    records = h.count()
    h.vault.keys.erase("city-of-lyon", RESPONSES_SUBJECT)  # as the period's end would
    if pruned:
        h.vault.prune(h.vault.keys.live_key_ids())

    out = await h.pipeline.forward(forward.value, fsrc())

    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == "failed"
    assert [r["code"] for r in response["reasons"]] == ["answer-erased"]
    assert response["audit_record_id"] == "req-1/answered"
    assert len(h.provider.calls) == 1
    assert h.count() == records  # no second outcome recorded


async def test_without_a_vault_an_answer_redelivered_is_said_not_kept(tmp_path: Path) -> None:
    for h in harness(tmp_path, POLICY):
        h.pipeline.responses = None
        forward = await admitted(h)
        await h.pipeline.forward(forward.value, fsrc())
        [response] = on(await h.pipeline.forward(forward.value, fsrc()), RESPONSES_TOPIC)
        assert (response["status"], [r["code"] for r in response["reasons"]]) == (
            "failed", ["answer-not-kept"])
        assert len(h.provider.calls) == 1


async def test_forward_interrupted_at_the_provider_is_never_sent_twice(h: Harness) -> None:
    forward = await admitted(h)
    h.provider.script = [RuntimeError("worker stopped")]  # dies while the provider has it
    with pytest.raises(RuntimeError, match="worker stopped"):
        await h.pipeline.forward(forward.value, fsrc())
    assert h.kinds("req-1") == ["admitted", "forwarded"]

    out = await h.pipeline.forward(forward.value, fsrc())  # redelivered after the restart

    assert len(h.provider.calls) == 1
    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == "failed"
    assert [r["code"] for r in response["reasons"]] == ["delivery-uncertain"]
    assert response["audit_record_id"] == "req-1/failed"
    assert h.kinds("req-1") == ["admitted", "forwarded", "failed"]
    # killed again before the failed response was acknowledged: the same response again
    assert await h.pipeline.forward(forward.value, fsrc()) == out
    assert len(h.provider.calls) == 1
    assert h.kinds("req-1") == ["admitted", "forwarded", "failed"]


def retryable(status: int = 503) -> ProviderError:
    return ProviderError(f"provider answered HTTP {status}", retryable=True, status=status)


def fatal(status: int = 400) -> ProviderError:
    return ProviderError(f"provider answered HTTP {status}", retryable=False, status=status)


@pytest.mark.parametrize(
    ("script", "calls", "status", "kinds"),
    [
        pytest.param([retryable(), retryable(429)], 3, "answered",
                     ["admitted", "forwarded", "answered"], id="two-retryable-then-success"),
        pytest.param([retryable()], 2, "answered", ["admitted", "forwarded", "answered"],
                     id="one-retryable-then-success"),
        pytest.param([fatal()], 1, "failed", ["admitted", "forwarded", "failed"],
                     id="non-retryable"),
        pytest.param([retryable(), fatal(401)], 2, "failed",
                     ["admitted", "forwarded", "failed"], id="retryable-then-non-retryable"),
        pytest.param([retryable()] * 3, 3, "failed", ["admitted", "forwarded", "failed"],
                     id="retryable-until-attempts-run-out"),
    ],
)
async def test_provider_errors_are_retried_only_when_retryable(
    h: Harness, script: list[Exception | None], calls: int, status: str, kinds: list[str]
) -> None:
    forward = await admitted(h)
    h.provider.script = list(script)
    out = await h.pipeline.forward(forward.value, fsrc())

    assert len(h.provider.calls) == calls
    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == status
    assert h.kinds("req-1") == kinds
    if status == "failed":
        last = script[calls - 1]
        # what the provider answered is for the operator: in the audit record, not the response
        assert [r["code"] for r in response["reasons"]] == ["provider-failed"]
        assert str(last) not in json.dumps(response)
        [failed] = [r for r in h.store.records_for_request("req-1") if r.kind == "failed"]
        assert failed.payload["details"]["reasons"] == [
            {"code": "provider-failed", "message": str(last)}]
        assert response["audit_record_id"] == "req-1/failed"
        assert "messages" not in response


async def test_end_to_end_redacted_text_is_all_that_reaches_the_provider(h: Harness) -> None:
    raws = [request(f"req-{n}", text=t) for n, t in enumerate([TEXT, CARD_TEXT, TEXT + TEXT])]
    for offset, raw in enumerate(raws):
        for out in await h.pipeline.admit(raw, src(offset=offset)):
            if out.topic == FORWARD_TOPIC:
                await h.pipeline.forward(out.value, fsrc(offset))
    assert [c["request_id"] for c in h.provider.calls] == ["req-0", "req-2"]
    sent = json.dumps([c["body"] for c in h.provider.calls], ensure_ascii=False)
    assert [v for v in PLANTED if v in sent] == []
    assert h.kinds("req-1") == ["blocked"]


# --- the forward stage sends only what was admitted (issue 12, item 1) ---------------------


def forged(forward: Outgoing, **changes: Any) -> bytes:
    message = json.loads(forward.value)
    message.update(changes)
    return json.dumps(message).encode()


@pytest.mark.parametrize("changes", [
    {"classification": "public"},
    {"purpose": "press"},
    {"provider": "external-claude", "fallbacks": []},
    {"fallbacks": ["external-claude"]},
    {"tenant": "ministry-of-health"},
    {"body": {"model": "douane-echo-1",
              "messages": [{"role": "user", "content": f"{NAME}, {EMAIL}"}]}},
])
async def test_a_forward_message_that_differs_from_its_admission_is_never_sent(
        h: Harness, changes: dict[str, Any]) -> None:
    forward = await admitted(h)
    out = await h.pipeline.forward(forged(forward, **changes), fsrc(offset=11))
    assert h.provider.calls == []
    assert out == []  # the real request keeps its own flow: no response in its name
    assert h.kinds("req-1") == ["admitted", "rejected"]
    refusal = h.store.get(f"forward-refused/{FORWARD_TOPIC}/{fsrc().partition}/11")
    assert refusal is not None
    assert refusal.payload["details"]["reasons"][0]["code"] == "not-admitted"
    assert not [v for v in PLANTED if v in h.all_audit_text()]
    # and the real message still goes through
    await h.pipeline.forward(forward.value, fsrc())
    assert len(h.provider.calls) == 1


async def test_a_forward_message_nobody_admitted_gets_a_failed_response_and_no_call(
        h: Harness) -> None:
    message = {"id": "walk-around", "tenant": "city-of-lyon", "provider": "sovereign-local",
               "classification": "public", "purpose": None, "fallbacks": [],
               "audit_record_id": "walk-around/admitted", "policy_hash": "x",
               "body": {"model": "douane-echo-1",
                        "messages": [{"role": "user", "content": f"{NAME} {EMAIL}"}]}}
    out = await h.pipeline.forward(json.dumps(message).encode(), fsrc(offset=3))
    assert h.provider.calls == []
    [response] = on(out, RESPONSES_TOPIC)
    assert response["status"] == "failed"
    assert [r["code"] for r in response["reasons"]] == ["not-admitted"]
    assert h.kinds("walk-around") == ["rejected"]
    assert not [v for v in PLANTED if v in h.all_audit_text()]


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
async def test_a_forward_message_of_an_unknown_version_is_refused_unread(
        h: Harness, version: Any) -> None:
    forward = await admitted(h)
    out = await h.pipeline.forward(forged(forward, version=version), fsrc(offset=12))
    assert h.provider.calls == [] and out == []
    assert h.kinds("req-1") == ["admitted", "rejected"]
    refusal = h.store.get(f"forward-refused/{FORWARD_TOPIC}/{fsrc().partition}/12")
    assert refusal is not None
    assert [r["code"] for r in refusal.payload["details"]["reasons"]] == [
        "forward-version-unknown"]
    # the real message, and one written before ``version`` existed, go through
    unversioned = {k: v for k, v in json.loads(forward.value).items() if k != "version"}
    await h.pipeline.forward(json.dumps(unversioned).encode(), fsrc())
    assert len(h.provider.calls) == 1


async def test_an_admitted_forward_message_of_another_shape_is_refused(h: Harness) -> None:
    forward = await admitted(h)  # what the admission does not fix must still have its shape
    out = await h.pipeline.forward(forged(forward, stream="yes"), fsrc(offset=13))
    assert h.provider.calls == [] and out == []
    refusal = h.store.get(f"forward-refused/{FORWARD_TOPIC}/{fsrc().partition}/13")
    assert refusal is not None
    [reason] = refusal.payload["details"]["reasons"]
    assert reason["code"] == "forward-malformed" and "$.stream" in reason["message"]
    assert "yes" not in reason["message"]


async def test_an_admission_with_a_broken_signature_is_not_trusted(h: Harness) -> None:
    forward = await admitted(h)
    record = h.store.get("req-1/admitted")
    assert record is not None
    connection = h.store._backend.conn  # what an attacker with the file could do
    connection.execute("UPDATE audit_records SET signature = ? WHERE record_id = ?",
                       (bytes(64), "req-1/admitted"))
    out = await h.pipeline.forward(forward.value, fsrc())
    assert h.provider.calls == [] and out == []
    assert h.kinds("req-1") == ["admitted", "rejected"]
    connection.execute("UPDATE audit_records SET signature = ? WHERE record_id = ?",
                       (record.signature, "req-1/admitted"))  # the fixture verifies the log


# --- free text a producer controls, in a log kept ten years (issue 12, item 10) --------------

HOSTILE = "Jeanne Martin, 12 rue X"
LOOKS_LIKE_AN_ID = "jeanne-martin-12-rue-x"  # the right shape, declared nowhere


def hostile_requests() -> list[bytes]:
    def body(**fields: Any) -> bytes:
        document = {"id": f"req-h{len(made)}", "tenant": "city-of-lyon",
                    "messages": [{"role": "user", "content": "Horaires de la mairie ?"}],
                    **fields}
        return json.dumps(document, ensure_ascii=False).encode("utf-8")

    made: list[bytes] = []
    for value in (HOSTILE, LOOKS_LIKE_AN_ID):
        for name in ("model", "purpose", "tenant"):
            made.append(body(**{name: value}))
    made.append(body(**{HOSTILE: "x"}))
    return made


async def test_producer_text_reaches_no_audit_record_response_or_log_line(h: Harness) -> None:
    outputs: list[Outgoing] = []
    with structlog.testing.capture_logs() as logs:
        for offset, raw in enumerate(hostile_requests()):
            outputs += await h.pipeline.admit(raw, src(offset=offset, key=b"req-h"))
    records = list(h.store.iter_records())
    assert len(records) == 7  # each was refused, and recorded
    audit_text = "\n".join(r.canonical.decode("utf-8") for r in records)
    # what a producer reads back: responses, and the error part of douane.rejected (that topic
    # also returns the producer's own message, base64, for repair: not a record douane keeps)
    replies = [json.loads(o.value) for o in outputs]
    reply_text = json.dumps([{k: v for k, v in r.items() if k != "original_base64"}
                             for r in replies], ensure_ascii=False)
    log_text = json.dumps(logs, ensure_ascii=False, default=str)
    for where, text in (("audit", audit_text), ("replies", reply_text), ("logs", log_text)):
        found = [piece for piece in ("Jeanne", "jeanne", "12 rue") if piece in text]
        assert found == [], f"{where} holds {found}"
    # no error lists the tenants the policy knows (a producer has no business with them)
    assert "tax-office" not in reply_text and "tax-office" not in audit_text
    # a well-shaped but undeclared value is kept as its digest: the operator can confirm a guess
    digest = "sha256:" + hashlib.sha256(LOOKS_LIKE_AN_ID.encode()).hexdigest()
    kept = {(r.kind, json.dumps(r.payload["details"].get(f)))
            for r in records for f in ("purpose", "requested_model", "undeclared")
            if digest in json.dumps(r.payload["details"].get(f))}
    assert kept == {("blocked", json.dumps(digest)),
                    ("rejected", json.dumps({"tenant": digest}))}
    assert sum(digest in json.dumps(r.payload) for r in records) == 3  # model, purpose, tenant


async def test_a_forged_forward_message_id_of_free_text_is_not_recorded(h: Harness) -> None:
    forged = json.dumps({"id": HOSTILE, "tenant": "city-of-lyon", "provider": "sovereign-local",
                         "body": {"messages": []}}).encode()
    out = await h.pipeline.forward(forged, src(topic=FORWARD_TOPIC))
    assert out == []
    [record] = list(h.store.iter_records())
    assert record.kind == "rejected" and record.payload["request_id"] is None
    assert "Jeanne" not in record.canonical.decode("utf-8")
    assert h.provider.calls == []


async def test_a_model_name_a_provider_answers_with_is_recorded_only_if_it_is_one(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(globals(), "ANSWER", ProviderAnswer(ANSWER.messages, model=HOSTILE))
    forward = await admitted(h)
    await h.pipeline.forward(forward.value, fsrc())
    answered = h.store.get("req-1/answered")
    assert answered is not None
    assert answered.payload["details"]["model"] == "sha256:" + hashlib.sha256(
        HOSTILE.encode()).hexdigest()


# ------------------------------------------------------------------ per-tenant topics
LYON_REQUESTS = "douane.requests.city-of-lyon"
LYON_RESPONSES = "douane.responses.city-of-lyon"


def per_tenant(h: Harness) -> Pipeline:
    h.pipeline.topic_layout = PER_TENANT
    return h.pipeline


def without_tenant(request_id: str = "req-1") -> bytes:
    body = json.loads(request(request_id, metadata={"ticket": "T-42"}))
    del body["tenant"]
    return json.dumps(body).encode()


async def test_on_a_tenants_topic_the_topic_names_the_tenant_and_gets_the_answer(
        h: Harness) -> None:
    pipeline = per_tenant(h)
    [forward] = await pipeline.admit(without_tenant(), src(topic=LYON_REQUESTS))
    assert forward.topic == FORWARD_TOPIC
    assert json.loads(forward.value)["tenant"] == "city-of-lyon"
    out = await pipeline.forward(forward.value, fsrc())
    assert [(o.topic, o.key) for o in out] == [(LYON_RESPONSES, b"req-1")]
    assert json.loads(out[0].value)["status"] == "answered"
    blocked = await pipeline.admit(request("req-2", classification="secret"),
                                   src(8, topic=LYON_REQUESTS))
    assert [o.topic for o in blocked] == [LYON_RESPONSES]


@pytest.mark.parametrize("claimed", ["tax-office", "ministry-of-nowhere", 42, None])
async def test_a_message_claiming_another_tenant_is_rejected_without_echoing_it(
        h: Harness, claimed: object) -> None:
    pipeline = per_tenant(h)
    body = json.loads(request())
    body["tenant"] = claimed
    out = await pipeline.admit(json.dumps(body).encode(), src(topic=LYON_REQUESTS))

    # the id is the message's own: its one reply is the id's response, on the topic's tenant's
    assert [o.topic for o in out] == [LYON_RESPONSES]
    response = json.loads(out[0].value)
    assert (response["status"], response["tenant"]) == ("rejected", "city-of-lyon")
    assert [r["code"] for r in response["reasons"]] == ["tenant-mismatch"]
    assert h.provider.calls == []
    [record] = h.store.records_for_request("req-1")
    assert (record.kind, record.payload["tenant"]) == ("rejected", "city-of-lyon")
    if isinstance(claimed, str):
        assert claimed not in json.dumps(response) and claimed not in h.all_audit_text()


async def test_a_topic_whose_tenant_left_the_policy_gets_no_answer_and_nothing_forwarded(
        h: Harness) -> None:
    pipeline = per_tenant(h)
    body = json.loads(request())
    body["tenant"] = "paris"
    out = await pipeline.admit(json.dumps(body).encode(), src(topic="douane.requests.paris"))
    assert [o.topic for o in out] == [REJECTED_TOPIC]
    assert on(out, REJECTED_TOPIC)[0]["error"]["code"] == "unknown-tenant"
    assert h.provider.calls == []


LYON_REJECTED = "douane.rejected.city-of-lyon"
TAX_REQUESTS = "douane.requests.tax-office"
TAX_REJECTED = "douane.rejected.tax-office"


async def replies(h: Harness, raw: bytes, offset: int, topic: str = LYON_REQUESTS
                  ) -> list[tuple[str, str]]:
    """What one message gets back, as (topic, status of a response or code of a rejection);
    a forwarded request is taken through the forward stage to its response."""
    got: list[tuple[str, str]] = []
    for message in await h.pipeline.admit(raw, src(offset, topic=topic)):
        if message.topic == FORWARD_TOPIC:
            got += await replies_of(await h.pipeline.forward(message.value, fsrc(offset)))
        else:
            got += await replies_of([message])
    return got


async def replies_of(out: list[Outgoing]) -> list[tuple[str, str]]:
    got = []
    for message in out:
        body = json.loads(message.value)
        if message.topic.startswith(REJECTED_TOPIC):
            jsonschema.validate(body, REJECTED_SCHEMA)
            got.append((message.topic, body["error"]["code"]))
        else:
            jsonschema.validate(body, RESPONSE_SCHEMA)
            got.append((message.topic, body["status"]))
    return got


def claiming(tenant: str) -> bytes:
    return request().replace(b'"city-of-lyon"', json.dumps(tenant).encode())


WITH_ITS_ID = request(classification=NAME)  # malformed (schema-violation), its id readable
ANSWERED, BLOCKED = (LYON_RESPONSES, "answered"), (LYON_RESPONSES, "blocked")
REFUSED = (LYON_RESPONSES, "rejected")


def rejection(code: str) -> tuple[str, str]:
    return (LYON_REJECTED, code)


@pytest.mark.parametrize(("messages", "expected"), [
    pytest.param([request(), WITH_ITS_ID], [[ANSWERED], [rejection("schema-violation")]],
                 id="valid-then-malformed-with-the-id"),
    pytest.param([request(), request()[:-2]], [[ANSWERED], [rejection("not-json")]],
                 id="valid-then-not-json"),
    pytest.param([WITH_ITS_ID, request()], [[REFUSED], [rejection("duplicate-id")]],
                 id="malformed-then-valid"),
    pytest.param([WITH_ITS_ID, request(purpose=NAME)],
                 [[REFUSED], [rejection("schema-violation")]], id="malformed-twice"),
    pytest.param([request(), request()], [[ANSWERED], [rejection("duplicate-id")]],
                 id="duplicate"),
    pytest.param([request(text=CARD_TEXT), request()], [[BLOCKED], [rejection("duplicate-id")]],
                 id="blocked-then-duplicate"),
    pytest.param([claiming("tax-office")] * 2, [[REFUSED], [rejection("tenant-mismatch")]],
                 id="tenant-mismatch-twice"),
    pytest.param([request(text="x" * 70_000), request()], [[rejection("oversize")], [ANSWERED]],
                 id="too-large-then-valid"),
    pytest.param([b"{", b"\xff", b"[" * 40], [[rejection("not-json")],
                                              [rejection("invalid-utf8")],
                                              [rejection("too-deep")]], id="no-usable-id"),
])
async def test_on_a_tenants_topic_each_message_gets_exactly_one_reply_the_tenant_reads(
        h: Harness, messages: list[bytes], expected: list[list[tuple[str, str]]]) -> None:
    """The order table of docs/producers.md: the first message with an id gets the id's
    response; every other message gets one rejection on the tenant's douane.rejected.<tenant>
    (never silence, never two replies, never the operators' douane.rejected)."""
    per_tenant(h)
    got = [await replies(h, raw, offset) for offset, raw in enumerate(messages, start=7)]
    assert got == expected
    if expected[-1][0][0] == LYON_REJECTED:  # redelivered, a message is not its own duplicate
        assert await replies(h, messages[-1], 6 + len(messages)) == expected[-1]


async def test_a_tenants_rejection_says_what_to_do_and_repeats_no_claimed_value(
        h: Harness) -> None:
    pipeline = per_tenant(h)
    await pipeline.admit(claiming("tax-office"), src(7, topic=LYON_REQUESTS))
    raw = claiming("ministry-of-nowhere")
    [out] = await pipeline.admit(raw, src(8, topic=LYON_REQUESTS, key=b"req-1"))
    assert out.topic == LYON_REJECTED and out.key == b"req-1"
    body = json.loads(out.value)
    assert body["error"]["code"] == "tenant-mismatch"
    assert "new id" in body["error"]["what_to_do"]
    # its own bytes come back to it (bounded as on douane.rejected); nothing else repeats them
    assert base64.b64decode(body["original_base64"]) == raw
    shown = json.dumps({k: v for k, v in body.items() if k != "original_base64"})
    assert "ministry-of-nowhere" not in shown and "tax-office" not in shown


async def test_an_id_another_tenant_used_is_a_duplicate_without_naming_that_tenant(
        h: Harness) -> None:
    """Request ids are douane-wide (the audit log is keyed by them): a tenant reusing one is
    told so on its own rejection topic, not where, nor whose, the first one was."""
    pipeline = per_tenant(h)
    assert await replies(h, without_tenant(), 7) == [ANSWERED]
    [out] = await pipeline.admit(without_tenant(), src(9, topic=TAX_REQUESTS))
    assert out.topic == TAX_REJECTED
    body = json.loads(out.value)
    assert body["error"]["code"] == "duplicate-id"
    assert "city-of-lyon" not in json.dumps(body["error"])
    # on its own topic, the earlier message's place is named
    [own] = await pipeline.admit(without_tenant(), src(10, topic=LYON_REQUESTS))
    assert own.topic == LYON_REJECTED
    assert f"{LYON_REQUESTS} partition 2 offset 7" in json.loads(own.value)["error"]["message"]


async def test_a_message_losing_the_race_for_its_id_is_told_so(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two messages with one id judged at the same moment (by two workers): the check for an
    earlier owner passes for both, the record decides; the loser gets duplicate-id, never
    silence."""
    per_tenant(h)
    crash_detector(h)
    assert await replies(h, request(), 7) == [BLOCKED]

    async def no_owner_yet(_request_id: str, _source: Source) -> None:
        return None
    monkeypatch.setattr(h.pipeline, "_id_owner", no_owner_yet)
    assert await replies(h, request(), 8) == [rejection("duplicate-id")]


async def test_streamed_pieces_go_to_the_tenants_chunk_topic(h: Harness) -> None:
    pipeline = per_tenant(h)
    topics: list[str] = []

    async def sink(topic: str, key: bytes, value: bytes) -> None:
        topics.append(topic)

    pipeline.chunk_sink = sink
    to_lyon = pipeline._chunk_sink_for("city-of-lyon")  # what the forward stage streams into
    assert to_lyon is not None
    await to_lyon("douane.responses.chunks", b"req-1", b"{}")
    assert topics == ["douane.responses.chunks.city-of-lyon"]


# --- metrics -------------------------------------------------------------------------------


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_each_decision_under_closed_labels_without_personal_data(
    h: Harness,
) -> None:
    decided = {"stage": "admit", "tenant": "city-of-lyon"}
    watched = {
        "forwarded": ("douane_requests_total", {**decided, "decision": "forward",
                                                "reason": "none"}),
        "blocked": ("douane_requests_total", {**decided, "decision": "block",
                                              "reason": "blocked-entity"}),
        "rejected": ("douane_requests_total", {"stage": "admit", "tenant": "none",
                                               "decision": "reject", "reason": "not-json"}),
        "copied": ("douane_rejected_messages_total", {"code": "not-json"}),
        "answered": ("douane_requests_total", {"stage": "forward", "tenant": "city-of-lyon",
                                               "decision": "answered", "reason": "none"}),
        "provider": ("douane_provider_request_seconds_count",
                     {"provider": "sovereign-local", "outcome": "ok"}),
        "appended": ("douane_audit_append_seconds_count", {"kind": "admitted"}),
        "detected": ("douane_detection_seconds_count", {"outcome": "ok"}),
    }
    before = {what: sample(name, **labels) for what, (name, labels) in watched.items()}

    await h.pipeline.forward((await admitted(h)).value, fsrc())
    await h.pipeline.admit(request("req-card", text=CARD_TEXT), src(offset=8, key=b"req-card"))
    await h.pipeline.admit(f'{{"id": "{NAME}", "tenant": "{EMAIL}", '.encode(), src(offset=9))

    after = {what: sample(name, **labels) for what, (name, labels) in watched.items()}
    assert {what: after[what] - before[what] for what in watched} == {
        "forwarded": 1, "blocked": 1, "rejected": 1, "copied": 1, "answered": 1,
        "provider": 1, "appended": 1, "detected": 3}  # two prompts and the answer
    text = metrics.exposition()[0].decode()
    assert [v for v in (*PLANTED, "req-card", "req-1") if v in text] == []


async def test_an_audit_store_that_cannot_write_makes_the_pipeline_report_it(
    h: Harness,
) -> None:
    h.pipeline.audit = LockedFor(h.store, "admitted", times=1)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError):
        await h.pipeline.admit(request(), src())
    assert h.pipeline.audit_writable is False
    assert sample("douane_audit_store_writable") == 0

    await h.pipeline.admit(request(), src())  # the store writes again
    assert h.pipeline.audit_writable is True
    assert sample("douane_audit_store_writable") == 1


# ------------------------------------------------------------------ usage and cost
def priced_single_door(prices: list[dict[str, Any]]) -> LoadedPolicy:
    document = policy_document(ROOT / "policies")
    document["providers"] = document["providers"][:1]
    document["providers"][0]["prices"] = prices
    for rule in document["rules"]:
        residency = rule.get("residency") or {}
        if "providers" in residency:
            residency["providers"] = [p for p in residency["providers"]
                                      if p == "sovereign-local"]
    return parse_policy(yaml.safe_dump(document), "priced.yaml")


async def test_an_answer_without_usage_records_counted_tokens_marked_estimated(
        h: Harness) -> None:
    forward = await admitted(h)
    await h.pipeline.forward(forward.value, fsrc())
    answered = h.store.get("req-1/answered")
    assert answered is not None
    details = answered.payload["details"]
    sent = json.loads(forward.value)["body"]["messages"]
    # counted on the redacted prompt that was sent and on the answer as the provider wrote it
    expected_in = sum(-(-len(m["content"]) // 4) for m in sent)
    expected_out = -(-len(ANSWER.messages[0]["content"]) // 4)
    assert details["usage"] == {"input_tokens": expected_in, "output_tokens": expected_out,
                                "estimated": True}
    # the shipped local door costs nothing: recorded as a zero cost, not as "unpriced"
    assert details["cost"] == {"amount": "0.000000", "currency": "EUR", "price": {
        "valid_from": "2024-01-01", "currency": "EUR", "input_per_million": "0",
        "output_per_million": "0"}}


async def test_an_answer_records_the_reported_usage_and_the_cost_at_the_price_in_force(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    model = POLICY.policy.provider("sovereign-local").models[0]
    h.pipeline.replace_policy(priced_single_door([
        {"valid_from": "2025-01-01", "currency": "EUR", "input_per_million": 1,
         "output_per_million": 2},
        {"valid_from": "2025-03-02", "currency": "EUR", "input_per_million": 100,
         "output_per_million": 200},  # the day after the answer (T0): not yet in force
        {"valid_from": "2025-02-01", "currency": "EUR", "input_per_million": 3,
         "output_per_million": 4, "model": model},
    ]))
    monkeypatch.setitem(globals(), "ANSWER", ProviderAnswer(
        ANSWER.messages, ANSWER.model, "stop",
        TokenUsage(1200, 300, reported=(("completion_tokens", 300), ("prompt_tokens", 1200)))))
    forward = await admitted(h, request(metadata={"ticket": "T-42"}, model=model))
    await h.pipeline.forward(forward.value, fsrc())
    answered = h.store.get("req-1/answered")
    assert answered is not None
    details = answered.payload["details"]
    assert details["usage"] == {"input_tokens": 1200, "output_tokens": 300, "estimated": False,
                                "reported": {"completion_tokens": 300, "prompt_tokens": 1200}}
    # 1200 x 3 / 1e6 + 300 x 4 / 1e6, with the model's own entry
    assert details["cost"] == {"amount": "0.004800", "currency": "EUR", "price": {
        "valid_from": "2025-02-01", "currency": "EUR", "model": model,
        "input_per_million": "3", "output_per_million": "4"}}
