"""CPU of the cuts of branch ``givenspeed`` in the given-name and street-address recognizers,
each measured on and off in one process, interleaved pass by pass (separate runs on the shared
machine move by more than these save). "Off" puts back what ran before the cut (every scan
run; the whole text scanned), so each cut is measured alone, the others on.

The labelled prompts of the third-party dev corpora (seed 1, as ``detection_cpu.py
--third-party``), the memos of a batch forgotten every ``--batch`` prompts as the detector
does; ``--rounds`` rounds (a first one to warm up, not counted), the order of on and off
swapped each round; the median and range of the rounds, µs of CPU per prompt, under the
guard of a detection process (``--guard timer``, the default) or a timeout per search.
Findings are compared on and off (they must be equal). ``--all`` also times each recognizer
with all its cuts on against all off.

    DOUANE_CACHE=/work/main/.cache PYTHONPATH=$PWD .venv/bin/python \\
        benchmarks/given_street_cuts_cpu.py [--corpora KEYS] [--rounds 7] [--batch 4] [--all]
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import Any

from _timing import cut_on_off

DEFAULT_CORPORA = "en/conll2003-test,en/presidio-synth-v2,fr/wikiann-test,es/conll2002-test"


def always(*_: Any) -> bool:
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=DEFAULT_CORPORA)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--guard", choices=("timeout", "timer"), default="timer")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()

    # as the detection process: the detector's module first (numpy's threads set before)
    from streams.adapters import presidio_detector  # noqa: F401
    from streams.adapters.recognizers import base, given_names, street_address
    from streams.adapters.recognizers.batch_memos import forget
    from streams.devtools.bench import third_party as tp

    if args.guard == "timer":
        base.use_cpu_timer()
    # each cut: the module attributes it reads, and what they were before it
    cuts: dict[str, tuple[str, list[tuple[Any, str, Any]]]] = {
        "given names: surname last": ("given", [
            (given_names, "surname_last_starts", lambda text, timeout: []),
            (given_names, "matches_from", lambda pattern, text, starts, timeout: list(
                pattern.finditer(text, timeout=timeout)))]),
        "street: English types as sets": ("street", [(
            street_address.StreetAddressRecognizer, "_english_starts", _english_starts_before)]),
        "street: one-word suffixes": ("street", [(street_address, "holds_any", always)]),
        "street: type words at word runs": ("street", [(
            street_address.StreetAddressRecognizer, "_type_words",
            lambda self, text, start, end: street_address.within_cpu_limit(
                lambda timeout: list(street_address.STREET_TYPE_WORD.finditer(
                    text, start, end, timeout=timeout)), self.search_timeout_s))]),
    }
    cuts = {name: cut for name, cut in cuts.items()
            if all(hasattr(module, attribute) for module, attribute, _ in cut[1])}
    saved = {(id(m), a): getattr(m, a) for _, (_, c) in cuts.items() for m, a, _ in c}
    if args.all:  # each recognizer with every cut of it on and off
        for kind in ("given", "street"):
            cuts[f"{kind}: every cut"] = (kind, [c for _, (k, cs) in list(cuts.items())
                                                 if k == kind for c in cs])

    def switch(changes: list[tuple[Any, str, Any]], on: bool) -> None:
        for module, attribute, before in changes:
            setattr(module, attribute, saved[(id(module), attribute)] if on else before)

    print(f"cuts on and off, interleaved; batches of {args.batch}, {args.rounds} rounds, guard "
          f"{args.guard}, load average {os.getloadavg()[0]:.2f}", flush=True)
    for key in args.corpora.split(","):
        corpus = next(c for c in tp.CORPORA if c.key == key)
        texts = [p.text for p in tp.prompts(tp.cache_dir(), corpus, 96, 1)[0]]
        recognizers = {"given": [given_names.GivenNameRecognizer(corpus.language)],
                       "street": [street_address.StreetAddressRecognizer(corpus.language)]}
        recognizers["both"] = recognizers["given"] + recognizers["street"]
        for name, (kind, changes) in cuts.items():
            cut_on_off(key, name, functools.partial(switch, changes), recognizers[kind], texts,
                       args.batch, forget, args.rounds)


def _english_starts_before(self: Any, text: str) -> dict[str, list[int]]:
    """``StreetAddressRecognizer._english_starts`` before branch ``givenspeed``."""
    from streams.adapters.recognizers import street_address as sa

    by_kind: dict[str, set[int]] = {"strong": set(), "weak": set()}
    for word in sa.find_all(sa.CAPITALISED_AFTER_SPACE, text, self.search_timeout_s):
        letters = word.group()
        plural = letters[:-1] if letters.endswith("s") else ""
        kinds = [kind for kind, types in (("strong", sa.EN_STRONG_SET), ("weak", sa.EN_WEAK_SET))
                 if letters in types or plural in types]
        if not kinds:
            continue
        at = word.start()
        before = self._runs_before(text, at)
        low = before.start() if before is not None else 0
        found = {match.start() for match in self._starts_between(text, low, at)}
        for kind in kinds:
            by_kind[kind].update(found)
    return {"strong": sorted(by_kind["strong"]), "weak": sorted(by_kind["weak"]),
            "any": sorted(by_kind["strong"] | by_kind["weak"])}


if __name__ == "__main__":
    main()
