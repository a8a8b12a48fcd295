"""douane's folder and stores are readable by its own account only (issue 12, item 8).

The tests run under the usual shell umask (022), with which Python and SQLite would create
0755 folders and 0644 files: each store must still come out 0600 in a 0700 DOUANE_HOME,
SQLite's ``-wal`` and ``-shm`` files included.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from streams.adapters.operator_keys import FileOperatorKeys
from streams.adapters.private_files import make_private_folder
from streams.config import load_settings, project_root
from streams.core.audit import AuditEvent
from streams.core.keyring import WORKER
from streams.devtools import kafka_broker
from streams.front_door.keys import KeyStore as ApiKeys
from streams.services.audit_log import open_writer
from streams.services.stores import open_stores


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_store_under_a_new_home_is_private(tmp_path: Path, usual_umask: None) -> None:
    home = tmp_path / "var" / "douane"  # neither exists yet
    settings = load_settings({"DOUANE_HOME": str(home)})
    audit = open_writer(settings, WORKER)
    try:
        audit.append(AuditEvent("r-1/admitted", "admitted", "r-1", "city-of-lyon",
                                datetime.now(UTC), {"decision": "forward"}))
        with open_stores(settings) as (keys, vault):
            vault.put("city-of-lyon", "Jeanne Martin", kind="PERSON", retention_s=3600)
            # SQLite keeps -wal and -shm while a connection is open: look at them now
            stores = [settings.audit_db, keys.path, vault.path]
            files = [store.with_name(store.name + suffix)
                     for store in stores for suffix in ("", "-wal", "-shm")]
            files += [settings.signing_key]
            assert all(file.exists() for file in files), [f for f in files if not f.exists()]
            assert {str(f.relative_to(home)): oct(mode(f)) for f in files
                    if mode(f) != 0o600} == {}
    finally:
        audit.close()
    FileOperatorKeys(home / "keys" / "operators").keyed_hash("city-of-lyon", "PERSON", "x")
    ApiKeys(home / "front-door" / "keys.json").add("city-of-lyon")
    assert mode(home / "keys" / "operators" / "city-of-lyon.hmac.key") == 0o600
    assert mode(home / "front-door" / "keys.json") == 0o600
    folders = [home, tmp_path / "var", home / "keys", home / "keys" / "operators",
               home / "front-door"]
    assert {str(f): oct(mode(f)) for f in folders if mode(f) != 0o700} == {}


def test_a_store_left_readable_by_an_older_version_is_tightened(
        tmp_path: Path, usual_umask: None) -> None:
    settings = load_settings({"DOUANE_HOME": str(tmp_path)})
    with open_stores(settings) as (keys, _vault):
        pass
    os.chmod(keys.path, 0o644)
    with open_stores(settings) as (keys, _vault):
        assert mode(keys.path) == 0o600
        assert mode(keys.path.with_name(keys.path.name + "-wal")) == 0o600


def test_an_existing_folder_keeps_its_mode(tmp_path: Path, usual_umask: None) -> None:
    shared = tmp_path / "srv"
    shared.mkdir(mode=0o755)
    make_private_folder(shared / "douane" / "keys")
    assert mode(shared) == 0o755  # the operator's, not douane's
    assert mode(shared / "douane") == 0o700
    assert mode(shared / "douane" / "keys") == 0o700


async def test_the_broker_data_folder_an_older_version_left_open_is_closed(
        tmp_path: Path, usual_umask: None) -> None:
    """Its log segments hold the requests as published: the folder is douane's alone."""
    settings = load_settings({"DOUANE_HOME": str(tmp_path / "home")})
    settings.kafka_data_dir.mkdir(parents=True, mode=0o755)
    paths = kafka_broker._Paths(settings.kafka_data_dir)
    async with kafka_broker._start_lock(paths, deadline=asyncio.get_running_loop().time() + 5):
        assert mode(settings.kafka_data_dir) == 0o700
        assert mode(paths.lock) == 0o600
    kafka_broker._write_atomic(paths.pid, "12\n")
    assert mode(paths.pid) == 0o600


def test_docker_compose_publishes_ports_on_loopback_only() -> None:
    """The stand-in lists every prompt it received (/_stand-in/received): never on the network."""
    compose = yaml.safe_load((project_root() / "docker-compose.yml").read_text("utf-8"))
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    exposed = {name: ports for name, ports in published.items()
               if any(not _loopback(port) for port in ports)}
    assert exposed == {}


def _loopback(port: object) -> bool:
    if isinstance(port, dict):  # the long syntax
        return port.get("host_ip") in ("127.0.0.1", "::1")
    return str(port).startswith(("127.0.0.1:", "[::1]:"))
