"""Periods of data keys, what a retention run may destroy at a given time, keyed fingerprints."""

from __future__ import annotations

import pytest

from streams.core.fingerprint import normal_form, subject_fingerprint
from streams.core.key_periods import (
    Hold,
    KeyPeriod,
    KeyRef,
    destroyable,
    format_duration,
    parse_period_id,
    period_for,
    period_length,
)

DAY = 86_400


@pytest.mark.parametrize(("retention_s", "length_s"), [
    (1, 1), (9, 1), (10, 1), (100, 10), (3_600, 360), (DAY, 8_640), (30 * DAY, DAY),
    (3_650 * DAY, DAY),
])
def test_a_period_is_a_tenth_of_the_retention_at_most_a_day(retention_s: int,
                                                            length_s: int) -> None:
    assert period_length(retention_s) == length_s


def test_no_retention_is_not_a_period() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        period_length(0)


@pytest.mark.parametrize(("moment", "retention_s", "start", "expires_at"), [
    (0, 100, 0, 110),
    (9.99, 100, 0, 110),
    (10, 100, 10, 120),
    (1_000_000.5, 30 * DAY, 1_000_000 // DAY * DAY, 1_000_000 // DAY * DAY + 31 * DAY),
])
def test_values_stored_in_one_period_expire_together(moment: float, retention_s: int,
                                                     start: int, expires_at: int) -> None:
    period = period_for(moment, retention_s)
    assert (period.start, period.expires_at) == (start, expires_at)
    # never kept less than asked, never more than the retention plus one period
    assert retention_s <= period.expires_at - moment <= retention_s + period.length_s


@pytest.mark.parametrize(("now", "expired"), [(119.9, False), (120, True), (10**9, True)])
def test_a_period_has_expired_from_its_end(now: float, expired: bool) -> None:
    assert KeyPeriod(10, 10, 100).expired(now) is expired


def test_period_ids_round_trip() -> None:
    period = period_for(1_732_000_000, 3_600)
    assert parse_period_id(period.period_id) == period
    with pytest.raises(ValueError, match="not a period id"):
        parse_period_id("1+2")


@pytest.mark.parametrize(("seconds", "text"), [
    (30 * DAY, "30d"), (5_400, "1h30m"), (3_600, "1h"), (61, "1m1s"), (0, "0s"),
    (60_480, "16h48m"), (DAY + 1, "1d1s")])
def test_durations_read_largest_units_first(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def _key(key_id: str, tenant: str, subject: str, start: int) -> KeyRef:
    return KeyRef(key_id, tenant, subject, KeyPeriod(start, 10, 100))


KEYS = [_key("old-a", "lyon", "alice", 0), _key("old-b", "lyon", "bob", 0),
        _key("old-c", "paris", "alice", 0), _key("new-a", "lyon", "alice", 1_000)]


@pytest.mark.parametrize(("now", "holds", "destroyed"), [
    (100, [], []),
    (110, [], ["old-a", "old-b", "old-c"]),
    (110, [Hold("lyon", "alice")], ["old-b", "old-c"]),
    (110, [Hold("lyon", None)], ["old-c"]),
    (110, [Hold("paris", "bob")], ["old-a", "old-b", "old-c"]),
    (2_000, [Hold("lyon", "bob")], ["old-a", "old-c", "new-a"]),
])
def test_expired_keys_without_a_hold_are_destroyable(now: float, holds: list[Hold],
                                                     destroyed: list[str]) -> None:
    assert [k.key_id for k in destroyable(KEYS, now, holds)] == destroyed


def test_fingerprints_are_keyed_and_ignore_case_and_spacing() -> None:
    key_a, key_b = b"a" * 32, b"b" * 32
    assert normal_form("  Jean\u00a0\tDUPONT ") == "jean dupont"
    assert subject_fingerprint(key_a, "Jean Dupont") == subject_fingerprint(key_a, "jean  dupont")
    assert subject_fingerprint(key_a, "Jean Dupont") != subject_fingerprint(key_b, "Jean Dupont")
    assert subject_fingerprint(key_a, "Jean Dupont") != subject_fingerprint(key_a, "Jean Durand")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        subject_fingerprint(b"short", "x")
