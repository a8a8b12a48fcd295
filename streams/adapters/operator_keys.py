"""Per-tenant keys for the ``keyed-hash`` and ``encrypt`` redaction operators.

One random 32-byte key per tenant and purpose of use, in a file readable only by douane
(``$DOUANE_HOME/keys/operators/<tenant>.<use>.key``), created on first use. A keyed hash is
HMAC-SHA-256 (never an unkeyed hash, which a guess of the value would reverse); encryption is
AES-256-GCM with the tenant and entity type as associated data.

The retention work (crypto-shredding, key periods) replaces ``encrypt`` with data keys per
period (``shredding_operator_keys.py``); the pipeline sees the :class:`OperatorKeys` protocol and
asks for every token a redaction plan needs at once with :func:`keyed_tokens`, off the event
loop. The core never calls keys: it plans, and applies the tokens it is given.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.private_files import make_private_folder
from streams.core.redaction import KeyedValue, hmac_token

_SAFE = re.compile(r"[^a-z0-9-]")


class OperatorKeys(Protocol):
    """Key handling for the keyed operators, per tenant; returns the token to put in the
    prompt. May block (key files, the key store, the vault)."""

    def keyed_hash(self, tenant: str, entity_type: str, value: str) -> str: ...

    def encrypt(self, tenant: str, entity_type: str, value: str,
                request_id: str | None = None) -> str: ...


def keyed_tokens(keys: OperatorKeys, needed: Iterable[KeyedValue],
                 request_id: str | None = None) -> dict[KeyedValue, str]:
    """The token of each keyed value of a redaction plan (``RedactionPlan.keyed``), in order.
    Blocking: run it off the event loop."""
    return {keyed: keys.keyed_hash(keyed.tenant, keyed.entity_type, keyed.value)
            if keyed.operator == "keyed-hash"
            else keys.encrypt(keyed.tenant, keyed.entity_type, keyed.value, request_id)
            for keyed in needed}


class FileOperatorKeys:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _key(self, tenant: str, use: str) -> bytes:
        name = f"{_SAFE.sub('_', tenant)}.{use}.key"
        with self._lock:
            if name not in self._cache:
                path = self.folder / name
                if not path.exists():
                    make_private_folder(self.folder)
                    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "wb") as out:
                        out.write(os.urandom(32))
                self._cache[name] = path.read_bytes()
            return self._cache[name]

    def keyed_hash(self, tenant: str, entity_type: str, value: str) -> str:
        return hmac_token(self._key(tenant, "hmac"), entity_type, value)

    def encrypt(self, tenant: str, entity_type: str, value: str,
                request_id: str | None = None) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key(tenant, "aes")).encrypt(
            nonce, value.encode("utf-8"), f"{tenant}\0{entity_type}".encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
