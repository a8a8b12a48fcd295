"""CPU per prompt of English and Spanish detection with CoreNLP's CRF tier off, on the unsure
sentences (``corenlp-unsure``) and on every sentence (``corenlp``): douane's detecting thread
(``time.thread_time``) plus the sidecar JVM (every thread of it, from ``/proc/<pid>/stat``:
JIT and GC included), the share of sentences the JVM read, its start-up and peak memory.

Prompts: the generated ones of ``douane bench pii`` (train set, seed 1) and, when
``douane bench fetch-corpora`` has run, the third-party prompts of ``bench pii --third-party``
(200 per corpus, seed 1); language given, batches of 32, every entity type, two warm-up passes
then the best of ``--repeat``. Needs ``douane models fetch corenlp``::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/corenlp_cpu.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

LANGUAGES = ("en", "es")
BATCH = 32
MODES = ("off", "corenlp-unsure", "corenlp")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()

    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers.slovnet_ner import unsure_sentences
    from streams.config import load_ner_tiers
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii_data import generate

    home = load_ner_tiers().corenlp_dir
    loads: dict[str, list[tuple[str, str]]] = {
        f"generated {lang}": [(p.text, lang) for p in generate("train", lang,
                                                                args.per_language, 1)]
        for lang in LANGUAGES}
    try:
        root = third_party.cache_dir()
        for corpus in third_party.CORPORA:
            if corpus.language in LANGUAGES and corpus.form == "conll":
                labelled, _ = third_party.prompts(root, corpus, 200, 1)
                loads[corpus.key] = [(p.text, corpus.language) for p in labelled]
    except third_party.CorpusMissing:
        print("(third-party corpora not fetched: generated prompts only)")
    print(f"CoreNLP tier CPU - {home}; batches of {BATCH}, best of {args.repeat}, load average "
          f"{os.getloadavg()[0]:.2f}")
    for mode in args.modes.split(","):
        from streams.config import NerTiers

        started = time.monotonic()
        detector = PresidioDetector(LANGUAGES, ner_tiers=NerTiers(en=mode, es=mode,
                                                                  corenlp_dir=home))
        sidecar = detector._corenlp.sidecar if detector._corenlp is not None else None
        pid = sidecar.pid if sidecar is not None else None
        print(f"\n== {mode}: detector ready in {time.monotonic() - started:.1f} s"
              + (f" (JVM {sidecar.startup_seconds:.1f} s)" if sidecar is not None else ""))
        for name, load in loads.items():
            requests = [DetectionRequest((ChatMessage("user", text),), lang)
                        for text, lang in load]

            def work(requests: list[DetectionRequest] = requests,
                     detector: PresidioDetector = detector) -> None:
                for i in range(0, len(requests), BATCH):
                    detector.detect_batch(requests[i:i + BATCH])

            for _ in range(2):
                work()
            own, jvm = min((_cpu(work, pid) for _ in range(args.repeat)),
                           key=lambda pair: pair[0] + pair[1])
            total = 1000 * (own + jvm) / len(load)
            words = sum(len(text.split()) for text, _ in load) / len(load)
            read = ""
            if mode == "corenlp-unsure":
                texts = [text for text, _ in load]
                covered = [[(f.start, f.end) for f in d.findings if f.score >= 0.5
                            and not f.recognizer.startswith("corenlp")]
                           for d in detector.detect_batch(requests)]
                pieces = unsure_sentences(texts, covered)
                from streams.adapters.recognizers.slovnet_ner import SENTENCE

                sentences = sum(1 for t in texts for _ in SENTENCE.finditer(t))
                read = f", JVM read {len(pieces) / sentences:.0%} of the sentences"
            print(f"{name:24} ({len(load)} prompts, {words:.0f} words): {total:.2f} ms CPU per "
                  f"prompt ({1000 / total:.0f} prompts per CPU-second): douane "
                  f"{1000 * own / len(load):.2f} + JVM {1000 * jvm / len(load):.2f}{read}")
        if pid is not None:
            print(f"JVM peak resident memory {_status_kb(pid, 'VmHWM') / 1024:.0f} MB")
        detector.close()


def _cpu(work: Callable[[], None], pid: int | None) -> tuple[float, float]:
    """(this thread's CPU seconds, the JVM's) for ``work``."""
    jvm_before = _jvm_cpu(pid)
    started = time.thread_time()
    work()
    return time.thread_time() - started, _jvm_cpu(pid) - jvm_before


def _jvm_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
