"""The steps after the recognizers (``repeated_names``, ``consistent_names``) are held to a CPU
limit proportional to the request's length (``recognizers.base.steps_cpu_limit``): over it,
the request is blocked (``StepsOverCpuLimit``), never sent with the findings made so far. In a
detection process the CPU timer holds them; in a thread, a budget their loops read.

No outcome depends on the clock: the thread's budget is read from a clock the test gives
(one tick per read), and the timer's limit is set far below what the hostile prompt costs
(tenths of a second) while ordinary prompts run under the shipped limit."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from streams.adapters.presidio_detector import _after_recognizers
from streams.adapters.recognizers import base
from streams.adapters.recognizers.base import (
    SearchTimeouts,
    StepsOverCpuLimit,
    steps_cpu_limit,
)
from streams.core.model import Finding

ROOT = Path(__file__).resolve().parents[2]
ORDINARY = "Dear Valentina Costa, we wrote to Mrs Costa. Valentina called; COSTA is on the form."
# a prompt made of names: one person per name, each asked about by every step
HOSTILE = "Anna Berg, " * 2000


def persons(text: str, value: str) -> list[Finding]:
    return [Finding(0, "PERSON", at, at + len(value), 0.85, "test")
            for at in range(len(text)) if text.startswith(value, at)]


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread's budget reads a clock that moves 10 ms per read (one read per
    ``CHECKPOINT_EVERY`` checkpoints)."""
    reads = itertools.count()
    monkeypatch.setattr(base, "_budget_clock", lambda: next(reads) * 0.01)


def bounded(text: str, findings: list[Finding]) -> list[Finding]:
    return SearchTimeouts().bounded(steps_cpu_limit(len(text)),
                                    partial(_after_recognizers, [text], findings, "en"))


@pytest.mark.usefixtures("ticks")
def test_in_a_thread_the_steps_stop_at_their_limit_on_a_prompt_made_of_names() -> None:
    # 2,000 persons: each step's loop reads the budget once per person (about 1,800
    # checkpoints are allowed at this length, 113 reads)
    with pytest.raises(StepsOverCpuLimit, match="guard: steps_cpu_limit") as raised:
        bounded(HOSTILE, persons(HOSTILE, "Anna Berg"))
    assert "Anna" not in str(raised.value)  # the guard is named, never the text
    assert base._this_thread.budget is None  # nothing left for the thread's next steps


@pytest.mark.usefixtures("ticks")
def test_in_a_thread_an_ordinary_prompt_gets_the_same_findings_under_the_limit() -> None:
    found = persons(ORDINARY, "Valentina Costa")
    assert bounded(ORDINARY, found) == _after_recognizers([ORDINARY], found, "en")
    assert {ORDINARY[f.start:f.end] for f in bounded(ORDINARY, found)} >= {
        "Valentina Costa", "Costa", "Valentina", "COSTA"}


def test_the_limit_grows_with_the_text() -> None:
    assert steps_cpu_limit(0) == base.STEPS_CPU_BASE_S
    # the longest message accepted: far above the steps' linear work on a prompt made of names
    # (11-12 us of CPU per character on a busy machine), far below minutes
    assert 262_144 * 30e-6 < steps_cpu_limit(262_144) < 15.0


# In a child process (the timer is its signal handler), a detector as a detection process
# builds it; ``mode``: the timer in the main thread, the timer's process detecting in another
# thread (the budget then), or no timer (the thread's budget). Each case prints its outcome.
CASES = '''
import json, signal, sys
from concurrent.futures import ThreadPoolExecutor

from streams.adapters import presidio_detector
from streams.adapters.recognizers import base

mode = sys.argv[1]
if mode != "budget":
    base.use_cpu_timer()
detector = presidio_detector.PresidioDetector(("en",))
from streams.core.model import ChatMessage

ORDINARY, HOSTILE = sys.argv[2], sys.argv[3]


def detect(text):
    try:
        found = detector.detect([ChatMessage("user", text)], "en").findings
    except presidio_detector.DetectorError as error:
        return f"blocked: {error}"
    return sorted(text[f.start:f.end] for f in found if f.entity_type == "PERSON")


def run(text):
    if mode == "timer-other-thread":
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(detect, text).result()
    return detect(text)


seen = {"guard": base.regex_guard().name, "ordinary": run(ORDINARY)}
shipped = base.STEPS_CPU_BASE_S, base.STEPS_CPU_PER_CHAR_S
base.STEPS_CPU_BASE_S, base.STEPS_CPU_PER_CHAR_S = 0.005, 0.0  # far below the hostile cost
seen["hostile"] = run(HOSTILE)
seen["disarmed"] = signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
base.STEPS_CPU_BASE_S, base.STEPS_CPU_PER_CHAR_S = shipped
seen["ordinary after"] = run(ORDINARY)
print(json.dumps(seen))
'''


@pytest.mark.parametrize("mode", ["timer", "timer-other-thread", "budget"])
def test_a_detector_blocks_a_request_whose_steps_exceed_their_limit(mode: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CASES, mode, ORDINARY, "Anna, " * 4000],
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["guard"] == ("timeout" if mode == "budget" else "timer")
    assert "Valentina Costa" in seen["ordinary"]
    # blocked (the caller refuses and audits it: ``detector-failed``), the guard named
    assert seen["hostile"] == "blocked: PII detection failed (StepsOverCpuLimit)"
    assert seen["disarmed"] is True
    assert seen["ordinary after"] == seen["ordinary"]
