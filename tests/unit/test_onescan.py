"""Branch ``onescan``: work the given-name pass skips where a cheap proof shows it finds
nothing. Each cut gives the findings the pass gave without it (a table of names each rule
finds, random texts made of names, words and the words around a person)."""

from __future__ import annotations

import random

import pytest

from streams.adapters.recognizers import given_names as gn
from streams.adapters.recognizers.batch_memos import forget

# one lone word each way ``_lone_given_name`` takes one: a given name rare as a word, a name
# common as a word said of a person, a surname only, a hyphenated given name, a Vietnamese
# family name said alone (French; "Khúc": in neither lexicon), a given name only ("Anouk")
TABLE = {
    "en": ["Please ask Selma about it.", "Please ask Xenia.", "Dan will bring the forms.",
           "Mai says hi.",
           "and Díaz proposed a date.", "Later Tsung-Han said no.", "The file of Price said.",
           "Yesterday Heinz-Jürgen called.", "On Monday María will come.", "Okafor wrote."],
    "fr": ["Vu veut le virement.", "bref Vu te remercie.", "Le dossier de Vu est prêt.",
           "Demandez à Selma.", "et Shu-Ling a appelé.",
           "bref Khúc te remercie.", "Demandez à Anouk."],
    "es": ["y Nowak propuso una fecha.", "Pregunta a Selma.", "y Mei-Yun llamó."],
}
WORDS = ("Selma", "Dan", "Mai", "Díaz", "Tsung-Han", "Price", "Vu", "Le", "Okafor", "Will",
         "The", "However", "Paris", "Jordan", "Heinz-Jürgen", "Nguyễn", "Ho", "said", "says",
         "will", "wrote", "veut", "te", "remercie", "ask", "cc", "de", "dossier", "proposed",
         "a", "the", "and", "est", "propuso", "Luego")
SEPARATORS = (" ", " ", " ", ", ", ". ", "\n")


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(WORDS) + rng.choice(SEPARATORS)
                    for _ in range(rng.randint(1, 12))) for _ in range(count)]


def findings(recognizer: gn.GivenNameRecognizer, texts: list[str]) -> list[list[tuple[int, int]]]:
    out = [[(r.start, r.end) for r in recognizer.analyze(t, None)] for t in texts]
    forget()
    return out


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_lone_words_skipped_only_where_no_person_is_found(
        language: str, monkeypatch: pytest.MonkeyPatch) -> None:
    recognizer = gn.GivenNameRecognizer(language)
    texts = [*TABLE[language], *random_texts(3000, 14)]
    now = findings(recognizer, texts)
    monkeypatch.setattr(gn.GivenNameRecognizer, "_may_be_lone_name", lambda self, word: True)
    assert findings(recognizer, texts) == now
    # each table text's lone name is found (the comparison says something)
    assert all(now[: len(TABLE[language])])


def test_lexicons_of_a_language_have_the_keys_of_the_whole_lexicon() -> None:
    """The premise of ``_may_be_lone_name``'s proof."""
    for language in ("en", "fr", "es", "uk"):
        recognizer = gn.GivenNameRecognizer(language)
        assert recognizer.given_here.keys() == recognizer.given.keys()
        assert recognizer.surnames_here.keys() == recognizer.surnames.keys()


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_one_part_words_skip_the_parts_test(language: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``_given_name_parts`` returns at once for a word without a hyphen: the same findings
    as with its lists built for every word (as before), on the table and random texts."""
    recognizer = gn.GivenNameRecognizer(language)
    texts = [*TABLE[language], *random_texts(3000, 15),
             "so shu-mei called", "ring kim-ly on monday", "Shu-Ling Wang wrote."]
    now = findings(recognizer, texts)

    def before(self: gn.GivenNameRecognizer, word: str,
               limit: float = gn.GIVEN_NAME_MAX_WORD_FREQUENCY) -> bool:
        parts = [part[:1].upper() + part[1:] for part in word.split("-")]
        known = [self._given_name(part, self.given_here) and self.given_here[part] <= limit
                 for part in parts]
        return len(parts) > 1 and any(known) and all(
            k or gn.unknown_word(part) or gn.SYLLABLE.fullmatch(gn.fold(part).casefold())
            is not None for k, part in zip(known, parts, strict=True))

    monkeypatch.setattr(gn.GivenNameRecognizer, "_given_name_parts", before)
    assert findings(recognizer, texts) == now
