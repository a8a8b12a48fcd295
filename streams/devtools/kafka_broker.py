"""Run a local single-node Apache Kafka (KRaft) broker for development, demos and tests.

Why this exists: douane needs a real Kafka broker, but the machines it is developed and demoed
on have no Docker. Kafka is plain Java, so instead of a container we copy the broker's jars
from Maven Central once (``kafka/pom.xml``, via ``mvn dependency:copy-dependencies``) into a
cache folder and run ``kafka.Kafka`` with ``java`` as a detached process. Everything the broker
writes (configuration, pid file, logs, data) lives in ``settings.kafka_data_dir``.

Only a broker on this machine (``127.0.0.1`` / ``localhost`` bootstrap) can be managed. The
controller listens on the broker port + 1.

Public entry points: :func:`ensure_kafka_jars`, :func:`start_broker`, :func:`stop_broker`,
:func:`broker_status` and :func:`run_kafka_command` (the ``start``/``stop``/``status`` verbs).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.adapters.kafka_acl_admin import create_acls, delete_acls
from streams.adapters.kafka_security import KafkaConnection, diagnose, kafka_connection
from streams.adapters.private_files import (
    make_private_folder,
    open_private_for_append,
    tighten_to_private,
)
from streams.config import Settings, project_root
from streams.core.kafka_acls import (
    ADMIN,
    FRONT_DOOR,
    TENANT_PREFIX,
    WORKER,
    acl_layout,
    tenant_principal,
)
from streams.devtools.kafka_principals import (
    DOUANE_PRINCIPALS,
    SCRAM_MECHANISM,
    BrokerSecrets,
    is_tenant_principal,
)
from streams.devtools.kafka_tls import write_private
from streams.errors import DouaneError

log = structlog.get_logger(__name__)

KAFKA_VERSION = "4.1.1"
JAR_MARKER = ".complete"
HEAP_OPTIONS = ("-Xmx512m", "-Xms256m")
# The serial collector: no threads of its own beside the broker's. G1 (the JVM's default on 2
# cores or more) spent 1.6 ms of CPU per answer at 20 answers/s, the serial collector 0.2;
# its pauses stop the broker (young collections of 9-54 ms every few seconds at load on 2 busy
# cores, a full one of 100-225 ms when the heap grows): docs/benchmarks.md, "The broker's and
# the clients' CPU per answer". For development, demos and tests only; production runs the
# apache/kafka image (deploy/production).
JVM_OPTIONS = (*HEAP_OPTIONS, "-XX:+UseSerialGC")
LOG_TAIL_LINES = 20
MAVEN_TIMEOUT_S = 900.0
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
OFFSETS_TOPIC = "__consumer_offsets"
PROBE_GROUP_PREFIX = "douane-readiness-probe-"
CLIENT_ID = "douane-kafka-manager"
TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # safe in SCRAM arguments, file names

# Files inside the data dir.
PROPERTIES_FILE = "server.properties"
PID_FILE = "broker.pid"
LOG_FILE = "broker.log"  # log4j2 output
OUT_FILE = "broker.out"  # the JVM's stdout/stderr (crashes before log4j is up)
LOCK_FILE = "start.lock"
LOG_DIRS = "logs"
START_MARKER = "=== douane: starting kafka.Kafka"  # written into broker.log before each start
# The broker's log segments hold the requests as published (personal values in clear): Java
# creates them with the process's umask, so the broker and its tools run with 077 (files 0600,
# folders 0700), whatever the umask of the shell that started douane.
BROKER_UMASK = 0o077

# Brokers this process spawned, so it can reap them (a dead child stays a zombie until then).
_SPAWNED: dict[int, subprocess.Popen[bytes]] = {}


class KafkaBrokerError(DouaneError, RuntimeError):
    """The local broker cannot be managed (bad bootstrap, port taken, crash, timeout...)."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool  # the process in our pid file is alive and is our broker
    answering: bool  # something answers a Kafka metadata request at ``bootstrap``
    pid: int | None
    bootstrap: str
    data_dir: Path
    rss_mb: float | None  # resident memory of ``pid``; None when not running

    def describe(self) -> str:
        """One human line, e.g. for ``douane kafka status``."""
        if self.running and self.answering:
            rss = f", RSS {self.rss_mb:.0f} MB" if self.rss_mb is not None else ""
            return f"kafka: running, pid {self.pid}, {self.bootstrap}{rss}, data in {self.data_dir}"
        if self.running:
            return (
                f"kafka: process running (pid {self.pid}) but not answering at "
                f"{self.bootstrap}; see {self.data_dir / LOG_FILE}"
            )
        if self.answering:
            return (
                f"kafka: a broker not started from {self.data_dir} is answering at {self.bootstrap}"
            )
        return f"kafka: not running ({self.bootstrap}, data in {self.data_dir})"


# --------------------------------------------------------------------------- pure helpers


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``$DOUANE_CACHE`` or ``<project root>/.cache``."""
    source = os.environ if env is None else env
    configured = source.get("DOUANE_CACHE")
    return Path(configured).resolve() if configured else project_root() / ".cache"


def kafka_home(cache: Path) -> Path:
    return cache / f"kafka-{KAFKA_VERSION}"


def parse_bootstrap(bootstrap: str) -> tuple[str, int]:
    """``host:port`` of a broker this module may manage; raises for anything not local."""
    text = bootstrap.strip()
    if "://" in text:  # tolerate kafka://host:port (faust style)
        text = text.split("://", 1)[1]
    text = text.rstrip("/")
    if "," in text:
        raise KafkaBrokerError(
            f"cannot manage a broker for bootstrap {bootstrap!r}: expected a single "
            "127.0.0.1:<port> or localhost:<port>"
        )
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise KafkaBrokerError(f"bootstrap {bootstrap!r} is not host:port")
    port = int(port_text)
    if host not in LOCAL_HOSTS:
        raise KafkaBrokerError(
            f"only a local broker (127.0.0.1 or localhost) can be managed; "
            f"DOUANE_KAFKA_BOOTSTRAP is {bootstrap!r}"
        )
    if not 1 <= port <= 65534:  # the controller needs port + 1
        raise KafkaBrokerError(f"bootstrap port {port} is out of range (1-65534)")
    return host, port


def render_server_properties(port: int, data_dir: Path, secrets: BrokerSecrets | None) -> str:
    """The broker configuration: one combined broker+controller node, replication factor 1,
    clients on a SASL_SSL listener only, ACLs enforced (``BrokerSecrets.server_properties``).
    The text holds passwords: it is written readable by its owner only. Without ``secrets``:
    the insecure plaintext broker of the cost-of-security benchmark (``start_broker``)."""
    controller_port = port + 1
    if secrets is None:
        listeners = [
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
        ]
    else:
        listeners = [
            f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name=SASL_SSL",
            *secrets.server_properties("SASL_SSL"),
        ]
    lines = [
        "# Written by streams/devtools/kafka_broker.py on every start; edits are lost.",
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        "controller.listener.names=CONTROLLER",
        *listeners,
        f"log.dirs={data_dir / LOG_DIRS}",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "num.partitions=1",
        "auto.create.topics.enable=true",
        # douane's topics keep prompts for hours, not weeks: look for expired segments every
        # 10 s rather than every 5 minutes, so retention.ms is what the data really lives
        "log.retention.check.interval.ms=10000",
    ]
    return "\n".join(lines) + "\n"


def parse_pid(text: str) -> int | None:
    """The pid in a pid file's text, or None when it is empty or garbage."""
    stripped = text.strip()
    if not stripped.isdigit():
        return None
    pid = int(stripped)
    return pid if pid > 0 else None


def parse_rss_mb(proc_status: str) -> float | None:
    """Resident set size in MB from the text of ``/proc/<pid>/status`` (``VmRSS: 123 kB``)."""
    for line in proc_status.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) / 1024
    return None


def is_zombie(proc_status: str) -> bool:
    """True when ``/proc/<pid>/status`` text says the process has exited but is not reaped."""
    for line in proc_status.splitlines():
        if line.startswith("State:"):
            return line.split()[1:2] in (["Z"], ["X"])
    return False


def cmdline_is_broker(cmdline: bytes, properties: Path) -> bool:
    """Whether ``/proc/<pid>/cmdline`` is a ``kafka.Kafka`` run on this ``server.properties``."""
    args = [arg.decode(errors="replace") for arg in cmdline.split(b"\0") if arg]
    return "kafka.Kafka" in args and str(properties) in args


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` (32-bit signed), over UTF-16 code units."""
    value = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        value = (31 * value + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def offsets_partition(group_id: str, partitions: int) -> int:
    """The ``__consumer_offsets`` partition (hence coordinator) of a group, as Kafka picks it."""
    hashed = java_string_hash(group_id)
    positive = 0 if hashed == -(1 << 31) else abs(hashed)  # Kafka's Utils.abs
    return positive % partitions


def probe_group_ids(partitions: int) -> list[str]:
    """Throwaway group ids that together land on every ``__consumer_offsets`` partition."""
    chosen: dict[int, str] = {}
    i = 0
    while len(chosen) < partitions and i < 1000 * partitions:
        group_id = f"{PROBE_GROUP_PREFIX}{i}"
        chosen.setdefault(offsets_partition(group_id, partitions), group_id)
        i += 1
    return [chosen[p] for p in sorted(chosen)]


def since_last_start(lines: list[str]) -> list[str]:
    """The lines after the last start marker (all of them when there is none)."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(START_MARKER):
            return lines[i + 1 :]
    return lines


def tail_text(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a (possibly large, possibly missing) text file."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except OSError:
        return []
    return data.decode(errors="replace").splitlines()[-lines:]


# --------------------------------------------------------------------------- files & processes


@dataclass(frozen=True)
class _Paths:
    data_dir: Path

    @property
    def properties(self) -> Path:
        return self.data_dir / PROPERTIES_FILE

    @property
    def pid(self) -> Path:
        return self.data_dir / PID_FILE

    @property
    def log(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def out(self) -> Path:
        return self.data_dir / OUT_FILE

    @property
    def lock(self) -> Path:
        return self.data_dir / LOCK_FILE

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / LOG_DIRS


def _read_proc(pid: int, name: str) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return None


def _pid_alive(pid: int) -> bool:
    spawned = _SPAWNED.get(pid)
    if spawned is not None and spawned.poll() is not None:
        del _SPAWNED[pid]  # reaped
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = _read_proc(pid, "status")
    return status is None or not is_zombie(status.decode(errors="replace"))


def _our_broker_pid(paths: _Paths) -> int | None:
    """The pid from the pid file if that process is alive and is our broker, else None."""
    try:
        pid = parse_pid(paths.pid.read_text())
    except OSError:
        return None
    if pid is None or not _pid_alive(pid):
        return None
    cmdline = _read_proc(pid, "cmdline")
    if cmdline is None or not cmdline_is_broker(cmdline, paths.properties):
        return None  # stale pid file, and the pid was reused by another program
    return pid


def _rss_mb(pid: int) -> float | None:
    status = _read_proc(pid, "status")
    return parse_rss_mb(status.decode(errors="replace")) if status is not None else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    _remove(tmp)  # a leftover keeps its mode: start from a new 0600 file
    with open(open_private_for_append(tmp), "w") as out:  # 0600, like everything in the data dir
        out.truncate()
        out.write(text)
    tmp.replace(path)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaBrokerError("java was not found on PATH; Kafka 4.1 needs Java 17 or newer")
    return found


def _log4j_config() -> Path:
    config = project_root() / "kafka" / "log4j2.properties"
    if not config.is_file():
        raise KafkaBrokerError(f"missing {config}")
    return config


def _java_command(lib: Path, paths: _Paths, main: str, *args: str) -> list[str]:
    return [
        _java(),
        *JVM_OPTIONS,
        "-cp",
        str(lib / "*"),
        f"-Dlog4j2.configurationFile={_log4j_config()}",
        f"-Ddouane.kafka.log={paths.log}",
        main,
        *args,
    ]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _log_tail_message(paths: _Paths) -> str:
    parts = []
    log_tail = since_last_start(tail_text(paths.log))  # not an earlier run's last words
    if log_tail:
        parts.append(f"last lines of {paths.log}:\n" + "\n".join("  " + ln for ln in log_tail))
    out_tail = tail_text(paths.out)
    if out_tail:
        parts.append(f"last lines of {paths.out}:\n" + "\n".join("  " + ln for ln in out_tail))
    return "\n".join(parts) if parts else f"(no output in {paths.log} or {paths.out})"


# --------------------------------------------------------------------------- jars


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# The broker's class path, pinned like the Python packages (requirements/*.txt): the SHA-256 of
# every jar Maven copies, checked before any of them is run. Update it with the Kafka version:
#   (cd <cache>/kafka-<version>/lib && sha256sum *.jar) > kafka/jars.sha256
JAR_LOCK = Path("kafka") / "jars.sha256"


def read_jar_lock(path: Path) -> dict[str, str]:
    """{jar file name: sha256} from a ``sha256sum`` listing."""
    pinned: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise KafkaBrokerError(f"{path}:{number}: expected '<sha256>  <jar name>'")
        pinned[name.strip()] = digest.lower()
    return pinned


def jar_lock_problems(lib: Path, pinned: Mapping[str, str]) -> list[str]:
    """What differs between the jars in ``lib`` and the pinned list (empty: they match)."""
    present = {p.name: p for p in lib.glob("*.jar")} if lib.is_dir() else {}
    problems = [f"{name}: not pinned in {JAR_LOCK}"
                for name in sorted(set(present) - set(pinned))]
    problems += [f"{name}: pinned but not downloaded"
                 for name in sorted(set(pinned) - set(present))]
    for name in sorted(set(present) & set(pinned)):
        digest = hashlib.sha256(present[name].read_bytes()).hexdigest()
        if digest != pinned[name]:
            problems.append(f"{name}: sha256 {digest} but {pinned[name]} is pinned")
    return problems


def _jars_complete(home: Path) -> bool:
    marker = home / JAR_MARKER
    try:
        names = [n for n in marker.read_text().splitlines() if n]
    except OSError:
        return False
    return bool(names) and all((home / "lib" / name).is_file() for name in names)


def ensure_kafka_jars(progress: Callable[[str], None] = print) -> Path:
    """Return the folder of Kafka's jars, copying them from Maven Central on first use.

    The jars land in ``<cache>/kafka-4.1.1/lib``; a marker file listing them is written only
    after Maven finished, so an interrupted download is redone. Safe to call concurrently.
    """
    home = kafka_home(cache_root())
    lib = home / "lib"
    if _jars_complete(home):
        return lib
    with _file_lock(home.parent / f"kafka-{KAFKA_VERSION}.lock"):
        if _jars_complete(home):  # another process finished while we waited
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaBrokerError(
                "Apache Maven (mvn) is needed once to download the Kafka jars; install it "
                f"or put the jars of kafka_2.13 {KAFKA_VERSION} in {lib} yourself"
            )
        pom = project_root() / "kafka" / "pom.xml"
        progress(
            f"downloading Apache Kafka {KAFKA_VERSION} jars from Maven Central (first run only)..."
        )
        _remove(home / JAR_MARKER)
        shutil.rmtree(lib, ignore_errors=True)
        started = time.monotonic()
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "--strict-checksums",  # a jar whose Maven Central checksum differs fails here
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            f"-Dmaven.repo.local={home.parent / 'm2'}",
        ]
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=MAVEN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(
                f"downloading the Kafka jars took longer than {MAVEN_TIMEOUT_S:.0f} s"
            ) from exc
        jars = sorted(p.name for p in lib.glob("*.jar")) if lib.is_dir() else []
        if result.returncode != 0 or not jars:
            output = (result.stdout + result.stderr).strip().splitlines()[-LOG_TAIL_LINES:]
            raise KafkaBrokerError(
                f"mvn failed (exit {result.returncode}) downloading the Kafka jars:\n"
                + "\n".join("  " + line for line in output)
            )
        problems = jar_lock_problems(lib, read_jar_lock(project_root() / JAR_LOCK))
        if problems:
            shutil.rmtree(lib, ignore_errors=True)
            raise KafkaBrokerError(
                f"the Kafka jars downloaded do not match {JAR_LOCK} (removed; nothing was "
                "run):\n" + "\n".join(f"  {problem}" for problem in problems))
        _write_atomic(home / JAR_MARKER, "\n".join(jars) + "\n")
        elapsed = time.monotonic() - started
        log.info("kafka jars downloaded", jars=len(jars), seconds=round(elapsed, 1), lib=str(lib))
        progress(f"downloaded {len(jars)} jars in {elapsed:.0f} s to {lib}")
    return lib


# --------------------------------------------------------------------------- probing


class _NotReady(DouaneError):
    pass


async def _port_open(host: str, port: int, timeout_s: float) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout=timeout_s
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _admin(kafka: KafkaConnection, request_timeout_s: float) -> Any:
    return AIOKafkaAdminClient(
        **kafka.client_options(),
        client_id=CLIENT_ID,
        request_timeout_ms=int(request_timeout_s * 1000),
    )


def _split_host_port(bootstrap: str) -> tuple[str, int] | None:
    text = bootstrap.split("://", 1)[-1].split(",", 1)[0].strip().rstrip("/")
    host, sep, port = text.rpartition(":")
    return (host, int(port)) if sep and port.isdigit() else None


async def _answers_metadata(kafka: KafkaConnection, timeout_s: float = 5.0) -> bool:
    """Whether a Kafka broker answers a metadata request at ``kafka.bootstrap``."""
    address = _split_host_port(kafka.bootstrap)
    # A plain TCP check first: it fails fast and quietly (aiokafka logs failed bootstraps).
    if address is not None and not await _port_open(*address, timeout_s=min(timeout_s, 2.0)):
        return False
    admin = _admin(kafka, timeout_s)
    try:
        await asyncio.wait_for(admin.start(), timeout=timeout_s)
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def _check_ready(kafka: KafkaConnection, request_timeout_s: float) -> None:
    """Return when the broker answers and every group coordinator is loaded; else _NotReady.

    Right after a first start, group requests fail with GroupCoordinatorNotAvailable (while
    ``__consumer_offsets`` is created) and then NotCoordinator (while each of its partitions is
    loaded). Describing one throwaway group per partition checks them all, and leaves nothing
    behind.
    """
    address = _split_host_port(kafka.bootstrap)
    if address is not None and not await _port_open(*address, timeout_s=request_timeout_s):
        raise _NotReady(f"nothing listens on {kafka.bootstrap} yet")
    admin = _admin(kafka, request_timeout_s)
    try:
        await admin.start()
        coordinator = await admin.find_coordinator(PROBE_GROUP_PREFIX + "0")
        topics = await admin.describe_topics([OFFSETS_TOPIC])
        partitions = topics[0]["partitions"] if topics else []
        if not partitions or topics[0]["error_code"]:
            raise _NotReady(f"{OFFSETS_TOPIC} is not there yet")
        if any(p["leader"] < 0 for p in partitions):
            raise _NotReady(f"{OFFSETS_TOPIC} has partitions without a leader")
        # One group per request: aiokafka 0.14 mis-decodes a DescribeGroups response that
        # carries several groups (the connection then fails with "Buffer underrun").
        responses = await asyncio.gather(
            *(
                admin.describe_consumer_groups([group], group_coordinator_id=coordinator)
                for group in probe_group_ids(len(partitions))
            )
        )
        failing = [g[1] for rs in responses for r in rs for g in r.groups if g[0] != 0]
        if failing:
            raise _NotReady(f"group coordinator still loading ({len(failing)} partitions)")
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def _wait_ready(
    kafka: KafkaConnection,
    paths: _Paths,
    pid: int | None,
    deadline: float,
    *,
    process: subprocess.Popen[bytes] | None,
) -> None:
    """Poll until consumer groups work; raise if our broker (``pid``) dies or time runs out."""
    loop = asyncio.get_running_loop()
    bootstrap = kafka.bootstrap
    last_reason = "not checked yet"
    while True:
        if pid is not None:
            exit_code = process.poll() if process is not None else None
            if exit_code is not None or not _pid_alive(pid):
                _remove(paths.pid)
                _SPAWNED.pop(pid, None)
                how = f"exited with code {exit_code}" if exit_code is not None else "exited"
                raise KafkaBrokerError(
                    f"the Kafka broker (pid {pid}) {how} while starting; {_log_tail_message(paths)}"
                )
        remaining = deadline - loop.time()
        if remaining <= 0:
            if "KafkaConnectionError" in last_reason:  # aiokafka's bare "Unable to bootstrap"
                last_reason = await diagnose(kafka, timeout_s=5.0)
            if pid is None:
                raise KafkaBrokerError(
                    f"a Kafka broker answers at {bootstrap} but its consumer groups are not "
                    f"usable ({last_reason})"
                )
            raise KafkaBrokerError(
                f"the Kafka broker (pid {pid}) was not ready at {bootstrap} in time "
                f"({last_reason}); it is still running, stop it with `douane kafka stop`; "
                f"{_log_tail_message(paths)}"
            )
        try:
            await asyncio.wait_for(
                _check_ready(kafka, request_timeout_s=min(5.0, max(remaining, 0.5))),
                timeout=max(remaining, 0.1),
            )
            return
        except _NotReady as exc:
            last_reason = str(exc)
        except (KafkaError, OSError, TimeoutError) as exc:
            last_reason = f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(0.2)


# --------------------------------------------------------------------------- public API


@contextlib.asynccontextmanager
async def _start_lock(paths: _Paths, deadline: float) -> AsyncIterator[None]:
    """An exclusive fcntl lock on the data dir, so two processes never start two brokers."""
    loop = asyncio.get_running_loop()
    make_private_folder(paths.data_dir)  # and DOUANE_HOME above it, if missing: 0700
    tighten_to_private(paths.data_dir)  # one an older version left 0755 (segments inside 0644)
    handle: IO[str] = open(open_private_for_append(paths.lock), "a")  # noqa: SIM115 (closed below)
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() >= deadline:
                    raise KafkaBrokerError(
                        f"another process is still starting the broker (lock {paths.lock})"
                    ) from None
                await asyncio.sleep(0.2)
        yield
    finally:
        handle.close()  # releases the lock


async def _run_tool(
    label: str, command: list[str], cwd: Path, *, secret_arguments: list[str] | None = None
) -> str:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        umask=BROKER_UMASK,  # the storage format writes meta.properties and the log folders
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    if process.returncode != 0:
        hidden = sorted(set(secret_arguments or ()), key=len, reverse=True)
        shown = " ".join("<hidden>" if arg in hidden else arg for arg in command)
        for secret in hidden:  # the tools quote what they refuse, passwords included
            text = text.replace(secret, "<hidden>")
        raise KafkaBrokerError(f"{label} failed (exit {process.returncode}): {shown}\n{text}")
    return text


def _is_formatted(paths: _Paths) -> bool:
    return (paths.log_dirs / "meta.properties").is_file()


async def _format_storage(
    lib: Path,
    paths: _Paths,
    secrets: BrokerSecrets,
    principals: list[str],
    progress: Callable[[str], None],
) -> None:
    if _is_formatted(paths):
        return
    progress(f"formatting Kafka storage in {paths.log_dirs} (first start only)...")
    storage_tool = "kafka.tools.StorageTool"
    uuid_command = _java_command(lib, paths, storage_tool, "random-uuid")
    cluster_id = await _run_tool("kafka-storage random-uuid", uuid_command, paths.data_dir)
    cluster_id = cluster_id.splitlines()[-1].strip()
    format_command = _java_command(
        lib, paths, storage_tool, "format", "-t", cluster_id, "-c", str(paths.properties)
    )
    # the SCRAM users (douane's principals and the policy's tenants) exist from the start
    scram = secrets.format_scram_arguments(principals)
    output = await _run_tool(
        "kafka-storage format", format_command + scram, paths.data_dir, secret_arguments=scram
    )
    log.info("kafka storage formatted", cluster_id=cluster_id, output=output)


def _spawn(lib: Path, paths: _Paths) -> subprocess.Popen[bytes]:
    command = _java_command(lib, paths, "kafka.Kafka", str(paths.properties))
    with open(open_private_for_append(paths.log), "a") as broker_log:
        broker_log.write(f"{START_MARKER} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')} ===\n")
    with open(open_private_for_append(paths.out), "wb") as out:
        out.truncate()
        process = subprocess.Popen(
            command,
            cwd=paths.data_dir,
            umask=BROKER_UMASK,  # log segments 0600, partition folders 0700
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the CLI that started it, and its Ctrl-C
            close_fds=True,
        )
    _SPAWNED[process.pid] = process
    _write_atomic(paths.pid, f"{process.pid}\n")
    log.info("kafka broker spawned", pid=process.pid, command=" ".join(command))
    return process


async def start_broker(
    settings: Settings,
    *,
    timeout_s: float = 90,
    progress: Callable[[str], None] = print,
    insecure_plaintext: bool = False,
) -> BrokerStatus:
    """Start the local broker unless it already answers; return once consumer groups work.

    ``insecure_plaintext`` (benchmarks/front_door_latency.py --insecure-plaintext only, to
    measure what security costs): no TLS, no authentication, no ACLs, no client files; its
    clients need ``DOUANE_KAFKA_SECURITY_PROTOCOL=PLAINTEXT``. Never for data that matters.

    Idempotent and safe to call from several processes at once. Downloads the jars on first
    use (not counted in ``timeout_s``), makes the CA, certificates and passwords and formats
    the storage (with the SCRAM users) on first start; on every start of our broker, writes
    the client files and applies the ACLs of douane's principals and the policy's tenants.
    Raises :class:`KafkaBrokerError` (with the broker log's tail) on a crash or timeout.
    """
    _host, port = parse_bootstrap(settings.kafka_bootstrap)
    bootstrap = settings.kafka_bootstrap
    paths = _Paths(settings.kafka_data_dir)
    secrets = BrokerSecrets(paths.data_dir)
    loop = asyncio.get_running_loop()
    lock_deadline = loop.time() + timeout_s + MAVEN_TIMEOUT_S
    async with _start_lock(paths, lock_deadline):
        pid = _our_broker_pid(paths)
        if pid is None and paths.pid.exists():
            log.info("removing stale kafka pid file", path=str(paths.pid))
            _remove(paths.pid)
        if insecure_plaintext:
            log.warning("INSECURE: kafka broker WITHOUT TLS, authentication or ACLs",
                        bootstrap=bootstrap)
            progress("WARNING: starting an INSECURE Kafka broker: PLAINTEXT, no authentication, "
                     "no ACLs (a benchmark's comparison only; anyone on this machine can read "
                     "and write every topic)")
        elif _is_formatted(paths) and not secrets.is_set_up():
            raise KafkaBrokerError(
                f"the Kafka storage in {paths.log_dirs} was made by an older douane without "
                "TLS and SASL, and cannot be given its users now; stop that broker "
                f"(`douane kafka stop`) and delete {paths.log_dirs} (its topics are lost), or "
                "use another DOUANE_HOME"
            )
        added_later: list[str] = []
        if not insecure_plaintext:
            secrets.ensure_tls()
            wanted = _wanted_principals(settings, progress)
            added_later = [p for p in wanted if _is_formatted(paths) and not secrets.has(p)]
            for principal in wanted:
                secrets.password(principal)
            for principal in secrets.principals():  # bootstrap may have changed since then
                secrets.write_client_files(principal, bootstrap)
        properties = render_server_properties(
            port, paths.data_dir, None if insecure_plaintext else secrets)
        admin = kafka_connection(settings)
        if pid is not None:
            if _read_text(paths.properties) != properties:
                raise KafkaBrokerError(
                    f"the broker from {paths.data_dir} (pid {pid}) runs with another "
                    f"configuration than {bootstrap} needs; stop it first (`douane kafka stop`)"
                )
            # Ours, perhaps still starting (an earlier start was interrupted): wait for it.
            await _wait_ready(
                admin, paths, pid, loop.time() + timeout_s, process=_SPAWNED.get(pid)
            )
            if not insecure_plaintext:
                await _grant(settings, paths, secrets, added_later, progress)
            return await broker_status(settings)
        if await _answers_metadata(admin):
            # Someone else's broker (another data dir, a container...): use it as it is.
            log.info("a kafka broker not started from this data dir answers", bootstrap=bootstrap)
            await _wait_ready(admin, paths, None, loop.time() + timeout_s, process=None)
            return await broker_status(settings)

        for busy in (port, port + 1):
            if not _port_free(busy):
                what = "broker" if busy == port else "controller (broker port + 1)"
                raise KafkaBrokerError(
                    f"port {busy} on 127.0.0.1, needed for the Kafka {what}, is used by "
                    "another program that is not a Kafka broker started from "
                    f"{paths.data_dir}; free it or choose another port with "
                    "DOUANE_KAFKA_BOOTSTRAP"
                )

        lib = await asyncio.to_thread(ensure_kafka_jars, progress)
        make_private_folder(paths.log_dirs)
        write_private(paths.properties, properties.encode())  # it holds passwords
        await _format_storage(lib, paths, secrets,
                              [] if insecure_plaintext else secrets.principals(), progress)
        security = ("INSECURE PLAINTEXT" if insecure_plaintext
                    else "SASL_SSL, SCRAM-SHA-512, ACLs")
        progress(
            f"starting Kafka {KAFKA_VERSION} broker on {bootstrap} ({security}; "
            f"data in {paths.data_dir})..."
        )
        started = loop.time()
        process = _spawn(lib, paths)
        await _wait_ready(admin, paths, process.pid, started + timeout_s, process=process)
        log.info("kafka broker ready", pid=process.pid, seconds=round(loop.time() - started, 1))
        if not insecure_plaintext:
            await _grant(settings, paths, secrets, added_later, progress)
        return await broker_status(settings)


def _wanted_principals(settings: Settings, progress: Callable[[str], None]) -> list[str]:
    """douane's own principals and one per tenant of the policy (none if it cannot load)."""
    from streams.adapters.policy_files import load_policy_set  # not the worker's heavy imports

    try:
        tenants = [t.id for t in load_policy_set(settings.policy_path).policy.tenants]
    except (DouaneError, OSError) as exc:
        progress(f"kafka: no tenant principals: the policy {settings.policy_path} does not "
                 f"load ({type(exc).__name__}); fix it and start again")
        tenants = []
    for tenant in tenants:
        if not TENANT_ID.fullmatch(tenant):
            progress(f"kafka: tenant {tenant!r} gets no principal: its id cannot name one")
    tenants = [t for t in tenants if TENANT_ID.fullmatch(t)]
    return [*DOUANE_PRINCIPALS, *(tenant_principal(t) for t in tenants)]


async def _grant(
    settings: Settings,
    paths: _Paths,
    secrets: BrokerSecrets,
    new_users: list[str],
    progress: Callable[[str], None],
) -> None:
    """Create the SCRAM users added since the format, then every principal's ACLs."""
    for principal in new_users:
        progress(f"kafka: adding user {principal}...")
        await _set_scram_user(settings, paths, secrets, principal)
    tenants = [p.removeprefix(TENANT_PREFIX) for p in secrets.principals()
               if is_tenant_principal(p)]
    count = await create_acls(kafka_connection(settings),
                              acl_layout(tenants, settings.topic_layout))
    log.info("kafka ACLs applied", acls=count, tenants=len(tenants))


async def _set_scram_user(
    settings: Settings, paths: _Paths, secrets: BrokerSecrets, principal: str
) -> None:
    """Give the running broker this principal's SCRAM credential (Kafka's ConfigCommand)."""
    lib = await asyncio.to_thread(ensure_kafka_jars)
    # on the command line for the second the tool runs (hidden from its errors): its
    # --add-config-file does not take SCRAM credentials ("Invalid credential property")
    credential = f"{SCRAM_MECHANISM}=[password={secrets.password(principal)}]"
    await _run_tool("kafka-configs --add-config", _java_command(
        lib, paths, "kafka.admin.ConfigCommand", "--bootstrap-server",
        settings.kafka_bootstrap, "--command-config", str(secrets.properties_file(ADMIN)),
        "--alter", "--entity-type", "users", "--entity-name", principal,
        "--add-config", credential), paths.data_dir,
        secret_arguments=[credential, secrets.password(principal)])


async def stop_broker(settings: Settings, *, timeout_s: float = 30) -> bool:
    """SIGTERM our broker, SIGKILL it after ``timeout_s``; True if it was running."""
    parse_bootstrap(settings.kafka_bootstrap)
    paths = _Paths(settings.kafka_data_dir)
    pid = _our_broker_pid(paths)
    if pid is None:
        _remove(paths.pid)  # missing or stale
        return False
    loop = asyncio.get_running_loop()
    log.info("stopping kafka broker", pid=pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = loop.time() + timeout_s
    while _pid_alive(pid) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    if _pid_alive(pid):
        log.warning("kafka broker ignored SIGTERM, killing it", pid=pid, timeout_s=timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        kill_deadline = loop.time() + 10
        while _pid_alive(pid) and loop.time() < kill_deadline:
            await asyncio.sleep(0.1)
    _SPAWNED.pop(pid, None)
    _remove(paths.pid)
    return True


async def broker_status(settings: Settings) -> BrokerStatus:
    """Whether our broker process runs and whether a broker answers at the bootstrap."""
    paths = _Paths(settings.kafka_data_dir)
    pid = _our_broker_pid(paths)
    answering = await _answers_metadata(kafka_connection(settings))
    return BrokerStatus(
        running=pid is not None,
        answering=answering,
        pid=pid,
        bootstrap=settings.kafka_bootstrap,
        data_dir=paths.data_dir,
        rss_mb=_rss_mb(pid) if pid is not None else None,
    )


# --------------------------------------------------------------------------- principals


def _checked_tenant(tenant_id: str) -> str:
    if not TENANT_ID.fullmatch(tenant_id):
        raise KafkaBrokerError(
            f"tenant id {tenant_id!r} cannot name a Kafka principal: use letters, digits, "
            "'.', '_' and '-' (at most 100), starting with a letter or digit"
        )
    return tenant_id


async def _our_running_broker(settings: Settings) -> tuple[_Paths, BrokerSecrets]:
    parse_bootstrap(settings.kafka_bootstrap)
    paths = _Paths(settings.kafka_data_dir)
    secrets = BrokerSecrets(paths.data_dir)
    if _our_broker_pid(paths) is None or not secrets.is_set_up():
        raise KafkaBrokerError(
            f"no broker started from {paths.data_dir} is running; `douane kafka start` first"
        )
    return paths, secrets


async def add_tenant_user(settings: Settings, tenant_id: str) -> str:
    """A SCRAM user, client files and ACLs for a tenant added to the policy after the start
    (``douane kafka start`` does the same for every tenant the policy has). Idempotent."""
    paths, secrets = await _our_running_broker(settings)
    principal = tenant_principal(_checked_tenant(tenant_id))
    secrets.password(principal)
    secrets.write_client_files(principal, settings.kafka_bootstrap)
    await _set_scram_user(settings, paths, secrets, principal)
    # its own topics, and the front door's and worker's grants on them
    await create_acls(kafka_connection(settings), acl_layout([tenant_id], settings.topic_layout))
    return principal


async def remove_tenant_user(settings: Settings, tenant_id: str) -> str:
    """The tenant's ACLs, SCRAM credential and files, gone (its connections fail from the
    next authentication; ACL checks deny it at once)."""
    paths, secrets = await _our_running_broker(settings)
    principal = tenant_principal(_checked_tenant(tenant_id))
    if not secrets.has(principal):
        raise KafkaBrokerError(f"no principal {principal} (see `douane kafka users list`)")
    await delete_acls(kafka_connection(settings), principal)
    lib = await asyncio.to_thread(ensure_kafka_jars)
    await _run_tool("kafka-configs --delete-config", _java_command(
        lib, paths, "kafka.admin.ConfigCommand", "--bootstrap-server", settings.kafka_bootstrap,
        "--command-config", str(secrets.properties_file(ADMIN)), "--alter", "--entity-type",
        "users", "--entity-name", principal, "--delete-config", SCRAM_MECHANISM), paths.data_dir)
    secrets.remove_principal_files(principal)
    return principal


def describe_users(settings: Settings) -> list[str]:
    """One line per principal of the local broker: name, what it is, its client files."""
    secrets = BrokerSecrets(settings.kafka_data_dir)
    roles = {ADMIN: "super user", WORKER: "worker", FRONT_DOOR: "front door"}
    return [
        f"{principal:32} {roles.get(principal, 'tenant'):10} {secrets.properties_file(principal)}"
        f" (+ .librdkafka.conf)"
        for principal in secrets.principals()
    ]


ACTIONS = ("start", "stop", "status")
USER_VERBS = ("add", "list", "remove")


def run_users_command(verb: str | None, tenant_id: str | None, settings: Settings) -> int:
    """``douane kafka users add|list|remove [TENANT]``: prints, returns an exit code."""
    try:
        if verb == "list" or verb is None:
            lines = describe_users(settings)
            print("\n".join(lines) if lines else
                  f"kafka: no principals in {settings.kafka_data_dir} (`douane kafka start`)")
            return 0
        if verb not in USER_VERBS or not tenant_id:
            print("kafka users: expected `add TENANT`, `remove TENANT` or `list`",
                  file=sys.stderr)
            return 2
        if verb == "add":
            principal = asyncio.run(add_tenant_user(settings, tenant_id))
            secrets = BrokerSecrets(settings.kafka_data_dir)
            print(f"kafka: user {principal} may publish requests; client files "
                  f"{secrets.properties_file(principal)} and "
                  f"{secrets.librdkafka_file(principal)}")
        else:
            principal = asyncio.run(remove_tenant_user(settings, tenant_id))
            print(f"kafka: user {principal} removed (ACLs, credential and client files)")
        return 0
    except KafkaBrokerError as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 1


def run_kafka_command(action: str, settings: Settings) -> int:
    """``start`` | ``stop`` | ``status`` for the CLI: prints one line, returns an exit code.

    ``status`` exits 0 when a broker answers, 1 when our process runs but does not answer,
    3 when nothing runs. Errors exit 1, an unknown action 2.
    """
    if action not in ACTIONS:
        print(
            f"kafka: unknown action {action!r} (expected one of: {', '.join(ACTIONS)})",
            file=sys.stderr,
        )
        return 2
    try:
        if action == "start":
            status = asyncio.run(start_broker(settings))
            print(status.describe())
            clients = BrokerSecrets(settings.kafka_data_dir).clients_dir
            if clients.is_dir():
                print(f"kafka: SASL_SSL only; client files per principal in {clients} "
                      "(douane's processes use them by themselves; `douane kafka users list`)")
            return 0
        if action == "stop":
            pid = _our_broker_pid(_Paths(settings.kafka_data_dir))
            if asyncio.run(stop_broker(settings)):
                print(f"kafka: stopped (pid {pid}, data kept in {settings.kafka_data_dir})")
            else:
                print(f"kafka: not running (nothing to stop in {settings.kafka_data_dir})")
            return 0
        status = asyncio.run(broker_status(settings))
        print(status.describe())
        if status.answering:
            return 0
        return 1 if status.running else 3
    except KafkaBrokerError as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 1
