"""The walking skeleton on the real broker: PII never leaves, every request gets one answer,
and every forward was audited before the model server saw it (checked by that server)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid

import pytest
from stack import MAX_MESSAGE_BYTES, KafkaClient, Stack, request

from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.devtools.demo import sample_prompts

pytestmark = pytest.mark.integration


def run_id() -> str:
    return uuid.uuid4().hex[:8]


async def test_personal_data_never_reaches_the_model(douane: Stack) -> None:
    prompts = sample_prompts()
    prefix = f"pii-{run_id()}"
    ids = {f"{prefix}-{n}": prompt for n, prompt in enumerate(prompts)}
    async with KafkaClient(douane.settings) as client:
        for request_id, prompt in ids.items():
            extra = {k: prompt[k] for k in ("classification", "language") if k in prompt}
            await client.publish(request(request_id, prompt["text"], prompt["tenant"], **extra))
        responses = await client.responses(set(ids), timeout_s=120)

    assert {i: len(r) for i, r in responses.items()} == {i: 1 for i in ids}
    statuses = {i: r[0]["status"] for i, r in responses.items()}
    assert sorted(set(statuses.values())) == ["answered", "blocked"]

    received = [r for r in await douane.received() if r["request_id"] in ids]
    assert len(received) == sum(s == "answered" for s in statuses.values())
    for entry in received:
        # the model server verified the signed audit record and its digest before answering
        assert entry["audit_verified"], entry["audit_problem"]
        left = json.dumps(entry["body"], ensure_ascii=False)
        planted = ids[entry["request_id"]]["planted"]
        assert [value for value in planted if value in left] == []
        assert "<" in left or not planted  # planted values were replaced by placeholders
        # the stand-in echoes what it received; the producer gets its own values back
        answer = responses[entry["request_id"]][0]["messages"][0]["content"]
        for placeholder in re.findall(r"<[A-Z_]+_\d+>", left):
            assert placeholder not in answer, (entry["request_id"], placeholder)

    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        for request_id, status in statuses.items():
            kinds = [r.kind for r in store.records_for_request(request_id)]
            expected = ["admitted", "forwarded", "answered"] if status == "answered" \
                else ["blocked"]
            assert kinds == expected, request_id
            for record in store.records_for_request(request_id):
                text = record.canonical.decode()
                assert [v for v in ids[request_id]["planted"] if v in text] == []
    finally:
        store.close()


async def test_bad_input_is_rejected_precisely_and_the_worker_carries_on(douane: Stack) -> None:
    prefix = f"bad-{run_id()}"
    bad_messages = {
        "not-json": b'{"id": "x", "tenant": ',
        "invalid-utf8": b'{"id": "' + prefix.encode() + b'-utf8", "tenant": "\xff\xfe"}',
        "schema-violation": json.dumps({
            "id": f"{prefix}-schema", "tenant": "city-of-lyon",
            "messages": [{"role": "user", "content": "hi"}, {"role": "jeanne@example.fr",
                                                           "content": "x"}],
        }).encode(),
        "oversize": request(f"{prefix}-big", "x" * (MAX_MESSAGE_BYTES + 10)),
        # published on city-of-lyon's topic (stack.KafkaClient): naming another tenant
        "tenant-mismatch": request(f"{prefix}-tenant", "hello", tenant="ministry-of-magic"),
    }
    async with KafkaClient(douane.settings) as client:
        sent = {}
        for code, raw in bad_messages.items():
            sent[code] = await client.publish(raw, key=code.encode())
        good_id = f"{prefix}-good"
        await client.publish(request(good_id, "What are the library opening hours?"))
        # no usable id: a rejection on the tenant's douane.rejected.<tenant>
        without_id = ("not-json", "invalid-utf8", "oversize")
        rejected = await client.rejected(len(without_id))
        # a usable id: the id's response, status rejected, and nothing on the rejection topic
        responses = await client.responses(
            {f"{prefix}-schema", f"{prefix}-tenant", good_id}, timeout_s=60)

    by_code = {r["error"]["code"]: r for r in rejected}
    assert set(by_code) == set(without_id)
    for code in without_id:
        entry, raw = by_code[code], bad_messages[code]
        assert base64.b64decode(entry["original_base64"]) == raw
        assert entry["source"] == {"topic": client.request_topic(raw),
                                   "partition": sent[code].partition,
                                   "offset": sent[code].offset,
                                   "key_base64": base64.b64encode(code.encode()).decode()}
    assert by_code["invalid-utf8"]["error"]["byte_offset"] == bad_messages["invalid-utf8"].index(
        b"\xff")
    assert str(MAX_MESSAGE_BYTES) in by_code["oversize"]["error"]["message"]

    [schema] = responses[f"{prefix}-schema"]
    assert schema["status"] == "rejected"
    assert [r["code"] for r in schema["reasons"]] == ["schema-violation"]
    assert schema["reasons"][0]["message"].startswith("$.messages[1].role")
    assert "jeanne@example.fr" not in json.dumps(schema)
    [mismatch] = responses[f"{prefix}-tenant"]
    assert mismatch["status"] == "rejected"
    assert [r["code"] for r in mismatch["reasons"]] == ["tenant-mismatch"]
    assert "ministry-of-magic" not in json.dumps(mismatch)
    assert [r["status"] for r in responses[good_id]] == ["answered"]


async def test_a_request_id_seen_twice_is_forwarded_once_and_its_copy_recorded(
    douane: Stack,
) -> None:
    request_id = f"dup-{run_id()}"
    raw = request(request_id, "Write to Pauline Girard at pauline.girard@example.fr.")
    async with KafkaClient(douane.settings) as client:
        await client.publish(raw)
        await client.publish(raw)
        responses = await client.responses({request_id}, timeout_s=60, settle_s=4)

    assert [r["status"] for r in responses[request_id]] == ["answered"]
    assert [r["request_id"] for r in await douane.received()].count(request_id) == 1
    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        records = list(store.records_for_request(request_id))
    finally:
        store.close()
    # the second copy is recorded as such (duplicate-id, on the tenant's douane.rejected.<t>),
    # not decided
    assert sorted(r.kind for r in records) == ["admitted", "answered", "forwarded", "rejected"]
    [copy] = [r for r in records if r.kind == "rejected"]
    assert [c["code"] for c in copy.payload["details"]["reasons"]] == ["duplicate-id"]
    assert [r.kind for r in records if r.kind != "rejected"] == [
        "admitted", "forwarded", "answered"]


async def test_audit_verify_command_passes_then_names_the_tampered_record(
    douane: Stack, tmp_path: object
) -> None:
    verify = [sys.executable, "-m", "streams.cli", "audit", "verify"]
    intact = subprocess.run(verify, env=douane.env, capture_output=True, text=True, timeout=120)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "OK" in intact.stdout

    import shutil
    import sqlite3
    from pathlib import Path

    copy = Path(str(tmp_path)) / "tampered.sqlite3"
    source = sqlite3.connect(douane.settings.audit_db)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.execute("UPDATE audit_records SET canonical = replace(canonical, 'forward', 'fOrward')"
                   " WHERE seq = 2")
    target.commit()
    target.close()
    shutil.copy(douane.settings.public_key, copy.with_suffix(".pub.pem"))
    broken = subprocess.run(verify, env={**douane.env, "DOUANE_AUDIT_DB": str(copy)},
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert "seq 2" in broken.stdout
