"""CPU microseconds per prompt of branch ``frpersons``'s French person rules alone
(``recognizers/fr_persons.py``: the cues of a person, a person at the edge of a longer place),
and of the given-name pass with ``NAME_RUN`` as the branch writes it (a name in quotation
marks) against main's pattern, on the French dev corpus's prompts (docs/benchmarks.md, "French
persons on WikiANN").

The whole detection stage's CPU per prompt moves by more between runs on a shared machine than
these rules cost; this times the rules alone with ``time.thread_time``, best of ``--repeat``
passes, over the findings the detector made of each prompt (computed once beforehand, not
timed); the given-name pass with either pattern, alternately, round by round.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \
        benchmarks/fr_persons_cpu.py [--corpora fr/wikiann-test] [--repeat 5]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import regex
from _timing import best

from streams.adapters.presidio_detector import PresidioDetector
from streams.adapters.recognizers import given_names
from streams.adapters.recognizers.fr_persons import french_persons, persons_in_places
from streams.core.model import ChatMessage, DetectionRequest, Finding
from streams.devtools.bench import third_party

# main's pattern before this branch (no name after or before a quotation mark)
MAIN_NAME_RUN = regex.compile(
    rf"(?<![\w'’-]){given_names.NAME_WORD}(?:[ \u00a0](?:(?:{'|'.join(given_names.PARTICLES)})"  # noqa: RUF001
    rf"[ \u00a0]){{0,2}}{given_names.NAME_WORD}){{1,4}}(?![\w'’-])")  # noqa: RUF001


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="fr/wikiann-test")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = third_party.cache_dir()
    keys = args.corpora.split(",")
    detector = PresidioDetector(["fr"])
    recognizer = given_names.GivenNameRecognizer("fr")
    branch_name_run = given_names.NAME_RUN
    for corpus in [c for c in third_party.CORPORA if c.key in keys]:
        labelled, free = third_party.prompts(root, corpus, args.count, 1)
        texts = [p.text for p in (*labelled, *free)]
        found: list[list[Finding]] = [
            list(d.findings) for d in detector.detect_batch(
                [DetectionRequest((ChatMessage("user", t),), "fr") for t in texts])]
        n = len(texts)

        def timed(rule: Callable[[str, list[Finding]], object],
                  texts: list[str] = texts, found: list[list[Finding]] = found) -> float:
            return best(args.repeat, lambda: [rule(t, f) for t, f in zip(texts, found,
                                                                         strict=True)])

        cues = timed(lambda t, f: french_persons([t], f, "fr"))
        places = timed(lambda t, f: persons_in_places([t], f, "fr"))
        passes: dict[str, list[float]] = {"main": [], "branch": []}
        for round_ in range(args.repeat):
            for name in (("main", "branch") if round_ % 2 == 0 else ("branch", "main")):
                given_names.NAME_RUN = MAIN_NAME_RUN if name == "main" else branch_name_run
                passes[name].append(best(1, lambda texts=texts: [  # type: ignore[misc]
                    recognizer.analyze(t, None) for t in texts]))
        given_names.NAME_RUN = branch_name_run
        words = sum(len(t.split()) for t in texts) / n
        print(f"{corpus.key:24} {n} prompts, {words:.0f} words: µs CPU per prompt, best of "
              f"{args.repeat}: cues {cues / n * 1e6:.1f}, persons in places "
              f"{places / n * 1e6:.1f}; the two {(cues + places) / n * 1e6:.1f}; given-name "
              f"pass main {min(passes['main']) / n * 1e6:.0f} / branch "
              f"{min(passes['branch']) / n * 1e6:.0f} (best of {args.repeat}, alternating)")


if __name__ == "__main__":
    main()
