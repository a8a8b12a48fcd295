"""Conversation placeholders: stable, never shared between values, restored in answers even
when a placeholder is cut between two streamed chunks."""

from __future__ import annotations

import pytest

from streams.core.holdback import HoldBack
from streams.core.placeholders import PlaceholderMap


def test_the_same_value_keeps_its_placeholder_across_turns() -> None:
    conversation = PlaceholderMap()
    first_turn = [conversation.placeholder_for("PERSON", "Jeanne Martin"),
                  conversation.placeholder_for("EMAIL_ADDRESS", "jeanne@example.fr")]
    second_turn = [conversation.placeholder_for("PERSON", "Paul Durand"),
                   conversation.placeholder_for("PERSON", "Jeanne Martin")]
    assert first_turn == ["<PERSON_1>", "<EMAIL_ADDRESS_1>"]
    assert second_turn == ["<PERSON_2>", "<PERSON_1>"]


def test_types_are_numbered_apart_and_survive_a_round_trip() -> None:
    conversation = PlaceholderMap()
    conversation.placeholder_for("PERSON", "1 80 02 2A 112 345 89")
    assert conversation.placeholder_for("FR_NIR", "1 80 02 2A 112 345 89") == "<FR_NIR_1>"
    again = PlaceholderMap(dict(conversation.values))
    assert again.placeholder_for("FR_NIR", "1 80 02 2A 112 345 89") == "<FR_NIR_1>"
    assert again.placeholder_for("PERSON", "Karim Benali") == "<PERSON_2>"


@pytest.mark.parametrize(("values", "withheld", "expected"), [
    ({}, {"<PERSON_1>"}, "<PERSON_2>"),
    ({"<PERSON_1>": "Jeanne Martin"}, {"<PERSON_2>"}, "<PERSON_3>"),
    ({"<PERSON_3>": "Jeanne Martin"}, set(), "<PERSON_4>"),  # after a gap: past the highest
    ({}, {"<EMAIL_ADDRESS_1>"}, "<PERSON_1>"),  # numbered per type
], ids=["withheld-only", "value-and-withheld", "gap", "other-type"])
def test_a_withheld_number_is_never_reused(
        values: dict[str, str], withheld: set[str], expected: str) -> None:
    conversation = PlaceholderMap(dict(values), set(withheld))
    assert conversation.placeholder_for("PERSON", "Karim Benali") == expected
    assert conversation.restore(" ".join(sorted(withheld))) == " ".join(sorted(withheld))


def test_conversations_do_not_share_placeholders() -> None:
    one, other = PlaceholderMap(), PlaceholderMap()
    one.placeholder_for("PERSON", "Jeanne Martin")
    assert other.restore("Dear <PERSON_1>,") == "Dear <PERSON_1>,"


def test_restoration_replaces_known_placeholders_only() -> None:
    conversation = PlaceholderMap()
    conversation.placeholder_for("PERSON", "Jeanne Martin")
    assert conversation.restore("Dear <PERSON_1>, see <PERSON_7> and <b>.") == (
        "Dear Jeanne Martin, see <PERSON_7> and <b>.")


@pytest.mark.parametrize("chunks", [
    ["Dear <PERSON_1>, your number <FR_NIR_1> is fine."],
    ["Dear <PERS", "ON_1>, your number <FR_", "NIR_1> is fine."],
    ["Dear <", "PERSON_", "1", ">, your number <FR_NIR_1", "> is fine."],
    list("Dear <PERSON_1>, your number <FR_NIR_1> is fine."),
])
def test_a_placeholder_cut_between_chunks_is_restored(chunks: list[str]) -> None:
    conversation = PlaceholderMap()
    conversation.placeholder_for("PERSON", "Jeanne Martin")
    conversation.placeholder_for("FR_NIR", "2 69 05 49 588 157 80")
    restorer = HoldBack(transform=conversation.restore)
    out = "".join(restorer.feed(chunk) for chunk in chunks) + restorer.flush()
    assert out == "Dear Jeanne Martin, your number 2 69 05 49 588 157 80 is fine."
