"""CPU milliseconds per prompt of the whole detection stage, and of each pattern recognizer.

Wall-clock prompts/s (``douane bench pii``) moves by a factor of two on a machine whose cores
other processes share; the CPU time of the detecting thread moves much less. This measures
``time.thread_time`` around ``detect_batch`` on the generated prompts of ``douane bench pii``
(train set, the same for every code version: 80 per language, five languages, 181 words on
average), language given, batches of 32, every entity type the code knows (as the shipped
policy asks for them), best of ``--repeat`` runs; then the same prompts through each pattern
recognizer alone. It imports ``streams`` from ``PYTHONPATH``, so that two versions of the
code can be compared on the same prompts:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/detection_cpu.py [--repeat 3]
    PYTHONPATH=/path/to/other/checkout .venv/bin/python benchmarks/detection_cpu.py

``--third-party`` measures text nobody here wrote instead: the labelled prompts of the dev
corpora fetched by ``douane bench fetch-corpora`` (``--corpora en/conll2003-test,...`` for
others; ``--count`` per corpus, seed 1, as ``douane bench pii --third-party`` draws them), with
the same detector and settings. For each corpus: the whole stage on prompts it has not seen
(after a pass over other prompts of the corpus, seed 2: what a running worker meets) and the
best of ``--repeat`` passes over them again (every cache warm: lower), then where its CPU goes
(one more run with each part timed on its own: the NER model as detection runs it, on the
windows around capitalised words, each pattern recognizer of the corpus's language, the
passes over names found repeated in a request, the rest), and spaCy's NER alone on the whole
texts (``nlp.pipe``, nothing else): the floor no pass of douane's own can go under.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/detection_cpu.py --third-party [--corpora KEYS] [--count 96]

``--thorough-shares 0,20,100`` (with ``--third-party``) measures instead a load where that
percentage of the requests is ``detection: thorough`` and the rest ``fast`` (a policy's rules:
README, "Writing a policy"), mixed in the same batches, spread evenly, with the opt-in tiers the
environment turns on (``DOUANE_NER_VOTE=vote-unsure``: the vote runs in this thread, so its CPU
is counted; CoreNLP's runs in a JVM this does not count). After a pass over other prompts of
the corpus (seed 2, every request thorough: every model's caches warm), each share in turn,
``--repeat`` rounds, the order rotating each round; the best and the worst round per share:

    DOUANE_NER_VOTE=vote-unsure DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD \
        .venv/bin/python benchmarks/detection_cpu.py --third-party --thorough-shares 0,20,100

``--batch N`` hands the detector N prompts per ``detect_batch`` call instead of 32: 1 is one
caller (nothing else in flight), 2-6 what the worker's ``batch_size`` (the square root of its
queue) forms with 8-32 callers waiting, 32 a long queue. spaCy's NER alone is then run N texts
per ``nlp.pipe`` call too. With ``--third-party``, each corpus's line ends with a digest of
every finding of the unseen pass (language, method, type, offsets, score, recognizer, per
prompt in order): the same at every batch size, or batching changes findings. ``--no-parts``
leaves out the run timed by part and NER alone. ``--without-ner`` computes each prompt's NER
findings before anything is timed and hands them back when detection asks (the same findings):
the CPU of everything but the NER model, where a change outside it shows above the NER's
run-to-run noise. The corpus key ``fr/wikineural-val`` (not in
``douane bench pii``) is WikiNEuRal's French validation split, dev side (its test split is
held out): it is read from ``$DOUANE_CACHE/third-party-extra``, brought there from the git
mirrors given by ``--from-mirrors DIR`` (as ``douane bench fetch-corpora --from-mirrors``)
or else from GitHub, at the commit of the other WikiNEuRal corpora.

``--vote-modes off,vote-places`` (with ``--third-party``): one detector per
``DOUANE_NER_VOTE`` mode in this process (``DOUANE_NER_VOTE_LANGUAGES`` from the
environment), each batch run through every detector in turn, the order reversed at each batch,
unseen then seen again: on a machine whose cores others share, separate runs move by more
than the vote costs, while detectors interleaved batch by batch meet the same load.

``--guard timer`` bounds the recognizers' regular expressions as a detection process does
(``DOUANE_DETECTION_PROCESSES`` >= 1, the default): a CPU timer around each recognizer's pass
over a text, installed in this process's main thread (where detection runs, as in a detection
process) before the detector is built, and searches without ``timeout=``. ``--guard timeout``
(the default here, as in ``douane bench`` and a worker detecting in a thread): a timeout on
every search (``streams/adapters/recognizers/base.py``).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from _timing import PartTimer

LANGUAGES = ("en", "fr", "es", "uk", "is")
BATCH = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--third-party", action="store_true",
                        help="the dev corpora of `douane bench fetch-corpora` instead")
    parser.add_argument("--corpora", default="",
                        help="with --third-party: these corpus keys (e.g. fr/wikiann-test)")
    parser.add_argument("--count", type=int, default=96,
                        help="with --third-party: labelled prompts per corpus")
    parser.add_argument("--thorough-shares", default="",
                        help="with --third-party: percentages of thorough requests to compare "
                             "(e.g. 0,20,100), the rest fast, the tiers from the environment")
    parser.add_argument("--batch", type=int, default=BATCH,
                        help="prompts per detect_batch call (1: one caller)")
    parser.add_argument("--no-parts", action="store_true",
                        help="with --third-party: no run timed by part, no NER alone")
    parser.add_argument("--without-ner", action="store_true",
                        help="with --third-party: the NER's findings computed beforehand")
    parser.add_argument("--from-mirrors", default="",
                        help="with --third-party: git mirrors for fr/wikineural-val")
    parser.add_argument("--vote-modes", default="",
                        help="with --third-party: DOUANE_NER_VOTE modes compared, interleaved")
    parser.add_argument("--guard", choices=("timeout", "timer"), default="timeout",
                        help="how regular expressions are bounded: a timeout per search, or "
                             "a detection process's CPU timer per recognizer pass")
    args = parser.parse_args()
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    if args.guard == "timer":
        from streams.adapters.recognizers.base import use_cpu_timer

        use_cpu_timer()  # before any detector builds its recognizers
    if args.third_party and args.vote_modes:
        compare_votes(args.corpora, args.count, args.repeat, args.vote_modes.split(","))
        return
    if args.third_party and args.thorough_shares:
        mixed(args.corpora, args.count, args.repeat,
              [int(share) for share in args.thorough_shares.split(",")])
        return
    if args.third_party:
        third_party(args.corpora, args.count, args.repeat, args.batch, not args.no_parts,
                    args.from_mirrors, args.without_ner)
        return

    import streams
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers import build_recognizers
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench.pii_data import generate

    prompts = [p for lang in LANGUAGES for p in generate("train", lang, args.per_language, 1)]
    requests = [DetectionRequest((ChatMessage("user", p.text),), p.language) for p in prompts]
    detector = PresidioDetector(LANGUAGES)
    batch = args.batch
    words = sum(p.words for p in prompts) / len(prompts)
    print(f"detection CPU - code in {os.path.dirname(streams.__file__)}, {len(prompts)} "
          f"prompts ({words:.0f} words on average), language given, batches of {batch}, "
          f"{len(detector.entities)} entity types, best of {args.repeat}, load average "
          f"{os.getloadavg()[0]:.2f}")
    best = min(_cpu(lambda: [detector.detect_batch(requests[i:i + batch])
                             for i in range(0, len(requests), batch)])
               for _ in range(args.repeat))
    per_prompt = 1000 * best / len(prompts)
    print(f"whole detection: {per_prompt:.2f} ms CPU per prompt "
          f"({1000 / per_prompt:.0f} prompts per CPU-second)")
    for language in LANGUAGES:
        mine = [r for r, p in zip(requests, prompts, strict=True) if p.language == language]
        cpu = min(_cpu(lambda mine=mine: [detector.detect_batch(mine[i:i + batch])
                                          for i in range(0, len(mine), batch)])
                  for _ in range(args.repeat))
        print(f"  {language}: {1000 * cpu / len(mine):.2f} ms")
    texts = [p.text for p in prompts]
    costs = []
    for recognizer in build_recognizers("en", None):
        cpu = min(_cpu(lambda r=recognizer: [r.analyze(t, None) for t in texts])
                  for _ in range(args.repeat))
        costs.append((1000 * cpu / len(texts), type(recognizer).__name__))
    print("each pattern recognizer alone (English instance), ms CPU per prompt: " + ", ".join(
        f"{name} {ms:.3f}" for ms, name in sorted(costs, reverse=True)))


def third_party(keys: str, count: int, repeat: int, batch: int = BATCH, parts: bool = True,
                mirrors: str = "", without_ner: bool = False) -> None:
    from pathlib import Path

    import streams
    from streams.adapters import presidio_detector
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, Detection, DetectionRequest
    from streams.devtools.bench import third_party as tp

    extra = _extra_corpora(tp)
    wanted = [k for k in keys.split(",") if k]
    unknown = sorted(set(wanted) - {c.key for c in (*tp.CORPORA, *extra)})
    if unknown:
        raise SystemExit(f"unknown corpora: {', '.join(unknown)}")
    corpora = [c for c in (*tp.CORPORA, *extra)
               if (c.key in wanted if wanted else c in tp.CORPORA and c.role == "dev")]
    detector = PresidioDetector(LANGUAGES)
    print(f"detection CPU on third-party text - code in {os.path.dirname(streams.__file__)}, "
          f"{count} labelled prompts per corpus (seed 1), language given, batches of {batch}, "
          f"{'NER findings replayed, ' if without_ner else ''}"
          f"{len(detector.entities)} entity types, seen again: best of {repeat}, ms CPU per "
          f"prompt, vote {_vote(detector)}, regex guard {_guard()}, load average "
          f"{os.getloadavg()[0]:.2f}")
    for corpus in corpora:
        if corpus in extra:
            # kept apart from the cache of ``douane bench pii``'s corpora, whose digest reads
            # every file of their folders
            root = tp.cache_dir().with_name("third-party-extra")
            for path in corpus.files:
                tp._fetch_file(corpus, path, tp.corpus_dir(root, corpus),
                               Path(mirrors) if mirrors else None)
        else:
            root = tp.cache_dir()
        labelled, _ = tp.prompts(root, corpus, count, 1)
        texts = [p.text for p in labelled]
        requests = [DetectionRequest((ChatMessage("user", t),), corpus.language) for t in texts]
        words = sum(len(t.split()) for t in texts) / len(texts)
        detections: list[Detection] = []

        def whole(requests: list[DetectionRequest] = requests,
                  out: list[Detection] | None = None) -> None:
            for i in range(0, len(requests), batch):
                found = detector.detect_batch(requests[i:i + batch])
                if out is not None:
                    out.extend(found)

        # A worker sees each prompt once: first a pass over other prompts of the corpus (seed
        # 2: spaCy's vocabulary and tokenizer caches, douane's memoised word tests warm on
        # this kind of text), then one over these prompts, never seen; then the best of
        # ``repeat`` passes over them again, all caches holding their words (lower).
        others, _ = tp.prompts(root, corpus, count, 2)
        if without_ner:
            _replay_ner(detector, corpus.language, [*texts, *(p.text for p in others)])
        for i in range(0, len(others), batch):
            detector.detect_batch([DetectionRequest((ChatMessage("user", p.text),),
                                                    corpus.language)
                                   for p in others[i:i + batch]])
        unseen = 1000 * _cpu(functools.partial(whole, out=detections)) / len(texts)
        best = min(_cpu(whole) for _ in range(repeat))
        per_prompt = 1000 * best / len(texts)
        print(f"{corpus.key:24} {words:4.0f} words  whole detection, unseen {unseen:6.2f} ms "
              f"({1000 / unseen:4.0f} prompts per CPU-second), seen again {per_prompt:6.2f} ms "
              f"({1000 / per_prompt:4.0f}), findings {_digest(detections)} "
              f"({sum(len(d.findings) for d in detections)})", flush=True)
        if not parts:
            continue
        total, spent = _parts(detector, presidio_detector, corpus.language, whole)
        rest = 1000 * (total - sum(spent.values())) / len(texts)
        shown = sorted(((1000 * cpu / len(texts), name) for name, cpu in spent.items()),
                       reverse=True)
        print("    where it goes (one run, timed by part): " + ", ".join(
            f"{name} {ms:.2f}" for ms, name in shown if ms >= 0.005) + f", rest {rest:.2f}")
        nlp = detector._nlp.get(corpus.language)
        if nlp is not None:
            floor = min(_cpu(lambda nlp=nlp, texts=texts: [
                list(nlp.pipe(texts[i:i + batch], batch_size=64))
                for i in range(0, len(texts), batch)]) for _ in range(repeat))
            print(f"    spaCy NER alone on the whole texts (nlp.pipe, {batch} per call): "
                  f"{1000 * floor / len(texts):.2f} ms "
                  f"({len(texts) / floor:.0f} prompts per CPU-second)", flush=True)


def thorough_at(index: int, share: int) -> bool:
    """Whether request ``index`` of a load with ``share`` % thorough requests is one: spread
    evenly (20: every fifth), exactly ``share`` % of any multiple of 100 requests."""
    return (index * share) // 100 != ((index + 1) * share) // 100


def mixed(keys: str, count: int, repeat: int, shares: list[int]) -> None:
    import streams
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party as tp

    wanted = [k for k in keys.split(",") if k]
    corpora = [c for c in tp.CORPORA if (c.key in wanted if wanted else c.role == "dev")]
    detector = PresidioDetector(LANGUAGES)  # the tiers DOUANE_* turns on
    tiers = detector.ner_tiers
    print(f"detection CPU, thorough and fast requests mixed - code in "
          f"{os.path.dirname(streams.__file__)}, {count} labelled prompts per corpus (seed 1), "
          f"language given, batches of {BATCH}, tiers: vote {tiers.vote}, CoreNLP en "
          f"{tiers.en} / es {tiers.es} (its JVM's CPU not counted), web NER {tiers.en_web}; "
          f"best / worst of {repeat} rounds, ms CPU per prompt, load average "
          f"{os.getloadavg()[0]:.2f}")
    root = tp.cache_dir()
    for corpus in corpora:
        labelled, _ = tp.prompts(root, corpus, count, 1)
        others, _ = tp.prompts(root, corpus, count, 2)

        def load(texts: list[str], share: int,
                 language: str = corpus.language) -> list[DetectionRequest]:
            return [DetectionRequest((ChatMessage("user", t),), language,
                                     thorough_at(i, share)) for i, t in enumerate(texts)]

        def run(requests: list[DetectionRequest]) -> float:
            return _cpu(lambda: [detector.detect_batch(requests[i:i + BATCH])
                                 for i in range(0, len(requests), BATCH)])

        texts = [p.text for p in labelled]
        run(load([p.text for p in others], 100))
        run(load(texts, 100))
        spent: dict[int, list[float]] = {share: [] for share in shares}
        for round_ in range(repeat):
            for share in shares[round_ % len(shares):] + shares[:round_ % len(shares)]:
                spent[share].append(1000 * run(load(texts, share)) / len(texts))
        methods = sorted({d.method for d in detector.detect_batch(load(texts[:BATCH], 100))})
        print(f"{corpus.key:24} ({', '.join(methods)}) " + "; ".join(
            f"{share:3d} % thorough {min(ms):6.2f}-{max(ms):6.2f} ms "
            f"({1000 / min(ms):4.0f}-{1000 / max(ms):4.0f} prompts per CPU-second)"
            for share, ms in spent.items()), flush=True)


def _replay_ner(detector: Any, language: str, texts: list[str]) -> None:
    """Each text's NER findings computed now, handed back when detection asks for them (a
    text's findings do not depend on the others in its call: ``--batch`` digests)."""
    model = type(detector)._model_findings
    known = {text: model(detector, language, [text])[0] for text in texts}
    detector._model_findings = lambda language, texts: [known[t] for t in texts]


def _extra_corpora(tp: Any) -> tuple[Any, ...]:
    """Dev-side corpora measured here but not by ``douane bench pii``: WikiNEuRal's French
    validation split (the test split is the held-out French corpus)."""
    return (tp.Corpus("wikineural-val", "fr", "dev", tp.CC_BY_NC_SA, *tp.WIKINEURAL,
                      ("data/wikineural/fr/val.conllu",), "conll"),)


def _digest(detections: list[Any]) -> str:
    """Every finding of every prompt, in order: equal digests, equal findings."""
    digest = hashlib.sha256()
    for detection in detections:
        digest.update(repr((detection.language, detection.method, [
            (f.message_index, f.entity_type, f.start, f.end, f.score, f.recognizer)
            for f in detection.findings])).encode())
    return digest.hexdigest()[:12]


def compare_votes(keys: str, count: int, repeat: int, modes: list[str]) -> None:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.config import load_ner_tiers
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench import third_party as tp

    wanted = [k for k in keys.split(",") if k]
    corpora = [c for c in tp.CORPORA if (c.key in wanted if wanted else c.role == "dev")]
    tiers = load_ner_tiers()
    detectors = {mode: PresidioDetector(LANGUAGES, ner_tiers=replace(tiers, vote=mode))
                 for mode in modes}
    print(f"detection CPU on third-party text, vote modes interleaved batch by batch "
          f"(voting on {','.join(tiers.vote_languages)}), {count} labelled prompts per corpus "
          f"(seed 1), language given, batches of {BATCH}, ms CPU per prompt; unseen, then "
          f"seen again {repeat} times; load average {os.getloadavg()[0]:.2f}")
    root = tp.cache_dir()
    for corpus in corpora:
        def requests(seed: int, corpus: Any = corpus) -> list[DetectionRequest]:
            return [DetectionRequest((ChatMessage("user", p.text),), corpus.language)
                    for p in tp.prompts(root, corpus, count, seed)[0]]

        def interleaved(batches: list[DetectionRequest]) -> dict[str, float]:
            spent = dict.fromkeys(detectors, 0.0)
            for b, i in enumerate(range(0, len(batches), BATCH)):
                batch = batches[i:i + BATCH]
                for mode in (modes if b % 2 == 0 else modes[::-1]):
                    started = time.thread_time()
                    detectors[mode].detect_batch(batch)
                    spent[mode] += time.thread_time() - started
            return {mode: 1000 * cpu / len(batches) for mode, cpu in spent.items()}

        interleaved(requests(2))  # as in third_party(): the corpus's kind of text first
        mine = requests(1)
        runs = [interleaved(mine) for _ in range(1 + repeat)]
        print(f"{corpus.key} (load average {os.getloadavg()[0]:.2f})")
        for mode in modes:
            unseen, again = runs[0][mode], min(run[mode] for run in runs[1:])
            added = "" if mode == modes[0] else (
                f"; {100 * (unseen / runs[0][modes[0]] - 1):+.0f} % unseen, "
                f"{100 * (again / min(run[modes[0]] for run in runs[1:]) - 1):+.0f} % again")
            print(f"    {mode:12} unseen {unseen:6.2f} ms ({1000 / unseen:4.0f} prompts per "
                  f"CPU-second), seen again {again:6.2f} ms ({1000 / again:4.0f}){added}",
                  flush=True)


def _guard() -> str:
    try:
        from streams.adapters.recognizers.base import regex_guard
    except ImportError:  # code from before the guard was chosen per process
        return "timeout"
    return regex_guard().name


def _vote(detector: Any) -> str:
    vote = detector._vote
    return "off" if vote is None else f"{vote.mode} on {','.join(vote.languages)}"


def _parts(detector: Any, module: object, language: str,
           whole: Callable[[], None]) -> tuple[float, dict[str, float]]:
    """The CPU seconds of one run of ``whole``, and of each part of it, by wrapping (for this
    run only) the detector's NER, its pattern recognizers and the repeated-name passes."""
    parts = PartTimer()
    parts.patch(detector, "_model_findings", "NER (windows)")
    if detector._vote is not None:  # DOUANE_NER_VOTE: the other models' vote on persons
        parts.patch(detector._vote, "find", "vote")
    for recognizer in detector._recognizers(language):
        parts.patch(recognizer, "analyze", type(recognizer).__name__)
    for function in ("widened", "later_mentions", "merged", "coordinated"):
        parts.patch(module, function, function)
    try:
        total = _cpu(whole)
    finally:
        parts.restore()
    return total, parts.spent


def _cpu(work: Callable[[], object]) -> float:
    started = time.thread_time()
    work()
    return time.thread_time() - started


if __name__ == "__main__":
    main()
