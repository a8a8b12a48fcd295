"""The language a prompt's analysis is chosen for (``streams/core/language_choice.py``): lingua's
choice alone ("before") against lingua's choice corrected by function words and lower-case
words ("after"), on labelled corpora nobody here wrote.

1. **Choices**: per corpus (dev and held-out corpora of ``douane bench pii --third-party``, and
   corpora in languages douane does not analyse: German CoNLL-2003 and Dutch CoNLL-2002 news,
   WikiNEuRal German, Italian, Portuguese, Dutch and Russian), how many prompts change
   language, from what to what, and why.
2. **Other languages**: on the corpora in languages douane does not analyse, what the change
   costs - persons reported in entity-free prompts (over-redaction), and persons of the
   labelled prompts found, falsely reported and leaked - before and after.
3. **CPU**: thread CPU per prompt of choosing the language (before, after), and of the whole
   detection, on generated prompts (``douane bench pii``'s train set, 50-300 words) and the
   third-party prompts; the two codes alternate, best of ``--repeat``.

The other-language corpora are fetched at the pinned WikiNEuRal commit into
``$DOUANE_CACHE/third-party-other`` (not beside ``bench pii``'s corpora, whose digest
``bench pii`` prints), from GitHub or from local git mirrors (``--from-mirrors DIR``, as for
``douane bench fetch-corpora``)::

    .venv/bin/douane bench fetch-corpora
    PYTHONPATH=$PWD .venv/bin/python benchmarks/language_choice.py [--from-mirrors DIR] \
        [--repeat 3] [--show 0]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "fr", "es", "uk")
BATCH = 32
# (name, folder in WikiNEuRal's repository, language): text in a language douane does not
# analyse; news with sports tables and listings (CoNLL) and Wikipedia sentences (WikiNEuRal)
OTHER = (("conll2003-test", "conll", "de"), ("conll2002-test", "conll", "nl"),
         ("wikineural-test", "wikineural", "de"), ("wikineural-test", "wikineural", "it"),
         ("wikineural-test", "wikineural", "pt"), ("wikineural-test", "wikineural", "nl"),
         ("wikineural-test", "wikineural", "ru"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from-mirrors", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--count", type=int, default=200, help="prompts per corpus")
    parser.add_argument("--show", type=int, default=0,
                        help="prompts of dev and other-language corpora that change, to print")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--cpu-only", action="store_true", help="part 3 alone")
    args = parser.parse_args()

    from streams.adapters.language import LanguageDetector
    from streams.adapters.presidio_detector import LANGUAGE_SAMPLE_CHARS, PresidioDetector
    from streams.devtools.bench import third_party as tp
    from streams.devtools.bench.pii_data import LabelledPrompt

    root = tp.cache_dir()
    other_root = root.parent / "third-party-other"
    others = [tp.Corpus(name, lang, "other", tp.CC_BY_NC_SA, *tp.WIKINEURAL,
                        (f"data/{folder}/{lang}/test.conllu",), "conll")
              for name, folder, lang in OTHER]
    for corpus in others:
        tp._fetch_file(corpus, corpus.files[0], tp.corpus_dir(other_root, corpus),
                       args.from_mirrors)
    loads: dict[str, tuple[Any, list[LabelledPrompt], list[LabelledPrompt]]] = {}
    for corpus in [c for c in tp.CORPORA if c.language in LANGUAGES] + others:
        labelled, free = tp.prompts(other_root if corpus in others else root, corpus,
                                    args.count, 1)
        loads[f"{corpus.key} ({corpus.role})"] = (corpus, labelled, free)
    print(f"language choice - {args.count} prompts per corpus, seed 1, detector languages "
          f"{','.join(LANGUAGES)}; load average {os.getloadavg()[0]:.2f}")

    started = time.monotonic()
    detector = PresidioDetector(LANGUAGES)
    print(f"detector started in {time.monotonic() - started:.1f} s")
    after = detector._language_detector
    # lingua's choice alone, as before this change (main at f06bde2): detect_language_of
    before = _LinguaAlone(LanguageDetector(detector.languages)._detector)

    print("\n== 1. prompts whose language changes (labelled + entity-free prompts) ==")
    shown = 0
    for key, (corpus, labelled, free) in ({} if args.cpu_only else loads).items():
        moves: Counter[str] = Counter()
        prompts = labelled + free
        for prompt in prompts:
            sample = prompt.text[:LANGUAGE_SAMPLE_CHARS]
            old, new = before.detect(sample), after.choose(sample)
            if old != new.language:
                moves[f"{old}->{new.language} ({new.reason})"] += 1
                if shown < args.show and corpus.role != "heldout":
                    shown += 1
                    print(f"   [{key}] {old}->{new.language} ({new.reason}): "
                          f"{sample[:100]!r}")
        print(f"{key:34} {len(prompts):>4} prompts, {sum(moves.values()):>3} change"
              + (": " + ", ".join(f"{n} {m}" for m, n in sorted(moves.items())) if moves else ""))

    print("\n== 2. languages douane does not analyse: persons, before -> after ==")
    for key, (corpus, labelled, free) in ({} if args.cpu_only else loads).items():
        if corpus.role != "other":
            continue
        row = []
        for chooser in (before, after):
            detector._language_detector = chooser
            row.append(_persons(detector, labelled, free))
        detector._language_detector = after
        (b_fp, b_rep, b_found, b_leak, n, b_free), (a_fp, a_rep, a_found, a_leak, _,
                                                     a_free) = row
        print(f"{key:34} persons {n:>4}: found {b_found} -> {a_found}, leaked {b_leak} -> "
              f"{a_leak}, reported persons not labelled {b_fp} -> {a_fp} (of {b_rep} -> "
              f"{a_rep} reported); entity-free prompts with a person: {b_free} -> {a_free} "
              f"of {len(free)}")

    if args.skip_cpu:
        return
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench.pii_data import generate

    cpu_loads = {"generated en,fr,es,uk (train)": [
        p.text for lang in LANGUAGES for p in generate("train", lang, 100, 1)]}
    for key, (corpus, labelled, _) in loads.items():
        # the corpora where language changes, and prose lingua puts in a language douane does
        # not analyse: there every prompt pays for the function-word count
        if (corpus.role == "dev" and corpus.form == "conll") or corpus.key in (
                "de/conll2003-test", "de/wikineural-test", "it/wikineural-test"):
            cpu_loads[key] = [p.text for p in labelled]
    print(f"\n== 3. thread CPU per prompt, language detected, best of {args.repeat}, "
          f"alternating; load average {os.getloadavg()[0]:.2f} ==")
    for key, texts in cpu_loads.items():
        samples = [t[:LANGUAGE_SAMPLE_CHARS] for t in texts]
        figures: dict[str, list[float]] = {"before": [], "after": []}
        whole: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            for label, chooser in (("before", before), ("after", after)):
                figures[label].append(_cpu(lambda c=chooser, t=samples: [c.detect(s) for s in t])
                                      / len(samples))
                detector._language_detector = chooser
                requests = [DetectionRequest((ChatMessage("user", t),)) for t in texts]
                whole[label].append(_cpu(lambda r=requests: [
                    detector.detect_batch(r[i:i + BATCH]) for i in range(0, len(r), BATCH)])
                    / len(texts))
        detector._language_detector = after
        words = sum(len(t.split()) for t in texts) / len(texts)
        print(f"{key:34} ({len(texts)} prompts, {words:.0f} words): choosing the language "
              f"{min(figures['before']) * 1e3:.3f} -> {min(figures['after']) * 1e3:.3f} ms; "
              f"whole detection {min(whole['before']) * 1e3:.2f} -> "
              f"{min(whole['after']) * 1e3:.2f} ms "
              f"({1 / min(whole['before']):.0f} -> {1 / min(whole['after']):.0f} prompts per "
              "CPU-second)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def _persons(detector: Any, labelled: Sequence[Any], free: Sequence[Any]
             ) -> tuple[int, int, int, int, int, int]:
    """Scored as ``douane bench pii`` scores (``pii.evaluate``: findings selected as the
    pipeline selects them): (persons reported overlapping no labelled person, persons
    reported, labelled persons found, labelled persons leaked - no finding of any scored type
    covers them -, labelled persons, entity-free prompts with a person reported)."""
    from streams.core.model import ChatMessage, DetectionRequest, Finding
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings
    from streams.devtools.bench.pii import evaluate

    def detect(batch: list[Any]) -> list[list[Finding]]:
        return [list(d.findings) for d in detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),)) for p in batch])]

    types = {s.entity_type for p in labelled for s in p.spans}
    person = evaluate(detect, list(labelled), 0.5, types).by_entity["PERSON"]
    rules = {"PERSON": EntityRule(min_score=0.5)}
    free_hits = 0
    for i in range(0, len(free), BATCH):
        for findings in detect(list(free[i:i + BATCH])):
            free_hits += any(f.entity_type == "PERSON" for f in select_findings(findings, rules))
    return (person.fp, person.tp + person.fp, person.tp, person.leaked, person.tp + person.fn,
            free_hits)


class _LinguaAlone:
    """The language detector as it was before this change: lingua's answer, or English."""

    def __init__(self, lingua: Any) -> None:
        self._lingua = lingua

    def detect(self, text: str) -> str:
        language = self._lingua.detect_language_of(text)
        return "en" if language is None else str(language.iso_code_639_1.name).lower()


def _cpu(call: Callable[[], object]) -> float:
    started = time.thread_time()
    call()
    return time.thread_time() - started


if __name__ == "__main__":
    main()
