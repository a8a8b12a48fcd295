"""Ukrainian person names with pymorphy3 and its Ukrainian dictionaries (offline): the
dictionary tags first names (Name), surnames (Surn) and patronymics (Patr)."""

from __future__ import annotations

import pymorphy3

from streams.adapters.recognizers.names import Kind, LexiconNameRecognizer

NAME_TAGS = frozenset({"Name", "Surn", "Patr"})
_ANALYZER: pymorphy3.MorphAnalyzer | None = None


def analyzer() -> pymorphy3.MorphAnalyzer:
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = pymorphy3.MorphAnalyzer(lang="uk")
    return _ANALYZER


class UkNameRecognizer(LexiconNameRecognizer):
    LANGUAGE = "uk"
    TITLES = frozenset({"пан", "пані", "панові", "пана", "громадянин", "громадянка",
                        "громадянина", "громадянки", "гр.", "добродій", "добродійка"})

    def classify(self, word: str) -> Kind:
        parses = [p for p in analyzer().parse(word) if _from_dictionary(p)]
        if not parses:
            return Kind.UNKNOWN
        names = [bool(NAME_TAGS & p.tag.grammemes) for p in parses]
        if all(names):
            return Kind.NAME_ONLY
        return Kind.NAME_OR_WORD if any(names) else Kind.WORD


def _from_dictionary(parse: pymorphy3.analyzer.Parse) -> bool:
    return type(parse.methods_stack[0][0]).__name__ == "DictionaryAnalyzer"
