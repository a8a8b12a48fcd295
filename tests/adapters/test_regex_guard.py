"""How recognizers' regular expressions are held to their CPU limit (``recognizers.base``):
a CPU timer in a detection process, a timeout on every search everywhere else. Whatever the
guard, a runaway search blocks its request (fail closed) and nothing else.

The timer is a process's signal handler: every test that installs it does so in a child
process (never in pytest's own), and no outcome depends on the clock: a runaway pattern
(``(a|aa)+c`` over a run of a's, exponential backtracking) runs until a guard stops it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.adapters.recognizers.base import (
    REGEX_TIMEOUT_S,
    CpuTimer,
    SearchTimeouts,
    pass_cpu_limit,
    regex_guard,
)

ROOT = Path(__file__).resolve().parents[2]

# A worker script: a detector whose recognizers include a runaway pattern, and checks in the
# NER step (which runs outside every recognizer's pass) that no timer is left armed there and
# that a tick arriving there does nothing. ``spawn`` runs this file again (as ``__mp_main__``)
# in each detection process, so the patches hold there too.
WORKER = '''
import asyncio, json, signal, sys

import regex

from streams.adapters import presidio_detector
from streams.adapters.recognizers.base import (
    DouaneRecognizer, Pattern, models_cpu_limit, regex_guard)


class Runaway(DouaneRecognizer):
    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (Pattern("runaway", r"(?:a|aa)+c", 1.0),)
    PREFILTER = None

    def validate(self, candidate):
        return True

    def find_entities(self, text):
        if "boom" in text:  # a recognizer failing mid-pass, its timer armed
            raise ValueError("boom")
        return super().find_entities(text)


_build = presidio_detector.build_recognizers
presidio_detector.build_recognizers = lambda language, *rest: [*_build(language, *rest),
                                                                 Runaway(language)]
_ner = presidio_detector.PresidioDetector._model_findings


def _checked_ner(self, language, texts):
    if regex_guard().name == "timer":
        # the NER runs under its own limit (``models_cpu_limit``, summed over the requests
        # read together; the kernel rounds a timer up to its tick), never under what a
        # recognizer's pass left armed
        left = signal.getitimer(signal.ITIMER_PROF)[0]
        if not 0.0 < left <= len(texts) * models_cpu_limit(sum(map(len, texts))) + 0.05:
            raise RuntimeError("the NER is not under its own timer")
        signal.raise_signal(signal.SIGPROF)  # a late tick here must do nothing
    return _ner(self, language, texts)


presidio_detector.PresidioDetector._model_findings = _checked_ner


async def main(processes):
    from streams.core.model import ChatMessage
    from streams.runtime.batched_detection import BatchedDetector, ProcessBatches

    entities = frozenset({"EMAIL_ADDRESS"})
    if processes:
        batches = ProcessBatches(processes, ("en",), entities, ("FR",))
        batches.wait_until_loaded()
        detector = BatchedDetector(batches, 600)  # no wall-clock limit in play
        guards = sorted(batches.regex_guards)
    else:
        detector = BatchedDetector.in_thread(
            presidio_detector.PresidioDetector(("en",), entities, ("FR",)), 600)
        guards = [regex_guard().name]

    async def outcome(text):
        try:
            found = await detector.detect((ChatMessage("user", text),), "en")
        except Exception as error:
            return f"blocked: {error}"
        return sorted(f.entity_type for f in found.findings)

    ordinary = "Write to jean@example.org"
    try:
        # the runaway and an ordinary request in one batch; then a recognizer that raises;
        # then an ordinary request again
        first = await asyncio.gather(outcome("a" * 40), outcome(ordinary))
        failing = await outcome("boom")
        after = await outcome(ordinary)
    finally:
        detector.close()
    print(json.dumps({"guards": guards, "runaway": first[0], "neighbour": first[1],
                      "failing": failing, "after": after}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
'''


def run_worker(tmp_path: Path, processes: int) -> dict[str, object]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), str(processes)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("processes", [1, 0])
def test_a_runaway_search_blocks_its_request_and_nothing_else(tmp_path: Path,
                                                              processes: int) -> None:
    result = run_worker(tmp_path, processes)
    # a detection process bounds its recognizers with the CPU timer; a thread with timeouts
    assert result["guards"] == (["timer"] if processes else ["timeout"])
    assert result["runaway"] == "blocked: PII detection failed (TimeoutError)"
    # the request beside it in the same batch is detected (the runaway failed alone, named
    # by the detector: nothing run twice), its NER under its own timer, ignoring a tick
    assert result["neighbour"] == ["EMAIL_ADDRESS"]
    assert result["failing"] == "blocked: PII detection failed (ValueError)"
    assert result["after"] == ["EMAIL_ADDRESS"]  # nothing left armed by the failed pass


# The timer's own rules, in a child process (its handler is the process's): each case prints
# what happened.
TIMER_CASES = '''
import json, signal, threading

from streams.adapters.recognizers.base import SearchLimits, regex_guard, use_cpu_timer

timer = use_cpu_timer()
assert regex_guard() is timer and use_cpu_timer() is timer
seen = {}


def recognizer(limit_s):
    limits = SearchLimits()
    limits.timeout_s = limit_s
    return limits


def disarmed():
    return signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def spin():
    while True:  # CPU, no regular expression: the handler raises in Python code too
        pass


# a pass's searches run without timeout while it is armed, in its thread only (another
# thread's searches with the same recognizer keep it); the recognizer's is back after
r = recognizer(60.0)


def in_pass():
    other = []
    thread = threading.Thread(target=lambda: other.append(r.search_timeout_s))
    thread.start()
    thread.join()
    return r.search_timeout_s, disarmed(), other[0]


inside = timer.recognizer_pass(r, in_pass, "text")
seen["inside"] = [*inside, r.search_timeout_s, disarmed()]


def runaway():
    spin()


try:
    timer.recognizer_pass(recognizer(0.01), runaway, "text")
    seen["runaway"] = "returned"
except TimeoutError:
    seen["runaway"] = "TimeoutError"
seen["disarmed after runaway"] = disarmed()


def swallows():
    try:
        spin()
    except TimeoutError:  # code in the pass that hides the timer's exception
        pass
    return ["a finding"]


try:
    seen["swallowed"] = timer.recognizer_pass(recognizer(0.01), swallows, "text")
except TimeoutError:
    seen["swallowed"] = "TimeoutError"


def raises():
    raise KeyError("x")


try:
    timer.recognizer_pass(recognizer(0.01), raises, "text")
except KeyError:
    seen["raised"] = disarmed()


def stale_tick():
    signal.raise_signal(signal.SIGPROF)  # a tick while this pass's timer still runs
    return "done"


seen["stale tick"] = timer.recognizer_pass(recognizer(60.0), stale_tick, "text")
signal.raise_signal(signal.SIGPROF)  # a tick outside every pass
seen["tick outside"] = "ignored"
outer = recognizer(60.0)
seen["nested"] = timer.recognizer_pass(outer, lambda: timer.recognizer_pass(
    recognizer(0.01), lambda: "inner", "text"), "text")
print(json.dumps(seen))
'''


def test_the_cpu_timer_stops_a_runaway_and_is_never_left_armed() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", TIMER_CASES], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "inside": [None, False, 60.0, 60.0, True],
        "runaway": "TimeoutError",
        "disarmed after runaway": True,
        "swallowed": "TimeoutError",  # its findings are not returned
        "raised": True,
        "stale tick": "done",
        "tick outside": "ignored",
        "nested": "inner",  # the inner pass runs under the outer one's timer
    }


def test_tests_and_threads_keep_the_search_timeouts() -> None:
    assert isinstance(regex_guard(), SearchTimeouts)
    with pytest.raises(RuntimeError, match="main thread"):
        import threading

        failure: list[Exception] = []

        def install() -> None:
            try:
                CpuTimer()
            except Exception as error:
                failure.append(error)

        thread = threading.Thread(target=install)
        thread.start()
        thread.join()
        raise failure[0]


def test_a_pass_may_use_one_search_limit_plus_its_ordinary_work() -> None:
    assert pass_cpu_limit(REGEX_TIMEOUT_S, 0) == REGEX_TIMEOUT_S
    # an ordinary prompt: about the limit of one search, as before
    assert pass_cpu_limit(REGEX_TIMEOUT_S, 2000) < 1.2 * REGEX_TIMEOUT_S
    # the longest text detection accepts: far more than its ordinary work (about 2 us of CPU
    # per character for the dearest recognizer on third-party text)
    assert pass_cpu_limit(REGEX_TIMEOUT_S, 262_144) > 262_144 * 10e-6


# What a recognizer's pass may leave half-done if the timer's exception lands in it: an
# import (the import system's locks, a module half-executed) or a library's lazy load holding a
# lock it releases without ``finally`` (phonenumbers' metadata, which ``CpuTimer`` loads
# before any pass). A detection process's recognizers, once built, must do neither inside a
# pass: on texts in each language with identifiers of regions outside the default list.
NOTHING_LOADED_IN_A_PASS = '''
import json, sys

from streams.adapters.recognizers import base

base.use_cpu_timer()  # as a detection process does, before the detector
from phonenumbers import PhoneMetadata

from streams.adapters.presidio_detector import PresidioDetector
from streams.core.model import ChatMessage, DetectionRequest

TEXTS = {
    "en": "My name is john smith, call me on +81 3-1234-5678 or +1 415 555 2671, or write "
          "to john@example.com. Mr. ribič said Jean met Ana on Monday. IBAN GB82 WEST 1234 "
          "5698 7654 32, card 4111 1111 1111 1111, from 192.168.0.1.",
    "fr": "Je m'appelle Jean Dupont, NIR 1 85 05 78 006 084 36, lundi avec Marie au "
          "01 23 45 67 89 ou +49 30 901820, SIRET 732 829 320 00074.",
    "uk": "Мене звати Олександр Шевченко, РНОКПП 1234567890, телефон +380 44 123 4567.",
    "is": "Ég heiti Jón Sigurðsson, kennitala 120174-3399, sími +354 555 1234.",
}
detector = PresidioDetector(tuple(TEXTS), possible_names=True)
for language in TEXTS:
    detector._recognizers(language)  # built before the first batch, outside any pass


def lazy_metadata():
    return sum(loader is not None for table in (
        PhoneMetadata._region_available, PhoneMetadata._country_code_available,
        PhoneMetadata._short_region_available) for loader in table.values())


seen = {"passes": 0, "imported": [], "metadata loaded": 0}
pass_of = base.CpuTimer.recognizer_pass


def watched(self, recognizer, work, text):
    modules, lazy = set(sys.modules), lazy_metadata()
    try:
        return pass_of(self, recognizer, work, text)
    finally:
        seen["passes"] += 1
        seen["imported"] += sorted(set(sys.modules) - modules)
        seen["metadata loaded"] += lazy - lazy_metadata()


base.CpuTimer.recognizer_pass = watched
for language, text in TEXTS.items():
    detector.detect_batch([DetectionRequest((ChatMessage("user", text),), language)])
print(json.dumps(seen))
'''


def test_a_pass_imports_nothing_and_loads_no_library_data() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", NOTHING_LOADED_IN_A_PASS], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["passes"] > 20  # every language's recognizers ran
    assert seen["imported"] == []
    assert seen["metadata loaded"] == 0
