"""Retention runs and erasure really delete: keys destroyed, ciphertexts pruned, files scanned,
the audit log still verifies and carries the signed record. The clock is driven, never slept."""

from __future__ import annotations

import glob
import json
import logging
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams import cli
from streams.adapters.audit.open import audit_log_exists, open_audit_reader
from streams.adapters.audit.sqlite import open_sqlite_log
from streams.adapters.key_store import KeyStore, SubjectHeldError
from streams.adapters.operator_keys import FileOperatorKeys, keyed_tokens
from streams.adapters.personal_vault import PersonalVault, ValueErasedError
from streams.adapters.policy_files import load_policy_set, parse_policy, policy_document
from streams.adapters.providers.base import CallContext, ProviderAnswer
from streams.adapters.schemas import load_schema
from streams.adapters.shredding_operator_keys import (
    ShreddingOperatorKeys,
    shortest_payload_retention,
)
from streams.adapters.signer import load_or_create_signer
from streams.cli.audit import run_verify
from streams.config import REQUESTS_TOPIC, Settings, load_settings, project_root
from streams.core.audit import AUDIT_KINDS
from streams.core.intake import RequestIntake
from streams.core.model import ChatMessage, Detection, Finding
from streams.core.policy import EntityRule, Provider
from streams.core.redaction import plan_redaction
from streams.core.tenant_topics import SINGLE
from streams.devtools.ports import free_port
from streams.pipeline import Pipeline, Source
from streams.services.audit_log import open_writer
from streams.services.erasure import ErasureReport, erase_subject
from streams.services.retention import RetentionReport, retention_run, scheduled_retention_run
from streams.services.stores import open_stores
from streams.services.subject_access import subject_access

HOUR = 3_600
T0 = 1_764_000_000.0  # 2025-11-24T16:00Z
ALICE, BOB = "Alice Martin-Lefèvre", "bob.durand@example.fr"
NIR = "2 84 05 75 123 456 78"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


pytestmark = pytest.mark.usefixtures("restore_logging")



@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stores(settings: Settings, clock: Clock) -> Iterator[tuple[KeyStore, PersonalVault]]:
    with open_stores(settings, clock) as opened:
        yield opened


def run_retention(settings: Settings, keys: KeyStore, vault: PersonalVault) -> RetentionReport:
    """A retention run as ``douane retention run`` makes it: through a writer opened for it."""
    with open_writer(settings) as audit:
        return retention_run(keys, vault, audit)


def erase(settings: Settings, keys: KeyStore, vault: PersonalVault, tenant: str, subject: str,
          reason: str) -> ErasureReport:
    with open_writer(settings) as audit:
        return erase_subject(keys, vault, audit, tenant, subject, reason)


def access(settings: Settings, vault: PersonalVault, tenant: str,
           subject: str) -> dict[str, Any]:
    if not audit_log_exists(settings):
        return subject_access(vault, None, tenant, subject)
    with open_audit_reader(settings) as reader:
        return subject_access(vault, reader, tenant, subject)


def kinds_in_log(settings: Settings) -> list[str]:
    with open_audit_reader(settings) as reader:
        return [r.kind for r in reader.iter_records()]


def details_of_last(settings: Settings, kind: str) -> dict[str, object]:
    with open_audit_reader(settings) as reader:
        records = [r for r in reader.iter_records() if r.kind == kind]
    details = records[-1].payload["details"]
    assert isinstance(details, dict)
    return details


def test_the_new_kinds_are_audit_kinds() -> None:
    assert {"retention_run", "erased", "hold_placed", "hold_released"} <= AUDIT_KINDS


def test_after_the_period_a_run_destroys_the_keys_and_the_log_still_verifies(
        settings: Settings, clock: Clock, stores: tuple[KeyStore, PersonalVault]) -> None:
    keys, vault = stores
    short = vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR, request_id="req-1")
    long = vault.put("lyon", BOB, kind="EMAIL_ADDRESS", retention_s=30 * 24 * HOUR)
    assert vault.read(short.entry_id) == ALICE

    clock.now = short.expires_at - 1  # a second before: nothing goes
    first = run_retention(settings, keys, vault)
    assert (len(first.destroyed.keys), first.pruned) == (0, 0)
    assert vault.read(short.entry_id) == ALICE

    clock.now = short.expires_at
    second = run_retention(settings, keys, vault)
    assert (len(second.destroyed.keys), len(second.destroyed.keks), second.pruned) == (1, 1, 1)
    with pytest.raises(ValueErasedError):
        vault.read(short.entry_id)
    assert keys.unwrap(short.key_id) is None
    assert vault.read(long.entry_id) == BOB  # a longer retention is untouched

    again = run_retention(settings, keys, vault)  # repeating is harmless
    assert (len(again.destroyed.keys), again.pruned) == (0, 0)

    assert run_verify(settings) == 0
    assert kinds_in_log(settings) == ["retention_run"] * 3
    details = details_of_last(settings, "retention_run")
    assert details["stores"] == {"key_store": {"data_keys_destroyed": 0,
                                               "period_keys_destroyed": 0,
                                               "kept_under_hold": 0},
                                 "vault": {"entries_pruned": 0}}
    with open_audit_reader(settings) as reader:
        record = reader.get(second.record_id)
    assert record is not None
    assert record.payload["details"]["periods"] == [
        {"period": f"{int(T0) // 360 * 360}+360/3600", "data_keys_destroyed": 1}]


def test_a_held_key_survives_and_the_run_after_the_hold_ends_destroys_it(
        settings: Settings, clock: Clock, stores: tuple[KeyStore, PersonalVault]) -> None:
    keys, vault = stores
    kept = vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR)
    other = vault.put("lyon", BOB, kind="EMAIL_ADDRESS", retention_s=HOUR)
    hold = keys.add_hold("lyon", kept.subject, "case 2025-117")

    clock.now = kept.expires_at + 10
    run = run_retention(settings, keys, vault)
    assert ([k.key_id for k in run.destroyed.keys], run.destroyed.held) == ([other.key_id], 1)
    assert run.destroyed.keks == ()  # the period key stays while a held key needs it
    assert vault.read(kept.entry_id) == ALICE
    with pytest.raises(ValueErasedError):
        vault.read(other.entry_id)
    with pytest.raises(SubjectHeldError, match="legal hold"):
        erase(settings, keys, vault, "lyon", kept.subject, "test")

    assert keys.remove_hold(hold.hold_id) is not None
    after = run_retention(settings, keys, vault)
    assert ([k.key_id for k in after.destroyed.keys], len(after.destroyed.keks)) == (
        [kept.key_id], 1)
    with pytest.raises(ValueErasedError):
        vault.read(kept.entry_id)
    assert run_verify(settings) == 0


def test_erasing_one_subject_leaves_the_others_readable(
        settings: Settings, clock: Clock, stores: tuple[KeyStore, PersonalVault]) -> None:
    keys, vault = stores
    alice = [vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR, request_id="req-1")]
    clock.now += 2 * HOUR  # a later period: a second key for the same person
    alice.append(vault.put("lyon", NIR, kind="FR_NIR", retention_s=HOUR,
                           subject=alice[0].subject, request_id="req-2"))
    bob = vault.put("lyon", BOB, kind="EMAIL_ADDRESS", retention_s=HOUR)
    same_name_elsewhere = vault.put("paris", ALICE, kind="PERSON", retention_s=HOUR)
    assert alice[0].key_id != alice[1].key_id
    assert same_name_elsewhere.subject != alice[0].subject  # fingerprints are per tenant

    erased = erase(settings, keys, vault, "lyon", keys.fingerprint("lyon", "alice "
                                                                           "martin-lefèvre"),
                           "GDPR art. 17 request 42")
    assert {k.key_id for k in erased.destroyed.keys} == {a.key_id for a in alice}
    assert erased.pruned == 2
    for entry in alice:
        with pytest.raises(ValueErasedError):
            vault.read(entry.entry_id)
    assert vault.read(bob.entry_id) == BOB
    assert vault.read(same_name_elsewhere.entry_id) == ALICE
    assert access(settings, vault, "lyon", alice[0].subject)["values"] == []

    assert run_verify(settings) == 0
    details = details_of_last(settings, "erased")
    assert details["subject_fingerprint"] == alice[0].subject
    assert details["vault_entries_pruned"] == 2
    assert ALICE not in json.dumps(details, ensure_ascii=False)


def test_concurrent_runs_destroy_each_key_once(
        settings: Settings, clock: Clock, stores: tuple[KeyStore, PersonalVault]) -> None:
    _, vault = stores
    for i in range(40):
        vault.put("lyon", f"person {i}", kind="PERSON", retention_s=HOUR)
    clock.now += 2 * HOUR
    counts: list[int] = []

    def run() -> None:
        with open_stores(settings, clock) as (own_keys, own_vault):
            counts.append(len(run_retention(settings, own_keys, own_vault).destroyed.keys))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counts) == 3 and sum(counts) == 40  # no key counted twice, none missed
    assert vault.count() == 0
    assert run_verify(settings) == 0
    assert kinds_in_log(settings) == ["retention_run"] * 3


def _secrets_of(settings: Settings) -> list[bytes]:
    """The raw key material (read behind the stores' backs, for the scan): the KEKs in their
    own folder, the wrapped data keys in the key database."""
    keks = [p.read_bytes() for p in Path(settings.kek_store).glob("*.kek")]
    db = sqlite3.connect(settings.keys_db or Path())
    try:
        return keks + [bytes(r[0]) for r in db.execute("SELECT wrapped FROM data_keys")]
    finally:
        db.close()


def _files_containing(root: Path, needles: list[bytes]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [i for i, needle in enumerate(needles) if needle in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def test_once_the_period_passed_no_file_douane_wrote_holds_a_value_or_its_key(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    monkeypatch.setenv("DOUANE_HOME", str(settings.home))
    monkeypatch.setenv("DOUANE_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")  # no broker
    values = [ALICE, BOB, NIR]
    caplog.set_level(logging.DEBUG)
    with open_stores(settings, clock) as (keys, vault):
        entries = [vault.put("lyon", v, kind="PERSON", retention_s=HOUR, request_id=f"req-{i}")
                   for i, v in enumerate(values)]
        assert cli.main(["hold", "add", "--tenant", "lyon", "--value", BOB,
                         "--reason", "case 7"]) == 0
        hold_id = keys.holds()[0].hold_id
        assert cli.main(["hold", "remove", hold_id]) == 0
        assert cli.main(["retention", "status"]) == 0
        secrets = _secrets_of(settings)
        assert len(secrets) == 4  # one period key, three data keys
        # the scan can see key material while it exists (so its silence later means something)
        assert _files_containing(settings.home, secrets)
        assert _files_containing(settings.keys_dir, secrets[:1])

        clock.now = entries[0].expires_at
        keys.destroy_expired()
        vault.prune(keys.live_key_ids())
    assert cli.main(["retention", "run"]) == 0
    assert cli.main(["audit", "verify"]) == 0
    output = capsys.readouterr()

    needles = [v.encode() for v in values] + [v.encode("utf-16-le") for v in values]
    assert _files_containing(settings.home, needles + secrets) == {}
    assert _files_containing(settings.keys_dir, needles + secrets) == {}
    logged = output.out + output.err + caplog.text
    assert "retention run: 0 data keys destroyed" in output.out
    assert "hold" in output.out and "retention status: 3 data keys" in output.out
    assert "kafka      douane.requests.city-of-lyon: retention.ms 3600000 (1h)" in output.out
    assert not [v for v in values if v in logged]
    assert {"hold_placed", "hold_released", "retention_run"} <= set(kinds_in_log(settings))


def test_retention_status_says_plainly_when_the_broker_cannot_be_read(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("DOUANE_HOME", str(settings.home))
    monkeypatch.setenv("DOUANE_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}")
    assert cli.main(["retention", "status"]) == 0
    out = capsys.readouterr().out
    assert (f"kafka      the broker at 127.0.0.1:{port} could not be read (KafkaConnectError: "
            in out)
    assert "how long records stay on its disk is NOT known" in out
    # what douane would set, and the longest that gives, still told per topic
    assert ("kafka      douane.requests.city-of-lyon: retention.ms 3600000 (1h), segment.ms 6m, "
            "file.delete.delay.ms 1m: at most 1h12m on disk with the broker's check, 5m by "
            "default, once set") in out


def test_the_cli_erases_and_answers_subject_access(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOUANE_HOME", str(settings.home))
    with open_stores(settings) as (_, vault):
        vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR, request_id="req-9")
        vault.put("lyon", BOB, kind="EMAIL_ADDRESS", retention_s=HOUR)
    capsys.readouterr()

    assert cli.main(["subject-access", "--tenant", "lyon", "--value", ALICE.upper()]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [(v["kind"], v["value"], v["request_id"]) for v in answer["values"]] == [
        ("PERSON", ALICE, "req-9")]

    assert cli.main(["erasure", "request", "--tenant", "lyon", "--value", ALICE]) == 0
    printed = capsys.readouterr().out
    assert "1 data keys destroyed, 1 vault entries pruned" in printed
    assert ALICE not in printed and answer["subject_fingerprint"] in printed

    assert cli.main(["subject-access", "--tenant", "lyon", "--subject",
                     answer["subject_fingerprint"]]) == 0
    assert json.loads(capsys.readouterr().out)["values"] == []
    assert cli.main(["subject-access", "--tenant", "lyon", "--value", BOB]) == 0
    assert json.loads(capsys.readouterr().out)["values"][0]["value"] == BOB
    assert cli.main(["audit", "verify"]) == 0


def test_encrypt_operator_tokens_are_shredded_with_their_subjects_key(
        settings: Settings, clock: Clock, stores: tuple[KeyStore, PersonalVault]) -> None:
    keys, vault = stores
    shipped = shortest_payload_retention(load_policy_set(project_root() / "policies"))
    assert shipped == 7 * 24 * HOUR  # health.yaml: encrypted_payloads 7d, the shortest
    operator = ShreddingOperatorKeys(keys, FileOperatorKeys(settings.home / "op"), HOUR, vault)
    alice, bob = (operator.encrypt("lyon", "PERSON", ALICE),
                  operator.encrypt("lyon", "EMAIL_ADDRESS", BOB))
    assert ALICE not in alice and alice != operator.encrypt("lyon", "PERSON", ALICE)
    assert operator.decrypt("lyon", "PERSON", alice) == ALICE
    with pytest.raises(ValueError, match="does not match tenant"):
        operator.decrypt("lyon", "EMAIL_ADDRESS", alice)
    assert len(operator.keyed_hash("lyon", "PERSON", ALICE)) == 16  # unchanged: HMAC file key

    held = access(settings, vault, "lyon", keys.fingerprint("lyon", ALICE))["values"]
    assert [(v["kind"], v["value"]) for v in held] == [("PERSON", ALICE)] * 2
    erase(settings, keys, vault, "lyon", keys.fingerprint("lyon", ALICE), "request 3")
    with pytest.raises(ValueErasedError):
        operator.decrypt("lyon", "PERSON", alice)
    assert operator.decrypt("lyon", "EMAIL_ADDRESS", bob) == BOB

    clock.now += 2 * HOUR
    run_retention(settings, keys, vault)
    with pytest.raises(ValueErasedError):
        operator.decrypt("lyon", "EMAIL_ADDRESS", bob)
    assert vault.count() == 0
    assert run_verify(settings) == 0


def test_the_workers_scheduled_run_audits_like_the_command(settings: Settings) -> None:
    with open_stores(settings, Clock()) as (_, vault):  # stored in the past: expired by now
        vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR)
    with open_writer(settings) as audit:  # the worker passes its own writer
        report = scheduled_retention_run(settings, audit)
    assert (len(report.destroyed.keys), report.pruned) == (1, 1)
    assert kinds_in_log(settings) == ["retention_run"]
    assert run_verify(settings) == 0


@pytest.fixture
def settings_on_postgres(tmp_path: Path, postgres_database: str) -> Settings:
    """DOUANE_HOME in a temp folder, the audit log in a fresh PostgreSQL database."""
    return load_settings({"DOUANE_HOME": str(tmp_path / "home"),
                          "DOUANE_AUDIT_DSN": postgres_database})


def test_records_go_to_the_postgresql_audit_store_and_it_still_verifies(
        settings_on_postgres: Settings) -> None:
    settings, clock = settings_on_postgres, Clock()
    with open_stores(settings, clock) as (keys, vault):
        alice = vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR)
        bob = vault.put("lyon", BOB, kind="EMAIL_ADDRESS", retention_s=30 * 24 * HOUR)
        erase(settings, keys, vault, "lyon", alice.subject, "request 5")
        clock.now = bob.expires_at
        run = run_retention(settings, keys, vault)
        assert (len(run.destroyed.keys), run.pruned) == (1, 1)
    assert not settings.audit_db.exists()  # nothing went to SQLite
    assert kinds_in_log(settings) == ["erased", "retention_run"]
    assert run_verify(settings) == 0
    raw = subprocess.run([pg_dump(), "--dbname", settings.audit_dsn or ""],
                         capture_output=True, check=True).stdout
    # bytea columns (the canonical records) are dumped as \x<hex>: scan them decoded too
    dump = raw + b"".join(bytes.fromhex(h.decode()) for h in re.findall(rb"\\x([0-9a-f]+)", raw))
    assert b"retention_run" in dump and alice.subject.encode() in dump  # the dump has the log
    assert not [v for v in (ALICE, BOB) if v.encode() in dump or v.encode("utf-16-le") in dump]


def pg_dump() -> str:
    """The newest server version's pg_dump (as scripts/postgres.sh picks its server)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"),
                   key=lambda p: int(Path(p).parts[-3]))
    return found[-1] if found else shutil.which("pg_dump") or "pg_dump"


def test_a_prompt_redacted_with_encrypt_carries_tokens_that_die_on_erasure(
        settings: Settings, stores: tuple[KeyStore, PersonalVault]) -> None:
    keys, vault = stores
    text = f"Write to {ALICE} at {BOB} about {ALICE}."
    findings = [Finding(0, "PERSON", 9, 9 + len(ALICE), 0.9),
                Finding(0, "EMAIL_ADDRESS", text.index(BOB), text.index(BOB) + len(BOB), 0.9),
                Finding(0, "PERSON", text.rindex(ALICE), text.rindex(ALICE) + len(ALICE), 0.9)]
    operator = ShreddingOperatorKeys(keys, FileOperatorKeys(settings.home / "op"), HOUR, vault)
    plan = plan_redaction((ChatMessage("user", text),), findings,
                          {"PERSON": EntityRule(operator="encrypt"),
                           "EMAIL_ADDRESS": EntityRule(operator="encrypt")}, tenant="lyon")
    redacted = plan.apply(keyed_tokens(operator, plan.keyed, "req-42")).messages[0].content
    tokens = re.findall(r"<(PERSON|EMAIL_ADDRESS):enc:([\w.-]+)>", redacted)
    assert [kind for kind, _ in tokens] == ["PERSON", "EMAIL_ADDRESS", "PERSON"]
    assert ALICE not in redacted and BOB not in redacted
    assert operator.decrypt("lyon", "PERSON", tokens[0][1]) == ALICE
    # a DPO's subject-access links the value to the request it came with; the request names
    # one person, so the e-mail beside the name is suggested as hers
    held = access(settings, vault, "lyon", keys.fingerprint("lyon", ALICE))["values"]
    assert [(v["value"], v["request_id"], v["link"]) for v in held] == [
        (ALICE, "req-42", "asked"), (BOB, "req-42", "suggested")]
    # the DPO knows the address is Bob's: split, then only Alice's tokens die
    vault.decide_link("lyon", keys.fingerprint("lyon", ALICE), keys.fingerprint("lyon", BOB),
                      same_person=False, case="request 8", decided_at=T0)

    erase(settings, keys, vault, "lyon", keys.fingerprint("lyon", ALICE), "request 8")
    with pytest.raises(ValueErasedError):
        operator.decrypt("lyon", "PERSON", tokens[2][1])
    assert operator.decrypt("lyon", "EMAIL_ADDRESS", tokens[1][1]) == BOB


def test_a_dpo_typo_is_named_and_changes_nothing(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOUANE_HOME", str(settings.home))
    with open_stores(settings) as (_, vault):
        vault.put("lyon", ALICE, kind="PERSON", retention_s=HOUR)  # "lyon" is known by its keys
    capsys.readouterr()

    # a tenant neither in the policy nor in the key store: refused, nothing recorded
    assert cli.main(["erasure", "request", "--tenant", "lyonn", "--value", ALICE]) == 2
    err = capsys.readouterr().err
    assert "unknown tenant 'lyonn'" in err and "city-of-lyon" in err and "lyon," in err
    assert ALICE not in err
    assert cli.main(["hold", "add", "--tenant", "lyonn", "--reason", "case 1"]) == 2
    assert not settings.audit_db.exists()  # no erasure or hold was recorded

    with pytest.raises(SystemExit) as refused:
        cli.main(["subject-access", "--tenant", "lyon", "--subject", "Alice"])
    assert refused.value.code == 2
    refusal = capsys.readouterr().err
    assert "is not a subject fingerprint" in refusal and "Alice" not in refusal

    # a known tenant but nobody by that value: said plainly, and the request is on record
    assert cli.main(["erasure", "request", "--tenant", "lyon", "--value", "Alicia"]) == 0
    assert "held no data key for this subject: nothing to erase" in capsys.readouterr().out
    assert kinds_in_log(settings) == ["erased"]
    with open_stores(settings) as (_, vault):
        assert vault.count() == 1  # Alice untouched


class KeysRecordingThreads(ShreddingOperatorKeys):
    """The worker's key source (data keys in SQLite, the vault), noting where it is called."""

    threads: list[int]

    def encrypt(self, tenant: str, entity_type: str, value: str,
                request_id: str | None = None) -> str:
        self.threads.append(threading.get_ident())
        return super().encrypt(tenant, entity_type, value, request_id)


class NamesDetector:
    def detect(self, messages: tuple[ChatMessage, ...], language: str | None) -> Detection:
        return Detection("fr", "ner+patterns", tuple(
            Finding(index, "PERSON", m.content.index(ALICE), m.content.index(ALICE) + len(ALICE),
                    0.9) for index, m in enumerate(messages) if ALICE in m.content))


class AnswersWithTheName:
    async def complete(self, provider: Provider, body: dict[str, Any],
                       context: CallContext) -> ProviderAnswer:
        return ProviderAnswer(({"role": "assistant", "content": f"Bien noté, {ALICE}."},),
                              "m")


async def test_the_pipeline_encrypts_in_its_store_threads_never_on_the_event_loop(
        settings: Settings, stores: tuple[KeyStore, PersonalVault]) -> None:
    keys, vault = stores
    document = policy_document(project_root() / "policies")
    document["rules"].insert(0, {"id": "names-encrypted", "when": {"tenants": ["city-of-lyon"]},
                                 "redaction": {"PERSON": {"operator": "encrypt"}}})
    policy = parse_policy(yaml.safe_dump(document), "encrypting.yaml")
    operator = KeysRecordingThreads(keys, FileOperatorKeys(settings.home / "op"), HOUR, vault)
    operator.threads = []
    signer = load_or_create_signer(settings.home / "audit.pem", settings.home / "audit.pub.pem")
    audit = open_sqlite_log(settings.home / "audit.sqlite3", signer)
    pipeline = Pipeline(policy, RequestIntake(load_schema("request"), policy.policy.tenant_ids,
                                              64 * 1024),
                        NamesDetector(), audit, AnswersWithTheName(), keys=operator,
                        topic_layout=SINGLE)
    try:
        raw = json.dumps({"id": "req-7", "tenant": "city-of-lyon", "messages": [
            {"role": "user", "content": f"Écris à {ALICE}."}]}).encode()
        [forward] = await pipeline.admit(raw, Source(REQUESTS_TOPIC, 0, 1, b"req-7"))
        sent = json.loads(forward.value)["body"]["messages"][0]["content"]
        [token] = re.findall(r"<PERSON:enc:([\w.-]+)>", sent)
        assert operator.decrypt("city-of-lyon", "PERSON", token) == ALICE
        [answered] = await pipeline.forward(forward.value, Source(forward.topic, 0, 1, b"req-7"))
        answer = json.loads(answered.value)["messages"][0]["content"]
        assert ALICE not in answer and "<PERSON:enc:" in answer
    finally:
        audit.close()
    # one encryption for the prompt, one for the answer: both in the store threads
    assert len(operator.threads) == 2
    assert threading.get_ident() not in operator.threads
