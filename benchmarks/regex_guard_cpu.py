"""The two guards of the recognizers' regular expressions, interleaved batch by batch in one
process: a timeout on every search (``SearchTimeouts``: a worker detecting in a thread) and a
detection process's CPU timer around each recognizer's pass (``CpuTimer``), searches without
``timeout=`` (``streams/adapters/recognizers/base.py``).

Separate runs on a machine whose cores other processes share move by more than the guard
costs; here each batch is detected under one guard then the other (the order reversed at each
batch), so both meet the same load. The timer is installed in this process's main thread, as
a detection process does; the guard in use is switched between batches (a benchmark's
liberty: the product chooses it once per process). Third-party prompts as
``benchmarks/detection_cpu.py --third-party`` draws them (96 per corpus, seed 1, after a pass
over other prompts of the corpus, seed 2), ``--batch`` per call; unseen (the first pass over
them) and seen again (best of ``--repeat``); ``--without-ner`` replays each prompt's NER
findings (the same findings) so that only what is not NER is timed. Each line ends with the
findings digest of each guard's unseen pass: they must be equal.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD:$PWD/benchmarks .venv/bin/python \\
        benchmarks/regex_guard_cpu.py --batch 1 [--without-ner] [--corpora KEYS]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

CORPORA = "en/conll2003-test,en/presidio-synth-v2,fr/wikiann-test,es/conll2002-test"
GUARDS = ("timeout", "timer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=CORPORA)
    parser.add_argument("--count", type=int, default=96)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--without-ner", action="store_true")
    args = parser.parse_args()

    from detection_cpu import LANGUAGES, _digest, _replay_ner  # type: ignore[import-not-found]

    from streams.adapters import presidio_detector
    from streams.adapters.recognizers import base
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party as tp

    guards: dict[str, Any] = {"timeout": base.SearchTimeouts(), "timer": base.use_cpu_timer()}
    detector = presidio_detector.PresidioDetector(LANGUAGES)
    print(f"regex guards interleaved batch by batch, {args.count} prompts per corpus (seed 1), "
          f"batches of {args.batch}, {'NER findings replayed, ' if args.without_ner else ''}"
          f"ms CPU per prompt, unseen / seen again (best of {args.repeat}), load average "
          f"{os.getloadavg()[0]:.2f}")
    root = tp.cache_dir()
    for key in args.corpora.split(","):
        corpus = next(c for c in tp.CORPORA if c.key == key)

        def requests(seed: int, corpus: Any = corpus) -> list[DetectionRequest]:
            return [DetectionRequest((ChatMessage("user", p.text),), corpus.language)
                    for p in tp.prompts(root, corpus, args.count, seed)[0]]

        mine, others = requests(1), requests(2)
        if args.without_ner:
            _replay_ner(detector, corpus.language,
                        [r.messages[0].content for r in (*mine, *others)])

        def interleaved(batches: list[DetectionRequest],
                        found: dict[str, list[Any]] | None = None) -> dict[str, float]:
            spent = dict.fromkeys(GUARDS, 0.0)
            for b, i in enumerate(range(0, len(batches), args.batch)):
                for name in (GUARDS if b % 2 == 0 else GUARDS[::-1]):
                    base._guard = guards[name]
                    started = time.thread_time()
                    out = detector.detect_batch(batches[i:i + args.batch])
                    spent[name] += time.thread_time() - started
                    if found is not None:
                        found.setdefault(name, []).extend(out)
            base._guard = guards["timeout"]
            return {name: 1000 * cpu / len(batches) for name, cpu in spent.items()}

        interleaved(others)  # this kind of text first, as a running worker has seen
        found: dict[str, list[Any]] = {}
        unseen = interleaved(mine, found)
        again = [interleaved(mine) for _ in range(args.repeat)]
        best = {name: min(run[name] for run in again) for name in GUARDS}
        print(f"{key:22} (load {os.getloadavg()[0]:.1f}) " + "; ".join(
            f"{name} {unseen[name]:6.2f} / {best[name]:6.2f}" for name in GUARDS)
            + f"; timer - timeout {unseen['timer'] - unseen['timeout']:+.2f} / "
            f"{best['timer'] - best['timeout']:+.2f}; findings "
            + " ".join(_digest(found[name]) for name in GUARDS), flush=True)


if __name__ == "__main__":
    main()
