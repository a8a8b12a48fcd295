"""The pure parts of the local Kafka broker manager; no broker, Java or Maven needed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.config import Settings, load_settings, project_root
from streams.core.kafka_acls import ADMIN
from streams.devtools import kafka_broker as kb
from streams.devtools.kafka_principals import CONTROLLER_USER, BrokerSecrets


def _free_port() -> int:
    """A port with nothing on it nor on port + 1 (the controller)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 65534 and kb._port_free(port) and kb._port_free(port + 1):
            return port
    raise RuntimeError("no free port pair")


def _settings(tmp_path: Path, bootstrap: str) -> Settings:
    return load_settings(
        {"DOUANE_HOME": str(tmp_path / "home"), "DOUANE_KAFKA_BOOTSTRAP": bootstrap}
    )


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --------------------------------------------------------------------------- properties


def test_server_properties_rendering(tmp_path: Path) -> None:
    secrets = BrokerSecrets(tmp_path / "kafka")
    text = kb.render_server_properties(19192, tmp_path / "kafka", secrets)
    assert text.endswith("\n")
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    admin = secrets.password(ADMIN, create=False)
    controller = secrets.password(CONTROLLER_USER, create=False)
    assert settings == {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": "1@127.0.0.1:19193",
        "listeners": "SASL_SSL://127.0.0.1:19192,CONTROLLER://127.0.0.1:19193",
        "advertised.listeners": "SASL_SSL://127.0.0.1:19192",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="douane-admin" password="{admin}";',
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": f"{tmp_path}/kafka/tls/broker.pem",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": f"{tmp_path}/kafka/tls/ca.pem",
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "ssl.client.auth": "none",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="douane-controller" password="{controller}" '
            f'user_douane-controller="{controller}";',
        "authorizer.class.name":
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": "User:douane-admin;User:douane-controller",
        "log.dirs": f"{tmp_path}/kafka/logs",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "log.retention.check.interval.ms": "10000",
    }
    # no PLAINTEXT listener a client could use, and the passwords stay the same across starts
    assert "PLAINTEXT://" not in text
    assert kb.render_server_properties(19192, tmp_path / "kafka", secrets) == text


def test_storage_of_an_older_douane_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"127.0.0.1:{_free_port()}")
    logs = settings.kafka_data_dir / "logs"
    logs.mkdir(parents=True)
    (logs / "meta.properties").write_text("formatted\n")  # formatted, but no admin user
    with pytest.raises(kb.KafkaBrokerError, match="without TLS and SASL"):
        asyncio.run(kb.start_broker(settings, progress=lambda _m: None))


@pytest.mark.parametrize(
    ("bootstrap", "expected"),
    [
        ("127.0.0.1:9092", ("127.0.0.1", 9092)),
        ("localhost:19192", ("localhost", 19192)),
        (" kafka://127.0.0.1:9092/ ", ("127.0.0.1", 9092)),
    ],
)
def test_parse_bootstrap_accepts_local(bootstrap: str, expected: tuple[str, int]) -> None:
    assert kb.parse_bootstrap(bootstrap) == expected


@pytest.mark.parametrize(
    ("bootstrap", "message"),
    [
        ("kafka.example.org:9092", "only a local broker"),
        ("10.0.0.5:9092", "only a local broker"),
        ("127.0.0.1:9092,127.0.0.1:9094", "single"),
        ("127.0.0.1", "not host:port"),
        ("127.0.0.1:http", "not host:port"),
        ("127.0.0.1:65535", "out of range"),
    ],
)
def test_parse_bootstrap_rejects(bootstrap: str, message: str) -> None:
    with pytest.raises(kb.KafkaBrokerError, match=message):
        kb.parse_bootstrap(bootstrap)


def test_cache_root(tmp_path: Path) -> None:
    assert kb.cache_root({"DOUANE_CACHE": str(tmp_path)}) == tmp_path
    assert kb.cache_root({}).name == ".cache"
    assert kb.kafka_home(tmp_path) == tmp_path / "kafka-4.1.1"


# --------------------------------------------------------------------------- /proc parsing

PROC_STATUS = """Name:\tjava
Umask:\t0022
State:\tS (sleeping)
Pid:\t1234
VmPeak:\t 3870412 kB
VmRSS:\t  389120 kB
Threads:\t98
"""


def test_parse_rss_mb() -> None:
    assert kb.parse_rss_mb(PROC_STATUS) == 380.0
    assert kb.parse_rss_mb("Name:\tkthreadd\nState:\tS (sleeping)\n") is None
    assert kb.parse_rss_mb("VmRSS:\n") is None


def test_is_zombie() -> None:
    assert not kb.is_zombie(PROC_STATUS)
    assert kb.is_zombie(PROC_STATUS.replace("S (sleeping)", "Z (zombie)"))
    assert not kb.is_zombie("")


@pytest.mark.parametrize(
    ("text", "pid"),
    [("1234\n", 1234), ("  42 ", 42), ("", None), ("abc", None), ("0", None), ("-5", None)],
)
def test_parse_pid(text: str, pid: int | None) -> None:
    assert kb.parse_pid(text) == pid


def test_cmdline_is_broker(tmp_path: Path) -> None:
    props = tmp_path / "server.properties"
    ours = b"\0".join([b"/usr/bin/java", b"-Xmx512m", b"kafka.Kafka", str(props).encode()]) + b"\0"
    assert kb.cmdline_is_broker(ours, props)
    assert not kb.cmdline_is_broker(ours, tmp_path / "other" / "server.properties")
    assert not kb.cmdline_is_broker(b"/usr/bin/python3\0-m\0http.server\0", props)
    assert not kb.cmdline_is_broker(b"", props)


def test_tail_text_and_start_marker(tmp_path: Path) -> None:
    log = tmp_path / "broker.log"
    assert kb.tail_text(log) == []
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert kb.tail_text(log) == [f"line {i}" for i in range(80, 100)]
    assert kb.tail_text(log, 3) == ["line 97", "line 98", "line 99"]
    lines = ["old crash", f"{kb.START_MARKER} at now ===", "new 1", "new 2"]
    assert kb.since_last_start(lines) == ["new 1", "new 2"]
    assert kb.since_last_start(["a", "b"]) == ["a", "b"]


# --------------------------------------------------------------------------- group probing


def test_java_string_hash_matches_java() -> None:
    # Values printed by jshell ("...".hashCode()).
    assert kb.java_string_hash("") == 0
    assert kb.java_string_hash("douane") == -1325959090
    assert kb.java_string_hash("douane-readiness-7") == 1279720085
    assert kb.java_string_hash("polygenelubricants") == -(2**31)


def test_offsets_partition_like_kafka() -> None:
    assert kb.offsets_partition("douane", 50) == 40
    assert kb.offsets_partition("douane-readiness-7", 50) == 35
    assert kb.offsets_partition("polygenelubricants", 50) == 0  # Utils.abs(MIN_VALUE) == 0


@pytest.mark.parametrize("partitions", [1, 3, 50])
def test_probe_group_ids_cover_every_partition(partitions: int) -> None:
    groups = kb.probe_group_ids(partitions)
    assert len(groups) == partitions
    assert sorted(kb.offsets_partition(g, partitions) for g in groups) == list(range(partitions))
    assert all(g.startswith(kb.PROBE_GROUP_PREFIX) for g in groups)


# --------------------------------------------------------------------------- status line


def test_status_lines(tmp_path: Path) -> None:
    up = kb.BrokerStatus(True, True, 1234, "127.0.0.1:9092", tmp_path, 380.4)
    assert (
        up.describe() == f"kafka: running, pid 1234, 127.0.0.1:9092, RSS 380 MB, data in {tmp_path}"
    )
    down = kb.BrokerStatus(False, False, None, "127.0.0.1:9092", tmp_path, None)
    assert down.describe().startswith("kafka: not running")
    foreign = kb.BrokerStatus(False, True, None, "127.0.0.1:9092", tmp_path, None)
    assert "not started from" in foreign.describe()
    stuck = kb.BrokerStatus(True, False, 99, "127.0.0.1:9092", tmp_path, 200.0)
    assert "not answering" in stuck.describe()


# --------------------------------------------------------------------------- pid handling


def test_stale_pid_file_means_not_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"127.0.0.1:{_free_port()}")
    paths = kb._Paths(settings.kafka_data_dir)
    paths.data_dir.mkdir(parents=True)
    paths.pid.write_text(f"{_dead_pid()}\n")

    status = asyncio.run(kb.broker_status(settings))
    assert (status.running, status.answering, status.pid, status.rss_mb) == (
        False,
        False,
        None,
        None,
    )
    assert asyncio.run(kb.stop_broker(settings)) is False
    assert not paths.pid.exists()


def test_pid_reused_by_another_program_is_not_our_broker(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"127.0.0.1:{_free_port()}")
    paths = kb._Paths(settings.kafka_data_dir)
    paths.data_dir.mkdir(parents=True)
    paths.pid.write_text(f"{os.getpid()}\n")  # alive, but it is pytest, not kafka.Kafka

    assert kb._our_broker_pid(paths) is None
    assert asyncio.run(kb.stop_broker(settings)) is False  # and we are still here
    assert not paths.pid.exists()


def test_garbage_pid_file(tmp_path: Path) -> None:
    paths = kb._Paths(tmp_path)
    paths.pid.write_text("not a pid")
    assert kb._our_broker_pid(paths) is None


def test_pid_alive_reaps_our_children() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    kb._SPAWNED[process.pid] = process
    try:
        process_done = False
        for _ in range(100):
            if not kb._pid_alive(process.pid):
                process_done = True
                break
            asyncio.run(asyncio.sleep(0.05))
        assert process_done
        assert process.pid not in kb._SPAWNED  # reaped, not a zombie
    finally:
        kb._SPAWNED.pop(process.pid, None)
        process.wait()


# --------------------------------------------------------------------------- jars


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("DOUANE_CACHE", str(root))
    return root


def test_jars_reused_when_marker_present(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = kb.kafka_home(cache) / "lib"
    lib.mkdir(parents=True)
    (lib / "kafka_2.13-4.1.1.jar").write_bytes(b"jar")
    (kb.kafka_home(cache) / kb.JAR_MARKER).write_text("kafka_2.13-4.1.1.jar\n")

    def no_maven(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("must not download again")

    monkeypatch.setattr(subprocess, "run", no_maven)
    messages: list[str] = []
    assert kb.ensure_kafka_jars(messages.append) == lib
    assert messages == []


PINNED_JARS = ("kafka_2.13-4.1.1.jar", "log4j-slf4j-impl-2.24.3.jar")  # b"jar" each, in the lock


def fake_maven_download(monkeypatch: pytest.MonkeyPatch,
                        downloaded: dict[str, bytes]) -> list[list[str]]:
    """Maven (found on the PATH) "downloads" ``downloaded`` into the directory it is given,
    against a jar lock pinning ``PINNED_JARS``; returns the commands it is run with."""
    calls: list[list[str]] = []

    def fake_maven(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        out = Path(next(a for a in command if a.startswith("-DoutputDirectory=")).split("=", 1)[1])
        out.mkdir(parents=True)
        for name, content in downloaded.items():
            (out / name).write_bytes(content)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", fake_maven)
    monkeypatch.setattr(kb, "read_jar_lock", lambda _path: {
        name: hashlib.sha256(b"jar").hexdigest() for name in PINNED_JARS})
    return calls


def test_half_finished_download_is_redone(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = kb.kafka_home(cache) / "lib"
    lib.mkdir(parents=True)
    (lib / "partial.jar").write_bytes(b"half")  # no marker: the copy was interrupted
    calls = fake_maven_download(monkeypatch, {name: b"jar" for name in PINNED_JARS})
    messages: list[str] = []
    assert kb.ensure_kafka_jars(messages.append) == lib

    assert len(calls) == 1
    assert "dependency:copy-dependencies" in calls[0]
    assert f"-Dmaven.repo.local={cache / 'm2'}" in calls[0]
    assert calls[0][calls[0].index("-f") + 1].endswith("kafka/pom.xml")
    assert sorted(p.name for p in lib.iterdir()) == [
        "kafka_2.13-4.1.1.jar",
        "log4j-slf4j-impl-2.24.3.jar",
    ]
    assert (kb.kafka_home(cache) / kb.JAR_MARKER).read_text().split() == [
        "kafka_2.13-4.1.1.jar",
        "log4j-slf4j-impl-2.24.3.jar",
    ]
    assert messages[0].startswith("downloading Apache Kafka 4.1.1 jars from Maven Central")


@pytest.mark.parametrize(("downloaded", "problem"), [
    ({"kafka_2.13-4.1.1.jar": b"tampered", "log4j-slf4j-impl-2.24.3.jar": b"jar"},
     "kafka_2.13-4.1.1.jar: sha256"),
    ({"kafka_2.13-4.1.1.jar": b"jar", "log4j-slf4j-impl-2.24.3.jar": b"jar",
      "extra-1.0.jar": b"jar"}, "extra-1.0.jar: not pinned"),
    ({"kafka_2.13-4.1.1.jar": b"jar"}, "log4j-slf4j-impl-2.24.3.jar: pinned but not downloaded"),
])
def test_jars_that_differ_from_the_lock_are_refused_and_removed(
        cache: Path, monkeypatch: pytest.MonkeyPatch, downloaded: dict[str, bytes],
        problem: str) -> None:
    fake_maven_download(monkeypatch, downloaded)
    with pytest.raises(kb.KafkaBrokerError, match="do not match") as refused:
        kb.ensure_kafka_jars(lambda _message: None)
    assert problem in str(refused.value)
    assert not (kb.kafka_home(cache) / "lib").exists()  # nothing of it can be run
    assert not (kb.kafka_home(cache) / kb.JAR_MARKER).exists()


def test_the_shipped_jar_lock_pins_kafka_and_the_log_binding_of_the_pom() -> None:
    pinned = kb.read_jar_lock(project_root() / kb.JAR_LOCK)
    assert f"kafka_2.13-{kb.KAFKA_VERSION}.jar" in pinned
    assert "log4j-slf4j-impl-2.24.3.jar" in pinned
    assert all(len(digest) == 64 for digest in pinned.values())


def test_maven_failure_is_reported(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_maven(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "[ERROR] Could not resolve", "")

    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", failing_maven)
    with pytest.raises(kb.KafkaBrokerError, match="Could not resolve"):
        kb.ensure_kafka_jars(lambda _message: None)
    assert not (kb.kafka_home(cache) / kb.JAR_MARKER).exists()


def test_missing_maven_is_a_clear_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(kb.KafkaBrokerError, match="Maven"):
        kb.ensure_kafka_jars(lambda _message: None)


# --------------------------------------------------------------------------- start refusals


def test_start_refuses_remote_bootstrap(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "kafka.example.org:9092")
    with pytest.raises(kb.KafkaBrokerError, match="only a local broker"):
        asyncio.run(kb.start_broker(settings))


@pytest.fixture
def not_kafka() -> Iterator[int]:
    """A port where something that is not Kafka listens (it hangs up on every connection)."""
    port = _free_port()
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _address = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(5)
    server.close()


def test_start_refuses_port_used_by_another_program(tmp_path: Path, not_kafka: int) -> None:
    settings = _settings(tmp_path, f"127.0.0.1:{not_kafka}")
    with pytest.raises(kb.KafkaBrokerError, match=rf"port {not_kafka} .* another program"):
        asyncio.run(kb.start_broker(settings, progress=lambda _m: None))


# --------------------------------------------------------------------------- CLI verbs


def test_run_kafka_command_unknown_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kb.run_kafka_command("restart", _settings(tmp_path, "127.0.0.1:9092")) == 2
    assert "unknown action 'restart'" in capsys.readouterr().err


def test_run_kafka_command_status_and_stop_when_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path, f"127.0.0.1:{_free_port()}")
    assert kb.run_kafka_command("status", settings) == 3
    assert capsys.readouterr().out.startswith("kafka: not running")
    assert kb.run_kafka_command("stop", settings) == 0
    assert "not running" in capsys.readouterr().out


def test_run_kafka_command_start_remote_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kb.run_kafka_command("start", _settings(tmp_path, "10.1.2.3:9092")) == 1
    assert "only a local broker" in capsys.readouterr().err


# --------------------------------------------------------------------------- fake java


@pytest.fixture
def fake_java(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose broker is a Python stand-in for ``java`` (mode in $FAKE_JAVA_MODE)."""
    home = kb.kafka_home(cache)
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "kafka.jar").write_bytes(b"jar")
    (home / kb.JAR_MARKER).write_text("kafka.jar\n")
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    java = java_home / "bin" / "java"
    java.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        "if 'kafka.Kafka' in sys.argv:\n"
        "    if os.environ.get('FAKE_JAVA_MODE') == 'crash':\n"
        "        print('Error: Could not find or load main class kafka.Kafka')\n"
        "        sys.exit(1)\n"
        "    time.sleep(300)\n"
    )
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    settings = _settings(tmp_path, f"127.0.0.1:{_free_port()}")
    logs = settings.kafka_data_dir / "logs"
    logs.mkdir(parents=True)
    (logs / "meta.properties").write_text("formatted\n")  # so no storage formatting
    BrokerSecrets(settings.kafka_data_dir).password(ADMIN)  # ... by this douane
    (settings.kafka_data_dir / kb.LOG_FILE).write_text("an earlier run's last words\n")
    return settings


def test_broker_dying_during_start_is_reported(
    fake_java: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_JAVA_MODE", "crash")
    with pytest.raises(kb.KafkaBrokerError) as caught:
        asyncio.run(kb.start_broker(fake_java, timeout_s=30, progress=lambda _m: None))
    message = str(caught.value)
    assert "exited with code 1 while starting" in message
    assert "Could not find or load main class kafka.Kafka" in message
    assert "an earlier run's last words" not in message
    assert not (fake_java.kafka_data_dir / kb.PID_FILE).exists()


def test_start_timeout_reports_and_stop_cleans_up(fake_java: Settings) -> None:
    with pytest.raises(kb.KafkaBrokerError, match=r"not ready .* in time .*still running"):
        asyncio.run(kb.start_broker(fake_java, timeout_s=1.5, progress=lambda _m: None))
    status = asyncio.run(kb.broker_status(fake_java))
    assert status.running and not status.answering and status.pid is not None
    assert status.rss_mb is not None
    assert kb.run_kafka_command("status", fake_java) == 1  # running, not answering
    assert asyncio.run(kb.stop_broker(fake_java, timeout_s=5)) is True
    assert not kb._pid_alive(status.pid)
    assert asyncio.run(kb.broker_status(fake_java)).running is False


# --------------------------------------------------------------------------- users


def test_users_commands_without_a_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path, f"127.0.0.1:{_free_port()}")
    assert kb.run_users_command("list", None, settings) == 0
    assert "no principals" in capsys.readouterr().out
    assert kb.run_users_command("add", None, settings) == 2
    assert kb.run_users_command("add", "city-of-nantes", settings) == 1
    assert "`douane kafka start` first" in capsys.readouterr().err


@pytest.mark.parametrize("tenant", ["", "a b", "x]", "-lead", "a,password=x", "é"])
def test_a_tenant_id_that_cannot_name_a_principal_is_refused(tenant: str) -> None:
    with pytest.raises(kb.KafkaBrokerError, match="cannot name a Kafka principal"):
        kb._checked_tenant(tenant)


def test_users_list_shows_the_principals_and_their_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "127.0.0.1:9092")
    secrets = BrokerSecrets(settings.kafka_data_dir)
    for principal in ("douane-admin", "douane-worker", "tenant-city-of-lyon"):
        secrets.password(principal)
    secrets.password("douane-controller")  # not a SCRAM principal: not listed
    lines = kb.describe_users(settings)
    assert [line.split()[:2] for line in lines] == [
        ["douane-admin", "super"], ["douane-worker", "worker"], ["tenant-city-of-lyon", "tenant"]]


def test_the_insecure_plaintext_broker_is_only_what_is_asked_for(tmp_path: Path) -> None:
    """The benchmark's comparison broker: no security lines at all; the default keeps them."""
    text = kb.render_server_properties(19192, tmp_path / "kafka", None)
    assert "listeners=PLAINTEXT://127.0.0.1:19192,CONTROLLER://127.0.0.1:19193" in text
    assert "sasl" not in text and "authorizer" not in text and "SSL" not in text


@pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH")
def test_the_broker_runs_with_the_serial_collector_and_its_heap(tmp_path: Path) -> None:
    """The options the broker starts with, as the JVM itself reads them: a typo would stop
    the broker, and G1 (the default) costs more CPU on this small heap."""
    command = kb._java_command(tmp_path, kb._Paths(tmp_path), "kafka.Kafka")
    options = command[1:command.index("-cp")]
    flags = subprocess.run([command[0], *options, "-XX:+PrintFlagsFinal", "-version"],
                           capture_output=True, text=True, check=True, timeout=60).stdout
    final = {parts[1]: parts[3] for line in flags.splitlines()
             if len(parts := line.split()) >= 4 and parts[2] == "="}
    assert final["UseSerialGC"] == "true"
    assert final["UseG1GC"] == "false"
    assert int(final["MaxHeapSize"]) == 512 * 1024 * 1024
