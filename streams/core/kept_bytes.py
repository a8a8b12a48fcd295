"""How a message douane could not process is kept: its bytes, within Kafka's message size.

A rejected or dead-lettered message travels on (``douane.rejected``, ``douane.dead-letter``)
with the original bytes in base64, so that nothing a producer sent is lost. Base64 makes them a
third larger: a message just under the broker's limit would make a kept copy over it, whose
publication fails (and before this module, stalled its partition). So a copy keeps at most
``max_bytes`` of the original, and always its size and SHA-256, which let an operator match
the copy with the producer's own record of what it sent.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

ENVELOPE_BYTES = 64 * 1024  # room for everything around the base64 text (error, source...)


def kept_bytes_for(max_message_bytes: int) -> int:
    """How many original bytes fit, in base64, into a message of ``max_message_bytes``."""
    return max(0, (max_message_bytes - ENVELOPE_BYTES) * 3 // 4)


def kept_original(raw: bytes, max_bytes: int) -> dict[str, Any]:
    """The fields describing ``raw`` in a kept copy: all of it if it fits, else its first
    ``max_bytes`` with ``original_truncated`` true."""
    kept = raw[:max_bytes]
    return {
        "original_base64": base64.b64encode(kept).decode("ascii"),
        "original_size": len(raw),
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "original_truncated": len(kept) < len(raw),
    }
