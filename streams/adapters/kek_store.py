"""Key-encryption keys (KEKs), one per period, kept apart from the data keys they wrap.

Crypto-shredding destroys a period by destroying its KEK. If the KEKs sat in the same SQLite
file as the wrapped data keys, any copy of that file (a backup, a snapshot, a stolen disk
image) would hold both halves and undo every erasure. So the data key database
(``keys.sqlite3``) holds only wrapped keys, and the KEKs live behind :class:`KekStore`:

* :class:`FileKekStore` (the default): one 32-byte file per period, mode 0600, in a 0700
  folder *outside* ``DOUANE_HOME`` (``$DOUANE_KEYS_DIR/kek``, see ``streams.config``), which
  must never be backed up together with the data folder (``docs/retention.md``);
* ``streams.adapters.pkcs11_keys.TokenKekStore``: AES keys created inside a PKCS#11 token,
  which wraps and unwraps there; the KEK never leaves the token.

Wrapping is AES-256-GCM with the data key's id as associated data, as the key store has always
done, so data keys wrapped before the KEKs moved out still unwrap after the migration
(:meth:`streams.adapters.key_store.KeyStore._migrate_keks`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.private_files import PRIVATE_FILE_MODE, make_private_folder
from streams.core.key_periods import KeyPeriod, parse_period_id
from streams.errors import DouaneError

KEK_BYTES = 32


class KekStoreError(DouaneError, RuntimeError):
    """The KEK store is damaged or refuses an operation; the message names the period."""


class KekStore(Protocol):
    """Where the per-period key-encryption keys are; wraps and unwraps data keys with them."""

    def wrap(self, period: KeyPeriod, key_id: str, data_key: bytes) -> tuple[bytes, bytes]:
        """``(nonce, wrapped)`` of ``data_key`` under the period's KEK, created on first use
        (the caller refuses periods that have ended)."""
        ...

    def unwrap(self, period_id: str, key_id: str, nonce: bytes, wrapped: bytes) -> bytes | None:
        """The data key, or None once the period's KEK has been destroyed."""
        ...

    def period_ids(self) -> set[str]:
        """Periods whose KEK still exists."""
        ...

    def destroy(self, period_id: str) -> bool:
        """Destroy the period's KEK; False if it was already gone."""
        ...

    def adopt(self, period_id: str, kek: bytes) -> None:
        """Take over a KEK found in an older key database (a migration); kept if present."""
        ...

    def describe(self) -> str:
        """Where the KEKs are, for messages (no secret)."""
        ...

    def close(self) -> None: ...


def gcm_wrap(cipher: AESGCM, key_id: str, data_key: bytes) -> tuple[bytes, bytes]:
    nonce = os.urandom(12)
    return nonce, cipher.encrypt(nonce, data_key, key_id.encode())


def gcm_unwrap(cipher: AESGCM, key_id: str, nonce: bytes, wrapped: bytes) -> bytes:
    try:
        return cipher.decrypt(nonce, wrapped, key_id.encode())
    except InvalidTag:
        raise KekStoreError(f"data key {key_id} does not unwrap: key store damaged") from None


class FileKekStore:
    """One file per period (``<start>+<length>_<retention>.kek``, 32 random bytes, 0600).

    Creation is ``O_CREAT | O_EXCL``: processes starting a period at once agree on one KEK.
    Destruction overwrites the file with zeros, syncs and unlinks it (on a copy-on-write file
    system or an SSD the old blocks may survive: use an encrypted volume, or a token).

    A KEK read is kept in memory with the identity of the file it came from (device, inode,
    size, modification and change times), and used again only while ``stat`` of the path
    still gives that identity: a request wraps or unwraps about 19 data keys, and reading the
    same file each time was the largest cost of the key store. Crypto-shredding by another
    process (``douane retention``, another worker) still takes effect at the next use: the
    destroyed file is gone (``stat`` fails: the kept copy is dropped, the key reads as
    destroyed), and a file made again under the same name is a new inode or has new times.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        make_private_folder(folder)
        # period id -> (identity of the file read, the cipher of its KEK)
        self._known: dict[str, tuple[tuple[int, ...], AESGCM]] = {}
        self._paths: dict[str, str] = {}  # period id -> its file (the id checked once)

    def _path(self, period_id: str) -> Path:
        parse_period_id(period_id)  # only well-formed ids make file names
        return self.folder / (period_id.replace("/", "_") + ".kek")

    def _read(self, period_id: str) -> bytes | None:
        try:
            kek = self._path(period_id).read_bytes()
        except FileNotFoundError:
            return None
        return _checked_kek(kek, self._path(period_id))

    def _cipher(self, period_id: str) -> AESGCM | None:
        """The period's KEK as a cipher, or None once its file is gone (see the class)."""
        path = self._paths.get(period_id)
        if path is None:
            path = self._paths[period_id] = str(self._path(period_id))
        try:
            found = os.stat(path)
        except FileNotFoundError:
            self._known.pop(period_id, None)
            return None
        known = self._known.get(period_id)
        if known is not None and known[0] == _identity(found):
            return known[1]
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self._known.pop(period_id, None)
            return None
        try:
            # the identity of what is read, not of the earlier stat: a file replaced in
            # between is read and remembered as itself
            opened = os.fstat(fd)
            kek = os.read(fd, KEK_BYTES + 1)
        finally:
            os.close(fd)
        cipher = AESGCM(_checked_kek(kek, path))
        self._known[period_id] = (_identity(opened), cipher)
        return cipher

    def _create(self, period_id: str, kek: bytes) -> bytes:
        path = self._path(period_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:  # another process made it first: use theirs
            found = self._read(period_id)
            if found is None:
                raise KekStoreError(f"{path} vanished while being created") from None
            return found
        try:
            os.write(fd, kek)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._sync_folder()
        return kek

    def _sync_folder(self) -> None:
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def wrap(self, period: KeyPeriod, key_id: str, data_key: bytes) -> tuple[bytes, bytes]:
        cipher = self._cipher(period.period_id)
        if cipher is None:
            self._create(period.period_id, AESGCM.generate_key(bit_length=256))
            cipher = self._cipher(period.period_id)
            if cipher is None:
                raise KekStoreError(f"{self._path(period.period_id)} vanished once created")
        return gcm_wrap(cipher, key_id, data_key)

    def unwrap(self, period_id: str, key_id: str, nonce: bytes, wrapped: bytes) -> bytes | None:
        cipher = self._cipher(period_id)
        return None if cipher is None else gcm_unwrap(cipher, key_id, nonce, wrapped)

    def period_ids(self) -> set[str]:
        found = set()
        for path in self.folder.glob("*.kek"):
            period_id = path.name.removesuffix(".kek").replace("_", "/")
            with contextlib.suppress(ValueError):
                parse_period_id(period_id)
                found.add(period_id)
        return found

    def destroy(self, period_id: str) -> bool:
        path = self._path(period_id)
        self._known.pop(period_id, None)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return False
        try:
            os.write(fd, bytes(KEK_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):  # another run destroyed it too
            path.unlink()
        self._sync_folder()
        return True

    def adopt(self, period_id: str, kek: bytes) -> None:
        if len(kek) != KEK_BYTES:
            raise KekStoreError(f"KEK of period {period_id} is {len(kek)} bytes, not "
                                f"{KEK_BYTES}: key database damaged")
        if self._create(period_id, kek) != kek:
            raise KekStoreError(f"period {period_id} already has a different KEK in "
                                f"{self.folder}: refusing to migrate over it")

    def describe(self) -> str:
        return f"files in {self.folder}"

    def close(self) -> None:
        return None


def _identity(found: os.stat_result) -> tuple[int, ...]:
    """What tells one file at a path from another written there later (``FileKekStore``)."""
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


def _checked_kek(kek: bytes, path: Path | str) -> bytes:
    if len(kek) != KEK_BYTES:
        raise KekStoreError(f"{path}: not a {KEK_BYTES}-byte key ({len(kek)} bytes): "
                            "KEK store damaged")
    return kek
