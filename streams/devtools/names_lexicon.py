"""Build the given-name and surname lexicon of ``recognizers/given_names.py`` from the
``names-dataset`` package (MIT licence; first and last names with their rank in each of 105
countries) and ``wordfreq`` (word frequencies, to mark names that are also common words).

Run by a maintainer when the lexicon should change, not at install time (``names-dataset``
needs 3.2 GB of memory to load)::

    .venv/bin/pip install names-dataset==3.3.1 wordfreq==3.1.1
    .venv/bin/python -m streams.devtools.names_lexicon

It also builds the list of common words (``data/common_words.tsv.gz``): every word that is at
least as common as ``COMMON_WORD_MIN_ZIPF`` in English, French or Spanish text. A capitalised
word outside it and outside the name lexicon is unknown to the language ("Bunlerngsri",
"Chumachenko") and read as a name (``given_names.unknown_word``). wordfreq's data is under
CC BY-SA 4.0, and so is this list derived from it (words only, no frequency). Only that list,
without names-dataset: ``python -m streams.devtools.names_lexicon --common-words-only``.

What is kept: names written in Latin script that rank among the ``MAX_RANK`` most frequent of
at least one country, with the highest word frequency (Zipf scale) the lowercased name has in
English, French or Spanish text - "will" or "paris" are words first, "yusuf" is not - then its
frequency in each of the three ("han" is a word in Spanish, not in English). Only the
frequencies, for the names already packaged: ``--frequencies-only``. Only
names, never a person: no name is linked to anyone or to a country in the file. names-dataset
says its v3 lists were extracted from the 2021 dump of 533 million Facebook accounts: see
docs/detection.md on what that means for a deployment.
"""

from __future__ import annotations

import argparse
import gzip
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import regex

MAX_RANK = 1000
LANGUAGES = ("en", "fr", "es")
LATIN_NAME = regex.compile(r"\p{Lu}(?:['’]\p{Lu})?[\p{Ll}\p{M}]+(?:[-'’]\p{Lu}?[\p{Ll}\p{M}]+)*")
LATIN_SCRIPT = regex.compile(r"[\p{Latin}\p{M}'’-]+")
# Zipf 2 is once per 10 million words: chat words ("tbh", "thx", "dunno") and rare words are
# above it; names no dictionary holds ("Kiburi", "Teetat", "Edhitha") are below
COMMON_WORD_MIN_ZIPF = 2.0
WORD = regex.compile(r"\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*")
OUTPUT = Path(__file__).resolve().parents[1] / "adapters" / "recognizers" / "data"


def _load(kind: str) -> dict[str, Any]:
    package = resources.files("names_dataset") / "v3" / f"{kind}_names.pkl.gz"
    with gzip.open(str(package)) as handle:
        names: dict[str, Any] = pickle.load(handle)
    return names


def build(kind: str, max_rank: int) -> list[tuple[Any, ...]]:
    kept = []
    for name, facts in _load(kind).items():
        ranks = facts.get("rank") or {}
        if not ranks or min(ranks.values()) > max_rank:
            continue
        if not (LATIN_NAME.fullmatch(name) and LATIN_SCRIPT.fullmatch(name)):
            continue
        kept.append((name, *frequencies(name)))
    return sorted(kept)


def frequencies(name: str) -> tuple[float, ...]:
    """How common ``name`` is as a word: the highest of English, French and Spanish, then in
    each of them (Zipf, one decimal)."""
    from wordfreq import zipf_frequency

    each = [round(zipf_frequency(name.casefold(), lang), 1) for lang in LANGUAGES]
    return (max(each), *each)


def refreshed(file: str) -> list[tuple[Any, ...]]:
    """The names of a packaged lexicon file with their frequencies computed again (no
    names-dataset needed)."""
    with gzip.open(OUTPUT / file, "rt", encoding="utf-8") as lines:
        names = [line.partition("\t")[0] for line in lines if line.strip()]
    return sorted((name, *frequencies(name)) for name in names)


def common_words(min_zipf: float = COMMON_WORD_MIN_ZIPF) -> list[str]:
    """The words (lower case, letters only) at least ``min_zipf`` common in en, fr or es."""
    from wordfreq import iter_wordlist, zipf_frequency

    words: set[str] = set()
    for language in LANGUAGES:
        for word in iter_wordlist(language, "large"):  # most common first
            if zipf_frequency(word, language) < min_zipf:
                break
            if WORD.fullmatch(word):
                words.add(word)
    return sorted(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-rank", type=int, default=MAX_RANK)
    parser.add_argument("--common-words-only", action="store_true",
                        help="rebuild only the list of common words (no names-dataset)")
    parser.add_argument("--frequencies-only", action="store_true",
                        help="recompute only the word frequencies of the names already in the "
                             "packaged lexicon (no names-dataset)")
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    if args.frequencies_only:
        for file in ("given_names.tsv.gz", "surnames.tsv.gz"):
            _write(file, refreshed(file))
        return
    words = common_words()
    with gzip.GzipFile(OUTPUT / "common_words.tsv.gz", "wb", mtime=0) as out:
        out.write("".join(f"{word}\n" for word in words).encode())
    print(f"common_words.tsv.gz: {len(words)} words")
    if args.common_words_only:
        return
    for kind, file in (("first", "given_names.tsv.gz"), ("last", "surnames.tsv.gz")):
        _write(file, build(kind, args.max_rank))


def _write(file: str, rows: list[tuple[Any, ...]]) -> None:
    """One name a line: the name, its highest frequency as a word, then in en, fr, es."""
    # mtime=0: the same lexicon gives the same bytes
    with gzip.GzipFile(OUTPUT / file, "wb", mtime=0) as out:
        out.write("".join("\t".join(map(str, row)) + "\n" for row in rows).encode())
    print(f"{file}: {len(rows)} names")


if __name__ == "__main__":
    main()
