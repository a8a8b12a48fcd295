"""The policy's operators applied to personal data a model writes into its answer."""

from __future__ import annotations

import pytest

from streams.core.answers import govern_answer
from streams.core.model import ChatMessage, Finding
from streams.core.policy import EntityRule

RULES = {
    "PERSON": EntityRule(operator="placeholder"),
    "IBAN_CODE": EntityRule(operator="mask", keep_last=2),
    "EMAIL_ADDRESS": EntityRule(operator="drop"),
    "CREDIT_CARD": EntityRule(operator="block"),
    "FR_NIR": EntityRule(operator="keyed-hash"),
}


def found(text: str, *spans: tuple[str, str]) -> list[Finding]:
    return [Finding(0, kind, text.index(value), text.index(value) + len(value), 0.9)
            for kind, value in spans]


@pytest.mark.parametrize(("text", "spans", "expected", "counts", "blocked"), [
    ("Bonjour.", [], "Bonjour.", {}, ()),
    ("Bonjour <PERSON_1>.", [("PERSON", "<PERSON_1>")], "Bonjour <PERSON_1>.", {}, ()),
    ("Ask Paul Durand.", [("PERSON", "Paul Durand")], "Ask Paul Durand.", {"PERSON": 1}, ()),
    ("IBAN FR76 3000 6000 0112.", [("IBAN_CODE", "FR76 3000 6000 0112")],
     "IBAN **** **** **** **12.", {"IBAN_CODE": 1}, ()),
    ("Write to a@b.fr now.", [("EMAIL_ADDRESS", "a@b.fr")], "Write to  now.",
     {"EMAIL_ADDRESS": 1}, ()),
    ("Card 4111 1111 1111 1111.", [("CREDIT_CARD", "4111 1111 1111 1111")],
     "Card 4111 1111 1111 1111.", {"CREDIT_CARD": 1}, ("CREDIT_CARD",)),
    ("Call 06 12 34 56 78.", [("PHONE_NUMBER", "06 12 34 56 78")], "Call 06 12 34 56 78.", {},
     ()),
], ids=["nothing", "our-placeholder", "placeholder-rule-left-as-is", "mask", "drop", "block",
        "type-not-in-policy"])
def test_the_request_operators_apply_to_the_answer(
    text: str, spans: list[tuple[str, str]], expected: str, counts: dict[str, int],
    blocked: tuple[str, ...],
) -> None:
    verdict = govern_answer([ChatMessage("assistant", text)], found(text, *spans), RULES,
                            tenant="city-of-lyon", tokens=None)
    assert verdict.messages[0].content == expected
    assert verdict.counts == counts
    assert verdict.blocked == blocked


def test_a_keyed_operator_without_keys_fails_closed() -> None:
    text = "NIR 1 80 02 75 112 345 32."
    with pytest.raises(LookupError):
        govern_answer([ChatMessage("assistant", text)],
                      found(text, ("FR_NIR", "1 80 02 75 112 345 32")), RULES,
                      tenant="city-of-lyon", tokens=None)
