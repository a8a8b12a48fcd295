"""CoreNLP's CRF as the English and Spanish second tier (``DOUANE_EN_NER``,
``DOUANE_ES_NER``), with the real classifiers in a real JVM: what it adds, where its offsets
land (code points, with text outside the BMP), that a batch is one exchange, and that a dead or
hung sidecar fails the detection (the request is blocked) and is replaced.

The files are fetched from Maven Central into ``$DOUANE_CACHE/corenlp`` when absent (as the
Kafka jars are), sha256-checked: about 70 MB, ten seconds on a good line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.adapters.presidio_detector import DetectorError, PresidioDetector
from streams.adapters.recognizers.corenlp_ner import (
    CoreNlpSidecar,
    CoreNlpSidecarError,
    CoreNlpTier,
    CoreNlpUnavailableError,
    classifier_path,
    fetch,
    missing_files,
)
from streams.config import NerTiers, cache_root
from streams.core.model import ChatMessage, Detection

ENTITIES = {"PERSON", "LOCATION", "ORGANIZATION", "EMAIL_ADDRESS"}
# spaCy's English model misses this name; CoreNLP's CRF finds it (a CoNLL-2003 sentence's words)
MISSED = "After the match Galley suffered a concussion."


@pytest.fixture(scope="module")
def corenlp_dir() -> Path:
    home = cache_root() / "corenlp"
    if missing_files(home, ("en", "es")):
        fetch(home, ("en", "es"))
    return home


@pytest.fixture(scope="module")
def detectors(corenlp_dir: Path) -> Iterator[dict[str, PresidioDetector]]:
    built = {mode: PresidioDetector(("en", "es"), ENTITIES, ner_tiers=NerTiers(
                 en=mode, es=mode, corenlp_dir=corenlp_dir))
             for mode in ("off", "corenlp-unsure", "corenlp")}
    yield built
    for detector in built.values():
        detector.close()


def persons(detection: Detection, text: str) -> dict[str, str]:
    return {text[f.start:f.end]: f.recognizer for f in detection.findings
            if f.entity_type == "PERSON"}


def run(detector: PresidioDetector, text: str, language: str = "en") -> Detection:
    return detector.detect((ChatMessage("user", text),), language)


def test_the_tier_adds_a_name_the_fast_pass_missed(
        detectors: dict[str, PresidioDetector]) -> None:
    assert persons(run(detectors["off"], MISSED), MISSED) == {}
    for mode in ("corenlp-unsure", "corenlp"):
        detection = run(detectors[mode], MISSED)
        assert persons(detection, MISSED) == {"Galley": "corenlp:en"}
        assert detection.method == "ner+patterns+corenlp"
    assert run(detectors["off"], MISSED).method == "ner+patterns"


def test_unsure_mode_leaves_covered_sentences_to_the_fast_pass(
        detectors: dict[str, PresidioDetector]) -> None:
    text = "Please write to Maria Lopez about the invoice."
    sidecar = detectors["corenlp-unsure"]._corenlp.sidecar
    before = sidecar.exchanges
    assert "corenlp:en" not in persons(run(detectors["corenlp-unsure"], text), text).values()
    assert sidecar.exchanges == before  # nothing unsure: the JVM was not asked
    every = detectors["corenlp"]._corenlp.sidecar
    before = every.exchanges
    detection = run(detectors["corenlp"], text)
    assert every.exchanges == before + 1  # read anyway; its span and spaCy's are one finding
    # (at the default min_score: a possible name below it, "Maria", is another recognizer's)
    assert [text[f.start:f.end] for f in detection.findings
            if f.entity_type == "PERSON" and f.score >= 0.5] == ["Maria Lopez"]


def test_offsets_are_code_points_beyond_the_bmp(corenlp_dir: Path) -> None:
    tier = CoreNlpTier(corenlp_dir, {"en": "corenlp", "es": "corenlp-unsure"})
    try:
        english = "Thanks 😀🎉 so much, John Smith met 𝒜nna in Paris with Mary Jones."
        spanish = "Hola 👋🏽. Ayer 𝔄 vino con María García y José Pérez a Madrid."
        found = tier.find("en", [english], [[]])[0]
        assert {english[s:e] for _, s, e, _, _ in found} >= {"John Smith", "Mary Jones"}
        found = tier.find("es", ["sin nombres", spanish], [[], []])
        assert found[0] == []
        assert {spanish[s:e] for _, s, e, _, _ in found[1]} == {"María García", "José Pérez"}
        assert all(score == 0.84 and name == "corenlp:es" for *_, score, name in found[1])
    finally:
        tier.close()


def test_the_jvm_keeps_nothing_of_a_batch_once_it_is_answered(
        corenlp_dir: Path, tmp_path: Path) -> None:
    # What a heap dump of the sidecar shows once a batch is answered: the live objects (jmap
    # collects first) hold no word of it. Java's readers kept the last 8 KB read from stdin
    # (the last batch's texts) for the JVM's life; the sidecar reads into buffers it wipes.
    jmap = shutil.which("jmap")
    if jmap is None:
        pytest.skip("jmap (Java 17's JDK) is not on the PATH")
    sidecar = CoreNlpSidecar(corenlp_dir, ("en",))
    try:
        name = "".join(("Zor", "bavelt"))  # made up, assembled here: no literal holds it
        texts = [f"Please write to {name} Quimbrexa about her claim. {name} said so.",
                 f"Another letter from {name} Quimbrexa, sent twice."]
        assert all(sidecar.entities("en", texts))  # it was read
        dump = tmp_path / "sidecar.hprof"
        subprocess.run([jmap, f"-dump:live,format=b,file={dump}", str(sidecar.pid)],
                       check=True, capture_output=True)
        heap = dump.read_bytes()
        # the control: a string the JVM keeps for its life (the classifier's file name, an
        # argument) is seen, as Latin-1 (Java's compact strings) or UTF-16
        def held(word: str) -> list[str]:
            return [encoding for encoding in ("latin-1", "utf-16-be", "utf-16-le")
                    if word.encode(encoding) in heap]

        assert held(classifier_path(corenlp_dir, "en").name) != []
        assert held(name) == []
        assert held("Quimbrexa") == []
    finally:
        sidecar.close()


def test_a_batch_of_texts_is_one_exchange(detectors: dict[str, PresidioDetector]) -> None:
    detector = detectors["corenlp-unsure"]
    sidecar = detector._corenlp.sidecar
    from streams.core.model import DetectionRequest

    texts = [MISSED, "Later that day Galley left.\nAnd Smithers too.", "no names here"]
    before = sidecar.exchanges
    detections = detector.detect_batch(
        [DetectionRequest((ChatMessage("user", t),), "en") for t in texts])
    assert sidecar.exchanges == before + 1
    assert persons(detections[0], texts[0]) == {"Galley": "corenlp:en"}
    assert persons(detections[2], texts[2]) == {}


def test_a_sidecar_dying_under_a_detection_blocks_it_then_is_replaced(
        detectors: dict[str, PresidioDetector], monkeypatch: pytest.MonkeyPatch) -> None:
    detector = detectors["corenlp"]
    sidecar = detector._corenlp.sidecar
    first = sidecar.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    # the death not noticed yet when the call starts: the call itself meets the dead pipe
    monkeypatch.setattr(sidecar, "alive", lambda: True)
    with pytest.raises(DetectorError):
        run(detector, MISSED)
    monkeypatch.undo()
    detection = run(detector, MISSED)  # the next detection starts a new JVM
    assert persons(detection, MISSED) == {"Galley": "corenlp:en"}
    assert sidecar.pid != first


def test_a_hung_sidecar_is_killed_and_the_call_fails(corenlp_dir: Path) -> None:
    sidecar = CoreNlpSidecar(corenlp_dir, ("en",), call_timeout_s=1.0)
    try:
        assert sidecar.pid is not None
        os.kill(sidecar.pid, signal.SIGSTOP)  # alive, silent
        with pytest.raises(CoreNlpSidecarError):
            sidecar.entities("en", [MISSED])
        assert not sidecar.alive()
        assert [e.label for e in sidecar.entities("en", [MISSED])[0]] == ["PERSON"]
        assert sidecar.starts == 2
    finally:
        sidecar.close()


def test_a_tier_on_without_its_files_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(CoreNlpUnavailableError, match=r"DOUANE_ES_NER is on .*`douane models "
                                                      r"fetch corenlp`"):
        PresidioDetector(("es",), {"PERSON"}, ner_tiers=NerTiers(es="corenlp-unsure",
                                                                 corenlp_dir=tmp_path))
    # off, or no PERSON asked for: nothing needed
    PresidioDetector(("es",), {"EMAIL_ADDRESS"}, ner_tiers=NerTiers(es="corenlp",
                                                                    corenlp_dir=tmp_path))


def test_a_detection_process_with_the_tier_on_and_no_files_names_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's detection processes read the setting (spawned: they inherit the
    environment) and refuse to start: the worker stops with the setting and the command."""
    from streams.runtime.batched_detection import DetectionProcessDied, ProcessBatches

    monkeypatch.setenv("DOUANE_EN_NER", "corenlp-unsure")
    monkeypatch.setenv("DOUANE_CORENLP_DIR", str(tmp_path))
    processes = ProcessBatches(1, ("en",), frozenset({"PERSON"}), ("FR",))
    try:
        with pytest.raises(DetectionProcessDied,
                           match=r"DOUANE_EN_NER is on .*`douane models fetch corenlp`"):
            processes.wait_until_loaded()
    finally:
        processes.close()
