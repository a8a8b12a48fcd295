"""What the CoreNLP sidecar's own stdin buffers, wiped after each batch (branch ``retention``),
cost against Java's readers (before: they kept the last 8 KB read, the last batch's texts, for
the JVM's life): the JVM's CPU (every thread, ``/proc/<pid>/stat``) over the same third-party
prompts, whole texts in batches of 32 (the ``corenlp`` mode's load, the most the sidecar
reads), a sidecar compiled from each source, passes alternated, two warm-up passes each, best
of ``--rounds``; and whether both find the same entities on every prompt.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/corenlp_sidecar_input_cpu.py --before /path/to/old/CrfSidecar.java \\
        [--corpora en/conll2003-test,es/conll2002-test] [--count 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BATCH = 32
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _jvm_cpu(pid: int | None) -> float:
    """CPU seconds the JVM used so far (user and system, every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True,
                        help="the CrfSidecar.java to compare with (e.g. main's)")
    parser.add_argument("--corpora", default="en/conll2003-test,es/conll2002-test")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from streams.adapters.recognizers import corenlp_ner
    from streams.config import load_ner_tiers
    from streams.devtools.bench import third_party as tp

    home = load_ner_tiers().corenlp_dir
    keys = [k for k in args.corpora.split(",") if k]
    corpora = [c for c in tp.CORPORA if c.key in keys]
    languages = tuple(dict.fromkeys(c.language for c in corpora))
    texts = {c.key: [p.text for p in tp.prompts(tp.cache_dir(), c, args.count, 1)[0]]
             for c in corpora}
    sources = {"before": args.before.resolve(), "after": corenlp_ner.SOURCE}
    sidecars = {}
    for label, source in sources.items():
        corenlp_ner.SOURCE = source  # compiled into a folder named after its digest
        sidecars[label] = corenlp_ner.CoreNlpSidecar(home, languages)
    corenlp_ner.SOURCE = sources["after"]
    print(f"CoreNLP sidecar's JVM CPU per prompt, Java's readers (before) vs its own wiped "
          f"buffers (after), {args.count} prompts per corpus, batches of {BATCH}, best of "
          f"{args.rounds} alternated passes, load average {os.getloadavg()[0]:.2f}")

    def run(label: str, key: str, language: str) -> float:
        sidecar = sidecars[label]
        started = _jvm_cpu(sidecar.pid)
        for i in range(0, len(texts[key]), BATCH):
            sidecar.entities(language, texts[key][i:i + BATCH])
        return 1000 * (_jvm_cpu(sidecar.pid) - started) / len(texts[key])

    try:
        for corpus in corpora:
            # the same entities from both, on every prompt
            answers = [[sidecars[label].entities(corpus.language, texts[corpus.key][i:i + BATCH])
                        for i in range(0, len(texts[corpus.key]), BATCH)] for label in sidecars]
            print(f"{corpus.key:24} the same entities from both: {answers[0] == answers[1]}")
            for label in sidecars:
                for _ in range(2):
                    run(label, corpus.key, corpus.language)
            best: dict[str, list[float]] = {label: [] for label in sidecars}
            for _ in range(args.rounds):
                for label in sidecars:
                    best[label].append(run(label, corpus.key, corpus.language))
            before, after = min(best["before"]), min(best["after"])
            print(f"{corpus.key:24} before {before:6.2f} ms, after {after:6.2f} ms, "
                  f"{after - before:+.2f} ms per prompt (load average "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
    finally:
        for sidecar in sidecars.values():
            sidecar.close()


if __name__ == "__main__":
    main()
