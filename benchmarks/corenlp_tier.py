"""Would Stanford CoreNLP's CRF NER, as a second tier, raise English and Spanish name recall?
(issue 14; measured before it was wired: the tier itself is ``DOUANE_EN_NER`` / ``DOUANE_ES_NER``,
streams/adapters/recognizers/corenlp_ner.py, and benchmarks/corenlp_cpu.py measures it.)

The CRF classifiers from Maven Central run in a Java process on a pipe
(``benchmarks/corenlp/CrfNer.java``: one prompt per line in, its entities with code-point
offsets out). The prompts are those of ``douane bench pii --third-party`` (same corpora,
same seed, 200 per corpus, built by ``third_party.prompts``) and the scoring is its own
(``pii.evaluate``: policy minimum score, overlaps resolved by score, 80 % coverage). For
each corpus, three detections are scored:

- ``douane``: the current detector (languages en,es, language detected, as the bench does);
- ``crf``: the CRF alone (its PERSON, LOCATION and ORGANIZATION spans, score 0.85);
- ``union``: douane's findings plus the CRF's PERSON spans at score 0.84 (just below the
  lexicon's 0.85, as the Ukrainian tier does), selected together - what a second tier that
  reads every prompt would give.

Figures of the Java process, read from ``/proc/<pid>``: start-up (spawn to classifier
loaded, wall and CPU), CPU per prompt with the JVM warm (every thread of the process: JIT and
GC included; two warm-up passes over the language's prompts first, then the best of
``--repeat`` passes), peak resident memory.

The jars are never committed (GPL v3+, 700 MB); fetch them into the cache first, checking
the sha256 printed by this script's skip message::

    B=https://repo1.maven.org/maven2/edu/stanford/nlp/stanford-corenlp/4.5.10
    mkdir -p $DOUANE_CACHE/corenlp && cd $DOUANE_CACHE/corenlp
    for f in stanford-corenlp-4.5.10.jar stanford-corenlp-4.5.10-models.jar \\
             stanford-corenlp-4.5.10-models-spanish.jar; do curl -fsSO $B/$f; done

then, from the repository root (needs ``javac``/``java`` 17 and ``douane bench
fetch-corpora``)::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/corenlp_tier.py [--languages en,es]
        [--count 200] [--heap 1g]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from streams.core.model import Finding
    from streams.devtools.bench.pii_data import LabelledPrompt
    from streams.devtools.bench.third_party import Corpus

VERSION = "4.5.10"
MAIN_JAR = f"stanford-corenlp-{VERSION}.jar"
# sha256 of the files as served by Maven Central on 2026-11-30 (their .sha1 files agreed)
SHA256 = {
    MAIN_JAR: "f813ce4ed7319d79225f2a520d40733075c6b3500dd0b81ee069229e461aab43",
    f"stanford-corenlp-{VERSION}-models.jar":
        "a5da9f6feb35a0fd2ea2cbe8909bede3952965b238a68c833ae3e031ed9026a0",
    f"stanford-corenlp-{VERSION}-models-spanish.jar":
        "d7472daa295293ee42c85ca3e9c10fc0868b6c6b100e800458a81a179c725a6a",
}
# language -> (models jar, classifier inside it): the ones CoreNLP's own pipelines use
CLASSIFIERS = {
    "en": (f"stanford-corenlp-{VERSION}-models.jar",
           "edu/stanford/nlp/models/ner/english.all.3class.distsim.crf.ser.gz"),
    "es": (f"stanford-corenlp-{VERSION}-models-spanish.jar",
           "edu/stanford/nlp/models/ner/spanish.ancora.distsim.s512.crf.ser.gz"),
}
SOURCE = Path(__file__).with_name("corenlp") / "CrfNer.java"
CRF_SCORE = 0.85
TIER_SCORE = 0.84
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", default="en,es")
    parser.add_argument("--count", type=int, default=200, help="prompts per corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="passes over a corpus for the CPU figure (the best is kept)")
    parser.add_argument("--heap", default="1g", help="the JVM's -Xmx")
    parser.add_argument("--no-douane", action="store_true",
                        help="score the CRF alone (no union; faster)")
    args = parser.parse_args()

    from streams.devtools.kafka_broker import cache_root

    home = cache_root() / "corenlp"
    languages = [lang for lang in args.languages.split(",") if lang]
    missing = [name for name in [MAIN_JAR, *(CLASSIFIERS[lang][0] for lang in languages)]
               if not (home / name).exists()]
    if missing:
        print(f"corenlp_tier: skipped, not in {home}: {', '.join(missing)}\n"
              f"  fetch them from https://repo1.maven.org/maven2/edu/stanford/nlp/"
              f"stanford-corenlp/{VERSION}/ (see this script's docstring); sha256:")
        for name in missing:
            print(f"  {SHA256[name]}  {name}")
        return 0
    _check_digests(home, [MAIN_JAR, *(CLASSIFIERS[lang][0] for lang in languages)])
    classes = _compile(home)

    from streams.devtools.bench import third_party

    root = third_party.cache_dir()
    corpora = [c for c in third_party.CORPORA
               if c.language in languages and c.form == "conll"]
    try:
        prompts = {c: third_party.prompts(root, c, args.count, args.seed) for c in corpora}
    except third_party.CorpusMissing as error:
        print(f"corenlp_tier: skipped: {error}")
        return 0
    print(f"third-party corpora from {root} (files digest {third_party.fingerprint(root)}), "
          f"{args.count} prompts per corpus, seed {args.seed}; load average "
          f"{os.getloadavg()[0]:.1f}")

    douane = None if args.no_douane else _douane(languages)
    for language in languages:
        chosen = [c for c in corpora if c.language == language]
        classifier = _extract(home, *CLASSIFIERS[language])
        with CrfProcess(home / MAIN_JAR, classes, classifier, args.heap) as crf:
            print(f"\n== {language}: {classifier.name} ({classifier.stat().st_size / 1e6:.1f} MB), "
                  f"-Xmx{args.heap}: start-up {crf.startup_s:.2f} s wall, "
                  f"{crf.startup_cpu_s:.2f} s CPU ==")
            for _ in range(2):  # JIT warm-up; its CPU is not counted below
                crf.entities([p.text for c in chosen for p in prompts[c][0]])
            for corpus in chosen:
                _corpus_tables(corpus, *prompts[corpus], crf, douane, args.repeat)
            print(f"java process: peak resident {crf.peak_rss_mb():.0f} MB, "
                  f"now {crf.rss_mb():.0f} MB")
    return 0


# ----------------------------------------------------------------------------- the Java side


def _check_digests(home: Path, names: Sequence[str]) -> None:
    for name in dict.fromkeys(names):
        digest = hashlib.sha256()
        with (home / name).open("rb") as jar:
            for block in iter(lambda: jar.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != SHA256[name]:
            raise SystemExit(f"corenlp_tier: {home / name}: sha256 {digest.hexdigest()}, "
                             f"expected {SHA256[name]} (a partial or different download)")


def _compile(home: Path) -> Path:
    classes = home / "classes"
    compiled = classes / "CrfNer.class"
    if not compiled.exists() or compiled.stat().st_mtime < SOURCE.stat().st_mtime:
        classes.mkdir(exist_ok=True)
        subprocess.run(["javac", "-cp", str(home / MAIN_JAR), "-d", str(classes),
                        str(SOURCE)], check=True)
    return classes


def _extract(home: Path, jar: str, member: str) -> Path:
    """Only the classifier is needed, not the 470 MB of the models jar."""
    target = home / "ner" / Path(member).name
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(home / jar) as models:
            partial.write_bytes(models.read(member))
        partial.replace(target)
    return target


@dataclass(frozen=True)
class CrfEntity:
    label: str
    start: int
    end: int


class CrfProcess:
    """``CrfNer`` in a JVM of its own, one line per prompt each way."""

    def __init__(self, main_jar: Path, classes: Path, classifier: Path, heap: str) -> None:
        started = time.perf_counter()
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._process = subprocess.Popen(
            ["java", f"-Xmx{heap}", "-XX:+UseSerialGC", "-cp", f"{main_jar}:{classes}",
             "CrfNer", str(classifier)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
            text=True, encoding="utf-8")
        ready = self._stdout.readline()
        if ready.strip() != "ready":
            self._process.kill()
            self._errors.seek(0)
            lines = self._errors.read().decode(errors="replace").strip().splitlines()
            cause = [line for line in lines if not line.startswith("\tat ")][-2:]
            raise SystemExit(f"corenlp_tier: CrfNer did not start on {classifier} with "
                             f"-Xmx{heap}: " + " / ".join(cause))
        self.startup_s = time.perf_counter() - started
        self.startup_cpu_s = self.cpu_s()
        self.cpu_total_s = 0.0
        self.prompts_total = 0

    @property
    def _stdout(self) -> IO[str]:
        assert self._process.stdout is not None
        return self._process.stdout

    def entities(self, texts: Sequence[str]) -> list[list[CrfEntity]]:
        assert self._process.stdin is not None
        out = []
        for text in texts:
            if "\n" in text or "\r" in text:
                raise ValueError("CrfNer reads one prompt per line: a prompt holds a line break")
            self._process.stdin.write(text + "\n")
            self._process.stdin.flush()
            fields = [f.split(" ") for f in self._stdout.readline().rstrip("\n").split("\t") if f]
            out.append([CrfEntity(label, int(start), int(end)) for label, start, end in fields])
        return out

    def cpu_s(self) -> float:
        """User and system CPU of every thread of the JVM so far."""
        stat = Path(f"/proc/{self._process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def _status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def peak_rss_mb(self) -> float:
        return self._status_kb("VmHWM") / 1024

    def rss_mb(self) -> float:
        return self._status_kb("VmRSS") / 1024

    def __enter__(self) -> CrfProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)
        self._errors.close()


# ----------------------------------------------------------------------------- scoring


Detect = Callable[[list["LabelledPrompt"]], list[list["Finding"]]]


def _douane(languages: Sequence[str]) -> Detect:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.config import load_settings
    from streams.core.model import ChatMessage, DetectionRequest
    from streams.devtools.bench.pii import ALWAYS_DETECTED

    entities = {"PERSON", "LOCATION", "ORGANIZATION", *ALWAYS_DETECTED}
    detector = PresidioDetector(languages, entities=entities,
                                phone_regions=load_settings().phone_regions)

    def detect(batch: list[LabelledPrompt]) -> list[list[Finding]]:
        detections = detector.detect_batch(
            [DetectionRequest((ChatMessage("user", p.text),), None) for p in batch])
        return [list(d.findings) for d in detections]

    return detect


def _crf_findings(entities: list[CrfEntity], labels: set[str], score: float) -> list[Finding]:
    from streams.core.model import Finding

    return [Finding(0, e.label, e.start, e.end, score, "corenlp-crf")
            for e in entities if e.label in labels]


def _corpus_tables(corpus: Corpus, labelled: list[LabelledPrompt], free: list[LabelledPrompt],
                   crf: CrfProcess, douane: Detect | None, repeat: int) -> None:
    from streams.devtools.bench.pii import _over_redaction, _print_scores, evaluate

    texts = [p.text for p in labelled]
    cpu, wall = float("inf"), float("inf")
    for _ in range(repeat):
        cpu_before, wall_before = crf.cpu_s(), time.perf_counter()
        found = dict(zip(texts, crf.entities(texts), strict=True))
        cpu = min(cpu, crf.cpu_s() - cpu_before)
        wall = min(wall, time.perf_counter() - wall_before)
    found.update(zip([p.text for p in free], crf.entities([p.text for p in free]), strict=True))
    words = sum(p.words for p in labelled)
    print(f"\n-- {corpus.key} ({corpus.role}, {len(labelled)} prompts, {words} words)"
          f"\nCRF on every prompt: {_speed(cpu, wall, len(texts))}")

    def crf_alone(batch: list[LabelledPrompt]) -> list[list[Finding]]:
        labels = {"PERSON", "LOCATION", "ORGANIZATION"}
        return [_crf_findings(found[p.text], labels, CRF_SCORE) for p in batch]

    rows: list[tuple[str, Detect]] = [("crf", crf_alone)]
    if douane is not None:
        cpu_before, wall_before = time.thread_time(), time.perf_counter()
        own = _run(douane, labelled)
        cpu, wall = time.thread_time() - cpu_before, time.perf_counter() - wall_before
        print(f"douane's detection (this thread, language detected): "
              f"{_speed(cpu, wall, len(labelled), pipe=False)}")
        own.update(_run(douane, free))
        unsure, read, total, cpu, wall = _where_unsure(crf, labelled, own)
        print(f"CRF on the unsure sentences only (a capitalised word, not the first, that no "
              f"douane finding covers): {read} of {total} sentences ({read / total:.0%}); "
              f"{_speed(cpu, wall, len(labelled))}")
        unsure.update(_where_unsure(crf, free, own)[0])

        def first(batch: list[LabelledPrompt]) -> list[list[Finding]]:
            return [own[p.text] for p in batch]

        def union(batch: list[LabelledPrompt]) -> list[list[Finding]]:
            return [own[p.text] + _crf_findings(found[p.text], {"PERSON"}, TIER_SCORE)
                    for p in batch]

        def tier(batch: list[LabelledPrompt]) -> list[list[Finding]]:
            return [own[p.text] + _crf_findings(unsure[p.text], {"PERSON"}, TIER_SCORE)
                    for p in batch]

        rows = [("douane", first), *rows, ("union", union), ("unsure", tier)]
    types = {s.entity_type for p in labelled for s in p.spans}
    print(f"{'detection':9} {'language':8} {'entity':14} {'n':>5} {'precision':>9} "
          f"{'recall':>7} {'F2':>6} {'leaked':>6}")
    for name, detect in rows:
        scores = evaluate(detect, labelled, 0.5, types)
        for line in _captured(functools.partial(_print_scores, corpus.language, scores)):
            print(f"{name:9} {line}")
        print(f"{name:9} " + _over_redaction(detect, free, 0.5).split("\n")[0].strip())


def _speed(cpu: float, wall: float, prompts: int, pipe: bool = True) -> str:
    return (f"{1000 * cpu / prompts:.2f} ms CPU per prompt "
            f"({prompts / cpu if cpu else float('inf'):.0f} prompts per CPU-second), "
            f"{prompts / wall:.0f} prompts/s wall" + (" on one pipe" if pipe else ""))


def _run(detect: Detect, prompts: list[LabelledPrompt]) -> dict[str, list[Finding]]:
    from streams.devtools.bench.pii import BATCH

    out: dict[str, list[Finding]] = {}
    for start in range(0, len(prompts), BATCH):
        chunk = prompts[start : start + BATCH]
        out.update(zip([p.text for p in chunk], detect(chunk), strict=True))
    return out


def _where_unsure(crf: CrfProcess, prompts: list[LabelledPrompt],
                  own: dict[str, list[Finding]]
                  ) -> tuple[dict[str, list[CrfEntity]], int, int, float, float]:
    """The CRF's entities when it reads only the sentences the first pass is unsure of (the
    rule of the Ukrainian tier, with every douane finding of score >= 0.5 as cover), offsets
    in the prompt; then sentences read, sentences, CPU and wall seconds of the CRF."""
    from streams.adapters.recognizers.slovnet_ner import SENTENCE, _unsure

    pieces: list[tuple[str, int, int]] = []
    total = 0
    for prompt in prompts:
        covered = [(f.start, f.end) for f in own[prompt.text] if f.score >= 0.5]
        for sentence in SENTENCE.finditer(prompt.text):
            total += 1
            if _unsure(prompt.text, sentence.start(), sentence.end(), covered):
                pieces.append((prompt.text, sentence.start(), sentence.end()))
    cpu_before, wall_before = crf.cpu_s(), time.perf_counter()
    read = crf.entities([text[start:end] for text, start, end in pieces])
    cpu, wall = crf.cpu_s() - cpu_before, time.perf_counter() - wall_before
    out: dict[str, list[CrfEntity]] = {p.text: [] for p in prompts}
    for (text, offset, _), entities in zip(pieces, read, strict=True):
        out[text].extend(CrfEntity(e.label, offset + e.start, offset + e.end) for e in entities)
    return out, len(pieces), total, cpu, wall


def _captured(call: Callable[[], None]) -> list[str]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        call()
    return buffer.getvalue().splitlines()


if __name__ == "__main__":
    sys.exit(main())
