"""Personal data in each language douane speaks, on the real broker: nothing planted reaches
the model, and the audit record says how each language was analysed."""

from __future__ import annotations

import json
import uuid

import pytest
from stack import KafkaClient, Stack, request

from streams.adapters.audit.sqlite import open_sqlite_reader

pytestmark = pytest.mark.integration

PROMPTS = [
    # language given or not, text, planted values, expected detection method
    ("en", "Draft a reply to Thomas Whitfield (t.whitfield@example.org, +44 20 7946 0958) "
     "about the refund to ES91 2100 0418 4502 0005 1332 for the parking permit.",
     ["Thomas Whitfield", "t.whitfield@example.org", "+44 20 7946 0958",
      "ES91 2100 0418 4502 0005 1332"], "ner+patterns"),
    (None, "Rédige une réponse à Karim Benali, NIR 1 80 02 2A 112 345 89, SIRET "
     "732 829 320 00074, joignable au 06 98 76 54 32, au sujet de sa demande de logement.",
     ["Karim Benali", "1 80 02 2A 112 345 89", "732 829 320 00074", "06 98 76 54 32"],
     "ner+patterns"),
    ("es", "Redacta una carta para María García López, cédula de identidad 1.234.567-2, "
     "correo maria.garcia@example.com, sobre su solicitud de vivienda.",
     # the English and French models vote on Spanish persons by default (DOUANE_NER_VOTE)
     ["María García López", "1.234.567-2", "maria.garcia@example.com"], "ner+patterns+vote"),
    ("uk", "Напишіть лист для Олени Коваленко щодо субсидії; РНОКПП 3456789014, паспорт "
     "МК 123456, запис № 19900101-00018, телефон +380 44 123 4567.",
     ["Олени Коваленко", "3456789014", "МК 123456", "19900101-00018", "+380 44 123 4567"],
     "patterns+name-lexicon+ner"),
    ("is", "Skrifaðu bréf til Jóns Sigurðssonar, kt. 120174-3399, sími 551 2345, um umsókn "
     "hans um húsnæðisbætur.",
     ["Jóns Sigurðssonar", "120174-3399", "551 2345"], "patterns+name-lexicon"),
    ("de", "Schreiben Sie an Frau Müller, E-Mail anna.mueller@example.de, IBAN "
     "DE89 3704 0044 0532 0130 00, wegen ihres Antrags.",
     ["anna.mueller@example.de", "DE89 3704 0044 0532 0130 00"], "patterns-only"),
]


async def test_each_language_is_redacted_before_the_model(douane: Stack) -> None:
    prefix = f"lang-{uuid.uuid4().hex[:8]}"
    ids = {f"{prefix}-{n}": prompt for n, prompt in enumerate(PROMPTS)}
    async with KafkaClient(douane.settings) as client:
        for request_id, (language, text, _, _) in ids.items():
            extra = {"language": language} if language else {}
            await client.publish(request(request_id, text, "city-of-lyon", **extra))
        responses = await client.responses(set(ids), timeout_s=120)

    assert {i: [r["status"] for r in rs] for i, rs in responses.items()} == {
        i: ["answered"] for i in ids}
    received = {r["request_id"]: r for r in await douane.received() if r["request_id"] in ids}
    assert set(received) == set(ids)
    for request_id, (_, _, planted, _) in ids.items():
        left = json.dumps(received[request_id]["body"], ensure_ascii=False)
        assert [value for value in planted if value in left] == [], request_id
        assert left.count("<") >= len(planted)

    store = open_sqlite_reader(douane.settings.audit_db)
    try:
        for request_id, (language, _, _, method) in ids.items():
            admitted = next(r for r in store.records_for_request(request_id)
                            if r.kind == "admitted")
            details = admitted.payload["details"]
            assert details["detection"] == method, request_id
            assert details["language"] == (language or "fr")
            text = admitted.canonical.decode()
            assert [v for v in ids[request_id][2] if v in text] == []
    finally:
        store.close()
