"""Build ``recognizers/street_types_world.py``: the street-type words of the countries whose
addresses the English, French and Spanish lexicons of ``street_address.py`` do not know
("Via dei Fiorentini 17", "ul. Chrzanowska 61", "Rákóczi út 13.", "Puruntie 82").

Source: libpostal's per-language dictionaries (github.com/openvenues/libpostal, MIT licence,
``resources/dictionaries/<language>/street_types.txt`` and
``concatenated_suffixes_{separable,inseparable}.txt``), read from a local clone. Run by a
maintainer when the lexicon should change, not at install time::

    git clone https://github.com/openvenues/libpostal /tmp/libpostal
    .venv/bin/python -m streams.devtools.street_types_lexicon /tmp/libpostal [--commit SHA]

What is kept, and why:
- separate words (a type written apart from the name, before it or after it): the word
  itself from four letters, its other forms from five; shorter forms only as abbreviations
  written with a dot ("ul.", "al."); single letters never (initials, "p. 12"), except
  Hungarian "u." (utca), the usual writing there, and the few short words of ``KEPT_SHORT``;
- suffixes (a type written as the end of one word: "Søndergade", "Puruntie"): the concatenated
  suffixes of each language, and the street types of the languages that write them as one
  word (Germanic, Nordic, Finnic), of four letters or more (and ``KEPT_SHORT_SUFFIXES``);
- country names in English, French and Spanish (the last line of an international address,
  "Suite 343\n Pärnu\n Estonia"), from the region names of the ``phonenumbers`` package
  (Apache-2.0; ``phonenumbers.geodata.locale``), installed with douane;
- left out: the languages the hand-made lexicons cover (en, fr, es), multi-word types,
  and the words of ``EXCLUDED`` (suffixes that end place names or ordinary English words,
  "Hamburg 2", "Offering 3"; separate words that are ordinary English, French or Spanish words
  before a capitalised word and a number).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

LANGUAGES = ("af", "ast", "bs", "ca", "cs", "cy", "da", "de", "el", "et", "eu", "fi", "gl",
             "gsw", "hr", "hu", "is", "it", "lb", "lt", "lv", "mt", "nb", "nl", "oc", "pl", "pt",
             "ro", "sk", "sl", "sr", "sv", "tr")
# languages that write a street's type as the end of its one-word name
COMPOUND_LANGUAGES = ("af", "da", "de", "et", "fi", "gsw", "is", "lb", "nb", "nl", "sv")
EXCLUDED = frozenset({
    # suffixes of place names or English words, not streets
    "berg", "burg", "dorf", "kogel", "universität", "universitat", "universitaet", "hof",
    "lange", "lang", "plain", "markt", "bach", "bad", "have", "haven", "get", "kade", "park",
    "land", "veld", "wijk", "dal", "holm", "ring", "tie", "ranta", "rinne", "mäki", "maki",
    "aukio", "alue", "linna", "bakken", "buen", "gård", "gaard", "sted", "toft", "bro", "hus",
    "hage", "stad", "lund", "mark", "berget", "hamn", "näs", "nas", "ön", "vik", "haus", "heim",
    "feld", "see", "ufer", "tor", "dam", "dyk", "dijk", "kanaal", "veen", "hoek", "brug", "pad",
    "laantje", "plaza", "platz", "terrasse", "center", "centrum", "mall", "garden",
    "gate", "street", "road", "square", "bridge", "line", "linie", "bane", "banen", "bank",
    # ordinary English, French or Spanish words
    "via", "alto", "arco", "corte", "campo", "casa", "costa", "monte", "ponte", "porta", "riva",
    "salita", "strada", "cesta", "lugar", "frente", "particular", "direito", "esquerdo", "frei",
    "zona", "ponto", "parada", "sitio", "volta", "quinta", "rampa", "retorno", "vila", "tunel",
    "pole", "haj", "dvor", "kert", "sor", "rondo", "droga", "mole", "molo", "fort", "porto",
    "borgo", "viale", "vicolo", "piano", "passo", "cross", "circus", "drive", "court", "close",
    "place", "row", "way", "walk", "lane", "port", "piazza", "largo", "corso",
    "rotunda", "transversal", "galeria", "galleria", "portico", "prato", "isola", "scala",
    "canal", "bulevar", "vale", "vallée", "mont", "allee", "alle", "allé", "dreef",
    "kaai", "kai", "kaj", "rotonde", "esplanade", "promenade", "boulevard",
    "avenue", "avenida", "calle", "paseo", "camino", "rue", "route", "chemin",
    "most", "part", "plan", "auto", "fondo", "contra", "lungo", "entrada", "diagonal", "marken",
    "holt", "fell", "grund", "obere", "oberer", "oberes", "heiligen", "grosse", "grosser",
    "grosses", "huset", "kamp", "liden", "cortina", "carrera", "carro", "contrada", "foro",
    "interrato", "canale", "cantone", "cascina", "casale", "chiusa", "magistrala",
    "portal", "scale", "scali", "presso", "quelle", "regione", "riviera", "siden", "byen",
    "borg", "borgir", "galle", "galla", "kale", "hals", "sacca", "ripa", "flate", "rampe",
    "maes", "bide", "bukt", "gebouw", "untere", "unterer", "unteres", "dalen", "hagi", "lia",
    "tori", "holmen", "kreuz", "burgermeister", "bahnhof", "wiese", "stiege", "sendi", "tee",
    "localita", "località", "locta", "logge", "loane", "leane", "rotonda", "plas", "cupa",
    "villa", "villaggio",
    # abbreviations that are words too, a dot after them ending a sentence ("... en. Dirección")
    "en", "em", "er", "os", "ob", "fr", "dt", "ft", "ip", "ic", "cm", "pc", "pg", "bo", "cc",
    "cd", "ch", "gr", "br",
})
# suffixes shorter than four letters kept: the usual Nordic and German ones, Finnish "tie"
# (road; "Bowtie" is kept out by ``street_address``'s rule on the letters before a suffix)
KEPT_SHORT_SUFFIXES = ("vej", "veg", "vei", "weg", "väg", "vag", "tún", "tun", "tie")
# words too short for the rule above that are how their country writes a street (Portuguese,
# Hungarian, Croatian and Slovenian, Nordic, German); "put" (Croatian road) is an English verb
KEPT_SHORT = ("u.", "rua", "út", "trg", "vej", "veg", "vei", "weg")
# full words excluded above that are how a country writes a street: accepted written with a
# capital letter before a capitalised name (``street_address._world_street``): "Via Roma 5"
CAPITALISED_ONLY = ("via", "viale", "vicolo", "piazza", "largo", "corso", "borgo", "strada",
                    "rondo", "droga")


def read(root: Path, language: str, name: str) -> list[list[str]]:
    path = root / "resources" / "dictionaries" / language / name
    if not path.exists():
        return []
    return [[form.strip() for form in line.split("|") if form.strip()]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def separate_words(root: Path) -> set[str]:
    words: set[str] = set()
    for language in LANGUAGES:
        for forms in read(root, language, "street_types.txt"):
            for position, form in enumerate(forms):
                form = form.casefold()
                if " " in form or form in EXCLUDED:
                    continue
                letters = form.rstrip(".")
                if not letters.isalpha() or len(letters) < 2:
                    continue
                # the word itself from four letters, another form of it from five: shorter
                # ones are abbreviations ("and" for "androna", "for" for "forca")
                if form == letters and len(letters) >= (4 if position == 0 else 5):
                    words.add(letters)
                else:
                    words.add(letters + ".")  # an abbreviation: only with its dot
    return words | set(KEPT_SHORT)


def suffixes(root: Path) -> set[str]:
    found: set[str] = set()
    for language in LANGUAGES:
        lists = [*read(root, language, "concatenated_suffixes_separable.txt"),
                 *read(root, language, "concatenated_suffixes_inseparable.txt")]
        if language in COMPOUND_LANGUAGES:
            lists += read(root, language, "street_types.txt")
        for forms in lists:
            for form in forms:
                form = form.casefold()
                if len(form) >= 4 and form.isalpha() and form not in EXCLUDED:
                    found.add(form)
    return found | set(KEPT_SHORT_SUFFIXES)


def countries() -> set[str]:
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: set[str] = set()
    for by_language in LOCALE_DATA.values():
        for language in ("aa", "fr", "es"):  # "aa": the English names
            name = by_language.get(language, "")
            while name.startswith("*"):  # "*aa": the same as that language's
                name = by_language.get(name[1:], "")
            name = name.casefold()
            if name and len(name.split()) <= 4 and all(
                    part.replace("-", "").replace("'", "").isalpha() for part in name.split()):
                names.add(name)
    return names


def render(words: set[str], ends: set[str], commit: str, nations: set[str]) -> str:
    def block(items: set[str]) -> str:
        ordered = sorted(items)
        lines, line = [], "   "
        for item in ordered:
            piece = f' "{item}",'
            if len(line) + len(piece) > 99:
                lines.append(line)
                line = "   "
            line += piece
        lines.append(line)
        return "\n".join(lines)

    return (
        '"""Street-type words of many countries, generated by\n'
        "``python -m streams.devtools.street_types_lexicon`` from libpostal's dictionaries\n"
        f"(github.com/openvenues/libpostal at {commit},\n"
        "MIT licence, Copyright (c) 2015 openvenues). Do not edit by hand: change the generator\n"
        'and run it again."""\n\n'
        "# written apart from the street's name, lower case (an abbreviation with its dot)\n"
        f"SEPARATE = frozenset({{\n{block(words)}\n}})\n"
        "# the same words, excluded above as ordinary words, written with a capital letter\n"
        f"CAPITALISED_ONLY = frozenset({{\n{block(set(CAPITALISED_ONLY))}\n}})\n"
        "# written as the end of the street's one-word name\n"
        f"SUFFIXES = frozenset({{\n{block(ends)}\n}})\n"
        "# country names in English, French and Spanish, lower case (from the region names of\n"
        "# the phonenumbers package, Apache-2.0)\n"
        f"COUNTRIES = frozenset({{\n{block(nations)}\n}})\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("libpostal", type=Path, help="a clone of openvenues/libpostal")
    parser.add_argument("--commit", help="the clone's commit (read from git when not given)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parents[1] / "adapters"
                        / "recognizers" / "street_types_world.py")
    args = parser.parse_args()
    commit = args.commit or subprocess.run(
        ["git", "-C", str(args.libpostal), "rev-parse", "HEAD"], check=True,
        capture_output=True, text=True).stdout.strip()
    args.output.write_text(render(separate_words(args.libpostal), suffixes(args.libpostal),
                                  commit, countries()), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
