"""A request whose own CPU limit ran out in a batch is failed alone, and nothing is run twice:
the model stages read long requests alone and short ones together (``_per_request``), a group
over its limit is read again one request at a time (only then is the culprit not known), and
``detect_each`` does not retry what the detector already named (``detect_results``). The
limits are simulated: a stage "spends its limit" on the text marked "bad" (no clock)."""

from __future__ import annotations

from collections.abc import Sequence

from streams.adapters.presidio_detector import DetectorError, _per_request
from streams.adapters.recognizers.base import ModelsOverCpuLimit
from streams.core.model import DETECTED_ALONE_CHARS, ChatMessage, Detection, DetectionRequest
from streams.runtime.batched_detection import detect_each

LONG = "x" * (DETECTED_ALONE_CHARS + 1)


class Stage:
    """A model stage: the texts of each call, and the limit spent on a "bad" text."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str], indexes: list[int]) -> list[str]:
        self.calls.append([t[:4] for t in texts])
        if any("bad" in t for t in texts):
            raise ModelsOverCpuLimit()
        return [t[:4] for t in texts]


def items(*texts: str) -> list[tuple[int, int, str]]:
    return [(r, 0, text) for r, text in enumerate(texts)]


def test_a_long_request_over_its_limit_fails_alone_and_is_read_once() -> None:
    stage, failed = Stage(), {}  # type: ignore[var-annotated]
    found = _per_request(items("ok", "bad" + LONG, "fine"), range(3), failed, stage)
    assert stage.calls == [["ok", "fine"], ["bad" + "x"]]
    assert found == {0: "ok", 2: "fine"}
    assert list(failed) == [1]
    assert str(failed[1]) == "PII detection failed (ModelsOverCpuLimit)"


def test_short_requests_over_their_shared_limit_are_read_again_one_by_one() -> None:
    stage, failed = Stage(), {}  # type: ignore[var-annotated]
    found = _per_request(items("ok", "bad", "fine", LONG), range(4), failed, stage)
    # the long one alone; the group failed, then each of its requests alone
    assert stage.calls == [["ok", "bad", "fine"], ["xxxx"], ["ok"], ["bad"], ["fine"]]
    assert found == {0: "ok", 2: "fine", 3: "xxxx"}
    assert list(failed) == [1]


def test_a_request_already_failed_is_not_read() -> None:
    stage = Stage()
    failed = {1: DetectorError("a message is longer than 262144 characters")}
    assert _per_request(items("ok", "bad"), range(2), failed, stage) == {0: "ok"}
    assert stage.calls == [["ok"]]


class Named:
    """A detector naming its failed requests (``detect_results``); counts its calls."""

    def __init__(self, raises: bool = False) -> None:
        self.calls: list[int] = []
        self.raises = raises

    def detect(self, msgs: tuple[ChatMessage, ...], language: str | None) -> Detection:
        return Detection("en", "test", ())

    def detect_batch(self, requests: Sequence[DetectionRequest]) -> list[Detection]:
        self.calls.append(-len(requests))
        return [self.detect(r.messages, r.language) for r in requests]

    def detect_results(self, requests: Sequence[DetectionRequest],
                       ) -> list[Detection | DetectorError]:
        self.calls.append(len(requests))
        if self.raises:
            raise DetectorError("PII detection failed (ValueError)")
        return [DetectorError("PII detection failed (StepsOverCpuLimit)")
                if "bad" in r.messages[0].content else Detection("en", "test", ())
                for r in requests]


def batch(*texts: str) -> list[DetectionRequest]:
    return [DetectionRequest((ChatMessage("user", t),), "en") for t in texts]


def test_detect_each_does_not_retry_a_request_the_detector_named() -> None:
    detector = Named()
    results = detect_each(detector, batch("ok", "bad", "fine"))
    assert detector.calls == [3]  # once, the whole batch; nobody detected twice
    assert [type(r).__name__ for r in results] == ["Detection", "DetectorError", "Detection"]


def test_a_failure_naming_no_request_still_sends_the_batch_one_by_one() -> None:
    detector = Named(raises=True)
    results = detect_each(detector, batch("ok", "fine"))
    assert detector.calls == [2, -1, -1]
    assert all(isinstance(r, Detection) for r in results)
