"""Checking an audit log: the keys a verifier trusts, a whole database, one record.

``verify_log_reader`` checks any store through its reader (records, key windows, tree,
checkpoints); ``verify_store`` and ``find_verified`` open a SQLite file read-only.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from streams.adapters.audit.protocols import DEFAULT_ORIGIN, AuditLogReader, StoredRecord
from streams.adapters.audit.records import chain_entry, stored_record
from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.adapters.schemas import load_schema
from streams.adapters.signer import (
    keyring_path_for,
    load_keyring,
    load_public_key,
    verifier_for_raw,
)
from streams.core.audit import VerifyFn, verify_record
from streams.core.keyring import KeyEntry, Keyring, key_id_of
from streams.core.log_check import LogReport, verify_log


def load_audit_schema() -> dict[str, Any]:
    """The JSON Schema of audit payloads, ``schemas/audit-record.schema.json`` (a copy: the
    caller may change it)."""
    return copy.deepcopy(load_schema("audit-record"))


@functools.cache
def _cached_schema() -> Mapping[str, Any]:
    return load_audit_schema()


def _verifiers(public_key_paths: Sequence[Path]) -> dict[str, VerifyFn]:
    return dict(load_public_key(path) for path in public_key_paths)


def _raw_public(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(path.read_bytes())
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def trusted_keyring(
    db_path: Path, public_key_paths: Sequence[Path] = (), keyring_path: Path | None = None,
    origin: str | None = None,
) -> Keyring:
    """The keyring a verifier trusts: the file next to the log (or given), plus extra keys.

    Extra public keys (PEM files) are added with open windows; this is how logs written before
    keyrings existed verify.
    """
    path = keyring_path or keyring_path_for(db_path)
    keyring = load_keyring(path) if path.exists() else Keyring(origin or DEFAULT_ORIGIN, ())
    for pem in public_key_paths:
        raw = _raw_public(pem)
        keyring = keyring.with_key(KeyEntry(key_id_of(raw), raw))
    return keyring


def verify_log_reader(
    reader: AuditLogReader, keyring: Keyring, schema: Mapping[str, Any],
    trusted_checkpoint: bytes | None = None,
) -> LogReport:
    checkpoints = [(c.size, c.note) for c in reader.checkpoints()]
    return verify_log(reader.iter_entries(), keyring, verifier_for_raw, schema, checkpoints,
                      trusted_checkpoint)


def verify_store(
    path: Path,
    public_key_paths: Sequence[Path],
    schema: Mapping[str, Any],
    *,
    keyring_path: Path | None = None,
    trusted_checkpoint: bytes | None = None,
    origin: str | None = None,
) -> LogReport:
    """Check the whole database at ``path``: records, key windows, tree, checkpoints.

    ``origin`` names the log when no keyring file is found (then only ``public_key_paths``
    are trusted, with open windows).
    """
    if not path.is_file():
        return LogReport(ok=False, records_checked=0, problem="no audit database found")
    keyring = trusted_keyring(path, public_key_paths, keyring_path, origin)
    with open_sqlite_reader(path) as reader:
        return verify_log_reader(reader, keyring, schema, trusted_checkpoint)


def find_verified(path: Path, public_key_path: Path, record_id: str) -> StoredRecord | None:
    """The record ``record_id`` if it exists and is validly signed by that key, else None."""
    verifiers = _verifiers([public_key_path])
    if not path.is_file():
        return None
    with open_sqlite_reader(path) as reader:
        row = reader.row_for(record_id)
        if row is None:
            return None
        if not verify_record(chain_entry(row), verifiers, _cached_schema()).ok:
            return None
        return stored_record(row)

