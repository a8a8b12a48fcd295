"""Free text a producer controls never reaches the ten-year audit log, an error it reads back, or
a log line (issue 12, item 10): through the front door (an OpenAI SDK) and on Kafka directly,
with the real worker."""

from __future__ import annotations

import json
import uuid

import openai
import pytest
from stack import KafkaClient, Stack, request

from streams.adapters.audit.sqlite import open_sqlite_reader

pytestmark = pytest.mark.integration

HOSTILE = "Jeanne Martin, 12 rue X"
WELL_SHAPED = "jeanne-martin-12-rue-x"  # an identifier's shape, declared nowhere
PIECES = ("Jeanne", "jeanne", "12 rue")


def found_in(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


async def test_hostile_values_reach_no_record_reply_or_log_line(
        front_door: tuple[str, str], douane: Stack) -> None:
    base_url, key = front_door
    sdk = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=120)
    replies: list[str] = []
    ids: list[str] = []
    for model, purpose in ((HOSTILE, None), ("auto", HOSTILE), (WELL_SHAPED, None),
                           ("auto", WELL_SHAPED)):
        headers = {"X-Douane-Purpose": purpose} if purpose else {}
        with pytest.raises(openai.APIStatusError) as refused:
            await sdk.chat.completions.create(
                model=model, extra_headers=headers,
                messages=[{"role": "user", "content": "Horaires de la mairie ?"}])
        assert refused.value.status_code in (400, 403)
        replies.append(json.dumps(refused.value.body))
        ids.append(str(refused.value.response.headers["X-Douane-Request-Id"]))

    prefix = f"free-text-{uuid.uuid4().hex[:8]}"
    sent = {f"{prefix}-{n}": tenant for n, tenant in enumerate((HOSTILE, WELL_SHAPED))}
    async with KafkaClient(douane.settings) as client:
        for request_id, tenant in sent.items():
            await client.publish(request(request_id, "Horaires de la mairie ?", tenant=tenant))
        responses = await client.responses(set(sent), timeout_s=180)
    # each owns its id: the response is its one reply (nothing on a rejection topic)
    assert {i: [r["status"] for r in rs] for i, rs in responses.items()} == {
        i: ["rejected"] for i in sent}
    replies += [json.dumps(rs) for rs in responses.values()]
    ids += list(sent)

    assert found_in("\n".join(replies)) == []
    assert "tax-office" not in "\n".join(replies)  # no error lists the policy's tenants
    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        records = [r for i in ids for r in store.records_for_request(i)]
    finally:
        store.close()
    assert sorted({r.kind for r in records}) == ["blocked", "rejected"]
    assert len(records) == len(ids)
    assert found_in("\n".join(r.canonical.decode("utf-8") for r in records)) == []
    for process in ("worker", "front-door"):
        assert found_in(douane.log_text(process)) == [], process
