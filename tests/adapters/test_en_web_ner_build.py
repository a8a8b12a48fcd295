"""``douane models build en-web-ner`` on a few sentences written here (two epochs, seconds):
the manifest it writes, the loader that checks it, the tier in the detector; and the pinned
training files refused when their bytes differ."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from streams.adapters.recognizers.en_web_ner import (
    BUILD_COMMAND,
    EnWebNerUnavailableError,
    check_model,
    load_model,
)
from streams.devtools import train_ner
from streams.devtools.bench.pii_data import Span
from streams.devtools.bench.third_party import Sentence


def _sentence(text: str, *spans: tuple[str, str]) -> Sentence:
    return Sentence(text, tuple(Span(entity, text.index(words), text.index(words) + len(words))
                                for entity, words in spans), bool(spans))


# a few sentences written for this test, repeated: enough for spaCy to train on, not to learn
FIXTURE = [
    _sentence("Thanks Maria Lopez for the ride", ("PERSON", "Maria Lopez")),
    _sentence("met jaxon at the Apple store in Paris", ("PERSON", "jaxon"),
              ("ORGANIZATION", "Apple"), ("LOCATION", "Paris")),
    _sentence("Excuse me Sir , where is the station ?"),
    _sentence("God bless Kenya and Omar Haidari", ("LOCATION", "Kenya"),
              ("PERSON", "Omar Haidari")),
] * 5


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("build") / "en-web-ner"
    lines: list[str] = []
    train_ner.build(model, FIXTURE, train_ner.SOURCES, seed=3, max_epochs=2,
                    progress=lines.append)
    # the progress: one line per epoch with the kept-back PERSON F, then the summary
    assert [line.split(":")[0] for line in lines[1:3]] == ["epoch   1", "epoch   2"]
    assert "kept-back PERSON F" in lines[1]
    return model


def test_the_manifest_names_sources_seed_versions_and_every_weight_file(built: Path) -> None:
    import spacy

    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    weights = sorted(p.relative_to(built).as_posix()
                     for p in (built / "weights").rglob("*") if p.is_file())
    assert sorted(manifest["files"]) == weights
    assert "weights/ner/model" in weights and "weights/tok2vec/model" in weights
    # only the trained weights: no vocabulary, no copy of en_core_web_md's vectors
    assert not (built / "weights" / "vocab").exists()
    assert sum((built / w).stat().st_size for w in weights) < 10_000_000
    assert (manifest["seed"], manifest["epochs_run"], manifest["spacy"]) == (
        3, 2, spacy.__version__)
    assert {s["repo"] for s in manifest["sources"]} == {
        "davidsbatista/NER-datasets", "GateNLP/broad_twitter_corpus"}
    assert all(len(s["commit"]) == 40 and len(s["sha256"]) == 64
               for s in manifest["sources"])
    assert "WNUT" in manifest["attribution"] and "Broad Twitter Corpus" in manifest["attribution"]
    assert manifest["vectors"].startswith("en_core_web_md-")


def test_the_loader_accepts_the_build_and_finds_with_it(built: Path) -> None:
    assert check_model(built)["name"] == "en-web-ner"
    nlp = load_model(built)
    assert nlp.pipe_names == ["tok2vec", "ner"]
    assert {"PERSON", "LOC", "ORG"} <= set(nlp.get_pipe("ner").labels)
    # md's static vectors are there, read from the installed package
    assert nlp.vocab.vectors.shape[0] == 20_000
    list(nlp.pipe(["Thanks Maria Lopez for the ride"]))


def test_an_altered_weight_file_is_refused_naming_it_and_the_command(
        built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(built, copy)
    with (copy / "weights" / "ner" / "model").open("ab") as weights:
        weights.write(b"\0")
    with pytest.raises(EnWebNerUnavailableError) as refused:
        load_model(copy)
    assert "weights/ner/model altered" in str(refused.value)
    assert BUILD_COMMAND in str(refused.value)


def test_a_missing_or_extra_file_is_refused(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(built, copy)
    (copy / "weights" / "tok2vec" / "model").unlink()
    (copy / "weights" / "extra.bin").write_bytes(b"x")
    with pytest.raises(EnWebNerUnavailableError,
                       match=r"weights/tok2vec/model missing; weights/extra.bin not in the "):
        check_model(copy)


def test_no_model_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(EnWebNerUnavailableError,
                       match=rf"no model is in .*: run `{BUILD_COMMAND}`"):
        check_model(tmp_path / "nothing")


def test_two_builds_with_the_same_seed_give_the_same_weights(
        built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    train_ner.build(again, FIXTURE, train_ner.SOURCES, seed=3, max_epochs=2,
                    progress=lambda _: None)
    first = json.loads((built / "manifest.json").read_text(encoding="utf-8"))["files"]
    second = json.loads((again / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert first == second


def test_the_detector_runs_the_tier_over_md_s_vocabulary(built: Path) -> None:
    from streams.adapters.presidio_detector import PresidioDetector
    from streams.config import NerTiers
    from streams.core.model import ChatMessage

    detector = PresidioDetector(["en"], ner_tiers=NerTiers(
        en_web="trained-candidates", en_web_dir=built))
    assert detector.method("en") == "ner+patterns+web-ner"
    assert detector._web_ner.nlp.vocab is detector._nlp["en"].vocab
    detector.detect([ChatMessage("user", "Thanks Maria Lopez for the ride")], "en")
    # both models, over one vocabulary, forget the words of what they read
    strings = detector._nlp["en"].vocab.strings
    size = len(strings)
    detector.detect([ChatMessage("user", "Thanks Qwelbrix Ontavuro for the ride")], "en")
    assert "Qwelbrix" not in strings and len(strings) == size
    with pytest.raises(EnWebNerUnavailableError, match=BUILD_COMMAND):
        PresidioDetector(["en"], ner_tiers=NerTiers(en_web="trained",
                                                    en_web_dir=built.parent / "none"))


# ----------------------------------------------------------------------------- training data


def test_a_training_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    mirrors = tmp_path / "mirrors"
    git_dir = mirrors / "example+corpus" / "repo"
    work = tmp_path / "work"
    work.mkdir()
    (work / "train.conll").write_text("Maria\tB-PER\n", encoding="utf-8")
    for command in (["init", "-q"], ["add", "train.conll"],
                    ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
                     "-m", "corpus"]):
        subprocess.run(["git", "-C", str(work), *command], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(git_dir)], check=True)
    commit = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    pinned = train_ner.SourceFile(
        "example/corpus", commit, "train.conll",
        "6a4b4ae4bb4b7b18b3a7a0e2fbf9e0d8ee8d7d7c30a7e1bb2d8a40d3ca0cfb44", "CC BY 4.0")
    with pytest.raises(train_ner.BuildError, match=r"train\.conll is not the pinned file"):
        train_ner.fetch_sources(tmp_path / "root", mirrors, [pinned])
    assert not list((tmp_path / "root").rglob("*.conll"))
    right = train_ner.SourceFile(pinned.repo, commit, pinned.path, hashlib.sha256(
        b"Maria\tB-PER\n").hexdigest(), pinned.licence)
    (path,) = train_ner.fetch_sources(tmp_path / "root", mirrors, [right])
    (sentence,) = train_ner.read_sentences([path])
    assert sentence.text == "Maria" and sentence.spans == (Span("PERSON", 0, 5),)
