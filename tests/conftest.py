"""Fixtures shared by every test directory: the project's PostgreSQL server and fresh
databases on it (the audit store's contract tests and the many-workers integration test).

The server is the project's own (``scripts/postgres.sh start``: installed with apt-get when
missing, started as the ``postgres`` user on a free port). Set DOUANE_TEST_POSTGRES_DSN to use
another server instead.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from streams.config import project_root


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of a PostgreSQL server started by the project's script (stopped at the end)."""
    given = os.environ.get("DOUANE_TEST_POSTGRES_DSN")
    if given:
        yield given
        return
    script = project_root() / "scripts" / "postgres.sh"
    running = subprocess.run([str(script), "dsn"], capture_output=True, text=True)
    started = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=900)
    assert started.returncode == 0, f"scripts/postgres.sh start failed:\n{started.stderr}"
    yield started.stdout.strip()
    if running.returncode != 0:  # we started it: stop it
        subprocess.run([str(script), "stop"], capture_output=True, timeout=120)


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """The DSN of a new, empty database on ``server``, dropped afterwards."""
    name = f"audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield psycopg.conninfo.make_conninfo(server, dbname=name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A fresh database on the project's PostgreSQL server, for one test."""
    with fresh_database(postgres_server) as dsn:
        yield dsn
