"""Every finding of the shipped policy's detector on fixed texts, one JSON line per text, to
compare two builds of the detector (a spaCy upgrade or downgrade, a faster code path) for
identical results: run it before and after the change and compare the two files (``cmp``).

The texts: the concurrency benchmark's prompts and the stand-in model's answers to them (what a
worker scans per request), ``douane bench pii``'s train and held-out sets in every language the
policy loads that has them, and ``douane bench planted``'s prompts (seeded: the same every run).

    PYTHONPATH=. .venv/bin/python benchmarks/detection_findings.py OUT.jsonl [--prompts 300]

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
from streams.core.model import ChatMessage
from streams.devtools.bench import pii_data, planted
from streams.devtools.model_server import answer_for

PII_LANGUAGES = ("en", "fr", "es")


def texts(prompts: int, languages: tuple[str, ...], phone_regions: tuple[str, ...],
          ) -> Iterator[tuple[str, str, str | None]]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--prompts", type=int, default=300)
    arguments = parser.parse_args()
    settings = load_settings()
    detector = detector_for_policy(load_policy_set(settings.policy_path).policy,
                                   settings.phone_regions)
    count = findings = 0
    cpu = 0.0
    with arguments.out.open("w") as out:
        for source, text, language in texts(arguments.prompts, detector.languages,
                                            tuple(settings.phone_regions)):
            started = time.process_time()
            detection = detector.detect((ChatMessage("user", text),), language)
            cpu += time.process_time() - started
            found = sorted((f.message_index, f.entity_type, f.start, f.end, f.score,
                            f.recognizer) for f in detection.findings)
            out.write(json.dumps([source, detection.language, detection.method, found]) + "\n")
            count += 1
            findings += len(found)
    print(f"spaCy {spacy.__version__}: {count} texts, {findings} findings, detection "
          f"{cpu:.1f} s of CPU -> {arguments.out}")


if __name__ == "__main__":
    main()
