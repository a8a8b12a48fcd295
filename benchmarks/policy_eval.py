"""Policy evaluation cost: microseconds per decision on the shipped policy set, without PII
detection (the detector's findings are given). Target: under 50 µs per decision.

    .venv/bin/python benchmarks/policy_eval.py [--rounds 20000]

Prints the figure for ``evaluate`` (the policy alone) and for ``decide`` (policy plus building
the redacted text), over a mix of tenants, purposes, classifications, models and findings.
The first decision per (tenant, purpose, classification) resolves the rules; later ones reuse
that resolution, as the running worker does - the cold figure is printed too.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _timing import per_call_us

from streams.adapters.policy_files import load_policy_set
from streams.config import project_root
from streams.core.decision import decide, evaluate, prompt_chars
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest
from streams.core.policy_cases import TestKeys

TEXT = ("Bonjour, merci de répondre à Jeanne Martin (jeanne.martin@example.fr, 06 12 34 56 78) "
        "au sujet du remboursement sur le compte FR76 3000 6000 0112 3456 7890 189.")
VALUES = {"PERSON": "Jeanne Martin", "EMAIL_ADDRESS": "jeanne.martin@example.fr",
          "PHONE_NUMBER": "06 12 34 56 78", "IBAN_CODE": "FR76 3000 6000 0112 3456 7890 189"}
FINDINGS = tuple(Finding(0, kind, TEXT.index(v), TEXT.index(v) + len(v), 0.85)
                 for kind, v in VALUES.items())
MIX: list[dict[str, Any]] = [
    {"tenant": "city-of-lyon", "purpose": "casework"},
    {"tenant": "ministry-of-health", "purpose": "patient-correspondence"},
    {"tenant": "tax-office", "purpose": "taxpayer-correspondence"},
    {"tenant": "tax-office", "purpose": "fraud-investigation"},
    {"tenant": "ministry-of-education", "purpose": "pupil-support"},
    {"tenant": "service-public", "purpose": "public-information", "model": "mistral-large-latest"},
    {"tenant": "city-of-lyon", "classification": "secret"},
    {"tenant": "regional-health-agency", "model": "gpt-4.1"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    cold_started = time.perf_counter()
    loaded = load_policy_set(project_root() / "policies")
    load_ms = (time.perf_counter() - cold_started) * 1000
    requests = [GovernedRequest(id=f"b{i}", messages=(ChatMessage("user", TEXT),), **fields)
                for i, fields in enumerate(MIX)]
    detection = Detection("fr", "ner+patterns", FINDINGS)
    keys = TestKeys()

    started = time.perf_counter()
    for request in requests:  # first decision per combination: rules resolved
        decide(request, detection, loaded, tokens=keys)
    cold_us = (time.perf_counter() - started) / len(requests) * 1e6

    position = [0]

    def one_evaluate() -> object:
        request = requests[position[0] % len(requests)]
        position[0] += 1
        return evaluate(loaded, tenant=request.tenant, purpose=request.purpose,
                        classification=request.classification, model=request.model,
                        prompt_chars=prompt_chars(request.messages),
                        detection_method="ner+patterns", language="fr", findings=FINDINGS,
                        keys_available=True)

    def one_decide() -> object:
        request = requests[position[0] % len(requests)]
        position[0] += 1
        return decide(request, detection, loaded, tokens=keys)

    evaluate_us = per_call_us(one_evaluate, args.rounds)
    decide_us = per_call_us(one_decide, args.rounds)
    print(f"policy '{loaded.policy.policy}' v{loaded.policy.version}: "
          f"{len(loaded.policy.rules)} rules, {len(loaded.policy.providers)} providers, "
          f"{len(loaded.policy.tenants)} tenants; loaded and validated in {load_ms:.0f} ms")
    print(f"evaluate (policy only)           : {evaluate_us:6.1f} µs per decision")
    print(f"decide (policy + redacted text)  : {decide_us:6.1f} µs per decision "
          f"({len(FINDINGS)} findings)")
    print(f"first decision per combination   : {cold_us:6.1f} µs (rules resolved, then cached)")
    print(f"target: policy evaluation < 50 µs per decision: "
          f"{'met' if evaluate_us < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
