"""CPU milliseconds of detection per prompt + answer pair, on the worker's real workload.

The workload is what the worker's detector was given while ``cpu_by_step.py`` sent the
concurrency benchmark's prompts through the real pipeline (16 in flight, the batches as the
worker formed them: prompts, and the stand-in's answers to their redacted text):

    PYTHONPATH=$PWD .venv/bin/python benchmarks/cpu_by_step.py --requests 200 --in-flight 16 \\
        --capture /tmp/workload.jsonl
    PYTHONPATH=$PWD .venv/bin/python benchmarks/detection_workload.py /tmp/workload.jsonl \\
        [--repeat 5] [--profile /tmp/detection.prof] [--ipc]

The detector is the worker's (``detector_for_policy`` on the shipped policy, the deployment's
phone regions), in this process; the same batches are replayed ``--repeat`` times and the best
``time.process_time`` is kept. ``--profile`` writes a cProfile of one more replay and prints
where the time goes by part of detection. ``--ipc`` also times what the hand-off to a
detection process costs per pair: pickling each batch and its result both ways.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pickle
import pstats
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from streams.core.model import ChatMessage, DetectionRequest

# Where a function's own time is put: the first of these its file or name matches.
PARTS = (
    ("lingua (language detection)", ("lingua",)),
    ("language choice", ("language_choice", "adapters/language.py")),
    ("spaCy/thinc NER (model, tokenizer, docs)", ("thinc", "spacy", "numpy", "cymem",
                                                 "preshed", "srsly", "blis")),
    ("name chunks for NER (presidio_detector.name_chunks)", ("name_chunks",
                                                             "_name_candidates", "_merged")),
    ("given-name recognizer", ("given_names.py",)),
    ("repeated names (widened, later mentions, coordinated)", ("repeated_names.py",)),
    ("person filters (clean_person)", ("person_filters.py",)),
    ("phone recognizer (phonenumbers)", ("phone.py", "phonenumbers")),
    ("other pattern recognizers and Presidio", ("recognizers/", "presidio_analyzer")),
    ("regex module", ("regex",)),
)


def load(path: Path) -> list[list[DetectionRequest]]:
    batches = []
    for line in path.read_text(encoding="utf-8").splitlines():
        batches.append([DetectionRequest(tuple(ChatMessage(role, content)
                                               for role, content in request["messages"]),
                                         request["language"])
                        for request in json.loads(line)])
    return batches


def replay(detector: Any, batches: list[list[DetectionRequest]]) -> list[Any]:
    return [detector.detect_batch(batch) for batch in batches]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--ipc", action="store_true")
    parser.add_argument("--parts", action="store_true",
                        help="time each part of detection alone (best of --repeat)")
    parser.add_argument("--batch", type=int, default=0,
                        help="re-batch the requests N at a time (0: the batches as captured)")
    args = parser.parse_args()

    import streams
    from streams.adapters.policy_files import load_policy_set
    from streams.adapters.presidio_detector import detector_for_policy
    from streams.config import load_settings

    settings = load_settings()
    detector = detector_for_policy(load_policy_set(settings.policy_path).policy,
                                   settings.phone_regions)
    batches = load(args.workload)
    if args.batch:
        flat = [request for batch in batches for request in batch]
        batches = [flat[i:i + args.batch] for i in range(0, len(flat), args.batch)]
    requests = sum(len(b) for b in batches)
    pairs = requests / 2  # one prompt and one answer per request
    replay(detector, batches[:5])  # first calls: lazily built parts
    best = float("inf")
    for _ in range(args.repeat):
        started = time.process_time()
        replay(detector, batches)
        best = min(best, time.process_time() - started)
    print(f"code in {os.path.dirname(streams.__file__)}: {len(batches)} batches, {requests} "
          f"detections ({pairs:.0f} prompt+answer pairs), best of {args.repeat}: "
          f"{1000 * best / pairs:.2f} ms CPU per pair; load average "
          f"{os.getloadavg()[0]:.2f}")
    if args.parts:
        parts(detector, batches, pairs, args.repeat)
    if args.ipc:
        results = replay(detector, batches)
        started = time.process_time()
        for _ in range(args.repeat):
            for batch, result in zip(batches, results, strict=True):
                pickle.loads(pickle.dumps(batch, pickle.HIGHEST_PROTOCOL))
                pickle.loads(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
        ipc = (time.process_time() - started) / args.repeat
        print(f"pickling both ways (batches and results): {1000 * ipc / pairs:.3f} ms CPU "
              f"per pair")
    if args.profile:
        # CPU time, not wall-clock: on a shared machine the wall clock counts waiting for a core
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        replay(detector, batches)
        profiler.disable()
        profiler.dump_stats(args.profile)
        by_part(pstats.Stats(str(args.profile)), pairs)


def parts(detector: Any, batches: list[list[DetectionRequest]], pairs: float,
          repeat: int) -> None:
    """Each part of ``detect_batch`` run alone on the same texts, CPU ms per pair (best of
    ``repeat``): no profiler overhead, so these add up to about the whole."""
    from streams.adapters.presidio_detector import LANGUAGE_SAMPLE_CHARS
    from streams.adapters.recognizers.repeated_names import coordinated, later_mentions, widened

    samples = [" ".join(m.content for m in r.messages)[:LANGUAGE_SAMPLE_CHARS]
               for b in batches for r in b]
    chosen = [detector.detect_language(sample) for sample in samples]
    by_language: dict[str, list[list[str]]] = defaultdict(list)
    flat = [r for b in batches for r in b]
    index = 0
    for batch in batches:
        grouped: dict[str, list[str]] = defaultdict(list)
        for request in batch:
            grouped[chosen[index]].extend(m.content for m in request.messages)
            index += 1
        for language, texts in grouped.items():
            by_language[language].append(texts)
    found = [d.findings for b in batches for d in detector.detect_batch(b)]

    def best(work: Any) -> float:
        times = []
        for _ in range(repeat):
            started = time.process_time()
            work()
            times.append(time.process_time() - started)
        return 1000 * min(times) / pairs

    rows = [("lingua and language choice", best(
        lambda: [detector.detect_language(sample) for sample in samples]))]
    rows.append(("NER or name lexicon (_model_findings, name chunks included)", best(
        lambda: [detector._model_findings(language, texts)
                 for language, groups in by_language.items() for texts in groups])))
    recognizers: dict[str, float] = defaultdict(float)
    for language, groups in by_language.items():
        texts = [t for group in groups for t in group]
        for recognizer in detector._recognizers(language):
            recognizers[recognizer.name] += best(
                lambda r=recognizer, texts=texts: [r.analyze(t, None) for t in texts])
    rows.extend((f"recognizer {name}", ms) for name, ms in recognizers.items())

    def repeated() -> None:
        for request, language, findings in zip(flat, chosen, found, strict=True):
            contents = [m.content for m in request.messages]
            widened(contents, list(findings), language=language)
            later_mentions(contents, list(findings), language=language)
            coordinated(contents, list(findings), language=language)
    rows.append(("repeated names (widened, later mentions, coordinated; approximate)",
                 best(repeated)))
    print("| part alone | CPU ms per pair |")
    print("|---|---|")
    for name, ms in sorted(rows, key=lambda row: -row[1]):
        print(f"| {name} | {ms:.3f} |")
    print(f"| sum | {sum(ms for _, ms in rows):.2f} |")


def by_part(stats: pstats.Stats, pairs: float) -> None:
    """Each function's own time, summed by part (cProfile's overhead inflates Python-heavy
    parts: read the shares, not the milliseconds)."""
    parts: dict[str, float] = defaultdict(float)
    raw: Any = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    for (filename, _, name), (_, _, own, _, _) in raw.items():
        total += own
        where = f"{filename}:{name}"
        for part, needles in PARTS:
            if any(needle in where for needle in needles):
                parts[part] += own
                break
        else:
            parts["other (" + (os.path.basename(filename) if filename != "~" else name)
                  + ")"] += own
    print("| part | share of detection under cProfile | ms per pair (profiled) |")
    print("|---|---|---|")
    for part, own in sorted(parts.items(), key=lambda item: -item[1])[:25]:
        print(f"| {part} | {100 * own / total:.1f} % | {1000 * own / pairs:.2f} |")


if __name__ == "__main__":
    main()
