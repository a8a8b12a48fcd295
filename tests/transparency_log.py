"""A small audit log and policy set whose transparency figures are computed by hand (in
``tests/unit/test_transparency.py``), shared with the tests that write it to a real log."""

from __future__ import annotations

from typing import Any

POLICY_TEXT = """\
policy: report-under-test
version: 1
jurisdiction: FR
providers:
  - {id: local, kind: openai-compatible, endpoint: "http://127.0.0.1:9/v1", models: [llama],
     jurisdiction: FR, hosting: on-premises}
  - {id: paris, kind: mistral, endpoint: "https://a.example/v1", models: [large],
     jurisdiction: FR, hosting: sovereign-cloud}
  - {id: virginia, kind: openai, endpoint: "https://b.example/v1", models: [gpt],
     jurisdiction: US}
tenants:
  - {id: city, default_classification: public}
  - {id: tax, default_classification: personal}
rules:
  - id: personal-paris-then-local
    when: {classifications: [personal, sensitive]}
    residency: {providers: [paris, local]}
  - id: public-anywhere
    when: {classifications: [public, internal]}
    residency: {jurisdictions: [US, FR]}
  - id: secret-stays
    when: {classifications: [secret]}
    residency: {providers: []}
"""


def decided(rid: str, tenant: str, classification: str, provider: str | None, *,
            entities: dict[str, int] | None = None, requested_model: str | None = None,
            fallbacks: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"kind": "admitted" if provider else "blocked", "record_id": f"{rid}/decided",
            "request_id": rid, "tenant": tenant,
            "details": {"decision": "forward" if provider else "block",
                        "classification": classification,
                        "requested_classification": classification, "purpose": None,
                        "provider": provider, "fallbacks": list(fallbacks),
                        "requested_model": requested_model,
                        "language": "en", "detection": "ner+patterns", "prompt_chars": 20,
                        "entities": entities or {}, "findings": []}}


def forwarded(rid: str, tenant: str, provider: str, jurisdiction: str) -> dict[str, Any]:
    return {"kind": "forwarded", "record_id": f"{rid}/forwarded/{provider}", "request_id": rid,
            "tenant": tenant, "details": {"provider": provider, "jurisdiction": jurisdiction}}


def answered(rid: str, tenant: str, provider: str, model: str, tokens: tuple[int, int], *,
             estimated: bool = False, cost: str | None = None,
             price: tuple[str, str, str] = ("1", "1", "EUR")) -> dict[str, Any]:
    recorded = None if cost is None else {
        "amount": cost, "currency": price[2],
        "price": {"valid_from": "2026-01-01", "currency": price[2],
                  "input_per_million": price[0], "output_per_million": price[1]}}
    return {"kind": "answered", "record_id": f"{rid}/answered", "request_id": rid,
            "tenant": tenant,
            "details": {"provider": provider, "model": model,
                        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1],
                                  "estimated": estimated},
                        "cost": recorded}}


LOG = [
    # r1, r2, r3: city, public, to virginia (US). r1: 1000 in, 500 out at 2/8 USD per million
    # = (2000 + 4000) / 1e6 = 0.006 USD. r2: 3000/1000 = (6000 + 8000) / 1e6 = 0.014 USD, but
    # RECORDED as 0.015 (a disagreeing record: the sums keep the recorded amount). r3 asked
    # for model gpt, which only virginia offers; it failed (no answer).
    decided("r1", "city", "public", "virginia"),
    forwarded("r1", "city", "virginia", "US"),
    answered("r1", "city", "virginia", "gpt", (1000, 500), cost="0.006000",
             price=("2", "8", "USD")),
    decided("r2", "city", "public", "virginia"),
    forwarded("r2", "city", "virginia", "US"),
    answered("r2", "city", "virginia", "gpt", (3000, 1000), cost="0.015000",
             price=("2", "8", "USD")),
    decided("r3", "city", "public", "virginia", requested_model="gpt"),
    forwarded("r3", "city", "virginia", "US"),
    {"kind": "failed", "record_id": "r3/failed", "request_id": "r3", "tenant": "city",
     "details": {"provider": "virginia"}},
    # r4, r5: tax, personal, to paris (FR). r4 asked for model large, which only paris offers:
    # 2000/1000 at 1/3 EUR = 0.005 EUR. r5 fell back from paris to local (FR), which
    # answered: 400/100 estimated, at 0.5/0.5 EUR = 250 / 1e6 = 0.00025 EUR.
    decided("r4", "tax", "personal", "paris", entities={"PERSON": 1}, requested_model="large"),
    forwarded("r4", "tax", "paris", "FR"),
    answered("r4", "tax", "paris", "large", (2000, 1000), cost="0.005000",
             price=("1", "3", "EUR")),
    decided("r5", "tax", "personal", "paris", fallbacks=("local",)),
    forwarded("r5", "tax", "paris", "FR"),
    forwarded("r5", "tax", "local", "FR"),
    answered("r5", "tax", "local", "llama", (400, 100), estimated=True, cost="0.000250",
             price=("0.5", "0.5", "EUR")),
    # r6: tax, classified public but an e-mail address was found: personal; to virginia (US),
    # answered without a cost (unpriced)
    decided("r6", "tax", "public", "virginia", entities={"EMAIL_ADDRESS": 1}),
    forwarded("r6", "tax", "virginia", "US"),
    answered("r6", "tax", "virginia", "gpt", (1000, 0)),
    # r7: tax, sensitive, blocked: personal, sent nowhere
    decided("r7", "tax", "sensitive", None),
    # a message rejected at intake (no tenant recorded)
    {"kind": "rejected", "record_id": "x/rejected", "request_id": None, "tenant": None,
     "details": {}},
    # records of other kinds count for nothing
    {"kind": "policy_changed", "record_id": "policy/1", "request_id": None, "tenant": None,
     "details": {"event": "loaded"}},
]
