"""What douane sets on its Kafka topics so that the policy's retention holds while traffic flows
(issue 12, item 3): segments that close, broker timestamps, a short delete delay, and the
longest a record then stays in the broker's files."""

from __future__ import annotations

import pytest

from streams.core.retention import (
    KAFKA_DEFAULT_RETENTION_CHECK_MS,
    LOG_APPEND_TIME,
    topic_retention_settings,
    worst_case_on_disk_ms,
)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
KAFKA_DEFAULT_SEGMENT_MS = 7 * DAY_MS


@pytest.mark.parametrize(("retention_ms", "segment_ms", "delete_delay_ms"), [
    (2_000, 1_000, 1_000),  # the integration test's 2 s: segments of 1 s at least
    (60_000, 6_000, 6_000),
    (HOUR_MS, 360_000, 60_000),  # a tenth of the retention, Kafka's one-minute grace
    (DAY_MS, 8_640_000, 60_000),
    (30 * DAY_MS, DAY_MS, 60_000),  # never longer than a day
])
def test_segments_close_within_a_tenth_of_the_retention(
        retention_ms: int, segment_ms: int, delete_delay_ms: int) -> None:
    settings = topic_retention_settings(retention_ms)
    assert settings == {"retention.ms": str(retention_ms), "segment.ms": str(segment_ms),
                        "file.delete.delay.ms": str(delete_delay_ms),
                        "message.timestamp.type": LOG_APPEND_TIME}


def test_every_topic_retention_gets_a_segment_shorter_than_kafkas_week() -> None:
    for seconds in (1, 2, 59, 3_600, 86_399, 86_400, 7 * 86_400, 3_650 * 86_400):
        settings = topic_retention_settings(seconds * 1000)
        segment = int(settings["segment.ms"])
        assert 1000 <= segment <= max(1000, seconds * 100)  # a tenth, or 1 s
        assert segment <= DAY_MS < KAFKA_DEFAULT_SEGMENT_MS
        assert int(settings["file.delete.delay.ms"]) <= segment


def test_a_value_stays_at_most_the_retention_plus_a_segment_a_check_and_the_delay() -> None:
    settings = topic_retention_settings(HOUR_MS)
    worst = worst_case_on_disk_ms(HOUR_MS, int(settings["segment.ms"]),
                                  int(settings["file.delete.delay.ms"]),
                                  KAFKA_DEFAULT_RETENTION_CHECK_MS)
    assert worst == HOUR_MS + 6 * 60_000 + 5 * 60_000 + 60_000  # 1h12m
    # what Kafka's defaults gave: a week more than the hour the policy asked for
    assert worst_case_on_disk_ms(HOUR_MS, KAFKA_DEFAULT_SEGMENT_MS, 60_000,
                                 KAFKA_DEFAULT_RETENTION_CHECK_MS) > 7 * DAY_MS


def test_a_retention_under_a_second_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="at least 1 second, got 999 ms"):
        topic_retention_settings(999)
