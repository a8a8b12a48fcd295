"""One Kafka hop at light load, against the project's own broker (issue 10).

A request crosses the broker three times between the front door and the worker; each hop is a
produce (acks=all, idempotent, no linger: the worker's producer, ``streams/app.py``) and a
consumer's fetch (a group member with ``fetch_min_bytes=1``, as the worker's and the front
door's consumers). This script starts the broker ``douane kafka start`` starts (SASL_SSL, SCRAM,
ACLs; ``--plaintext`` for the insecure one of the cost-of-security benchmark) under a temporary
DOUANE_HOME, publishes one message every ``--interval-ms`` to a 12-partition topic from one
process and reads it from another, and prints per message:

- **produce ack**: ``send()`` called to the acknowledgement in the producer's hands;
- **send to consume**: ``send()`` called to the message returned by the consumer's
  ``getmany`` in the other process (the same machine's monotonic clock, ``CLOCK_MONOTONIC``).

With ``--request-log`` the broker also logs every request it completes
(``kafka.request.logger`` at DEBUG) and the script splits the broker's time per Produce and
per Fetch that carried a message: queue (network thread to request handler), local (the
handler's own work), remote (the purgatory: a fetch waiting for data), response queue, send.

    PYTHONPATH=. .venv/bin/python benchmarks/kafka_hop.py [--messages 300] [--interval-ms 100]
        [--warm-up 100] [--warm-up-interval-ms 100] [--probes 50] [--plaintext]
        [--request-log] [--idle-topics 0] [--json FILE]

After the messages, ``--probes`` ApiVersions round trips on the producer's connection: a
request the broker answers without touching a log, the floor under any request.

``--idle-topics N``: the consumer also reads N more 12-partition topics that stay empty (the
worker reads 14 topics, 168 partitions: every fetch lists them all). The broker's JVM options
and properties are the project's (``streams/devtools/kafka_broker.py``); ``--jvm-option`` adds
one for a trial, ``--without-jvm-option PREFIX`` drops the project's options starting with
PREFIX, ``--broker-property key=value`` appends a line to ``server.properties``. Figures and
what they say: docs/benchmarks.md, "The Kafka hop at light load".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.config import load_settings
from streams.devtools import kafka_broker
from streams.devtools.ports import free_port
from streams.runtime.event_loop import run as run_loop

PARTITIONS = 12
TOPIC = "bench.hop"
GROUP = "bench-hop-consumer"
ROLE = "admin"  # douane-admin, a super user: the benchmark's clients need no ACLs of their own
PRODUCER_ID = "bench-hop-producer"
CONSUMER_ID = "bench-hop-consumer"
REQUEST_LOG_CONFIG = """\
status = warn
name = douane-kafka-hop
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:douane.kafka.log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d{ISO8601}] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = DEBUG
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""
SPLITS = ("requestQueueTimeMs", "localTimeMs", "remoteTimeMs", "throttleTimeMs",
          "responseQueueTimeMs", "sendTimeMs", "totalTimeMs")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def summary(values: Sequence[float]) -> str:
    return (f"p50 {statistics.median(values):6.2f}  p90 {percentile(values, 90):6.2f}  "
            f"p99 {percentile(values, 99):6.2f}  mean {statistics.fmean(values):6.2f} ms")


# --------------------------------------------------------------------------- the consumer


async def consume(args: argparse.Namespace) -> None:
    """The other process: reads the topic (and the idle ones), writes one JSON line per
    message: its number and the monotonic time it was in the consumer's hands."""
    from aiokafka import AIOKafkaConsumer

    from streams.adapters.kafka_security import kafka_connection

    settings = load_settings(os.environ)
    kafka = kafka_connection(settings, ROLE).client_options()
    topics = [TOPIC, *(f"{TOPIC}.idle.{i}" for i in range(args.idle_topics))]
    consumer = AIOKafkaConsumer(*topics, **kafka, group_id=GROUP, client_id=CONSUMER_ID,
                                enable_auto_commit=False, auto_offset_reset="latest",
                                fetch_max_wait_ms=args.fetch_max_wait_ms)
    await consumer.start()
    while len(consumer.assignment()) < len(topics) * PARTITIONS:
        await asyncio.sleep(0.05)
    # position on every partition now, so the first message is not missed
    for partition in consumer.assignment():
        await consumer.position(partition)
    print(json.dumps({"ready": True}), flush=True)
    received = 0
    while received < args.total:
        batches = await consumer.getmany(timeout_ms=1000)
        now = time.monotonic_ns()
        for records in batches.values():
            for record in records:
                number = int(record.value.split(b" ", 1)[0])
                print(json.dumps({"n": number, "t": now}), flush=True)
                received += 1
    await consumer.stop()


# --------------------------------------------------------------------------- the producer


async def produce(args: argparse.Namespace, home: Path, env: dict[str, str]) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from streams.adapters.kafka_security import kafka_connection

    settings = load_settings(env)
    kafka = kafka_connection(settings, ROLE).client_options()
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    topics = [TOPIC, *(f"{TOPIC}.idle.{i}" for i in range(args.idle_topics))]
    await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    await admin.close()
    await asyncio.sleep(1.0)  # leaders elected

    reader = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--role", "consumer", "--total",
        str(args.warm_up + args.messages), "--idle-topics", str(args.idle_topics),
        "--fetch-max-wait-ms", str(args.fetch_max_wait_ms),
        env=env, stdout=asyncio.subprocess.PIPE)
    assert reader.stdout is not None
    line = await asyncio.wait_for(reader.stdout.readline(), timeout=120)
    if not line:
        raise SystemExit("the consumer process ended before it was ready")
    consumed: dict[int, int] = {}

    async def read_consumer() -> None:
        assert reader.stdout is not None
        async for raw in reader.stdout:
            item = json.loads(raw)
            consumed[item["n"]] = item["t"]

    reading = asyncio.create_task(read_consumer())
    producer = AIOKafkaProducer(**kafka, client_id=PRODUCER_ID, acks="all",
                                enable_idempotence=True, linger_ms=args.linger_ms)
    await producer.start()
    sent: dict[int, int] = {}
    acked: dict[int, int] = {}
    body = b"x" * args.size
    loop = asyncio.get_running_loop()
    start = loop.time()
    measured_from = time.time()
    for number in range(args.warm_up + args.messages):
        # a fixed schedule, not a sleep after each message: the rate stays light and even
        if number < args.warm_up:
            due = start + number * args.warm_up_interval_ms / 1000
        else:
            due = (start + args.warm_up * args.warm_up_interval_ms / 1000
                   + (number - args.warm_up) * args.interval_ms / 1000)
        await asyncio.sleep(max(0.0, due - loop.time()))
        if number == args.warm_up:
            measured_from = time.time()  # the broker's log lines are stamped in wall time
        key = str(number % 97).encode()
        sent[number] = time.monotonic_ns()
        waiter = await producer.send(TOPIC, b"%d " % number + body, key=key)
        await waiter
        acked[number] = time.monotonic_ns()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(reading, timeout=30)
    probe_ms = await probe_round_trips(producer, args)
    await producer.stop()
    if reader.returncode is None:
        reader.terminate()
    await reader.wait()
    measured = range(args.warm_up, args.warm_up + args.messages)
    ack_ms = [(acked[n] - sent[n]) / 1e6 for n in measured]
    consume_ms = [(consumed[n] - sent[n]) / 1e6 for n in measured if n in consumed]
    return {"ack_ms": ack_ms, "consume_ms": consume_ms, "probe_ms": probe_ms,
            "measured_from": measured_from}


async def probe_round_trips(producer: Any, args: argparse.Namespace) -> list[float]:
    """ApiVersions requests on the producer's own connection, at the same rate: a request the
    broker answers without touching a log, so its round trip is the floor under any request
    (the client's encoding, TLS both ways, loopback, the broker's network thread)."""
    from aiokafka import TopicPartition
    from aiokafka.protocol.admin import ApiVersionRequest

    node = producer.client.cluster.leader_for_partition(TopicPartition(TOPIC, 0))
    timings: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for number in range(args.probes):
        await asyncio.sleep(max(0.0, start + number * args.interval_ms / 1000 - loop.time()))
        began = time.monotonic_ns()
        await producer.client.send(node, ApiVersionRequest())
        timings.append((time.monotonic_ns() - began) / 1e6)
    return timings


# --------------------------------------------------------------------------- the broker's log


def broker_splits(log: Path, fetch_max_wait_ms: int, since: float) -> dict[str, Any]:
    """Per API: the request logger's time splits of the benchmark clients' requests completed
    from ``since`` (wall time: the measured messages, not the warm-up). A fetch that waited
    its whole ``fetch_max_wait_ms`` returned nothing (an idle poll) and is counted apart from
    those a produced message completed."""
    found: dict[str, list[dict[str, float]]] = {}
    for line in log.read_text(errors="replace").splitlines():
        marker = line.find("Completed request:")
        if marker < 0:
            continue
        try:
            stamp = datetime.datetime.strptime(line[1:24], "%Y-%m-%dT%H:%M:%S,%f")
        except ValueError:
            continue
        # log4j writes local time; the machine's zone is what both clocks share
        if stamp.timestamp() < since:
            continue
        text = line[marker + len("Completed request:"):]
        end = text.rfind("}")
        try:
            item = json.loads(text[:end + 1])
        except ValueError:
            continue
        header = item.get("requestHeader", {})
        api, client = header.get("requestApiKeyName"), header.get("clientId", "")
        if api not in ("PRODUCE", "FETCH", "API_VERSIONS") or not str(client).startswith(
                "bench-hop"):
            continue
        kind = api.lower()
        if api == "FETCH":
            waited = float(item.get("remoteTimeMs", 0.0))
            kind += ":empty" if waited >= 0.95 * fetch_max_wait_ms else ":data"
        found.setdefault(kind, []).append({s: float(item.get(s, 0.0)) for s in SPLITS})
    return found


def splits_table(found: dict[str, Any]) -> str:
    lines = ["| request | count | " + " | ".join(s.removesuffix("Ms") for s in SPLITS) + " |",
             "|---|---|" + "---|" * len(SPLITS)]
    for kind, rows in sorted(found.items()):
        cells = [f"{statistics.median(r[s] for r in rows):.2f} / "
                 f"{statistics.fmean(r[s] for r in rows):.2f}" for s in SPLITS]
        lines.append(f"| {kind} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n(each cell: median / mean ms)"


# --------------------------------------------------------------------------- main


def main(args: argparse.Namespace, loop_choice: str) -> None:
    home = Path(tempfile.mkdtemp(prefix="douane-hop-"))
    env = {**os.environ, "DOUANE_HOME": str(home),
           "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
           **({"DOUANE_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"} if args.plaintext else {})}
    settings = load_settings(env)
    if args.request_log:
        config = home / "log4j2-requests.properties"
        config.write_text(REQUEST_LOG_CONFIG)
        kafka_broker._log4j_config = lambda: config  # type: ignore[assignment]
    kafka_broker.JVM_OPTIONS = (*(o for o in kafka_broker.JVM_OPTIONS if not any(
        o.startswith(prefix) for prefix in args.without_jvm_option)), *args.jvm_option)
    if args.broker_property:
        render = kafka_broker.render_server_properties

        def with_extra(*a: Any, **k: Any) -> str:
            return render(*a, **k) + "".join(p + "\n" for p in args.broker_property)

        kafka_broker.render_server_properties = with_extra  # type: ignore[assignment]
    load_before = os.getloadavg()
    try:
        # the broker's tools are started with a umask, which uvloop's subprocesses lack
        asyncio.run(kafka_broker.start_broker(settings, timeout_s=120, progress=lambda m: print(
            m, file=sys.stderr), insecure_plaintext=args.plaintext))
        result = run_loop(produce(args, home, env), loop_choice)
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(kafka_broker.stop_broker(settings))
    load_after = os.getloadavg()
    print(f"{args.messages} messages of {args.size} B, one every {args.interval_ms:g} ms after "
          f"{args.warm_up} warm-up; {'PLAINTEXT' if args.plaintext else 'SASL_SSL'}; "
          f"clients on {loop_choice}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after; {os.cpu_count()} CPUs")
    print(f"produce ack      {summary(result['ack_ms'])}")
    if result["consume_ms"]:
        print(f"send to consume  {summary(result['consume_ms'])}  "
              f"({len(result['consume_ms'])} of {args.messages} seen)")
    if result["probe_ms"]:
        print(f"ApiVersions      {summary(result['probe_ms'])}  (round trip, no log touched)")
    output: dict[str, Any] = {"args": vars(args), "load": [load_before[0], load_after[0]],
                              **result}
    if args.request_log:
        found = broker_splits(home / "kafka" / kafka_broker.LOG_FILE, args.fetch_max_wait_ms,
                              result["measured_from"])
        print(splits_table(found))
        output["broker"] = found
    if args.json:
        Path(args.json).write_text(json.dumps(output))
    if args.keep_home:
        print(f"home kept: {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("driver", "consumer"), default="driver")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--interval-ms", type=float, default=100.0)
    parser.add_argument("--warm-up-interval-ms", type=float, default=100.0)
    parser.add_argument("--size", type=int, default=1500, help="bytes per message")
    parser.add_argument("--linger-ms", type=int, default=0)
    parser.add_argument("--fetch-max-wait-ms", type=int, default=500)
    parser.add_argument("--idle-topics", type=int, default=0)
    parser.add_argument("--probes", type=int, default=50,
                        help="ApiVersions round trips after the messages")
    parser.add_argument("--plaintext", action="store_true")
    parser.add_argument("--request-log", action="store_true")
    parser.add_argument("--jvm-option", action="append", default=[])
    parser.add_argument("--without-jvm-option", action="append", default=[],
                        help="drop the project's JVM options starting with this")
    parser.add_argument("--broker-property", action="append", default=[])
    parser.add_argument("--keep-home", action="store_true")
    parser.add_argument("--json")
    arguments = parser.parse_args()
    loop_choice = os.environ.get("DOUANE_EVENT_LOOP", "uvloop")  # the worker's default
    if arguments.role == "consumer":
        run_loop(consume(arguments), loop_choice)
    else:
        main(arguments, loop_choice)
