"""The key store and the personal vault, where the settings put them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.adapters.kek_store import FileKekStore, KekStore
from streams.adapters.key_store import KeyStore
from streams.adapters.personal_vault import PersonalVault
from streams.adapters.pkcs11_keys import TokenKekStore, open_token, token_config
from streams.config import Settings

Clock = Callable[[], float]


def keys_path(settings: Settings) -> Path:
    return settings.keys_db or settings.home / "keys.sqlite3"


def vault_path(settings: Settings) -> Path:
    return settings.vault_db or settings.home / "vault.sqlite3"


def open_kek_store(settings: Settings) -> KekStore:
    """The configured KEK store (DOUANE_KEK_STORE): a folder, or a PKCS#11 token."""
    if settings.kek_store == "pkcs11":
        return TokenKekStore(open_token(token_config()))
    return FileKekStore(Path(settings.kek_store))


def open_key_store(settings: Settings, clock: Clock = time.time) -> KeyStore:
    return KeyStore(keys_path(settings), open_kek_store(settings), clock)


@contextmanager
def open_stores(settings: Settings, clock: Clock = time.time
                ) -> Iterator[tuple[KeyStore, PersonalVault]]:
    keys = open_key_store(settings, clock)
    vault = PersonalVault(vault_path(settings), keys)
    try:
        yield keys, vault
    finally:
        vault.close()
        keys.close()
        keys.keks.close()
