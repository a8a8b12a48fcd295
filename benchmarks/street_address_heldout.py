"""Street addresses nobody here wrote nor tuned on, found by ``STREET_ADDRESS`` (branch addr3p).

Two public labelled sources, fetched at pinned commits (never committed here):
- datamade/usaddress ``training/labeled.xml`` (MIT): 1,513 United States addresses labelled
  part by part (house number, street, flat, town, state, ZIP);
- openvenues/libpostal ``test/test_parser.c`` (MIT): the parser's test cases, addresses of
  many countries with their labelled road and house number; the country is the test's name
  (``test_es_parses``...).

Each address is put, as it is, in neutral carrier sentences written before the first run and
never changed after it (``CARRIERS``); an address counts as found when the recognizer's
findings at or above 0.5 cover at least 80 % of its characters (as ``douane bench pii``
scores): for usaddress the whole address string, for libpostal the stretch from the road to
the house number (the street; a town alone is no one's address). The recognizer runs alone,
for the language of the carrier (en; fr and es carriers for the French and Spanish tests)::

    PYTHONPATH=. .venv/bin/python benchmarks/street_address_heldout.py [--mirrors DIR]

(``--mirrors DIR`` reads ``DIR/<owner>+<name>/repo`` with git instead of downloading.)
"""

from __future__ import annotations

import argparse
import collections
import html
import re
import subprocess
import urllib.request
from pathlib import Path

from streams.adapters.recognizers import build_recognizers

USADDRESS = ("datamade/usaddress", "aa7699b53a0843fc443f9e87285b88cbd9eaf50a",
             "training/labeled.xml")
LIBPOSTAL = ("openvenues/libpostal", "4c030d8ff2fcf59c26510f68823c28a2346034d4",
             "test/test_parser.c")
CARRIERS = {
    "en": ("Please send the documents to {a} before Friday.",
           "Dear team,\n{a}\nBest regards"),
    "fr": ("Merci d'envoyer le dossier au {a} avant vendredi.",
           "Madame, Monsieur,\n{a}\nCordialement"),
    "es": ("Por favor, envíe los documentos a {a} antes del viernes.",
           "Estimados señores:\n{a}\nAtentamente"),
}
LANGUAGE_OF_TEST = {"fr": "fr", "es": "es", "mx": "es", "co": "es", "ar": "es", "cl": "es"}
COVERAGE = 0.8


def read(source: tuple[str, str, str], mirrors: Path | None) -> str:
    repo, commit, path = source
    if mirrors is not None:
        git_dir = mirrors / repo.replace("/", "+") / "repo"
        return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
                              check=True, capture_output=True, text=True).stdout
    url = f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return str(response.read().decode("utf-8"))


def usaddress_cases(xml: str) -> list[tuple[str, str]]:
    """(country, address) for every labelled address that holds a house number and a street."""
    cases = []
    for body in re.findall(r"<AddressString>(.*?)</AddressString>", xml, re.S):
        if "<AddressNumber>" not in body or "<StreetName>" not in body:
            continue
        text = html.unescape(re.sub(r"<[^>]+>", "", body)).strip()
        cases.append(("us", text))
    return cases


def libpostal_cases(source: str) -> list[tuple[str, str, str]]:
    """(country, input, street) for every parser test with a road and a house number."""
    cases = []
    for test, body in re.findall(r"TEST test_(\w+?)_parses\(void\) \{(.*?)\n\}", source, re.S):
        for call in re.findall(r"test_parse_result_equals\((.*?)\)\);", body, re.S):
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', call)
            if not strings:
                continue
            text = strings[0].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
            parts = dict(re.findall(r'\{"(\w+)", "((?:[^"\\]|\\.)*)"\}', call))
            if "road" not in parts or "house_number" not in parts:
                continue
            street = street_span(text, parts["road"], parts["house_number"])
            if street:
                cases.append((test, text, street))
    return cases


def street_span(text: str, road: str, number: str) -> str:
    """The stretch of ``text`` from the road to its house number, whichever comes first."""
    lower = text.casefold()
    spans = []
    for part in (road, number):
        at = lower.find(part.encode().decode("unicode_escape").encode("latin-1")
                        .decode("utf-8").casefold())
        if at < 0:
            return ""
        spans.append((at, at + len(part)))
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    return text[start:end]


def covered(language: str, carrier: str, address: str, target: str) -> bool:
    text = carrier.format(a=address)
    offset = text.index(address) + address.index(target)
    (recognizer,) = build_recognizers(language, ["STREET_ADDRESS"])
    chars: set[int] = set()
    for result in recognizer.analyze(text, None):
        if result.score >= 0.5:
            chars.update(range(result.start, result.end))
    inside = sum(1 for i in range(offset, offset + len(target)) if i in chars)
    return inside >= COVERAGE * len(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path)
    args = parser.parse_args()
    rows: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
    for country, address in usaddress_cases(read(USADDRESS, args.mirrors)):
        for number, carrier in enumerate(CARRIERS["en"]):
            row = rows[(f"usaddress {country}", f"en carrier {number + 1}")]
            row[0] += covered("en", carrier, address, address)
            row[1] += 1
    for country, address, street in libpostal_cases(read(LIBPOSTAL, args.mirrors)):
        language = LANGUAGE_OF_TEST.get(country, "en")
        for number, carrier in enumerate(CARRIERS[language]):
            row = rows[(f"libpostal {country}", f"{language} carrier {number + 1}")]
            row[0] += covered(language, carrier, address, street)
            row[1] += 1
    print(f"{'set':24} {'carrier':14} {'found':>6} {'of':>5} {'recall':>7}")
    for (name, carrier), (found, total) in sorted(rows.items()):
        print(f"{name:24} {carrier:14} {found:>6} {total:>5} {found / total:>7.3f}")


if __name__ == "__main__":
    main()
