"""CPU milliseconds per prompt of the given-name pass alone (``GivenNameRecognizer.analyze``)
on the prompts of ``douane bench planted`` (seed 1, the mixed and the French load), best of
``--repeat`` runs, ``time.thread_time``. It imports ``streams`` from ``PYTHONPATH``, so that two
versions of the code can be compared on the same prompts:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/given_names_cpu.py [--repeat 3]
    PYTHONPATH=/path/to/other/checkout .venv/bin/python benchmarks/given_names_cpu.py
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import streams
    from streams.adapters.recognizers.given_names import GivenNameRecognizer
    from streams.devtools.bench.planted import generate

    regions = ("FR", "ES", "UA", "IS", "UY", "GB", "US")
    print(f"streams from {os.path.dirname(streams.__file__)}; load average "
          f"{os.getloadavg()[0]:.1f}")
    for load in ("mixed", "fr"):
        prompts = generate(2000, args.seed, regions, load)
        by_language: dict[str, GivenNameRecognizer] = {}
        texts = [(p.text, p.language if p.language in ("en", "fr", "es") else "en")
                 for p in prompts]
        for _, language in texts:
            by_language.setdefault(language, GivenNameRecognizer(language))
        for text, language in texts[:5]:  # warm the caches and lexicons
            by_language[language].analyze(text, None)
        best = float("inf")
        for _ in range(args.repeat):
            started = time.thread_time()
            for text, language in texts:
                by_language[language].analyze(text, None)
            best = min(best, time.thread_time() - started)
        print(f"{load}: {len(texts)} prompts, {1000 * best / len(texts):.2f} ms of CPU per "
              f"prompt (best of {args.repeat})")


if __name__ == "__main__":
    main()
