"""What forgetting the recognizers' memos after each batch costs, in one process (branch
``memos``): the same detector over the same prompts, batch by batch, with the memos emptied
when each batch ends (as ``detect_batch`` does) and with them kept for the process (as before),
passes alternated. A kept pass follows an untimed kept pass over the same prompts: every word's
judgement is already memoised, the most the old memos could save (prompts seen again). So the
difference is an upper bound of the cost; an unseen prompt saved less.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/batch_memos_cpu.py [--corpora KEYS] [--count 96] [--batch 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time

from _timing import best_kept_and_changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="en/conll2003-test,en/presidio-synth-v2,"
                                             "fr/wikiann-test")
    parser.add_argument("--count", type=int, default=96)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from streams.adapters import presidio_detector
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers import batch_memos
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party as tp

    keys = [k for k in args.corpora.split(",") if k]
    corpora = [c for c in tp.CORPORA if c.key in keys]
    detector = PresidioDetector(("en", "fr", "es", "uk", "is"))  # as detection_cpu.py
    print(f"recognizers' memos forgotten per batch vs kept, {args.count} labelled prompts per "
          f"corpus (seed 1), batches of {args.batch}, best of {args.rounds} alternated passes, "
          f"ms CPU per prompt, load average {os.getloadavg()[0]:.2f}")
    for corpus in corpora:
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, args.count, 1)[0]]
        requests = [DetectionRequest((ChatMessage("user", t),), corpus.language) for t in texts]

        def run(forget: bool, requests: list[DetectionRequest] = requests) -> float:
            presidio_detector.forget_batch_memos = batch_memos.forget if forget else (
                lambda: None)
            started = time.thread_time()
            for i in range(0, len(requests), args.batch):
                detector.detect_batch(requests[i:i + args.batch])
            return 1000 * (time.thread_time() - started) / len(requests)

        kept, forgotten = best_kept_and_changed(run, args.rounds)
        print(f"{corpus.key:24} kept {kept:6.2f} ms, forgotten {forgotten:6.2f} ms, "
              f"{forgotten - kept:+.2f} ms per prompt (load average "
              f"{os.getloadavg()[0]:.2f})", flush=True)
    presidio_detector.forget_batch_memos = batch_memos.forget


if __name__ == "__main__":
    main()
