"""The audit log's tables: the columns every store reads and writes, and the layout version."""

from __future__ import annotations

STORE_VERSION = 2  # version of the database layout (2: checkpoints, meta)

COLUMNS = (
    "seq, record_id, kind, request_id, tenant, occurred_at, canonical, leaf_hash, signature, key_id"
)
INDEXED = ("record_id", "kind", "request_id", "tenant", "occurred_at", "leaf_hash")
INSERT = f"INSERT INTO audit_records ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
