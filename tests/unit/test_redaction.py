"""select_findings and apply_placeholders: which findings count, and how values are replaced."""

from __future__ import annotations

import pytest

from streams.core.model import ChatMessage, Finding
from streams.core.policy import EntityRule
from streams.core.redaction import (
    KeyedValue,
    apply_placeholders,
    plan_redaction,
    select_findings,
)

RULES = {
    "PERSON": EntityRule(min_score=0.5),
    "PHONE_NUMBER": EntityRule(min_score=0.4),
    "EMAIL_ADDRESS": EntityRule(min_score=0.5),
    "CREDIT_CARD": EntityRule(min_score=0.5, operator="block"),
}


def f(kind: str, start: int, end: int, score: float = 0.85, message: int = 0) -> Finding:
    return Finding(message_index=message, entity_type=kind, start=start, end=end, score=score)


# --- select_findings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("findings", "kept"),
    [
        pytest.param([], [], id="nothing"),
        pytest.param([f("PERSON", 0, 5, 0.5)], [f("PERSON", 0, 5, 0.5)], id="score-at-minimum"),
        pytest.param([f("PERSON", 0, 5, 0.49)], [], id="score-below-minimum"),
        pytest.param([f("PHONE_NUMBER", 0, 5, 0.4)], [f("PHONE_NUMBER", 0, 5, 0.4)],
                     id="per-type-minimum-phone-0.4"),
        pytest.param([f("PHONE_NUMBER", 0, 5, 0.39)], [], id="phone-below-its-minimum"),
        pytest.param([f("PERSON", 0, 5, 0.45), f("PHONE_NUMBER", 10, 15, 0.45)],
                     [f("PHONE_NUMBER", 10, 15, 0.45)], id="same-score-different-minimums"),
        pytest.param([f("LOCATION", 0, 5, 1.0), f("DATE_TIME", 6, 9, 1.0)], [],
                     id="types-not-in-policy-ignored"),
        pytest.param([f("LOCATION", 0, 10, 1.0), f("PERSON", 2, 6, 0.6)],
                     [f("PERSON", 2, 6, 0.6)],
                     id="ignored-type-does-not-shadow-an-overlapping-one"),
        pytest.param([f("PERSON", 0, 20, 0.3), f("EMAIL_ADDRESS", 5, 10, 0.6)],
                     [f("EMAIL_ADDRESS", 5, 10, 0.6)],
                     id="below-minimum-does-not-shadow-an-overlapping-one"),
        pytest.param([f("PERSON", 0, 10, 0.6), f("EMAIL_ADDRESS", 5, 25, 0.9)],
                     [f("EMAIL_ADDRESS", 5, 25, 0.9)], id="overlap-higher-score-wins"),
        pytest.param([f("PERSON", 0, 30, 0.6), f("EMAIL_ADDRESS", 5, 10, 0.9)],
                     [f("EMAIL_ADDRESS", 5, 10, 0.9)],
                     id="overlap-higher-score-wins-even-when-shorter"),
        pytest.param([f("PERSON", 3, 8, 0.8), f("PHONE_NUMBER", 0, 12, 0.8)],
                     [f("PHONE_NUMBER", 0, 12, 0.8)], id="overlap-same-score-longer-wins"),
        pytest.param([f("PERSON", 0, 5, 0.8), f("PERSON", 4, 9, 0.8), f("PERSON", 8, 12, 0.7)],
                     [f("PERSON", 0, 12, 0.8)],
                     id="chain-of-overlaps-of-one-type-one-finding-nothing-forwarded"),
        pytest.param([f("PERSON", 0, 18, 0.85), f("PERSON", 5, 18, 0.9)],
                     [f("PERSON", 0, 18, 0.9)], id="two-readings-of-one-name-redacted-whole"),
        pytest.param([f("PERSON", 0, 10, 0.85), f("PERSON", 8, 20, 0.6)],
                     [f("PERSON", 0, 20, 0.85)], id="a-lower-reading-widens-the-kept-one"),
        pytest.param([f("PERSON", 0, 10, 0.95), f("EMAIL_ADDRESS", 12, 30, 0.9),
                      f("PERSON", 8, 14, 0.6)],
                     [f("PERSON", 0, 10, 0.95), f("EMAIL_ADDRESS", 12, 30, 0.9)],
                     id="a-union-that-would-meet-another-type-is-not-made"),
        pytest.param([f("PERSON", 0, 5), f("PERSON", 5, 10)],
                     [f("PERSON", 0, 5), f("PERSON", 5, 10)], id="adjacent-spans-do-not-overlap"),
        pytest.param([f("PERSON", 0, 5, message=1), f("EMAIL_ADDRESS", 0, 5, 0.9, message=0)],
                     [f("EMAIL_ADDRESS", 0, 5, 0.9, message=0), f("PERSON", 0, 5, message=1)],
                     id="same-offsets-in-other-messages-do-not-overlap"),
        pytest.param([f("PERSON", 20, 25), f("EMAIL_ADDRESS", 0, 5, message=1), f("PERSON", 0, 4)],
                     [f("PERSON", 0, 4), f("PERSON", 20, 25), f("EMAIL_ADDRESS", 0, 5, message=1)],
                     id="sorted-by-message-then-start"),
        pytest.param([f("CREDIT_CARD", 0, 16, 0.5)], [f("CREDIT_CARD", 0, 16, 0.5)],
                     id="block-operator-still-selected"),
    ],
)
def test_select_findings(findings: list[Finding], kept: list[Finding]) -> None:
    assert select_findings(findings, RULES) == kept


def test_select_findings_accepts_any_iterable() -> None:
    findings = [f("PERSON", 0, 5), f("PERSON", 2, 4, 0.9)]
    assert select_findings(iter(findings), RULES) == [f("PERSON", 0, 5, 0.9)]


# --- apply_placeholders --------------------------------------------------------------------


def spans(messages: list[str], *wanted: tuple[int, str, str, int]) -> list[Finding]:
    """Findings for (message, type, value, occurrence) located in ``messages``."""
    found = []
    for index, kind, value, occurrence in wanted:
        start = -1
        for _ in range(occurrence + 1):
            start = messages[index].index(value, start + 1)
        found.append(f(kind, start, start + len(value), message=index))
    return found


@pytest.mark.parametrize(
    ("texts", "wanted", "expected", "counts"),
    [
        pytest.param(
            ["Appelez Jeanne Martin."],
            [(0, "PERSON", "Jeanne Martin", 0)],
            ["Appelez <PERSON_1>."],
            {"PERSON": 1},
            id="one-value",
        ),
        pytest.param(
            ["Jeanne Martin a écrit. Jeanne Martin attend."],
            [(0, "PERSON", "Jeanne Martin", 0), (0, "PERSON", "Jeanne Martin", 1)],
            ["<PERSON_1> a écrit. <PERSON_1> attend."],
            {"PERSON": 1},
            id="same-value-twice-same-placeholder",
        ),
        pytest.param(
            ["Jeanne Martin et Paul Durand, puis Jeanne Martin."],
            [(0, "PERSON", "Jeanne Martin", 0), (0, "PERSON", "Paul Durand", 0),
             (0, "PERSON", "Jeanne Martin", 1)],
            ["<PERSON_1> et <PERSON_2>, puis <PERSON_1>."],
            {"PERSON": 2},
            id="two-values-one-type-numbered-in-order",
        ),
        pytest.param(
            ["Paul Durand", "Jeanne Martin et Paul Durand", "Jeanne Martin"],
            [(0, "PERSON", "Paul Durand", 0), (1, "PERSON", "Jeanne Martin", 0),
             (1, "PERSON", "Paul Durand", 0), (2, "PERSON", "Jeanne Martin", 0)],
            ["<PERSON_1>", "<PERSON_2> et <PERSON_1>", "<PERSON_2>"],
            {"PERSON": 2},
            id="numbering-stable-across-messages",
        ),
        pytest.param(
            ["Écrivez à Émilie Noël (émilie@exemple.fr) ou au 06 12 34 56 78 — merci 🙏 "
             "Émilie Noël"],
            [(0, "PERSON", "Émilie Noël", 0), (0, "EMAIL_ADDRESS", "émilie@exemple.fr", 0),
             (0, "PHONE_NUMBER", "06 12 34 56 78", 0), (0, "PERSON", "Émilie Noël", 1)],
            ["Écrivez à <PERSON_1> (<EMAIL_ADDRESS_1>) ou au <PHONE_NUMBER_1> — merci 🙏 "
             "<PERSON_1>"],
            {"PERSON": 1, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1},
            id="several-types-one-message-non-ascii-before",
        ),
        pytest.param(
            ["Martin", "M. Martin"],
            [(0, "PERSON", "Martin", 0), (1, "PERSON", "M. Martin", 0)],
            ["<PERSON_1>", "<PERSON_2>"],
            {"PERSON": 2},
            id="different-strings-are-different-values",
        ),
        pytest.param(
            ["0612345678 est à 0612345678"],
            [(0, "PHONE_NUMBER", "0612345678", 0), (0, "PERSON", "0612345678", 1)],
            ["<PHONE_NUMBER_1> est à <PERSON_1>"],
            {"PHONE_NUMBER": 1, "PERSON": 1},
            id="same-text-two-types-numbered-per-type",
        ),
        pytest.param(
            ["AB"],
            [(0, "PERSON", "A", 0), (0, "EMAIL_ADDRESS", "B", 0)],
            ["<PERSON_1><EMAIL_ADDRESS_1>"],
            {"PERSON": 1, "EMAIL_ADDRESS": 1},
            id="adjacent-findings",
        ),
        pytest.param(
            ["Rien à signaler.", ""],
            [],
            ["Rien à signaler.", ""],
            {},
            id="no-findings-unchanged",
        ),
    ],
)
def test_apply_placeholders(
    texts: list[str],
    wanted: list[tuple[int, str, str, int]],
    expected: list[str],
    counts: dict[str, int],
) -> None:
    messages = [ChatMessage("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(texts)]
    redacted, per_type = apply_placeholders(messages, spans(texts, *wanted))
    assert [m.content for m in redacted] == expected
    assert [m.role for m in redacted] == [m.role for m in messages]  # roles untouched
    assert per_type == counts


def test_apply_placeholders_does_not_depend_on_finding_order() -> None:
    texts = ["Paul Durand puis Jeanne Martin", "Jeanne Martin"]
    findings = spans(texts, (0, "PERSON", "Paul Durand", 0), (0, "PERSON", "Jeanne Martin", 0),
                     (1, "PERSON", "Jeanne Martin", 0))
    messages = [ChatMessage("user", t) for t in texts]
    forward = apply_placeholders(messages, findings)
    backward = apply_placeholders(messages, list(reversed(findings)))
    assert forward == backward
    assert forward[0][0].content == "<PERSON_1> puis <PERSON_2>"


def test_apply_placeholders_leaves_the_input_unchanged() -> None:
    messages = (ChatMessage("user", "Jeanne Martin"),)
    apply_placeholders(messages, [f("PERSON", 0, 13)])
    assert messages == (ChatMessage("user", "Jeanne Martin"),)


# --- keyed operators: planned in the core, tokens from outside -----------------------------


def test_a_plan_lists_each_keyed_value_once_and_applies_the_tokens_it_is_given() -> None:
    text = "Ana Sol, ana@x.fr, Ana Sol."
    rules = {"PERSON": EntityRule(operator="keyed-hash"),
             "EMAIL_ADDRESS": EntityRule(operator="encrypt")}
    plan = plan_redaction([ChatMessage("user", text)],
                          [f("PERSON", 0, 7), f("EMAIL_ADDRESS", 9, 17), f("PERSON", 19, 26)],
                          rules, tenant="lyon")
    assert plan.keyed == (KeyedValue("lyon", "keyed-hash", "PERSON", "Ana Sol"),
                          KeyedValue("lyon", "encrypt", "EMAIL_ADDRESS", "ana@x.fr"))
    tokens = {plan.keyed[0]: "3f2a", plan.keyed[1]: "c1ph3r"}
    assert plan.apply(tokens).messages[0].content == \
        "<PERSON#3f2a>, <EMAIL_ADDRESS:enc:c1ph3r>, <PERSON#3f2a>."
    assert "Ana" not in repr(plan.keyed)  # a value never shows in a repr (logs, errors)


def test_a_keyed_value_without_its_token_fails_closed() -> None:
    plan = plan_redaction([ChatMessage("user", "Ana Sol")], [f("PERSON", 0, 7)],
                          {"PERSON": EntityRule(operator="encrypt")}, tenant="lyon")
    with pytest.raises(LookupError):
        plan.apply()
    with pytest.raises(LookupError):
        plan.apply({})


def test_a_plan_without_keyed_operators_needs_no_tokens() -> None:
    plan = plan_redaction([ChatMessage("user", "Ana Sol")], [f("PERSON", 0, 7)],
                          {"PERSON": EntityRule()})
    assert plan.keyed == ()
    assert plan.apply().messages[0].content == "<PERSON_1>"
