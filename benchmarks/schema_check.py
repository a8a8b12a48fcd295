"""CPU per message of the schema checks on the worker's event loop: jsonschema against the
compiled check (jsonschema-rs, ``streams.core.quick_schema``), for a request at the intake and
for a forward message, plus the whole intake (``RequestIntake.accept``) as the worker runs it.

    PYTHONPATH=. .venv/bin/python benchmarks/schema_check.py [--messages 3000] [--runs 3]

The request is the concurrency benchmark's first prompt; the forward message has the shape the
admit stage publishes. Prints the best of ``--runs`` runs, in µs of CPU per message.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from concurrency import PROMPT

from streams.adapters.schemas import forward_schema, load_schema
from streams.core.intake import RequestIntake, _RequestValidator
from streams.core.quick_schema import QuickSchema


def request() -> dict[str, Any]:
    return {"id": "req-1", "tenant": "city-of-lyon", "conversation": "conv-1",
            "classification": "personal", "purpose": "casework",
            "messages": [{"role": "user", "content": PROMPT}]}


def forward_message() -> dict[str, Any]:
    return {"version": 1, "id": "req-1", "tenant": "city-of-lyon", "provider": "mistral",
            "fallbacks": ["ovh"], "classification": "personal", "purpose": None,
            "audit_record_id": "req-1/admitted", "stream": False, "conversation": "conv-1",
            "policy_hash": "0" * 64, "redacted_entities": {"PERSON": 1}, "metadata": {},
            "body": {"model": "m", "messages": [{"role": "user", "content": PROMPT}]}}


def cpu_us(check: Callable[[], object], messages: int, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        for _ in range(messages):
            check()
        best = min(best, (time.process_time() - start) / messages * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()

    request_schema = load_schema("request")
    full_request, quick_request = _RequestValidator(request_schema), QuickSchema(request_schema)
    intake = RequestIntake(request_schema, ("city-of-lyon",), max_bytes=1 << 20)
    forward = forward_schema()
    one_request, one_forward = request(), forward_message()
    raw_request = json.dumps(one_request).encode()
    assert quick_request.passes(one_request) and not list(full_request.iter_errors(one_request))
    assert forward.quick.passes(one_forward) and forward.validator.is_valid(one_forward)

    rows = [
        ("request: jsonschema (every error listed, as before)",
         lambda: list(full_request.iter_errors(one_request))),
        ("request: jsonschema-rs (valid or not)", lambda: quick_request.passes(one_request)),
        ("request: the whole intake (json.loads, checks, model)",
         lambda: intake.accept(raw_request)),
        ("forward message: jsonschema (valid or not)",
         lambda: forward.validator.is_valid(one_forward)),
        ("forward message: jsonschema-rs (valid or not)",
         lambda: forward.quick.passes(one_forward)),
    ]
    print(f"| check | CPU µs per message (best of {arguments.runs} x {arguments.messages}) |")
    print("|---|---|")
    for name, check in rows:
        print(f"| {name} | {cpu_us(check, arguments.messages, arguments.runs):.1f} |", flush=True)


if __name__ == "__main__":
    main()
