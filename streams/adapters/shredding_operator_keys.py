"""The ``encrypt`` redaction operator under crypto-shredding data keys.

``<PERSON:enc:TOKEN>`` carries ``<data key id>.<base64url(nonce + AES-GCM ciphertext)>``: the
value encrypted under the data key of its subject (keyed fingerprint of the value) for the
current period of the policy's ``encrypted_payloads`` retention. Wherever the token travels
(Kafka topics, the provider, answers), it becomes unreadable once that key is destroyed by a
retention run or an erasure. ``keyed-hash`` is unchanged (the tenant's HMAC key): a keyed hash
holds no value to shred.

The retention used is the *shortest* ``encrypted_payloads`` over every tenant, purpose and
classification of the policy (the operator is not told which one a request had), so no value is
kept longer than any rule allows.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.key_store import KeyStore
from streams.adapters.operator_keys import OperatorKeys
from streams.adapters.personal_vault import PersonalVault, ValueErasedError
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy_check import universe


def shortest_payload_retention(loaded: LoadedPolicy) -> int:
    """The shortest ``retention.encrypted_payloads`` (seconds) the policy gives any request."""
    seconds = [loaded.resolve(*point).retention_s["encrypted_payloads"]
               for point in universe(loaded.policy)]
    return max(1, min(seconds))


class ShreddingOperatorKeys:
    def __init__(self, keys: KeyStore, hashing: OperatorKeys, retention_s: int,
                 vault: PersonalVault | None = None) -> None:
        self.keys = keys
        self.hashing = hashing
        self.retention_s = retention_s  # replaced when a new policy is applied
        # with a vault, each encrypted value is also listed there (same data key), so that
        # ``douane subject-access`` shows it and its deletion date
        self.vault = vault

    def keyed_hash(self, tenant: str, entity_type: str, value: str) -> str:
        return self.hashing.keyed_hash(tenant, entity_type, value)

    def encrypt(self, tenant: str, entity_type: str, value: str,
                request_id: str | None = None) -> str:
        subject = self.keys.fingerprint(tenant, value)
        data_key = self.keys.data_key(tenant, subject, self.retention_s)
        nonce = os.urandom(12)
        sealed = AESGCM(data_key.key).encrypt(nonce, value.encode("utf-8"),
                                              _bound_to(tenant, entity_type, data_key.key_id))
        if self.vault is not None:
            self.vault.put(tenant, value, kind=entity_type, retention_s=self.retention_s,
                           subject=subject, request_id=request_id)
        return f"{data_key.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, tenant: str, entity_type: str, token: str) -> str:
        """The value behind a token; ValueErasedError once its key is destroyed."""
        key_id, _, body = token.partition(".")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise ValueError(f"encrypted token for {entity_type} is malformed") from None
        key = self.keys.unwrap(key_id)
        if key is None:
            raise ValueErasedError(f"data key {key_id} was destroyed: the value is erased")
        try:
            plain = AESGCM(key).decrypt(raw[:12], raw[12:], _bound_to(tenant, entity_type, key_id))
        except InvalidTag:
            raise ValueError(f"encrypted token for {entity_type} does not match tenant "
                             f"{tenant}") from None
        return plain.decode("utf-8")


def _bound_to(tenant: str, entity_type: str, key_id: str) -> bytes:
    return f"douane-enc\0{tenant}\0{entity_type}\0{key_id}".encode()
