"""A message douane could not process is kept within Kafka's message size."""

from __future__ import annotations

import base64
import hashlib

import pytest

from streams.core.kept_bytes import ENVELOPE_BYTES, kept_bytes_for, kept_original


@pytest.mark.parametrize(("limit", "kept"), [
    (1024 * 1024, (1024 * 1024 - ENVELOPE_BYTES) * 3 // 4),
    (ENVELOPE_BYTES + 4, 3),
    (ENVELOPE_BYTES, 0),
    (1000, 0),
])
def test_what_fits_in_base64_within_the_limit(limit: int, kept: int) -> None:
    assert kept_bytes_for(limit) == kept
    assert len(base64.b64encode(b"x" * kept)) + ENVELOPE_BYTES <= max(limit, ENVELOPE_BYTES)


def test_a_small_message_is_kept_whole() -> None:
    kept = kept_original(b"not json", 100)
    assert base64.b64decode(kept["original_base64"]) == b"not json"
    assert (kept["original_size"], kept["original_truncated"]) == (8, False)
    assert kept["original_sha256"] == hashlib.sha256(b"not json").hexdigest()


def test_a_large_message_keeps_its_beginning_its_size_and_its_digest() -> None:
    raw = bytes(range(256)) * 4000  # 1,024,000 bytes
    kept = kept_original(raw, kept_bytes_for(1024 * 1024))
    assert base64.b64decode(kept["original_base64"]) == raw[:kept_bytes_for(1024 * 1024)]
    assert kept["original_truncated"] is True
    assert kept["original_size"] == len(raw)
    assert kept["original_sha256"] == hashlib.sha256(raw).hexdigest()
