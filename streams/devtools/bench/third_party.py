"""Detection measured on labelled corpora nobody on this project wrote (``douane bench pii
--third-party``).

The corpora are public named-entity corpora, fetched at a pinned commit into the cache
(``$DOUANE_CACHE/third-party`` or ``.cache/third-party``) by ``douane bench fetch-corpora``;
none of them is committed (their licences - CC BY-NC-SA, Reuters and EFE research terms - do
not allow it, and keeping them out of the repository keeps them out of tuning by accident).

Each language has two corpora: a *dev* corpus, which detection work may look at, and a
*held-out* corpus, which nobody tunes against (its table is printed separately). Sentences
are joined in their original order into prompts of 50-300 words, like the generated
prompts, and scored the same way (``pii.score``): persons, places and organisations as
labelled (``PER``/``PERS`` -> ``PERSON``, ``LOC`` -> ``LOCATION``, ``ORG`` ->
``ORGANIZATION``; ``MISC`` and the corpus's other labels are not scored). Sentences carrying
no label at all are joined into entity-free prompts, to measure over-redaction: the share of
those prompts where a name is reported, and names reported per 1,000 words.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streams.devtools.bench.pii_data import LabelledPrompt, Span
from streams.errors import DouaneError

LABELS = {"PER": "PERSON", "PERS": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION",
          # WNUT-17's own labels (its group, product and creative-work are not scored)
          "person": "PERSON", "location": "LOCATION", "corporation": "ORGANIZATION"}
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Corpus:
    name: str
    language: str
    role: str  # "dev" (may be looked at while improving detection) or "heldout" (never)
    licence: str
    repo: str  # owner/name on GitHub
    commit: str
    files: tuple[str, ...]  # conll: the file(s); brat: the split file listing document ids
    # "conll" (token<TAB>tag, optional leading index column), "brat", or "presidio-json"
    # (presidio-research's generated records: full_text and character spans)
    form: str
    brat_dir: str = ""  # brat: the folder holding <id>.txt / <id>.ann
    brat_section: str = ""  # brat: which section of the split file ("DEV" / "TEST"), or all
    # between two sentences of a prompt: a space for the sentences of one text; a line break
    # for separate posts (a comment with no final punctuation would otherwise run into the next)
    separator: str = " "

    @property
    def key(self) -> str:
        return f"{self.language}/{self.name}"


WIKINEURAL = ("Babelscape/wikineural", "d2e28c770cba2b285e742529ae18ed849e336c65")
NER_DATASETS = ("davidsbatista/NER-datasets", "db7ff3ca4ba1df39907f8bdc036a556fed5ecde7")
NER_UK = ("lang-uk/ner-uk", "7772b45807453854883a8e6d23e4d145014a1a42")
PRESIDIO_RESEARCH = ("microsoft/presidio-research", "7622dec1e5f7d25dc60b57c28c39f4c4af197018")
# presidio-research's labels; the others (DATE_TIME, TITLE, NRP, ZIP_CODE...) are not scored
PRESIDIO_LABELS = {"PERSON": "PERSON", "STREET_ADDRESS": "STREET_ADDRESS", "GPE": "LOCATION",
                   "PHONE_NUMBER": "PHONE_NUMBER",
                   "ORGANIZATION": "ORGANIZATION"}
CC_BY_NC_SA = "CC BY-NC-SA 4.0"
WNUT17_LICENCE = "CC BY 4.0 (WNUT 2017 shared task on emerging and rare entities)"

CORPORA = (
    # English: CoNLL-2003 (Reuters news, 1996-97) as converted by the WikiNEuRal authors
    Corpus("conll2003-test", "en", "dev",
           "Reuters Corpus (RCV1) research agreement; annotations CoNLL-2003, research use",
           *WIKINEURAL, ("data/conll/en/test.conllu",), "conll"),
    Corpus("wikineural-test", "en", "heldout", CC_BY_NC_SA,
           *WIKINEURAL, ("data/wikineural/en/test.conllu",), "conll"),
    # French: WikiANN / PAN-X (Wikipedia fragments, silver labels) and WikiNEuRal
    Corpus("wikiann-test", "fr", "dev",
           "WikiANN (Pan et al. 2017): Wikipedia text (CC BY-SA), no licence stated for labels",
           *NER_DATASETS, ("WikiANN/fr/test",), "conll"),
    Corpus("wikineural-test", "fr", "heldout", CC_BY_NC_SA,
           *WIKINEURAL, ("data/wikineural/fr/test.conllu",), "conll"),
    # Spanish: CoNLL-2002 (EFE news agency, 2000) and WikiNEuRal
    Corpus("conll2002-test", "es", "dev",
           "EFE news agency texts, CoNLL-2002 terms: research use only",
           *WIKINEURAL, ("data/conll/es/test.conllu",), "conll"),
    Corpus("wikineural-test", "es", "heldout", CC_BY_NC_SA,
           *WIKINEURAL, ("data/wikineural/es/test.conllu",), "conll"),
    # Ukrainian: lang-uk's NER corpus, two different sources of text (BRUK, a balanced
    # corpus of fiction, law and press; and news from the "ng" collection)
    Corpus("ner-uk-bruk", "uk", "dev", CC_BY_NC_SA,
           *NER_UK, ("v2.0/data/dev-test-split.txt",), "brat", brat_dir="v2.0/data/bruk"),
    Corpus("ner-uk-ng", "uk", "heldout", CC_BY_NC_SA,
           *NER_UK, ("v2.0/data/dev-test-split.txt",), "brat", brat_dir="v2.0/data/ng"),
    # English informal web writing, the register of chat prompts: WNUT-17 (rare and emerging
    # names); its dev set (YouTube comments) may be looked at, its test set (Reddit, YouTube,
    # StackExchange) is a second held-out set
    Corpus("wnut17-dev", "en", "dev", WNUT17_LICENCE,
           *NER_DATASETS, ("WNUT17/emerging.dev.conll",), "conll", separator="\n"),
    Corpus("wnut17-test", "en", "heldout", WNUT17_LICENCE,
           *NER_DATASETS, ("WNUT17/emerging.test.annotated",), "conll", separator="\n"),
    # English street addresses (and names): Microsoft's presidio-research synthetic set,
    # Faker values of many countries in 200 templates; looked at while writing the address
    # recognizer, so a dev corpus
    Corpus("presidio-synth-v2", "en", "dev", "MIT (Microsoft presidio-research)",
           *PRESIDIO_RESEARCH, ("data/synth_dataset_v2.json",), "presidio-json"),
)


class CorpusMissing(DouaneError, RuntimeError):
    """A corpus is not in the cache: ``douane bench fetch-corpora`` brings it."""


def cache_dir() -> Path:
    from streams.devtools.kafka_broker import cache_root

    return cache_root() / "third-party"


def corpus_dir(root: Path, corpus: Corpus) -> Path:
    return root / corpus.repo.replace("/", "+") / corpus.commit


# ----------------------------------------------------------------------------------- fetching


def fetch(root: Path, mirrors: Path | None = None, log: bool = True) -> None:
    """Bring every corpus file into ``root``, from GitHub at the pinned commit, or from local
    git mirrors (``<mirrors>/<owner>+<name>/repo``, a bare git directory) when given - the
    same bytes either way, since a commit names its content."""
    for corpus in CORPORA:
        target = corpus_dir(root, corpus)
        paths = list(corpus.files)
        for path in corpus.files:
            _fetch_file(corpus, path, target, mirrors)
        if corpus.form == "brat":
            for doc in _brat_ids(target / corpus.files[0], corpus.brat_section):
                for suffix in (".txt", ".ann"):
                    path = f"{corpus.brat_dir}/{doc}{suffix}"
                    if _fetch_file(corpus, path, target, mirrors, missing_ok=True):
                        paths.append(path)
        if log:
            print(f"{corpus.key:24} {corpus.role:8} {len(paths):>4} file(s) in {target}",
                  file=sys.stderr)


def _fetch_file(corpus: Corpus, path: str, target: Path, mirrors: Path | None,
                missing_ok: bool = False) -> bool:
    destination = target / path
    if destination.exists():
        return True
    data = _from_mirror(corpus, path, mirrors) if mirrors else _from_github(corpus, path)
    if data is None:
        if missing_ok:
            return False
        raise CorpusMissing(f"{corpus.repo}@{corpus.commit[:10]}: no file {path}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(destination)
    return True


def _from_mirror(corpus: Corpus, path: str, mirrors: Path) -> bytes | None:
    git_dir = mirrors / corpus.repo.replace("/", "+") / "repo"
    if not git_dir.exists():
        raise CorpusMissing(f"no git mirror of {corpus.repo} at {git_dir}")
    shown = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{corpus.commit}:{path}"],
                           capture_output=True, check=False)
    return shown.stdout if shown.returncode == 0 else None


def _from_github(corpus: Corpus, path: str) -> bytes | None:
    url = RAW_URL.format(repo=corpus.repo, commit=corpus.commit, path=path)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data: bytes = response.read()
            return data
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise CorpusMissing(f"{url}: HTTP {error.code}") from None
    except OSError as error:
        raise CorpusMissing(f"{url}: {error}") from None


def _brat_ids(split_file: Path, section: str) -> list[str]:
    ids, current = [], ""
    for line in split_file.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if not word:
            continue
        if word.isupper() and word.isalpha():
            current = word
        elif not section or current == section:
            ids.append(word)
    return ids


def fingerprint(root: Path) -> str:
    """A short digest of the corpus files as read, printed with the figures."""
    digest = hashlib.sha256()
    for corpus in CORPORA:
        for path in sorted(corpus_dir(root, corpus).rglob("*")):
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# ----------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Sentence:
    text: str
    spans: tuple[Span, ...]  # scored labels only
    labelled: bool  # any label at all, scored or not (MISC, DATE...)


def sentences(root: Path, corpus: Corpus) -> list[Sentence]:
    target = corpus_dir(root, corpus)
    if not (target / corpus.files[0]).exists():
        raise CorpusMissing(
            f"{corpus.key} is not in {root}: run `douane bench fetch-corpora` first")
    if corpus.form == "conll":
        return [s for path in corpus.files for s in _conll(target / path)]
    if corpus.form == "presidio-json":
        return [s for path in corpus.files for s in _presidio_json(target / path)]
    return list(_brat(target, corpus))


def _presidio_json(path: Path) -> Iterator[Sentence]:
    for record in json.loads(path.read_text(encoding="utf-8")):
        spans = tuple(Span(PRESIDIO_LABELS[s["entity_type"]], s["start_position"],
                           s["end_position"])
                      for s in record["spans"] if s["entity_type"] in PRESIDIO_LABELS)
        yield Sentence(record["full_text"], tuple(sorted(spans, key=lambda s: s.start)),
                       bool(record["spans"]))


def _conll(path: Path) -> Iterator[Sentence]:
    tokens: list[tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate([*lines, ""], start=1):
        line = line.replace("\ufeff", "")  # WNUT-17's dev set has a byte-order mark on a line
        columns = line.rstrip("\n").split("\t")
        if not line.strip():
            if tokens:
                yield _sentence_from_tokens(tokens)
            tokens = []
            continue
        if len(columns) < 2:
            raise ValueError(f"{path}:{number}: not a token<TAB>tag line")
        token, tag = columns[-2], columns[-1]
        if token == "-DOCSTART-":
            continue
        if ":" in token and token.split(":", 1)[0].isalpha() and len(token.split(":", 1)[0]) == 2:
            token = token.split(":", 1)[1]  # WikiANN writes "fr:token"
        tokens.append((token, tag))


NO_SPACE_BEFORE = frozenset(",.;:!?)]}%»") | {"'s", "n't", "'re", "'ve", "'ll", "'d", "'m"}
NO_SPACE_AFTER = frozenset("([{«¿¡")


def _sentence_from_tokens(tokens: list[tuple[str, str]]) -> Sentence:
    """Detokenise (no space before closing punctuation or after an elided article) and turn
    the IOB tags into character spans."""
    text = ""
    spans: list[Span] = []
    open_label, open_start, open_end = "", 0, 0
    labelled = False
    previous = ""
    for token, tag in tokens:
        glue = not text or token in NO_SPACE_BEFORE or previous in NO_SPACE_AFTER or (
            previous.endswith("'") and len(previous) > 1)
        start = len(text) + (0 if glue else 1)
        text += ("" if glue else " ") + token
        previous = token
        prefix, _, label = tag.partition("-")
        if tag != "O":
            labelled = True
        continues = prefix == "I" and label == open_label
        if open_label and not continues:
            if open_label in LABELS:
                spans.append(Span(LABELS[open_label], open_start, open_end))
            open_label = ""
        if tag != "O" and not continues:
            open_label, open_start = label, start
        if open_label:
            open_end = len(text)
    if open_label in LABELS:
        spans.append(Span(LABELS[open_label], open_start, open_end))
    return Sentence(text, tuple(spans), labelled)


def _brat(target: Path, corpus: Corpus) -> Iterator[Sentence]:
    """Each document cut at its line breaks; a labelled span never crosses one here."""
    for doc in _brat_ids(target / corpus.files[0], corpus.brat_section):
        text_path = target / corpus.brat_dir / f"{doc}.txt"
        if not text_path.exists():
            continue
        text = text_path.read_text(encoding="utf-8")
        labels: list[tuple[str, int, int]] = []
        annotations = target / corpus.brat_dir / f"{doc}.ann"
        for line in annotations.read_text(encoding="utf-8").splitlines():
            if not line.startswith("T"):
                continue
            fields = line.split("\t")
            # "T1<TAB>LOC 112 119<TAB>text" (brat) or "T1<TAB>LOC<TAB>112<TAB>119<TAB>text"
            label, *offsets = " ".join(fields[1:-1]).replace(";", " ").split() or [""]
            if len(offsets) < 2 or not offsets[0].isdigit() or not offsets[-1].isdigit():
                raise ValueError(f"{annotations}: not a brat text-bound annotation: {line!r}")
            labels.append((label, int(offsets[0]), int(offsets[-1])))
        position = 0
        for line in text.split("\n"):
            start, end = position, position + len(line)
            position = end + 1
            inside = [(lb, s, e) for lb, s, e in labels if start <= s and e <= end]
            if not line.strip():
                continue
            spans = tuple(Span(LABELS[lb], s - start, e - start)
                          for lb, s, e in inside if lb in LABELS)
            yield Sentence(line, spans, bool(inside))


# ----------------------------------------------------------------------------------- prompts


def prompts(root: Path, corpus: Corpus, count: int, seed: int
            ) -> tuple[list[LabelledPrompt], list[LabelledPrompt]]:
    """``count`` labelled prompts of 50-300 words (consecutive sentences from a random place in
    the corpus), and up to ``count`` entity-free prompts (consecutive sentences without any
    label)."""
    all_sentences = sentences(root, corpus)
    rng = random.Random(f"{corpus.key}/{seed}")
    labelled = _prompts(all_sentences, corpus.language, count, rng, corpus.separator)
    free = _prompts([s for s in all_sentences if not s.labelled], corpus.language, count, rng,
                    corpus.separator)
    return labelled, free


def _prompts(pool: list[Sentence], language: str, count: int, rng: random.Random,
             separator: str = " ") -> list[LabelledPrompt]:
    if not pool:
        return []
    out = []
    starts = sorted(rng.sample(range(len(pool)), min(count, len(pool))))
    for first in starts:
        target_words = rng.randint(50, 300)
        text, spans = "", list[Span]()
        i = first
        while len(text.split()) < target_words and i < len(pool):
            sentence = pool[i]
            offset = len(text) + (len(separator) if text else 0)
            text = f"{text}{separator}{sentence.text}" if text else sentence.text
            spans.extend(Span(s.entity_type, s.start + offset, s.end + offset)
                         for s in sentence.spans)
            i += 1
        out.append(LabelledPrompt(language, text, tuple(spans)))
    return out
