"""Icelandic person names with BÍN (the Database of Icelandic Morphology) through ``islenska``,
offline: BÍN files first names under "ism", patronymics and matronymics under "föð"/"móð",
family names under "ætt". An unknown word ending in -son or -dóttir is a patronymic."""

from __future__ import annotations

from typing import Any

from islenska import Bin

from streams.adapters.recognizers.batch_memos import also_forget
from streams.adapters.recognizers.names import Kind, LexiconNameRecognizer

NAME_DOMAINS = frozenset({"ism", "föð", "móð", "ætt", "gæl"})
PATRONYMIC_ENDINGS = ("son", "sonar", "syni", "dóttir", "dóttur")
_BIN: Bin | None = None


def bin_db() -> Bin:
    global _BIN
    if _BIN is None:
        _BIN = Bin()
        also_forget(forget_lookups)
    return _BIN


def forget_lookups() -> None:
    """Empty islenska's memo of the words looked up: ``Bin._ksnid_cache``, shared by the
    process, keeps up to two generations of 4,096 words (the words of requests, names among
    them) for as long as nothing pushes them out. islenska has no public way to empty or turn
    it off, so its two generations (plain dicts) are emptied here when each batch ends
    (``batch_memos``); a version that holds its memo elsewhere makes the retention test fail.
    Within a batch douane's own memo (``LexiconNameRecognizer._kind``) saves the repeats."""
    cache = getattr(Bin, "_ksnid_cache", None)
    for generation in ("_new", "_old"):
        held = getattr(cache, generation, None)
        if isinstance(held, dict):
            held.clear()


class IsNameRecognizer(LexiconNameRecognizer):
    LANGUAGE = "is"
    TITLES = frozenset({"herra", "frú", "fröken", "séra", "dr."})

    def classify(self, word: str) -> Kind:
        if word.endswith(PATRONYMIC_ENDINGS):
            return Kind.NAME_ONLY
        entries = _entries(word)
        if not entries:
            return Kind.UNKNOWN
        names = [e.hluti in NAME_DOMAINS for e in entries]
        if all(names):
            return Kind.NAME_ONLY
        return Kind.NAME_OR_WORD if any(names) else Kind.WORD

    def common_word(self, word: str) -> bool:
        return any(e.hluti not in NAME_DOMAINS for e in _entries(word.lower()))


def _entries(word: str) -> list[Any]:
    """BÍN's entries for a word, without the compound-word guesses ("son-ný" for "Sonný"):
    those say nothing about whether a capitalised word is a name."""
    _, entries = bin_db().lookup(word)
    return [e for e in entries if "-" not in e.ord]
