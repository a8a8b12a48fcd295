"""The hold-back buffer: placeholders and words split across chunks reach the hook whole, and
text leaves as soon as it is safe (time to first token does not wait for the end)."""

from __future__ import annotations

import pytest

from streams.core.holdback import HoldBack


@pytest.mark.parametrize(("chunks", "released_before_flush"), [
    pytest.param(["Bonjour <PER", "SON_1>, votre ", "dossier"],
                 ["Bonjour ", "<PERSON_1>, votre ", ""], id="placeholder-split"),
    pytest.param(["Dear Jea", "nne Mar", "tin, thanks"], ["Dear ", "Jeanne ", "Martin, "],
                 id="name-split-across-chunks"),
    pytest.param(["a < b and ", "c"], ["a < b and ", ""], id="lone-less-than-released"),
    pytest.param(["one two three "], ["one two three "], id="whole-words-leave-at-once"),
])
def test_release_points(chunks: list[str], released_before_flush: list[str]) -> None:
    buffer = HoldBack()
    assert [buffer.feed(c) for c in chunks] == released_before_flush
    assert "".join(released_before_flush) + buffer.flush() == "".join(chunks)


def test_the_hook_sees_only_whole_placeholders_and_words() -> None:
    seen: list[str] = []

    def restore(text: str) -> str:
        seen.append(text)
        return text.replace("<PERSON_1>", "Jeanne Martin")

    buffer = HoldBack(restore)
    out = "".join(buffer.feed(c) for c in ["Réponse à <PE", "RSON", "_1> envoyée", "."])
    out += buffer.flush()
    assert out == "Réponse à Jeanne Martin envoyée."
    assert all(t.count("<") == t.count(">") for t in seen)


def test_a_long_unbroken_run_is_not_held_forever() -> None:
    buffer = HoldBack(max_hold_chars=10)
    assert buffer.feed("x" * 25) == "x" * 15
    assert buffer.flush() == "x" * 10
