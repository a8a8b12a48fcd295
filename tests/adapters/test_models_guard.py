"""The model stages (spaCy's NER, then the opt-in tiers) are held to a CPU limit per request
proportional to its length (``recognizers.base.models_cpu_limit``): over it, the request is
blocked (``ModelsOverCpuLimit``), and only that request: the others of its batch are detected,
and nothing is run twice (``PresidioDetector.detect_results``, ``detect_each``).

No outcome depends on the clock: in a detection process the limit is set far below what the
hostile prompt costs the NER (seconds for 40,000 tokens) while ordinary prompts keep the base
limit (0.25 s, fifty times what their NER costs); in a thread the budget reads a clock the
test gives (one tick per read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORDINARY = "Dear Valentina Costa, we wrote to Mrs Costa about the visit to Lyon."
OTHER = "Please ask Jonas Albrecht whether the meeting with Ines Duarte moves to Friday."
# one token per character, every word capitalised: the NER reads all of it
HOSTILE = "A-" * 20_000
# in a thread the budget is read per text the NER reads: many short chunks (a capitalised word
# every 18 words, too far apart for their windows of 8 words either side to merge): 2,000 of
# them, 125 reads of the test's clock, five times the limit's 25
HOSTILE_CHUNKS = ("Anna" + " then" * 17 + ". ") * 2000

# In a child process (the timer is its signal handler), a detector as a detection process
# builds it; ``mode``: the timer in its main thread, or no timer (a thread's budget, on a clock
# that ticks 10 ms per read). Each case prints its outcome.
CASES = '''
import itertools, json, signal, sys

from streams.adapters import presidio_detector
from streams.adapters.recognizers import base
from streams.core.model import ChatMessage, DetectionRequest
from streams.runtime.batched_detection import detect_each

mode, ORDINARY, OTHER = sys.argv[1:4]
HOSTILE = sys.stdin.read()
if mode == "timer":
    base.use_cpu_timer()
detector = presidio_detector.PresidioDetector(("en",))
read = []  # the lengths of the texts each NER call read, in order
model_findings = detector._model_findings


def spy(language, texts):
    read.append(sorted(len(t) for t in texts))
    return model_findings(language, texts)


detector._model_findings = spy


def batch(*texts):
    return [DetectionRequest((ChatMessage("user", text),), "en") for text in texts]


seen = {"guard": base.regex_guard().name}
before = detect_each(detector, batch(ORDINARY, OTHER))
seen["before"] = [sorted(ORDINARY[f.start:f.end] for f in before[0].findings),
                  sorted(OTHER[f.start:f.end] for f in before[1].findings)]
base.MODELS_CPU_PER_CHAR_S = 0.0  # every request: 0.25 s, far below the hostile one's cost
if mode == "budget":
    reads = itertools.count()
    base._budget_clock = lambda: next(reads) * 0.01
read.clear()
results = detect_each(detector, batch(ORDINARY, HOSTILE, OTHER))
seen["batch"] = [str(r) if isinstance(r, Exception) else
                 sorted(text[f.start:f.end] for f in r.findings)
                 for r, text in zip(results, (ORDINARY, HOSTILE, OTHER))]
seen["read"] = list(read)
seen["disarmed"] = signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
after = detect_each(detector, batch(ORDINARY, OTHER))
seen["after"] = [sorted(ORDINARY[f.start:f.end] for f in after[0].findings),
                 sorted(OTHER[f.start:f.end] for f in after[1].findings)]
print(json.dumps(seen))
'''


def run_case(mode: str, hostile: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CASES, mode, ORDINARY, OTHER], input=hostile,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize(("mode", "hostile"), [("timer", HOSTILE), ("budget", HOSTILE_CHUNKS)])
def test_only_the_request_over_its_models_limit_is_blocked_and_read_once(
        mode: str, hostile: str) -> None:
    seen = run_case(mode, hostile)
    assert seen["guard"] == ("timer" if mode == "timer" else "timeout")
    assert "Valentina Costa" in seen["before"][0]  # type: ignore[index]
    # the hostile request blocked, the guard named (never the text); its batch-mates found
    assert seen["batch"] == [
        seen["before"][0],  # type: ignore[index]
        "PII detection failed (ModelsOverCpuLimit)",
        seen["before"][1],  # type: ignore[index]
    ]
    # the NER read the two short requests together, the long one alone, each once: nothing
    # was run again one request at a time
    assert seen["read"] == [sorted([len(ORDINARY), len(OTHER)]), [len(hostile)]]
    assert seen["disarmed"] is True
    # the model's memory zone was left whole: the next batch finds the same
    assert seen["after"] == seen["before"]


# A block registered as shielded (spaCy's memory zone entered or left, CoreNLP's exchange) runs
# to its end when the timer runs out inside it; the timer's error comes at the next checkpoint.
# The block burns CPU until the timer's handler has run: no clock read.
SHIELD = '''
import json, sys

from streams.adapters.recognizers import base

guard = base.use_cpu_timer()
steps = []


def inside():
    while not guard._fired:  # until the timer has run out and its handler has run
        pass
    steps.append("block ended")


if sys.argv[1] == "shielded":
    base.shielded(inside)


def work():
    inside()
    steps.append("after the block")
    base.checkpoint()
    steps.append("after the checkpoint")


try:
    guard.bounded(0.01, work, base.ModelsOverCpuLimit)
    outcome = "not stopped"
except base.ModelsOverCpuLimit:
    outcome = "stopped"
print(json.dumps({"outcome": outcome, "steps": steps}))
'''


@pytest.mark.parametrize(("how", "steps"), [
    ("shielded", ["block ended", "after the block"]),
    ("plain", []),
])
def test_the_timer_never_stops_a_shielded_block_half_way(how: str, steps: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SHIELD, how], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"outcome": "stopped", "steps": steps}
