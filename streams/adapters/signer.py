"""Ed25519 signing key kept in a PEM file (KMS/HSM signers can replace it later).

The private key is a PKCS#8 PEM, mode 0600, in a directory of mode 0700, created on first use.
The public key is exported as SubjectPublicKeyInfo PEM for verifiers. A key id is the first
16 hex characters of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from streams.adapters.private_files import make_private_folder
from streams.core.audit import VerifyFn
from streams.core.keyring import Keyring, parse_keyring


class AuditSigner(Protocol):
    """What the audit log signs with: a key in a PEM file (:class:`Ed25519Signer`) or in a
    PKCS#11 token (``streams.adapters.pkcs11_keys.TokenSigner``)."""

    key_id: str
    public_key: Ed25519PublicKey

    def sign(self, message: bytes) -> bytes: ...


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def make_verifier(public_key: Ed25519PublicKey) -> VerifyFn:
    """A ``verify(message, signature) -> bool`` for the core's chain checker."""

    def verify(message: bytes, signature: bytes) -> bool:
        try:
            public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return verify


class Ed25519Signer:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def verifier(self) -> VerifyFn:
        return make_verifier(self.public_key)

    def public_key_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_key_pem(self) -> bytes:
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _write_temp(directory: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a fresh, fsynced file in ``directory`` with ``mode``."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-key-")
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return Path(name)


def _load_private(key_path: Path) -> Ed25519Signer:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{key_path} does not hold an Ed25519 private key")
    return Ed25519Signer(key)


def load_or_create_signer(key_path: Path, public_key_path: Path) -> Ed25519Signer:
    """Load the signing key, creating it on first run; always (re)write the public key PEM.

    Safe when several processes start at once: the new key is written to a temporary file and
    hard-linked into place, which fails if another process won, and then that key is used.
    """
    if not key_path.exists():
        make_private_folder(key_path.parent)  # only a folder it creates is tightened
        candidate = Ed25519Signer.generate()
        tmp = _write_temp(key_path.parent, candidate.private_key_pem(), 0o600)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, key_path)
        finally:
            tmp.unlink()
        dir_fd = os.open(key_path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    signer = _load_private(key_path)
    export_public_key(signer.public_key_pem(), public_key_path)
    return signer


def export_public_key(pem: bytes, public_key_path: Path) -> None:
    """(Re)write a public key PEM for verifiers (0644: it is public)."""
    make_private_folder(public_key_path.parent)
    tmp = _write_temp(public_key_path.parent, pem, 0o644)
    os.replace(tmp, public_key_path)


def load_public_key(path: Path) -> tuple[str, VerifyFn]:
    """``(key_id, verify)`` for a public key PEM written by :func:`load_or_create_signer`."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return key_id_for(key), make_verifier(key)


# --- keyring file (public keys with validity windows, kept forever) ----------------------


def raw_public_key(signer: AuditSigner) -> bytes:
    return signer.public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def verifier_for_raw(public_key: bytes) -> VerifyFn:
    return make_verifier(Ed25519PublicKey.from_public_bytes(public_key))


def keyring_path_for(audit_db: Path) -> Path:
    """The keyring sits next to the audit database: ``audit.sqlite3`` -> ``audit.keyring.json``."""
    return audit_db.with_suffix(".keyring.json")


def load_keyring(path: Path) -> Keyring:
    return parse_keyring(path.read_bytes())


def save_keyring(path: Path, keyring: Keyring) -> None:
    """Atomically replace the keyring file (readable by anyone: it holds public keys only)."""
    make_private_folder(path.parent)
    tmp = _write_temp(path.parent, keyring.dumps(), 0o644)
    os.replace(tmp, path)


def generate_key_file(key_path: Path) -> Ed25519Signer:
    """A new signer whose private key is written next to ``key_path`` as ``<name>.next``."""
    signer = Ed25519Signer.generate()
    tmp = _write_temp(key_path.parent, signer.private_key_pem(), 0o600)
    os.replace(tmp, key_path.with_name(key_path.name + ".next"))
    return signer
