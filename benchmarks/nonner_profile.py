"""Where detection's CPU outside the NER model goes, by recognizer, by step after the
recognizers, and by function (cProfile), on third-party prompts never seen.

For each corpus: a detector (every entity type, ``--guard timer`` as a detection process by
default), each prompt's NER findings computed beforehand and handed back (as
``detection_cpu.py --without-ner``), a pass over other prompts of the corpus (seed 2) to warm
what a running worker has warm, then the unseen prompts (seed 1) at ``--batch`` per call:
once timed by part (each recognizer's ``analyze``, each step of ``_after_recognizers``, the
NER's windows ``name_chunks`` timed apart since the replay skips them), once under cProfile
(its own cost inflates small functions: read it for ranking, not for figures).

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/nonner_profile.py [--corpora KEYS] [--count 96] [--batch 4] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from typing import Any

from _timing import PartTimer

DEFAULT_CORPORA = "en/presidio-synth-v2,fr/wikiann-test,en/conll2003-test"
STEPS = ("doubted", "widened", "later_mentions", "merged", "coordinated", "over_ner_readings",
         "in_capitals", "speakers", "initials_widened", "french_persons", "persons_in_places")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=DEFAULT_CORPORA)
    parser.add_argument("--count", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--guard", choices=("timeout", "timer"), default="timer")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    from streams.adapters import presidio_detector as pd
    from streams.adapters.recognizers import base
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party as tp

    if args.guard == "timer":
        base.use_cpu_timer()
    keys = args.corpora.split(",")
    corpora = [next(c for c in tp.CORPORA if c.key == key) for key in keys]
    detector = pd.PresidioDetector(tuple(dict.fromkeys(c.language for c in corpora)))
    print(f"non-NER CPU by part; batches of {args.batch}, guard {base.regex_guard().name}, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    model = type(detector)._model_findings
    for corpus in corpora:
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, args.count, 1)[0]]
        others = [p.text for p in tp.prompts(tp.cache_dir(), corpus, args.count, 2)[0]]
        known = {t: model(detector, corpus.language, [t])[0] for t in [*texts, *others]}
        detector._model_findings = lambda language, ts, known=known: [known[t] for t in ts]

        def run(ts: list[str], language: str = corpus.language) -> None:
            for i in range(0, len(ts), args.batch):
                detector.detect_batch([DetectionRequest((ChatMessage("user", t),), language)
                                       for t in ts[i:i + args.batch]])

        run(others)
        parts = _timed_parts(detector, pd, corpus.language)
        started = time.thread_time()
        run(texts)
        total = time.thread_time() - started
        parts.restore()
        spent = parts.spent
        nlp = detector._nlp.get(corpus.language)
        if nlp is not None:
            common = detector._common_words[corpus.language]
            context = pd.NER_CONTEXT_WORDS.get(corpus.language)
            started = time.thread_time()
            for t in texts:
                pd.name_chunks(t, common, context)
            spent["(name_chunks, NER's windows)"] = time.thread_time() - started
        n = len(texts)
        print(f"\n{corpus.key}: all but NER {1e6 * total / n:.0f} µs per prompt; by part:")
        for name, cpu in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"    {name:40} {1e6 * cpu / n:7.0f}")
        profile = cProfile.Profile()
        profile.enable()
        run(texts)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
        detector._model_findings = model.__get__(detector)


def _timed_parts(detector: Any, module: Any, language: str) -> PartTimer:
    parts = PartTimer()
    for recognizer in detector._recognizers(language):
        parts.patch(recognizer, "analyze", type(recognizer).__name__)
    for function in STEPS:
        if hasattr(module, function):
            parts.patch(module, function, f"step: {function}")
    return parts


if __name__ == "__main__":
    main()
