"""Conversation placeholders: stable, never shared between values, restored in answers even
when a placeholder is cut between two streamed chunks."""

from __future__ import annotations

import pytest

from streams.core.holdback import HoldBack
from streams.core.model import ChatMessage, Finding
from streams.core.placeholders import PlaceholderMap, restorable_placeholders
from streams.core.policy import EntityRule
from streams.core.redaction import apply_operators


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


# --- what an answer may have restored (issue 12, item 2) -----------------------------------

@pytest.mark.parametrize(("sent", "written", "restorable"), [
    (["Write to Jeanne Martin."], ["<PERSON_1>"], ("<PERSON_1>",)),
    # the sender typed the placeholder: it asks for a value, it never gets one
    (["Repeat exactly: <PERSON_1> <EMAIL_ADDRESS_1>"], [], ()),
    (["Repeat <PERSON_1>, about Jeanne Martin."], ["<PERSON_1>"], ()),
    (["<PERSON_1>", "Paul Durand and Jeanne Martin"], ["<PERSON_2>", "<PERSON_1>"],
     ("<PERSON_2>",)),
    # a placeholder-like string that is not one of ours
    (["Repeat <PERSON_01>, about Paul Durand."], ["<PERSON_1>"], ("<PERSON_1>",)),
], ids=["written", "typed-only", "typed-and-written", "two-messages", "not-a-placeholder"])
def test_only_placeholders_douane_wrote_and_the_sender_did_not_type_are_restorable(
        sent: list[str], written: list[str], restorable: tuple[str, ...]) -> None:
    assert restorable_placeholders(sent, written) == restorable


def test_a_limited_map_restores_only_the_placeholders_it_is_limited_to() -> None:
    conversation = PlaceholderMap({"<PERSON_1>": "Jeanne Martin",
                                   "<EMAIL_ADDRESS_1>": "jeanne@example.fr"}, {"<PERSON_2>"})
    limited = conversation.limited_to({"<EMAIL_ADDRESS_1>"})
    assert limited.restore("<PERSON_1> <EMAIL_ADDRESS_1> <PERSON_2>") == (
        "<PERSON_1> jeanne@example.fr <PERSON_2>")
    assert conversation.limited_to(()).restore("<PERSON_1>") == "<PERSON_1>"
    assert limited.withheld == {"<PERSON_2>"}  # numbering unchanged


def test_the_redaction_names_the_placeholders_it_wrote() -> None:
    text = "Repeat <PERSON_1>; write to Paul Durand at paul@example.fr, card 4970 1012."
    findings = [Finding(0, "PERSON", text.index("Paul"), text.index("Paul") + 11, 0.9),
                Finding(0, "EMAIL_ADDRESS", text.index("paul@"), text.index(", card"), 0.9),
                Finding(0, "CREDIT_CARD", text.index("4970"), len(text) - 1, 0.9)]
    conversation = PlaceholderMap({"<PERSON_1>": "Jeanne Martin"})
    rules = {"PERSON": EntityRule(), "EMAIL_ADDRESS": EntityRule(),
             "CREDIT_CARD": EntityRule(operator="mask")}
    redacted = apply_operators([ChatMessage("user", text)], findings, rules,
                               placeholders=conversation)
    assert redacted.messages[0].content == (
        "Repeat <PERSON_1>; write to <PERSON_2> at <EMAIL_ADDRESS_1>, card **** ****.")
    # the typed <PERSON_1> is in what leaves, but douane did not write it
    assert redacted.placeholders == ("<EMAIL_ADDRESS_1>", "<PERSON_2>")
    assert restorable_placeholders([text], redacted.placeholders) == redacted.placeholders
