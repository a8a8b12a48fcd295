"""Fixtures the adapter tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

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
