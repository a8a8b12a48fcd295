"""Streamed answers: released by whole sentences, each sentence scanned and held to the
request's operators before it leaves; a blocked type stops the stream."""

from __future__ import annotations

import pytest

from streams.core.holdback import HoldBack
from streams.core.model import ChatMessage, Detection, Finding
from streams.core.placeholders import PlaceholderMap
from streams.core.policy import EntityRule
from streams.pipeline import Detect, StreamedAnswerGuard

IBAN = "FR76 3000 6000 0112 3456 7890 189"
CARD = "4111 1111 1111 1111"


@pytest.mark.parametrize(("chunks", "released"), [
    (["Your IBAN is FR76 30", "00 6000 0112 3456 7890 189. Then"],
     ["", f"Your IBAN is {IBAN}. ", "Then"]),
    (["Bonjour Jeanne Mar", "tin ! Au revoir"], ["", "Bonjour Jeanne Martin ! ", "Au revoir"]),
    (["Line one\nline", " two"], ["", "Line one\nline two"]),
    (["word " * 70], ["word " * 19, "word " * 51]),  # bounded delay, cut between words
], ids=["iban-across-chunks", "name-across-chunks", "no-sentence-end", "bounded-hold"])
def test_whole_sentences_are_released(chunks: list[str], released: list[str]) -> None:
    buffer = HoldBack(whole_sentences=True)
    out = [buffer.feed(chunk) for chunk in chunks] + [buffer.flush()]
    assert [piece for piece in out if piece] == [piece for piece in released if piece]
    assert "".join(out) == "".join(chunks)


class ValuesDetector:
    """Finds the IBAN and the card wherever they are; can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def detect(self, messages: tuple[ChatMessage, ...], language: str | None) -> Detection:
        if self.fail:
            raise RuntimeError("detector down")
        found = [Finding(i, kind, m.content.index(v), m.content.index(v) + len(v), 0.95)
                 for i, m in enumerate(messages)
                 for kind, v in (("IBAN_CODE", IBAN), ("CREDIT_CARD", CARD)) if v in m.content]
        return Detection("en", "ner+patterns", tuple(found))


RULES = {"IBAN_CODE": EntityRule(operator="mask", keep_last=3),
         "CREDIT_CARD": EntityRule(operator="block")}


def detect_with(detector: ValuesDetector) -> Detect:
    async def detect(messages: tuple[ChatMessage, ...], language: str | None) -> Detection:
        return detector.detect(messages, language)
    return detect


async def test_each_sentence_is_masked_restored_or_stops_the_stream() -> None:
    conversation = PlaceholderMap()
    conversation.placeholder_for("PERSON", "Jeanne Martin")
    guard = StreamedAnswerGuard(detect_with(ValuesDetector()), RULES, "city-of-lyon", None,
                                conversation.restore)
    assert await guard("Dear <PERSON_1>, ") == "Dear Jeanne Martin, "
    assert await guard(f"pay to {IBAN}. ") == "pay to **** **** **** **** **** **** 189. "
    assert await guard(f"or card {CARD}. ") == ""
    assert guard.blocked == ("CREDIT_CARD",)
    assert await guard("Anything after. ") == ""  # the stream stays stopped


async def test_a_failing_scan_stops_the_stream() -> None:
    guard = StreamedAnswerGuard(detect_with(ValuesDetector(fail=True)), RULES, "city-of-lyon",
                                None, str)
    assert await guard("Hello. ") == ""
    assert guard.error == "RuntimeError"
