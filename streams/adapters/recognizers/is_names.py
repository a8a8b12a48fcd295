"""Icelandic person names with BÍN (the Database of Icelandic Morphology) through ``islenska``,
offline: BÍN files first names under "ism", patronymics and matronymics under "föð"/"móð",
family names under "ætt". An unknown word ending in -son or -dóttir is a patronymic."""

from __future__ import annotations

from islenska import Bin

from streams.adapters.recognizers.names import Kind, LexiconNameRecognizer

NAME_DOMAINS = frozenset({"ism", "föð", "móð", "ætt", "gæl"})
_BIN: Bin | None = None


def bin_db() -> Bin:
    global _BIN
    if _BIN is None:
        _BIN = Bin()
    return _BIN


class IsNameRecognizer(LexiconNameRecognizer):
    LANGUAGE = "is"
    TITLES = frozenset({"herra", "frú", "fröken", "séra", "dr."})

    def classify(self, word: str) -> Kind:
        _, entries = bin_db().lookup(word)
        if not entries:
            if word.endswith(("son", "sson", "dóttir", "dóttur", "syni", "sonar")):
                return Kind.NAME_ONLY
            return Kind.UNKNOWN
        names = [e.hluti in NAME_DOMAINS for e in entries]
        if all(names):
            return Kind.NAME_ONLY
        return Kind.NAME_OR_WORD if any(names) else Kind.WORD
