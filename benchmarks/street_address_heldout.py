"""Street addresses nobody here wrote, found by ``STREET_ADDRESS`` (branches addr3p, addrus).

Public labelled sources, fetched at pinned commits (never committed here):
- datamade/usaddress ``training/labeled.xml`` (MIT): 1,513 United States addresses labelled
  part by part (house number, street, flat, town, state, ZIP). Held-out on branch addr3p,
  a **dev set** since branch addrus (its misses were read and grouped there): ``--dev``;
- openvenues/libpostal ``test/test_parser.c`` (MIT): the parser's test cases, addresses of
  many countries with their labelled road and house number; the country is the test's name
  (``test_es_parses``...). Held-out;
- held-out from branch addrus on (chosen, and this code and its carriers written, before any
  change of the recognizer; run once at the end):
  - usaddress ``measure_performance/test_data/us50_test_tagged.xml`` (Sunita Sarawagi, IIT
    Bombay, 2004, a permissive licence in usaddress's ``raw/LICENSE.md``): United States
    business addresses as web pages write them, without those also in ``labeled.xml``;
  - pelias/parser ``test/address.<country>.test.js`` (MIT): the parser's test cases for
    France, Spain, the United States, Britain, Australia and New Zealand, with their
    labelled street and house number (the French and Spanish rows are the only French
    third-party addresses found on GitHub under a licence that allows this, and few).

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
US50 = ("datamade/usaddress", "aa7699b53a0843fc443f9e87285b88cbd9eaf50a",
        "measure_performance/test_data/us50_test_tagged.xml")
PELIAS_COMMIT = "b4494c2a979dd16683c7604258131a55cdf8668a"
PELIAS_LANGUAGE = {"fra": "fr", "esp": "es", "usa": "en", "gbr": "en", "aus": "en",
                   "nzd": "en"}
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


def pelias_cases(source: str) -> list[tuple[str, str]]:
    """(input, street) for every pelias parser test with a street and a house number."""
    cases = []
    for text, body in re.findall(r"assert\('((?:[^'\\]|\\.)*)',\s*\[(.*?)\]\s*(?:,\s*\w+\s*)?\)",
                                 source, re.S):
        parts = dict(re.findall(r"(\w+): '((?:[^'\\]|\\.)*)'", body))
        if "street" not in parts or "housenumber" not in parts:
            continue
        text = text.replace("\\'", "'")
        street = street_span(text, parts["street"].replace("\\'", "'"),
                             parts["housenumber"])
        if street:
            cases.append((text, street))
    return sorted(set(cases))


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
    parser.add_argument("--dev", action="store_true",
                        help="usaddress's labeled.xml only (a dev set since branch addrus)")
    args = parser.parse_args()
    rows: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
    dev = usaddress_cases(read(USADDRESS, args.mirrors))
    if args.dev:
        for country, address in dev:
            for number, carrier in enumerate(CARRIERS["en"]):
                row = rows[(f"usaddress {country} (dev)", f"en carrier {number + 1}")]
                row[0] += covered("en", carrier, address, address)
                row[1] += 1
        report(rows)
        return
    seen = {address for _, address in dev}
    us50 = sorted({a for _, a in usaddress_cases(read(US50, args.mirrors))} - seen)
    for address in us50:
        for number, carrier in enumerate(CARRIERS["en"]):
            row = rows[("us50 us", f"en carrier {number + 1}")]
            row[0] += covered("en", carrier, address, address)
            row[1] += 1
    for country, language in PELIAS_LANGUAGE.items():
        source = ("pelias/parser", PELIAS_COMMIT, f"test/address.{country}.test.js")
        for address, street in pelias_cases(read(source, args.mirrors)):
            for number, carrier in enumerate(CARRIERS[language]):
                row = rows[(f"pelias {country}", f"{language} carrier {number + 1}")]
                row[0] += covered(language, carrier, address, street)
                row[1] += 1
    for country, address, street in libpostal_cases(read(LIBPOSTAL, args.mirrors)):
        language = LANGUAGE_OF_TEST.get(country, "en")
        for number, carrier in enumerate(CARRIERS[language]):
            row = rows[(f"libpostal {country}", f"{language} carrier {number + 1}")]
            row[0] += covered(language, carrier, address, street)
            row[1] += 1
    report(rows)


def report(rows: dict[tuple[str, str], list[int]]) -> None:
    print(f"{'set':24} {'carrier':14} {'found':>6} {'of':>5} {'recall':>7}")
    for (name, carrier), (found, total) in sorted(rows.items()):
        print(f"{name:24} {carrier:14} {found:>6} {total:>5} {found / total:>7.3f}")


if __name__ == "__main__":
    main()
