"""CPU milliseconds per prompt of the whole detection stage, and of each pattern recognizer.

Wall-clock prompts/s (``douane bench pii``) moves by a factor of two on a machine whose cores
other processes share; the CPU time of the detecting thread moves much less. This measures
``time.thread_time`` around ``detect_batch`` on the generated prompts of ``douane bench pii``
(train set, the same for every code version: 80 per language, five languages, 181 words on
average), language given, batches of 32, every entity type the code knows (as the shipped
policy asks for them), best of ``--repeat`` runs; then the same prompts through each pattern
recognizer alone. It imports ``streams`` from ``PYTHONPATH``, so that two versions of the
code can be compared on the same prompts:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/detection_cpu.py [--repeat 3]
    PYTHONPATH=/path/to/other/checkout .venv/bin/python benchmarks/detection_cpu.py
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

LANGUAGES = ("en", "fr", "es", "uk", "is")
BATCH = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import streams
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers import build_recognizers
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench.pii_data import generate

    prompts = [p for lang in LANGUAGES for p in generate("train", lang, args.per_language, 1)]
    requests = [DetectionRequest((ChatMessage("user", p.text),), p.language) for p in prompts]
    detector = PresidioDetector(LANGUAGES)
    words = sum(p.words for p in prompts) / len(prompts)
    print(f"detection CPU - code in {os.path.dirname(streams.__file__)}, {len(prompts)} "
          f"prompts ({words:.0f} words on average), language given, batches of {BATCH}, "
          f"{len(detector.entities)} entity types, best of {args.repeat}, load average "
          f"{os.getloadavg()[0]:.2f}")
    best = min(_cpu(lambda: [detector.detect_batch(requests[i:i + BATCH])
                             for i in range(0, len(requests), BATCH)])
               for _ in range(args.repeat))
    per_prompt = 1000 * best / len(prompts)
    print(f"whole detection: {per_prompt:.2f} ms CPU per prompt "
          f"({1000 / per_prompt:.0f} prompts per CPU-second)")
    for language in LANGUAGES:
        mine = [r for r, p in zip(requests, prompts, strict=True) if p.language == language]
        cpu = min(_cpu(lambda mine=mine: [detector.detect_batch(mine[i:i + BATCH])
                                          for i in range(0, len(mine), BATCH)])
                  for _ in range(args.repeat))
        print(f"  {language}: {1000 * cpu / len(mine):.2f} ms")
    texts = [p.text for p in prompts]
    costs = []
    for recognizer in build_recognizers("en", None):
        cpu = min(_cpu(lambda r=recognizer: [r.analyze(t, None) for t in texts])
                  for _ in range(args.repeat))
        costs.append((1000 * cpu / len(texts), type(recognizer).__name__))
    print("each pattern recognizer alone (English instance), ms CPU per prompt: " + ", ".join(
        f"{name} {ms:.3f}" for ms, name in sorted(costs, reverse=True)))


def _cpu(work: Callable[[], object]) -> float:
    started = time.thread_time()
    work()
    return time.thread_time() - started


if __name__ == "__main__":
    main()
