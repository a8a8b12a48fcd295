"""The admit stage asks detection for the depth the policy gives the request (a rule's
``detection: fast | thorough``), before detection runs, and records what ran. The shipped
policy says fast for public requests (policies/general.yaml)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from test_pipeline import FORWARD_TOPIC, Harness, h, request, src  # noqa: F401 (fixture)

import streams.pipeline
from streams.core.model import Detection, DetectionRequest, Finding
from streams.runtime.batched_detection import BatchedDetector

NAME = "Ximena Oyarzún"  # what only the tiers find, in this fake
TEXT = f"Draft a note for {NAME} about the opening hours."


@dataclass
class TieredDetector:
    """A batch detector whose tier finds the name: the first pass finds nothing. Records the
    ``tiers`` of every request it is asked about."""

    asked: list[bool] = field(default_factory=list)

    def detect_batch(self, requests: Sequence[DetectionRequest]) -> list[Detection]:
        out = []
        for one in requests:
            self.asked.append(one.tiers)
            text = one.messages[0].content
            found = ((Finding(0, "PERSON", text.index(NAME), text.index(NAME) + len(NAME),
                              0.9, "tier"),) if one.tiers and NAME in text else ())
            out.append(Detection("en", "ner+patterns+vote" if one.tiers else "ner+patterns",
                                 found))
        return out

    def detect(self, messages: object, language: object) -> Detection:
        raise AssertionError("a batch detector is asked through detect_batch")


@pytest.fixture
def tiered(h: Harness) -> TieredDetector:  # noqa: F811 (the fixture imported above)
    detector = TieredDetector()
    h.pipeline.detection = BatchedDetector.in_thread(detector, 10.0)
    return detector


def public(request_id: str) -> bytes:
    return request(request_id, TEXT, tenant="service-public", purpose="public-information")


def casework(request_id: str) -> bytes:
    return request(request_id, TEXT, tenant="service-public", purpose="casework")


async def test_a_public_request_is_detected_fast_and_its_record_says_so(
        h: Harness, tiered: TieredDetector) -> None:  # noqa: F811
    [out] = await h.pipeline.admit(public("pub-1"), src(key=b"pub-1"))
    assert tiered.asked == [False]
    record = h.store.get("pub-1/admitted")
    assert record is not None
    assert record.payload["details"]["detection"] == "ner+patterns"
    assert record.payload["details"]["classification"] == "public"
    # what the first pass found is all that was redacted: the tier never read this text
    assert NAME in json.loads(out.value)["body"]["messages"][0]["content"]


async def test_a_personal_request_gets_the_tiers(h: Harness,  # noqa: F811
                                                 tiered: TieredDetector) -> None:
    [out] = await h.pipeline.admit(casework("case-1"), src(key=b"case-1"))
    assert tiered.asked == [True]
    record = h.store.get("case-1/admitted")
    assert record is not None
    assert record.payload["details"]["detection"] == "ner+patterns+vote"
    assert out.topic == FORWARD_TOPIC
    assert NAME not in out.value.decode("utf-8")


async def test_a_decision_that_asks_for_more_than_ran_detects_again_with_the_tiers(
        h: Harness, tiered: TieredDetector,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the depth chosen before detection ever be below what the decision's resolution
    says (today both come from the same classification: tests/unit/test_detection_depth.py),
    the request is detected again with the tiers and decided on that detection."""
    monkeypatch.setattr(streams.pipeline, "detection_depth", lambda *_: "fast")
    [out] = await h.pipeline.admit(casework("case-2"), src(key=b"case-2"))
    assert tiered.asked == [False, True]
    record = h.store.get("case-2/admitted")
    assert record is not None
    assert record.payload["details"]["detection"] == "ner+patterns+vote"
    assert record.payload["details"]["entities"] == {"PERSON": 1}
    assert NAME not in out.value.decode("utf-8")
    assert h.kinds("case-2") == ["admitted"]  # one decision, one record


async def test_a_fast_decision_is_not_detected_twice(
        h: Harness, tiered: TieredDetector) -> None:  # noqa: F811
    await h.pipeline.admit(public("pub-2"), src(key=b"pub-2"))
    await h.pipeline.admit(public("pub-3"), src(key=b"pub-3"))
    assert tiered.asked == [False, False]


@pytest.mark.parametrize(("raw", "depth"), [(public, False), (casework, True)])
async def test_the_answer_is_read_as_deep_as_its_prompt(
        h: Harness, tiered: TieredDetector, raw: object, depth: bool) -> None:  # noqa: F811
    assert callable(raw)
    [forward] = await h.pipeline.admit(raw("r-1"), src(key=b"r-1"))
    await h.pipeline.forward(forward.value, src(offset=0, topic=FORWARD_TOPIC, key=b"r-1"))
    assert h.kinds("r-1")[-1] == "answered"
    assert tiered.asked == [depth, depth]  # the prompt's detection, then the answer's
