"""Per-tenant keys for the ``keyed-hash`` and ``encrypt`` redaction operators.

One random 32-byte key per tenant and purpose of use, in a file readable only by douane
(``$DOUANE_HOME/keys/operators/<tenant>.<use>.key``), created on first use. A keyed hash is
HMAC-SHA-256 (never an unkeyed hash, which a guess of the value would reverse); encryption is
AES-256-GCM with the tenant and entity type as associated data.

The retention work (crypto-shredding, key periods) replaces this with data keys per period;
the core only sees the :class:`streams.core.redaction.OperatorKeys` protocol.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.private_files import make_private_folder
from streams.core.redaction import hmac_token

_SAFE = re.compile(r"[^a-z0-9-]")


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
