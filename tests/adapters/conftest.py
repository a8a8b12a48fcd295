"""Fixtures the adapter tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from stopped_clock import StoppedClock

from streams.adapters.kek_store import FileKekStore
from streams.adapters.key_store import KeyStore
from streams.adapters.personal_vault import PersonalVault
from streams.config import Settings, load_settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``cli.main`` points structlog at the captured stderr; later tests need it back."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh ``DOUANE_HOME`` (a module with other needs defines its own)."""
    return load_settings({"DOUANE_HOME": str(tmp_path / "home")})


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock()


@pytest.fixture
def vault(tmp_path: Path, clock: StoppedClock) -> Iterator[PersonalVault]:
    """The personal vault on real SQLite files, its data keys in a key store on ``clock``."""
    keys = KeyStore(tmp_path / "keys.sqlite3", FileKekStore(tmp_path / "kek"), clock)
    opened = PersonalVault(tmp_path / "vault.sqlite3", keys)
    yield opened
    opened.close()
    keys.close()
