"""What emptying islenska's memo of word lookups after each batch costs (branch
``retention``): an Icelandic detector over the same prompts, batch by batch, with
``Bin._ksnid_cache`` emptied when each batch ends (as ``detect_batch`` does now) and kept for
the process (as before), passes alternated. A kept pass follows an untimed kept pass over the
same prompts: every word is already in the memo, the most it could save (prompts seen again),
so the difference is an upper bound of the cost.

No third-party Icelandic corpus is fetched here: the prompts are ``douane bench pii``'s
generated Icelandic ones (held-out templates, Faker's Icelandic names), an indication only.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/islenska_memo_cpu.py [--count 96] [--batch 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time

from _timing import best_kept_and_changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers import batch_memos, is_names
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench.pii_data import generate

    detector = PresidioDetector(("is",))
    texts = [p.text for p in generate("heldout", "is", args.count, 1)]
    requests = [DetectionRequest((ChatMessage("user", t),), "is") for t in texts]
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"islenska's memo emptied per batch vs kept, {args.count} generated Icelandic "
          f"prompts ({words:.0f} words on average), batches of {args.batch}, best of "
          f"{args.rounds} alternated passes, ms CPU per prompt, load average "
          f"{os.getloadavg()[0]:.2f}")

    def run(forget: bool) -> float:
        memos = batch_memos._LIBRARY_MEMOS
        if forget and is_names.forget_lookups not in memos:
            memos.append(is_names.forget_lookups)
        if not forget and is_names.forget_lookups in memos:
            memos.remove(is_names.forget_lookups)
        started = time.thread_time()
        for i in range(0, len(requests), args.batch):
            detector.detect_batch(requests[i:i + args.batch])
        return 1000 * (time.thread_time() - started) / len(requests)

    kept, emptied = best_kept_and_changed(run, args.rounds)
    print(f"kept {kept:6.2f} ms, emptied {emptied:6.2f} ms, "
          f"{emptied - kept:+.2f} ms per prompt (load average "
          f"{os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
