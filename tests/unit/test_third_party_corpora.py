"""The third-party corpus readers of ``douane bench pii --third-party``, on small files written
here (the real corpora are fetched into the cache, never committed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from streams.devtools.bench import third_party
from streams.devtools.bench.third_party import Corpus, CorpusMissing


def _corpus(form: str, files: tuple[str, ...], brat_dir: str = "") -> Corpus:
    return Corpus("tiny", "en", "dev", "test data", "someone/corpus", "0" * 40, files, form,
                  brat_dir=brat_dir)


def _write(root: Path, corpus: Corpus, path: str, text: str) -> None:
    target = third_party.corpus_dir(root, corpus) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def test_conll_tokens_become_text_with_character_spans(tmp_path: Path) -> None:
    corpus = _corpus("conll", ("test.conllu",))
    _write(tmp_path, corpus, "test.conllu", (
        "0\t-DOCSTART-\tO\n\n"
        "0\tYusuf\tB-PER\n1\tCosta\tI-PER\n2\tmet\tO\n3\tJamal\tB-PER\n4\tO'Connor\tI-PER\n"
        "5\tin\tO\n6\tLyon\tB-LOC\n7\t(\tO\n8\tFrance\tB-LOC\n9\t)\tO\n10\t,\tO\n"
        "11\tsaid\tO\n12\tthe\tO\n13\tEU\tB-ORG\n14\t.\tO\n\n"
        "0\tThe\tO\n1\tGerman\tB-MISC\n2\tteam\tO\n3\twon\tO\n4\t.\tO\n\n"
        "0\tNothing\tO\n1\there\tO\n2\t.\tO\n"))
    first, misc_only, plain = third_party.sentences(tmp_path, corpus)
    assert first.text == "Yusuf Costa met Jamal O'Connor in Lyon (France), said the EU."
    assert [(first.text[s.start:s.end], s.entity_type) for s in first.spans] == [
        ("Yusuf Costa", "PERSON"), ("Jamal O'Connor", "PERSON"), ("Lyon", "LOCATION"),
        ("France", "LOCATION"), ("EU", "ORGANIZATION")]
    # MISC is not scored, but the sentence is not entity-free either
    assert misc_only.spans == () and misc_only.labelled
    assert plain.spans == () and not plain.labelled


def test_two_adjacent_names_stay_two_spans(tmp_path: Path) -> None:
    corpus = _corpus("conll", ("t",))
    _write(tmp_path, corpus, "t", "fr:Marie\tB-PER\nfr:Curie\tI-PER\nfr:Pierre\tB-PER\n")
    (sentence,) = third_party.sentences(tmp_path, corpus)
    assert sentence.text == "Marie Curie Pierre"  # WikiANN's "fr:" prefix is removed
    assert [sentence.text[s.start:s.end] for s in sentence.spans] == ["Marie Curie", "Pierre"]


def test_wnut17_labels_are_scored_and_its_other_kinds_are_not(tmp_path: Path) -> None:
    corpus = _corpus("conll", ("t",))
    _write(tmp_path, corpus, "t", (
        "so\tO\nkarina\tB-person\nrojo\tI-person\nfrom\tO\nNetflix\tB-corporation\n"
        "in\tO\nAustin\tB-location\nplayed\tO\nHalo\tB-product\n"))
    (sentence,) = third_party.sentences(tmp_path, corpus)
    assert [(sentence.text[s.start:s.end], s.entity_type) for s in sentence.spans] == [
        ("karina rojo", "PERSON"), ("Netflix", "ORGANIZATION"), ("Austin", "LOCATION")]


def test_a_line_without_a_tag_is_named_and_a_byte_order_mark_is_a_blank_line(
        tmp_path: Path) -> None:
    corpus = _corpus("conll", ("t",))
    _write(tmp_path, corpus, "t", "Ann\tB-person\n\ufeff\nhi\tO\n")
    assert [s.text for s in third_party.sentences(tmp_path, corpus)] == ["Ann", "hi"]
    _write(tmp_path, corpus, "t", "Ann\tB-person\nhi\n")
    with pytest.raises(ValueError, match=r"t:2: not a token<TAB>tag line"):
        third_party.sentences(tmp_path, corpus)


def test_brat_documents_are_cut_at_line_breaks(tmp_path: Path) -> None:
    corpus = _corpus("brat", ("split.txt",), brat_dir="docs")
    _write(tmp_path, corpus, "split.txt", "DEV\nabc\nTEST\nmissing\n")
    _write(tmp_path, corpus, "docs/abc.txt", "Олена Коваленко живе у Львові .\nІнший рядок .\n")
    _write(tmp_path, corpus, "docs/abc.ann",
           "T1\tPERS 0 15\tОлена Коваленко\nT2\tLOC\t23\t29\tЛьвові\nT3\tJOB 33 38\tІнший\n")
    first, second = third_party.sentences(tmp_path, corpus)
    assert [(first.text[s.start:s.end], s.entity_type) for s in first.spans] == [
        ("Олена Коваленко", "PERSON"), ("Львові", "LOCATION")]
    assert second.spans == () and second.labelled  # JOB: labelled, not scored


def test_presidio_records_keep_scored_labels_only(tmp_path: Path) -> None:
    corpus = _corpus("presidio-json", ("synth.json",))
    text = "Billing address: Ana Lima\n 28 Puruntie 82 Apt. 595\n OULU 53650"
    _write(tmp_path, corpus, "synth.json", json.dumps([
        {"full_text": text, "spans": [
            {"entity_type": "STREET_ADDRESS", "start_position": 27, "end_position": 41},
            {"entity_type": "PERSON", "start_position": 17, "end_position": 25},
            {"entity_type": "ZIP_CODE", "start_position": 57, "end_position": 62},
            {"entity_type": "GPE", "start_position": 52, "end_position": 56}]},
        {"full_text": "Here's my SSN: 460-89-9847", "spans": [
            {"entity_type": "US_SSN", "start_position": 15, "end_position": 26}]},
        {"full_text": "What are my options?", "spans": []}]))
    address, ssn, plain = third_party.sentences(tmp_path, corpus)
    assert [(address.text[s.start:s.end], s.entity_type) for s in address.spans] == [
        ("Ana Lima", "PERSON"), ("28 Puruntie 82", "STREET_ADDRESS"), ("OULU", "LOCATION")]
    assert ssn.spans == () and ssn.labelled  # labelled with a type not scored
    assert plain.spans == () and not plain.labelled


def test_prompts_keep_spans_on_the_right_characters(tmp_path: Path) -> None:
    corpus = _corpus("conll", ("t",))
    lines = []
    for i in range(60):
        lines.append(f"0\tAnna{i}\tB-PER\n1\tworks\tO\n2\there\tO\n3\t.\tO\n\n")
        lines.append("0\tIt\tO\n1\trains\tO\n2\t.\tO\n\n")
    _write(tmp_path, corpus, "t", "".join(lines))
    labelled, free = third_party.prompts(tmp_path, corpus, count=5, seed=3)
    assert len(labelled) == 5 and free
    for prompt in labelled:
        assert prompt.spans
        assert all(prompt.text[s.start:s.end].startswith("Anna") for s in prompt.spans)
    assert all(p.spans == () and "Anna" not in p.text for p in free)


def test_separate_posts_are_joined_by_line_breaks_and_spans_stay_on_their_words(
        tmp_path: Path) -> None:
    from dataclasses import replace

    corpus = replace(_corpus("conll", ("t",)), separator="\n")
    lines = [f"lol\tO\nAnna{i}\tB-person\nrocks\tO\n\n" for i in range(80)]
    _write(tmp_path, corpus, "t", "".join(lines))
    labelled, _ = third_party.prompts(tmp_path, corpus, count=3, seed=1)
    for prompt in labelled:
        assert " lol" not in prompt.text and "\nlol Anna" in prompt.text
        assert all(prompt.text[s.start:s.end].startswith("Anna") for s in prompt.spans)


def test_a_missing_corpus_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(CorpusMissing, match="douane bench fetch-corpora"):
        third_party.sentences(tmp_path, third_party.CORPORA[0])


def test_fetch_from_a_local_git_mirror_reads_the_pinned_commit(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    work = tmp_path / "work"
    work.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    (work / "data.conllu").write_text("0\tAda\tB-PER\n", encoding="utf-8")
    git("add", "data.conllu")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "one")
    commit = git("rev-parse", "HEAD")
    (work / "data.conllu").write_text("0\tchanged\tO\n", encoding="utf-8")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "two")
    mirrors = tmp_path / "mirrors"
    (mirrors / "someone+corpus").mkdir(parents=True)
    (mirrors / "someone+corpus" / "repo").symlink_to(work / ".git")
    corpus = Corpus("tiny", "en", "dev", "test", "someone/corpus", commit, ("data.conllu",),
                    "conll")
    monkeypatch.setattr(third_party, "CORPORA", (corpus,))
    root = tmp_path / "cache"
    third_party.fetch(root, mirrors, log=False)
    (sentence,) = third_party.sentences(root, corpus)
    assert sentence.text == "Ada"  # the pinned commit, not the newest one
