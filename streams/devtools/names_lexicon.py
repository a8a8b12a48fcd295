"""Build the given-name and surname lexicon of ``recognizers/given_names.py`` from the
``names-dataset`` package (MIT licence; first and last names with their rank in each of 105
countries) and ``wordfreq`` (word frequencies, to mark names that are also common words).

Run by a maintainer when the lexicon should change, not at install time (``names-dataset``
needs 3.2 GB of memory to load)::

    .venv/bin/pip install names-dataset==3.3.1 wordfreq==3.1.1
    .venv/bin/python -m streams.devtools.names_lexicon

What is kept: names written in Latin script that rank among the ``MAX_RANK`` most frequent of
at least one country, with the highest word frequency (Zipf scale) the lowercased name has in
English, French or Spanish text - "will" or "paris" are words first, "yusuf" is not. Only
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
OUTPUT = Path(__file__).resolve().parents[1] / "adapters" / "recognizers" / "data"


def _load(kind: str) -> dict[str, Any]:
    package = resources.files("names_dataset") / "v3" / f"{kind}_names.pkl.gz"
    with gzip.open(str(package)) as handle:
        names: dict[str, Any] = pickle.load(handle)
    return names


def build(kind: str, max_rank: int) -> list[tuple[str, float]]:
    from wordfreq import zipf_frequency

    kept = []
    for name, facts in _load(kind).items():
        ranks = facts.get("rank") or {}
        if not ranks or min(ranks.values()) > max_rank:
            continue
        if not (LATIN_NAME.fullmatch(name) and LATIN_SCRIPT.fullmatch(name)):
            continue
        word = max(zipf_frequency(name.casefold(), lang) for lang in LANGUAGES)
        kept.append((name, round(word, 1)))
    return sorted(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-rank", type=int, default=MAX_RANK)
    args = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for kind, file in (("first", "given_names.tsv.gz"), ("last", "surnames.tsv.gz")):
        rows = build(kind, args.max_rank)
        # mtime=0: the same lexicon gives the same bytes
        with gzip.GzipFile(OUTPUT / file, "wb", mtime=0) as out:
            out.write("".join(f"{name}\t{word}\n" for name, word in rows).encode())
        print(f"{file}: {len(rows)} names")


if __name__ == "__main__":
    main()
