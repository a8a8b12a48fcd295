"""CPU of the ``STREET_ADDRESS`` recognizer alone on third-party prompts (branch addr3p).

The 200 labelled prompts of each dev corpus of ``douane bench pii --third-party`` (seed 1),
language given, one call per prompt, best of ``--repeat`` passes (thread CPU time: the
machine is shared). Run each code in its own process, alternately::

    PYTHONPATH=<checkout> DOUANE_CACHE=... .venv/bin/python benchmarks/street_address_cpu.py
"""

from __future__ import annotations

import argparse
import os
import time

from streams.adapters.recognizers import build_recognizers
from streams.adapters.recognizers.given_names import common_words
from streams.devtools.bench import third_party


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    common_words()  # loaded once per process by the name recognizers anyway
    root = third_party.cache_dir()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for corpus in third_party.CORPORA:
        if corpus.role != "dev":
            continue
        prompts = third_party.prompts(root, corpus, 200, 1)[0]
        (recognizer,) = build_recognizers(corpus.language, ["STREET_ADDRESS"])
        for prompt in prompts[:20]:
            recognizer.analyze(prompt.text, None)
        best = float("inf")
        for _ in range(args.repeat):
            started = time.thread_time()
            for prompt in prompts:
                recognizer.analyze(prompt.text, None)
            best = min(best, time.thread_time() - started)
        print(f"{corpus.key:28} {1000 * best / len(prompts):.3f} ms CPU per prompt")


if __name__ == "__main__":
    main()
