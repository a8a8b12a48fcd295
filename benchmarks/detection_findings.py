"""Every finding of the shipped policy's detector on fixed texts, one JSON line per text, to
compare two builds of the detector (a spaCy upgrade or downgrade, a faster code path) for
identical results: run it before and after the change and compare the two files (``cmp``).

The texts: the concurrency benchmark's prompts and the stand-in model's answers to them (what a
worker scans per request), ``douane bench pii``'s train and held-out sets in every language the
policy loads that has them, ``douane bench planted``'s prompts (seeded: the same every run),
and, with ``--third-party N``, N labelled and N entity-free prompts of every third-party corpus
of ``douane bench pii --third-party`` (dev and held-out, seed 1; ``douane bench fetch-corpora``
brings them). Texts are detected one by one with ``detect``, then, with ``--batches FILE`` (a
workload ``cpu_by_step.py --capture`` wrote), the worker's own batches with ``detect_batch``.

    PYTHONPATH=. .venv/bin/python benchmarks/detection_findings.py OUT.jsonl [--prompts 300] \
        [--third-party 200] [--batches /tmp/workload.jsonl]

Prints the spaCy version, the number of texts and findings, and the CPU seconds detection took.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path

import spacy
from concurrency import PROMPTS

from streams.adapters.policy_files import load_policy_set
from streams.adapters.presidio_detector import detector_for_policy
from streams.config import load_settings
from streams.core.model import ChatMessage, DetectionRequest
from streams.devtools.bench import pii_data, planted
from streams.devtools.model_server import answer_for

PII_LANGUAGES = ("en", "fr", "es")


def texts(prompts: int, languages: tuple[str, ...], phone_regions: tuple[str, ...],
          third_party_count: int = 0) -> Iterator[tuple[str, str, str | None]]:
    """(source, text, language or None to detect it)."""
    for text in PROMPTS[:prompts]:
        yield "concurrency-prompt", text, None
        yield "concurrency-answer", answer_for(
            {"model": "m", "messages": [{"role": "user", "content": text}]}), None
    for dataset in ("train", "heldout"):
        for language in PII_LANGUAGES:
            if language in languages:
                for prompt in pii_data.generate(dataset, language, 150, 1):
                    yield f"pii-{dataset}-{language}", prompt.text, prompt.language
    for planted_prompt in planted.generate(300, 1, phone_regions):
        yield "planted", planted_prompt.text, None
    if third_party_count:
        from streams.devtools.bench import third_party

        root = third_party.cache_dir()
        for corpus in third_party.CORPORA:
            if corpus.language in languages:
                labelled, free = third_party.prompts(root, corpus, third_party_count, 1)
                for kind, chosen in (("labelled", labelled), ("free", free)):
                    for prompt in chosen:
                        yield f"third-party-{corpus.key}-{kind}", prompt.text, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--third-party", type=int, default=0,
                        help="labelled (and as many entity-free) prompts per third-party corpus")
    parser.add_argument("--batches", type=Path, default=None,
                        help="a workload of cpu_by_step.py --capture, detected batch by batch")
    arguments = parser.parse_args()
    settings = load_settings()
    detector = detector_for_policy(load_policy_set(settings.policy_path).policy,
                                   settings.phone_regions)
    count = findings = 0
    cpu = 0.0
    with arguments.out.open("w") as out:
        for source, text, language in texts(arguments.prompts, detector.languages,
                                            tuple(settings.phone_regions),
                                            arguments.third_party):
            started = time.process_time()
            detection = detector.detect((ChatMessage("user", text),), language)
            cpu += time.process_time() - started
            found = sorted((f.message_index, f.entity_type, f.start, f.end, f.score,
                            f.recognizer) for f in detection.findings)
            out.write(json.dumps([source, detection.language, detection.method, found]) + "\n")
            count += 1
            findings += len(found)
        if arguments.batches is not None:
            for line in arguments.batches.read_text(encoding="utf-8").splitlines():
                batch = [DetectionRequest(tuple(ChatMessage(role, content)
                                                for role, content in request["messages"]),
                                          request["language"]) for request in json.loads(line)]
                started = time.process_time()
                detections = detector.detect_batch(batch)
                cpu += time.process_time() - started
                for detection in detections:
                    found = sorted((f.message_index, f.entity_type, f.start, f.end, f.score,
                                    f.recognizer) for f in detection.findings)
                    out.write(json.dumps(["worker-batch", detection.language,
                                          detection.method, found]) + "\n")
                    count += 1
                    findings += len(found)
    print(f"spaCy {spacy.__version__}: {count} texts, {findings} findings, detection "
          f"{cpu:.1f} s of CPU -> {arguments.out}")


if __name__ == "__main__":
    main()
