"""What the phone recognizer reports on text nobody here wrote, split into numbers a range
allocates and numbers none does: the false positives the "unallocated numbers" rules could add.

Runs the phone recognizer alone (English context words) on every sentence of each third-party
corpus of ``douane bench pii --third-party`` (``douane bench fetch-corpora`` brings them), and
counts per corpus the findings libphonenumber holds as valid and the others. The corpora label
no phone numbers (except presidio-research, which ``douane bench pii`` scores), so every
unallocated finding is to be read by a person: a real number the corpus did not label, or a
false positive. ``--show`` prints them with the words around them (third-party text, from the
cache; nothing of it is written anywhere).

    PYTHONPATH=. .venv/bin/python benchmarks/phone_findings.py [--show] [--corpus KEY ...]
"""

from __future__ import annotations

import argparse
import sys

from streams.adapters.recognizers.phone import DouanePhoneRecognizer
from streams.devtools.bench import third_party


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", action="store_true",
                        help="print each unallocated finding with 40 characters around it")
    parser.add_argument("--corpus", action="append", default=[],
                        help="a corpus key (repeatable; default: every corpus)")
    args = parser.parse_args()
    corpora = [c for c in third_party.CORPORA if not args.corpus or c.key in args.corpus]
    unknown = set(args.corpus) - {c.key for c in third_party.CORPORA}
    if unknown:
        print(f"unknown corpus {sorted(unknown)}; known: "
              f"{', '.join(c.key for c in third_party.CORPORA)}", file=sys.stderr)
        return 2
    root = third_party.cache_dir()
    recognizer = DouanePhoneRecognizer("en")
    print(f"{'corpus':<28} {'sentences':>9} {'words':>8} {'valid':>6} {'unallocated':>11}")
    for corpus in corpora:
        try:
            corpus_sentences = third_party.sentences(root, corpus)
        except third_party.CorpusMissing as missing:
            print(missing, file=sys.stderr)
            return 1
        valid = unallocated = words = 0
        for sentence in corpus_sentences:
            words += len(sentence.text.split())
            for found in recognizer.analyze(sentence.text):
                span = sentence.text[found.start:found.end]
                if recognizer.validate(span):
                    valid += 1
                    continue
                unallocated += 1
                if args.show:
                    around = sentence.text[max(0, found.start - 40):found.end + 20]
                    print(f"  {corpus.key}: {span!r} in {around!r}")
        print(f"{corpus.key:<28} {len(corpus_sentences):>9} {words:>8} {valid:>6} "
              f"{unallocated:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
