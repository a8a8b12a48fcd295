"""One SHA-256 per set of texts over every finding of the detector, to show that a faster code
path changes no finding: run it on the code before and after (``PYTHONPATH`` picks the code)
and compare the two outputs (``diff``: only the first line, naming the code, may differ).

The sets: the labelled and entity-free prompts of every **dev** corpus of ``douane bench pii
--third-party`` (``--count`` each, seeds ``--seeds``; the held-out corpora are never read),
the language given and then detected; generated prompts of ``douane bench pii``'s train set
(``--generated`` per language, five languages), ``douane bench planted``'s prompts and
``douane bench phones``'s (valid and unallocated numbers in every writing); each with the
shipped settings and again with possible names on (``DOUANE_PERSON_MIN_SCORE`` < 0.5 policies).
A finding is (message, type, start, end, score, recognizer), with the detection's language
and method. Nothing of the texts is printed.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=<checkout> .venv/bin/python \
        benchmarks/findings_digest.py [--count 300] [--seeds 1,2] [--generated 200] \
        [--guard timer]

``--guard timer``: the recognizers bounded as in a detection process (a CPU timer per
recognizer pass, searches without ``timeout=``) instead of a timeout per search: the digests
must be the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Iterator

LANGUAGES = ("en", "fr", "es", "uk", "is")
REGIONS = ("FR", "ES", "UA", "IS", "UY", "GB", "US")
BATCH = 32


def sets(count: int, seeds: list[int], generated: int,
         ) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """(name, [(text, language or None to detect it)])."""
    from streams.devtools.bench import phone_load, pii_data, planted
    from streams.devtools.bench import third_party as tp

    root = tp.cache_dir()
    for corpus in tp.CORPORA:
        if corpus.role != "dev":
            continue
        for seed in seeds:
            labelled, free = tp.prompts(root, corpus, count, seed)
            for kind, chosen in (("labelled", labelled), ("free", free)):
                texts = [p.text for p in chosen]
                yield (f"{corpus.key} {kind} seed {seed}, language given",
                       [(t, corpus.language) for t in texts])
                yield (f"{corpus.key} {kind} seed {seed}, language detected",
                       [(t, None) for t in texts])
    for language in LANGUAGES:
        prompts = pii_data.generate("train", language, generated, 1)
        yield f"generated {language}", [(p.text, p.language) for p in prompts]
    yield "planted", [(p.text, None) for p in planted.generate(generated * 2, 1, REGIONS)]
    for unallocated in (False, True):
        phones = phone_load.generate(REGIONS, generated * 2, 1, unallocated=unallocated)
        yield (f"phones{' unallocated' if unallocated else ''}",
               [(p.text, None) for p in phones])


def main() -> None:
    import streams
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--generated", type=int, default=200)
    parser.add_argument("--guard", choices=("timeout", "timer"), default="timeout")
    args = parser.parse_args()
    if args.guard == "timer":
        from streams.adapters.recognizers.base import use_cpu_timer

        use_cpu_timer()  # as a detection process does, before the detectors are built
    print(f"findings digest - code in {os.path.dirname(streams.__file__)}")
    detectors = {possible: PresidioDetector(LANGUAGES, phone_regions=REGIONS,
                                            possible_names=possible)
                 for possible in (False, True)}
    total_texts = total_findings = 0
    whole = hashlib.sha256()
    for name, texts in sets(args.count, [int(s) for s in args.seeds.split(",")],
                            args.generated):
        for possible, detector in detectors.items():
            digest = hashlib.sha256()
            findings = 0
            for i in range(0, len(texts), BATCH):
                batch = [DetectionRequest((ChatMessage("user", t),), language)
                         for t, language in texts[i:i + BATCH]]
                for detection in detector.detect_batch(batch):
                    found = sorted((f.message_index, f.entity_type, f.start, f.end, f.score,
                                    f.recognizer) for f in detection.findings)
                    digest.update(json.dumps([detection.language, detection.method,
                                              found]).encode() + b"\n")
                    findings += len(found)
            label = f"{name}{', possible names' if possible else ''}"
            print(f"{label:70} {len(texts):5} texts {findings:6} findings "
                  f"{digest.hexdigest()[:16]}", flush=True)
            whole.update(digest.digest())
            total_texts += len(texts)
            total_findings += findings
    print(f"all: {total_texts} texts, {total_findings} findings, {whole.hexdigest()}")


if __name__ == "__main__":
    main()
