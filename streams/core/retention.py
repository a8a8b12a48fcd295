"""How long douane's Kafka topics may keep prompts: the policy's ``retention.raw_topics``.

A topic carries requests of many tenants and classifications, so it keeps data for the
*shortest* period any of them allows: the shared topics (requests, responses, rejected,
dead letters) take the minimum over every (tenant, purpose, classification) a request can
have; a provider's forward topic, the minimum over those that may be routed to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.key_periods import period_length
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy_check import universe


@dataclass(frozen=True)
class TopicRetention:
    shared_s: int  # requests, responses, rejected, dead letters
    per_provider_s: dict[str, int]  # each provider's forward topic


def raw_topic_retention(loaded: LoadedPolicy) -> TopicRetention:
    shared: int | None = None
    per_provider: dict[str, int] = {}
    for point in universe(loaded.policy):
        resolution = loaded.resolve(*point)
        seconds = resolution.retention_s["raw_topics"]
        shared = seconds if shared is None else min(shared, seconds)
        for provider in resolution.candidates:
            per_provider[provider.id] = min(per_provider.get(provider.id, seconds), seconds)
    assert shared is not None  # a policy has at least one tenant
    return TopicRetention(shared, {p.id: per_provider.get(p.id, shared)
                                   for p in loaded.policy.providers})


# --------------------------------------------------------------------------- on the broker's disk

# Kafka deletes whole segment files, and only a segment whose newest record is older than
# retention.ms. Under steady traffic the segment being written keeps receiving records, so its
# newest record stays young and nothing in it goes until the segment is closed: after
# segment.ms (Kafka's default 7 days, whatever retention.ms says). A value written first into a
# segment therefore stays on disk for segment.ms (until the segment closes), then retention.ms
# (after the segment's last record), then until the broker's next look for expired segments
# (log.retention.check.interval.ms, a broker setting: 5 minutes by default), then
# file.delete.delay.ms (a deleted segment is first renamed *.deleted, then removed).
KAFKA_DEFAULT_RETENTION_CHECK_MS = 300_000
KAFKA_DEFAULT_FILE_DELETE_DELAY_MS = 60_000
# The broker's clock, not the producer's: time retention compares the records' timestamps with
# now, and with CreateTime (Kafka's default) whoever writes a record sets its timestamp, so one
# record stamped in the future (a wrong clock, or on purpose) keeps its whole segment on disk.
LOG_APPEND_TIME = "LogAppendTime"


def segment_ms(retention_ms: int) -> int:
    """How long a segment collects records: the same slack as a key period (a tenth of the
    retention, 1 s to 1 day), so "1 hour" leaves a value on disk at most 66 minutes plus the
    broker's check, and a topic holds about eleven segments per partition whatever its
    retention (a shorter segment would bound the overrun more tightly with many more files)."""
    return period_length(max(1, retention_ms // 1000)) * 1000


def file_delete_delay_ms(retention_ms: int) -> int:
    """Kafka's own grace for a deleted segment still being read (one minute), never longer
    than a segment lasts, so it stays small beside the retention for short ones too."""
    return min(KAFKA_DEFAULT_FILE_DELETE_DELAY_MS, segment_ms(retention_ms))


def topic_retention_settings(retention_ms: int) -> dict[str, str]:
    """What douane sets on a topic that keeps records ``retention_ms``."""
    if retention_ms < 1000:
        raise ValueError(f"a topic's retention must be at least 1 second, got {retention_ms} ms")
    return {"retention.ms": str(retention_ms), "segment.ms": str(segment_ms(retention_ms)),
            "file.delete.delay.ms": str(file_delete_delay_ms(retention_ms)),
            "message.timestamp.type": LOG_APPEND_TIME}


def worst_case_on_disk_ms(retention_ms: int, segment_ms: int, file_delete_delay_ms: int,
                          retention_check_ms: int) -> int:
    """The longest a record stays in a topic's files (see above), with broker timestamps."""
    return retention_ms + segment_ms + retention_check_ms + file_delete_delay_ms
