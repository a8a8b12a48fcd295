"""Start, re-start, use and stop a real local broker (Java + the Maven-downloaded Kafka jars).

It runs on non-default ports (``DOUANE_TEST_KAFKA_PORT``, default 19192, controller on the next
port) with its data in a temporary folder, so it does not touch a developer's broker on 9092.
The jars come from the normal cache (``$DOUANE_CACHE`` or ``.cache/``); the first run downloads
them (about 25 s).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.adapters.kafka_security import kafka_connection
from streams.config import Settings, load_settings
from streams.devtools import kafka_broker as kb

pytestmark = pytest.mark.integration

PORT = int(os.environ.get("DOUANE_TEST_KAFKA_PORT", "19192"))


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[Settings]:
    if shutil.which("java") is None:
        pytest.skip("java is not installed")
    if not (kb._port_free(PORT) and kb._port_free(PORT + 1)):
        pytest.skip(f"ports {PORT}/{PORT + 1} are busy; set DOUANE_TEST_KAFKA_PORT")
    settings = load_settings(
        {"DOUANE_HOME": str(tmp_path / "home"), "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{PORT}"}
    )
    try:
        yield settings
    finally:
        await kb.stop_broker(settings, timeout_s=30)  # never leave a broker behind


def _start_in_another_process(settings: Settings) -> subprocess.Popen[str]:
    code = (
        "import sys\n"
        "from streams.config import load_settings\n"
        "from streams.devtools.kafka_broker import run_kafka_command\n"
        "sys.exit(run_kafka_command('start', load_settings()))\n"
    )
    env = {
        **os.environ,
        "DOUANE_HOME": str(settings.home),
        "DOUANE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _readable_by_others(root: Path) -> list[str]:
    """Files and folders under ``root`` that another account could read or enter."""
    found = [root, *root.rglob("*")]
    return sorted(f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(root.parent)}"
                  for p in found if p.lstat().st_mode & 0o077 and not p.is_symlink())


async def test_start_status_second_start_and_stop(settings: Settings) -> None:
    await asyncio.to_thread(kb.ensure_kafka_jars)  # first run: download outside the timings
    # the usual shell umask, with which Java would write its log segments 0644 (item 8 of
    # issue 12): the broker must still keep DOUANE_HOME to douane's account
    previous_umask = os.umask(0o022)
    try:
        await _start_use_and_stop(settings)
    finally:
        os.umask(previous_umask)


async def _start_use_and_stop(settings: Settings) -> None:

    # Two starters at once (another process and this one): one broker, both see it ready.
    other = _start_in_another_process(settings)
    started = time.monotonic()
    status = await kb.start_broker(settings, timeout_s=120)
    start_s = time.monotonic() - started
    out, err = await asyncio.to_thread(other.communicate, timeout=180)
    assert other.returncode == 0, err
    assert status.running and status.answering
    assert status.pid is not None
    assert f"pid {status.pid}," in out, out  # the other process found the same broker
    assert status.bootstrap == f"127.0.0.1:{PORT}"
    assert status.data_dir == settings.kafka_data_dir
    assert status.rss_mb is not None and status.rss_mb > 50
    assert (settings.kafka_data_dir / "logs" / "meta.properties").is_file()
    print(f"\nstart to ready: {start_s:.1f} s, RSS {status.rss_mb:.0f} MB")

    # A consumer group works right away (no GroupCoordinatorNotAvailable).
    connection = kafka_connection(settings, "admin")
    producer = AIOKafkaProducer(**connection.client_options())
    consumer = AIOKafkaConsumer(
        "douane.it.kafka-broker",
        **connection.client_options(),
        group_id="douane-it-kafka-broker",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await producer.start()
    try:
        await producer.send_and_wait("douane.it.kafka-broker", b"hello")
    finally:
        await producer.stop()
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
        assert message.value == b"hello"
        await consumer.commit()
    finally:
        await consumer.stop()

    # Kafka's log segments hold the published values: none is readable by another account.
    segments = list(settings.kafka_data_dir.rglob("douane.it.kafka-broker-*/*.log"))
    assert segments, "the topic's log segment was not found"
    assert _readable_by_others(settings.home) == []

    # A second start is a no-op: the same broker process answers.
    again = await kb.start_broker(settings)
    assert again.pid == status.pid

    current = await kb.broker_status(settings)
    assert current.running and current.answering and current.pid == status.pid
    assert await asyncio.to_thread(kb.run_kafka_command, "status", settings) == 0

    started = time.monotonic()
    assert await kb.stop_broker(settings) is True
    print(f"stop: {time.monotonic() - started:.1f} s")
    after = await kb.broker_status(settings)
    assert not after.running and not after.answering and after.rss_mb is None
    assert not (settings.kafka_data_dir / kb.PID_FILE).exists()
    assert await kb.stop_broker(settings) is False
    assert await asyncio.to_thread(kb.run_kafka_command, "status", settings) == 3
