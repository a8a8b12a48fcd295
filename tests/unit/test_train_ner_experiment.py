"""benchmarks/train_ner_experiment.py: WNUT-17's CoNLL lines become spaCy training documents
with the right entities (nothing is trained here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

# written for this test, in WNUT-17's form: token<TAB>tag, a line with a lone tab between
# sentences
CONLL = """\
Saw\tO
Jenna\tB-person
Marbles\tI-person
at\tO
Empire\tB-location
State\tI-location
Building\tI-location
,\tO
she\tO
's\tO
with\tO
Google\tB-corporation
now\tO
\t
new\tO
iPhone\tB-product
by\tO
the\tO
Beatles\tB-group
lol\tO
\t
"""


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "train_ner_experiment", ROOT / "benchmarks" / "train_ner_experiment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wnut_lines_become_docs_with_person_loc_org_only(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from streams.devtools.bench import third_party

    experiment = _module()
    corpus = experiment.train_corpus()
    target = third_party.corpus_dir(tmp_path, corpus) / experiment.TRAIN_FILE
    target.parent.mkdir(parents=True)
    target.write_text(CONLL, encoding="utf-8")

    sentences = third_party.sentences(tmp_path, corpus)
    vocab = Vocab()
    # through bytes, as the training reads it back from disk
    docs = list(DocBin().from_bytes(
        experiment.to_docbin(sentences, vocab).to_bytes()).get_docs(vocab))

    assert [d.text for d in docs] == [
        "Saw Jenna Marbles at Empire State Building, she's with Google now",
        "new iPhone by the Beatles lol"]
    assert [(e.text, e.label_) for e in docs[0].ents] == [
        ("Jenna Marbles", "PERSON"), ("Empire State Building", "LOC"), ("Google", "ORG")]
    # product and group are not scored by the bench, so not learnt either
    assert list(docs[1].ents) == []
    # the words outside entities are explicitly "O" (not missing), so the model learns them
    assert all(t.ent_iob_ in {"B", "I", "O"} for d in docs for t in d)
