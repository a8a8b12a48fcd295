"""One batch, requests of both depths (a policy's ``detection: fast | thorough``): the opt-in
tiers read only the texts of the requests that want them, and each request's method says what
ran for it. Checked with the vote (``DOUANE_NER_VOTE``), whose models are installed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from streams.adapters.presidio_detector import DetectorError, PresidioDetector
from streams.config import NerTiers
from streams.core.model import ChatMessage, Detection, DetectionRequest
from streams.core.policy import EntityRule
from streams.core.redaction import select_findings
from streams.runtime.batched_detection import detect_each

ENTITIES = {"PERSON", "LOCATION", "ORGANIZATION", "EMAIL_ADDRESS"}
# the Spanish model takes "Román Sudupe" for an organisation; the vote (English and French)
# makes it a person (tests/adapters/test_xlingual_vote.py)
VOTED = "La jueza Begoña Azarloza archivó la causa contra Román Sudupe."
OTHER = "El alcalde Ginés Marín recibió a la delegación de Ourense el martes."


@pytest.fixture(scope="module")
def detectors() -> dict[str, PresidioDetector]:
    return {mode: PresidioDetector(("en", "es"), ENTITIES, ner_tiers=NerTiers(vote=mode))
            for mode in ("off", "vote-unsure")}


class Spy:
    """Records the texts the vote is asked about, and asks the real vote."""

    def __init__(self, vote: Any) -> None:
        self.vote, self.texts = vote, []  # type: ignore[var-annotated]

    def find(self, language: str, texts: Sequence[str], found: Any) -> Any:
        self.texts.extend(texts)
        return self.vote.find(language, texts, found)

    def votes_on(self, language: str) -> bool:
        return bool(self.vote.votes_on(language))


def persons(detection: Detection, text: str) -> list[str]:
    kept = select_findings(detection.findings, {e: EntityRule(min_score=0.5) for e in
                                                ("PERSON", "LOCATION", "ORGANIZATION")})
    return [text[f.start:f.end] for f in kept if f.entity_type == "PERSON"]


def request(text: str, tiers: bool) -> DetectionRequest:
    return DetectionRequest((ChatMessage("user", text),), "es", tiers)


def test_a_mixed_batch_runs_the_vote_on_the_thorough_requests_only(
        detectors: dict[str, PresidioDetector], monkeypatch: pytest.MonkeyPatch) -> None:
    voting = detectors["vote-unsure"]
    spy = Spy(voting._vote)
    monkeypatch.setattr(voting, "_vote", spy)
    fast, thorough, fast_other = voting.detect_batch(
        [request(VOTED, False), request(VOTED, True), request(OTHER, False)])
    assert spy.texts == [VOTED]  # the fast requests' texts were never read by the vote
    assert persons(thorough, VOTED) == ["Begoña Azarloza", "Román Sudupe"]
    assert persons(fast, VOTED) == ["Begoña Azarloza"]
    # what each request's record will say ran for it
    assert (fast.method, thorough.method, fast_other.method) == (
        "ner+patterns", "ner+patterns+vote", "ner+patterns")
    # a fast request is exactly what a detector without the tier finds
    (first_pass,) = detectors["off"].detect_batch([request(VOTED, True)])
    assert fast == first_pass
    (alone,) = voting.detect_batch([request(VOTED, True)])
    assert thorough == alone  # its neighbours in the batch change nothing


def test_a_batch_of_fast_requests_never_asks_the_vote(
        detectors: dict[str, PresidioDetector], monkeypatch: pytest.MonkeyPatch) -> None:
    voting = detectors["vote-unsure"]
    spy = Spy(voting._vote)
    monkeypatch.setattr(voting, "_vote", spy)
    voting.detect_batch([request(VOTED, False), request(OTHER, False)])
    assert spy.texts == []
    assert voting.method("es", tiers=False) == "ner+patterns"
    assert voting.method("es") == "ner+patterns+vote"


def test_one_by_one_after_a_failed_batch_a_request_keeps_its_depth(
        detectors: dict[str, PresidioDetector], monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's fallback (``detect_each``: one request at a time when the batch fails
    naming no request) keeps each request's ``tiers``."""
    voting = detectors["vote-unsure"]
    real = voting.detect_results
    calls: list[int] = []

    def fails_whole_batches(requests: Sequence[DetectionRequest],
                            ) -> list[Detection | DetectorError]:
        calls.append(len(requests))
        if len(requests) > 1:
            raise RuntimeError("one unreadable request")
        return real(requests)

    # (``detect_batch``, which the fallback calls one request at a time, asks this too)
    monkeypatch.setattr(voting, "detect_results", fails_whole_batches)
    results = detect_each(voting, [request(VOTED, False), request(VOTED, True)])
    assert calls == [2, 1, 1]
    assert [r.method for r in results if isinstance(r, Detection)] == [
        "ner+patterns", "ner+patterns+vote"]
