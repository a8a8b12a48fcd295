"""What a Kafka client in C (librdkafka, through confluent-kafka) would save per message, against
aiokafka as the worker uses it (issue 10).

The worker's pattern, and nothing else: consume from a 12-partition topic; for each message,
produce one message (acks=all) to another topic and, once the broker acknowledged it, mark the
message done; offsets committed every 0.5 s, only up to the lowest unfinished offset. The
handler does no work (it forwards the message as it came), so what is measured is the client.
Messages are request-like JSON of 1-3 kB.

Two processes besides the broker (SASL_SSL, SCRAM, TLS: the local broker of ``douane kafka
start``, on a temporary DOUANE_HOME; the admin principal, a super user, for every client):

- the **processor** (this script with ``--role processor``), measured: either
  ``aiokafka``: douane's own ``ParallelConsumer`` with the worker's consumer and producer
  settings (``streams/app.py``), or ``librdkafka``: confluent-kafka's ``Consumer`` polled in a
  thread of its own, batches handed to the event loop, a ``Producer`` whose delivery reports
  (served by a second thread) settle asyncio futures, commit points from the same
  ``PartitionProgress``, commits and pause/resume done by the polling thread;
- the **driver** (this process): produces at a fixed rate (or as fast as it can, "saturated")
  and reads the output topic to time each message end to end (produce call to receipt).

Per measured window: the processor's CPU per message (utime + stime of all its threads, from
``/proc``, librdkafka's own threads included, split into Python's threads and ``rdk:*`` ones),
the broker's CPU per message, the whole machine's, the p50/p99 end-to-end latency and the
messages per second. Runs alternate between the clients; each run starts the processor on
fresh topics, warms up, then measures each rate in turn.

    nice -n 10 .venv/bin/python benchmarks/kafka_clients.py [--rates 30,60,saturated]
        [--repeats 3] [--duration-s 20] [--saturated-messages 5000] [--idle-topics N]
        [--linger-ms 0] [--clients aiokafka,librdkafka] [--json FILE]

``--idle-topics N`` makes the processor also subscribe to N more 12-partition topics that stay
empty (the worker reads 14 topics: 168 partitions), ``--linger-ms`` is librdkafka's
``linger.ms`` in the processor (aiokafka's is 0, as the worker's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 12
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ADMIN_PRINCIPAL = "douane-admin"
TEXT = ("the request of the applicant concerning housing benefit was received by the council "
         "office on Monday and will be examined by the officer in charge within ten working "
         "days please find attached the documents requested including proof of address "
         "income statements and the signed form")
WORDS = TEXT.split()


# --------------------------------------------------------------------------- common


def librdkafka_conf(home: Path) -> dict[str, Any]:
    """The admin principal's ``.librdkafka.conf`` written by ``douane kafka start``."""
    from streams.devtools.kafka_principals import BrokerSecrets

    path = BrokerSecrets(home / "kafka").librdkafka_file(ADMIN_PRINCIPAL)
    conf: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            conf[key.strip()] = value.strip()
    return conf


def request_body(number: int, rng: random.Random) -> bytes:
    """A request as the front door publishes it, 1-3 kB."""
    size = rng.randint(1000, 3000)
    words: list[str] = []
    length = 0
    while length < size - 200:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return json.dumps({
        "id": f"req-{number}-{uuid.uuid4().hex[:12]}", "tenant": "city-of-lyon",
        "model": "auto", "received_at": "2026-11-30T18:00:00+00:00",
        "messages": [{"role": "user", "content": " ".join(words)}],
    }).encode()


# --------------------------------------------------------------------------- processor


async def run_aiokafka(args: argparse.Namespace, topics: list[str], ready: Callable[[], None],
                       stop: asyncio.Event) -> None:
    """douane's ParallelConsumer with the worker's client settings (streams/app.py)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient

    from streams.adapters.kafka_security import kafka_connection
    from streams.config import load_settings
    from streams.pipeline import Outgoing
    from streams.runtime.parallel_consumer import ParallelConsumer

    settings = load_settings(os.environ)
    kafka = kafka_connection(settings, "admin").client_options()
    producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True, linger_ms=0,
                                max_request_size=settings.kafka_max_request_bytes)
    consumer = AIOKafkaConsumer(
        **kafka, group_id=args.group, enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, settings.kafka_session_timeout_s / 4) * 1000),
        rebalance_timeout_ms=int(max(60.0, 3 * settings.provider_timeout_s) * 1000))
    admin = AIOKafkaAdminClient(**kafka)
    await producer.start()
    await admin.start()
    await consumer.start()

    async def handle(record: Any) -> list[Outgoing]:
        return [Outgoing(args.out_topic, record.key, record.value)]

    def dead_letter(record: Any, error: Exception) -> Outgoing:
        raise RuntimeError(f"no dead letters in this benchmark: {error!r}")

    stages = ParallelConsumer(consumer, producer, admin, args.group, topics, handle,
                              lambda record: record.key, lambda _topic: settings.max_in_flight,
                              dead_letter=dead_letter,
                              commit_interval_s=settings.kafka_commit_interval_s)
    running = asyncio.create_task(stages.run())
    while len(consumer.assignment()) < len(topics) * PARTITIONS:
        await asyncio.sleep(0.1)
    ready()
    await stop.wait()
    await stages.drain(5.0)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    await consumer.stop()
    await producer.stop()
    await admin.close()


class LibrdkafkaProcessor:
    """The worker's pattern on confluent-kafka. The event loop owns the messages' state
    (``PartitionProgress``, windows); the consumer is used by its polling thread only
    (commits and pause/resume are queued to it); delivery reports are served by a second
    thread and settle the asyncio futures in one hand-off per ``poll``."""

    def __init__(self, args: argparse.Namespace, topics: list[str]) -> None:
        from streams.runtime.in_flight import PartitionProgress

        self.args, self.topics = args, topics
        self.progress: dict[tuple[str, int], PartitionProgress] = {}
        self.progress_type = PartitionProgress
        self.window = 512  # settings.max_in_flight's default, per topic in the worker
        self.in_flight = 0
        self.commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.assigned = threading.Event()
        self.paused = False
        self.changed = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self, ready: Callable[[], None], stop: asyncio.Event) -> None:
        self.loop = asyncio.get_running_loop()
        conf = librdkafka_conf(Path(os.environ["DOUANE_HOME"]))
        self.producer = confluent_kafka.Producer({
            **conf, "acks": "all", "enable.idempotence": True,
            "linger.ms": self.args.linger_ms, "message.max.bytes": 1024 * 1024})
        self.consumer = confluent_kafka.Consumer({
            **conf, "group.id": self.args.group, "enable.auto.commit": False,
            "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": 60_000, "heartbeat.interval.ms": 3000,
            "max.poll.interval.ms": 300_000})
        polling = threading.Thread(target=self._poll_loop, name="consumer-poll", daemon=True)
        delivering = threading.Thread(target=self._delivery_loop, name="delivery-reports",
                                      daemon=True)
        polling.start()
        delivering.start()
        committer = asyncio.create_task(self._commit_loop())
        await asyncio.to_thread(self.assigned.wait)
        ready()
        await stop.wait()
        committer.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5.0)
        self._commit()
        self.stopping.set()
        await asyncio.to_thread(polling.join)
        await asyncio.to_thread(delivering.join)
        await asyncio.to_thread(self.producer.flush, 5.0)

    # the polling thread: the only user of the consumer
    def _poll_loop(self) -> None:
        self.consumer.subscribe(self.topics, on_assign=self._on_assign)
        while not self.stopping.is_set():
            self._run_commands(asynchronous=True)
            first = self.consumer.poll(0.1)  # returns on the first message, or after 0.1 s
            if first is None:
                continue
            # the rest of what is already fetched, without waiting
            batch = [first, *self.consumer.consume(num_messages=499, timeout=0)]
            self.loop.call_soon_threadsafe(self._take, batch)
        self._run_commands(asynchronous=False)  # the last commit, before leaving the group
        self.consumer.close()

    def _run_commands(self, asynchronous: bool) -> None:
        while True:
            try:
                command, value = self.commands.get_nowait()
            except queue.Empty:
                return
            if command == "commit":
                self.consumer.commit(offsets=value, asynchronous=asynchronous)
            elif command == "pause":
                self.consumer.pause(self.consumer.assignment())
            elif command == "resume":
                self.consumer.resume(self.consumer.assignment())

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        if len(partitions) >= len(self.topics) * PARTITIONS:
            self.assigned.set()

    # the delivery thread: delivery reports, one hand-off to the loop per poll
    def _delivery_loop(self) -> None:
        while not self.stopping.is_set():
            reports: list[tuple[asyncio.Future[None], Any]] = []
            self._reports = reports
            self.producer.poll(0.1)
            if reports:
                self.loop.call_soon_threadsafe(self._settle, reports)

    def _delivered(self, future: asyncio.Future[None], error: Any, _message: Any) -> None:
        self._reports.append((future, error))

    @staticmethod
    def _settle(reports: list[tuple[asyncio.Future[None], Any]]) -> None:
        for future, error in reports:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(confluent_kafka.KafkaException(error))

    # the event loop
    def _take(self, batch: list[Any]) -> None:
        for message in batch:
            if message.error():
                continue
            where = (message.topic(), message.partition())
            progress = self.progress.setdefault(where, self.progress_type())
            progress.take(message.offset())
            self.in_flight += 1
            task = self.loop.create_task(self._process(message, where))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        self._backpressure()

    async def _process(self, message: Any, where: tuple[str, int]) -> None:
        delivered: asyncio.Future[None] = self.loop.create_future()
        self.producer.produce(self.args.out_topic, message.value(), key=message.key(),
                              on_delivery=lambda e, m: self._delivered(delivered, e, m))
        await delivered
        self.progress[where].finish(message.offset())
        self.in_flight -= 1
        self.changed.set()
        self._backpressure()

    def _backpressure(self) -> None:
        full = self.in_flight >= self.window
        if full and not self.paused:
            self.paused = True
            self.commands.put(("pause", None))
        elif not full and self.paused:
            self.paused = False
            self.commands.put(("resume", None))

    async def _commit_loop(self) -> None:
        while True:
            await self.changed.wait()
            self.changed.clear()
            self._commit()
            await asyncio.sleep(0.5)

    def _commit(self) -> None:
        offsets = []
        for (topic, partition), progress in self.progress.items():
            due = progress.commit_due()
            if due is not None:
                offsets.append(confluent_kafka.TopicPartition(
                    topic, partition, due[0], metadata=due[1]))
        if offsets:
            self.commands.put(("commit", offsets))


async def processor_main(args: argparse.Namespace) -> None:
    topics = [args.in_topic, *args.idle_topic]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    def ready() -> None:
        print("ready", flush=True)

    if args.client == "aiokafka":
        await run_aiokafka(args, topics, ready, stop)
    else:
        await LibrdkafkaProcessor(args, topics).run(ready, stop)


# --------------------------------------------------------------------------- measuring


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (comm) of a process's live threads, from /proc."""
    out: dict[str, float] = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                text = stat.read()
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    with open("/proc/stat") as stat:
        fields = [int(part) for part in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass
class Snapshot:
    at: float
    processor: float
    processor_threads: dict[str, float]
    broker: float
    machine: float

    @classmethod
    def take(cls, processor: int, broker: int) -> Snapshot:
        return cls(time.perf_counter(), cpu_seconds(processor), thread_cpu(processor),
                   cpu_seconds(broker), machine_busy_seconds())


@dataclass
class Result:
    client: str
    rate: str
    repeat: int
    messages: int
    seconds: float
    processor_ms: float
    processor_rdk_ms: float
    broker_ms: float
    machine_ms: float
    p50_ms: float | None
    p99_ms: float | None
    load: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def result_of(client: str, rate: str, repeat: int, messages: int, before: Snapshot,
              after: Snapshot, latencies: list[float]) -> Result:
    rdk = sum(v - before.processor_threads.get(k, 0.0)
              for k, v in after.processor_threads.items() if k.startswith("rdk:"))
    ordered = sorted(latencies)

    def quantile(q: float) -> float | None:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else None

    return Result(client, rate, repeat, messages, after.at - before.at,
                  (after.processor - before.processor) * 1000 / messages, rdk * 1000 / messages,
                  (after.broker - before.broker) * 1000 / messages,
                  (after.machine - before.machine) * 1000 / messages,
                  quantile(0.5), quantile(0.99), os.getloadavg()[0])


@dataclass
class Driver:
    """Produces numbered requests and times each one's copy on the output topic."""

    conf: dict[str, Any]
    in_topic: str
    out_topic: str
    sent: dict[int, float] = field(default_factory=dict)
    received: dict[int, float] = field(default_factory=dict)
    next_number: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(1)
        self.bodies = [request_body(n, self.rng) for n in range(500)]
        self.producer = confluent_kafka.Producer({**self.conf, "acks": "all", "linger.ms": 0})
        self.batched = confluent_kafka.Producer({**self.conf, "acks": "all", "linger.ms": 5})
        self.consumer = confluent_kafka.Consumer({
            **self.conf, "group.id": f"driver-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False})
        self.consumer.assign([confluent_kafka.TopicPartition(self.out_topic, p,
                                                             confluent_kafka.OFFSET_BEGINNING)
                              for p in range(PARTITIONS)])
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while not self.stopping.is_set():
            message = self.consumer.poll(0.2)
            if message is None or message.error():
                continue
            now = time.perf_counter()
            with self.arrived:
                self.received[int(message.key())] = now
                self.arrived.notify_all()

    def _send(self, producer: Any) -> int:
        number = self.next_number
        self.next_number += 1
        self.sent[number] = time.perf_counter()
        producer.produce(self.in_topic, self.bodies[number % len(self.bodies)],
                         key=str(number).encode())
        producer.poll(0)
        return number

    def at_rate(self, rate: float, seconds: float) -> list[int]:
        numbers = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            numbers.append(self._send(self.producer))
        return numbers

    def flat_out(self, count: int) -> list[int]:
        numbers = []
        for _ in range(count):
            while True:
                try:
                    numbers.append(self._send(self.batched))
                    break
                except BufferError:
                    self.batched.poll(0.05)
        self.batched.flush(60)
        return numbers

    def wait_for(self, numbers: Iterable[int], timeout_s: float) -> bool:
        wanted = list(numbers)
        deadline = time.perf_counter() + timeout_s
        with self.arrived:
            while not all(n in self.received for n in wanted):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return False
                self.arrived.wait(min(remaining, 0.5))
        return True

    def latencies(self, numbers: Iterable[int]) -> list[float]:
        with self.lock:
            return [self.received[n] - self.sent[n] for n in numbers if n in self.received]

    def close(self) -> None:
        self.stopping.set()
        self.reader.join()
        self.consumer.close()
        self.producer.flush(10)


def create_topics(admin: AdminClient, names: list[str]) -> None:
    futures = admin.create_topics([NewTopic(n, num_partitions=PARTITIONS, replication_factor=1)
                                   for n in names])
    for future in futures.values():
        future.result(60)


def delete_topics(admin: AdminClient, names: list[str]) -> None:
    for future in admin.delete_topics(names).values():
        with contextlib.suppress(Exception):
            future.result(60)


def one_run(args: argparse.Namespace, env: dict[str, str], conf: dict[str, Any],
            admin: AdminClient, broker: int, client: str, repeat: int) -> list[Result]:
    run_id = uuid.uuid4().hex[:8]
    in_topic, out_topic = f"bench.in.{run_id}", f"bench.out.{run_id}"
    create_topics(admin, [in_topic, out_topic])
    command = [sys.executable, __file__, "--role", "processor", "--client", client,
               "--in-topic", in_topic, "--out-topic", out_topic, "--group", f"bench-{run_id}",
               "--linger-ms", str(args.linger_ms),
               *[item for name in args.idle_topic_names for item in ("--idle-topic", name)]]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    driver = Driver(conf, in_topic, out_topic)
    results = []
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the {client} processor did not start (exit {process.poll()})")
        output = process.stdout  # its logs after that: read, so that the pipe never fills
        threading.Thread(target=lambda: sys.stderr.writelines(output), daemon=True).start()
        warm = driver.at_rate(60, args.warm_up_s)
        if not driver.wait_for(warm, 60):
            raise RuntimeError(f"{client}: warm-up messages did not all come through")
        for rate in args.rates:
            time.sleep(1.0)
            before = Snapshot.take(process.pid, broker)
            numbers = (driver.flat_out(args.saturated_messages) if rate == "saturated"
                       else driver.at_rate(float(rate), args.duration_s))
            complete = driver.wait_for(numbers, 120)
            after = Snapshot.take(process.pid, broker)
            if rate == "saturated":  # the window ends when the last one came through
                after.at = max(driver.received[n] for n in numbers if n in driver.received)
            result = result_of(client, rate, repeat, len(numbers), before, after,
                               driver.latencies(numbers))
            if not complete:
                print(f"  ! {client} {rate}: {len(numbers) - len(driver.latencies(numbers))} "
                      "messages did not come through", file=sys.stderr)
            print(f"  {client:10} {rate:>9}/s  {result.per_second:6.1f} msg/s  processor "
                  f"{result.processor_ms:5.2f} ms/msg (librdkafka threads "
                  f"{result.processor_rdk_ms:4.2f})  broker {result.broker_ms:5.2f}  machine "
                  f"{result.machine_ms:6.2f}  p50 {result.p50_ms or 0:6.1f} ms  p99 "
                  f"{result.p99_ms or 0:6.1f} ms  load {result.load:.1f}", file=sys.stderr,
                  flush=True)
            results.append(result)
    finally:
        driver.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        delete_topics(admin, [in_topic, out_topic])
    return results


def summary(results: list[Result]) -> None:
    print("| client | rate | runs | msg/s | processor CPU ms/msg | of it librdkafka threads "
          "| broker CPU ms/msg | p50 ms | p99 ms | machine ms/msg |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    def spread(values: list[float], digits: int = 2) -> str:
        if not values:
            return "-"
        median = statistics.median(values)
        return (f"{median:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"
                if len(values) > 1 else f"{median:.{digits}f}")

    rates = list(dict.fromkeys(r.rate for r in results))
    clients = list(dict.fromkeys(r.client for r in results))
    for rate in rates:
        for client in clients:
            rows = [r for r in results if r.rate == rate and r.client == client]
            if not rows:
                continue
            saturated = rate == "saturated"
            print(f"| {client} | {rate} | {len(rows)} | {spread([r.per_second for r in rows], 1)}"
                  f" | {spread([r.processor_ms for r in rows])}"
                  f" | {spread([r.processor_rdk_ms for r in rows])}"
                  f" | {spread([r.broker_ms for r in rows])}"
                  f" | {'-' if saturated else spread([r.p50_ms or 0 for r in rows], 1)}"
                  f" | {'-' if saturated else spread([r.p99_ms or 0 for r in rows], 1)}"
                  f" | {spread([r.machine_ms for r in rows], 1)} |")


def main(args: argparse.Namespace) -> None:
    from _stack import remove_home

    from streams.config import load_settings
    from streams.devtools.kafka_broker import PID_FILE, start_broker, stop_broker
    from streams.devtools.local_stack import write_local_policy
    from streams.devtools.ports import free_port

    home = Path(tempfile.mkdtemp(prefix="douane-kafka-clients-"))
    write_local_policy(home / "policy.yaml", free_port())
    env = {**os.environ, "DOUANE_HOME": str(home), "DOUANE_POLICY": str(home / "policy.yaml"),
           "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
           "DOUANE_LOG_FORMAT": "json"}
    settings = load_settings(env)
    results: list[Result] = []
    try:
        asyncio.run(start_broker(settings, timeout_s=120,
                                 progress=lambda m: print(m, file=sys.stderr, flush=True)))
        broker = int((settings.kafka_data_dir / PID_FILE).read_text().strip())
        conf = librdkafka_conf(home)
        admin = AdminClient(conf)
        args.idle_topic_names = [f"bench.idle.{i}" for i in range(args.idle_topics)]
        if args.idle_topic_names:
            create_topics(admin, args.idle_topic_names)
        print(f"broker pid {broker}; warming it up with one run of each client (not counted)",
              file=sys.stderr, flush=True)
        warm_args = argparse.Namespace(**{**vars(args), "rates": ["60"], "duration_s": 5})
        for client in args.clients:
            one_run(warm_args, env, conf, admin, broker, client, -1)
        for repeat in range(args.repeats):
            order = args.clients if repeat % 2 == 0 else list(reversed(args.clients))
            for client in order:
                print(f"repeat {repeat + 1}/{args.repeats}: {client}", file=sys.stderr,
                      flush=True)
                results.extend(one_run(args, env, conf, admin, broker, client, repeat))
    finally:
        asyncio.run(stop_broker(settings))
        remove_home(home, settings)
    if args.json:
        Path(args.json).write_text(json.dumps([vars(r) for r in results], indent=1))
    summary(results)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=("driver", "processor"), default="driver")
    parser.add_argument("--clients", type=lambda s: s.split(","),
                        default=["aiokafka", "librdkafka"])
    parser.add_argument("--rates", type=lambda s: s.split(","),
                        default=["30", "60", "saturated"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--warm-up-s", type=float, default=5.0)
    parser.add_argument("--saturated-messages", type=int, default=5000)
    parser.add_argument("--idle-topics", type=int, default=0)
    parser.add_argument("--linger-ms", type=int, default=0)
    parser.add_argument("--json", default=None)
    # the processor's own
    parser.add_argument("--client", choices=("aiokafka", "librdkafka"))
    parser.add_argument("--in-topic")
    parser.add_argument("--out-topic")
    parser.add_argument("--group")
    parser.add_argument("--idle-topic", action="append", default=[])
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.role == "processor":
        asyncio.run(processor_main(arguments))
    else:
        main(arguments)
