"""Crashes and restarts under load: every request accounted for after ``kill -9`` of the worker
and broker restarts.

Starts its own stack (broker, stand-in model answering after ``--latency-ms``, a worker that is
a static member of its group (``DOUANE_KAFKA_GROUP_INSTANCE_ID``), front door) and publishes
``--requests`` valid requests with personal data straight to city-of-lyon's request topic at a
steady ``--rate``, as a producing system would (a publish that fails while the broker is away
is tried again, so a message may be on the topic twice). Meanwhile, spread over the
publishing time, it ``kill -9``s the worker ``--kills`` times, each once at least
``--in-flight`` requests wait at the stand-in model, and restarts it at once (a supervisor's
restart), and stops and starts the broker ``--broker-restarts`` times. Then it reads the
tenant's responses and rejections (``douane.rejected.<tenant>``) until every request has a
response or nothing has moved for ``--stall-s`` seconds, asks the stand-in which request ids
it received and how often, and runs ``douane audit verify``.

Prints every fault (requests waiting at the model when it struck, downtime, time from the
fault to the first response the worker created after it) and a summary: responses by status
and reason, lost (no response), duplicated (more than one response; identical or not),
forwarded twice (the model received the id more than once), delivery-uncertain, copies
published twice by the producer (rejected as duplicate-id), audit records out of order,
recovery times (min/median/max), whether the audit log verifies.

The model latency must be long enough for the window to fill: ``--in-flight`` requests wait at
the model only if rate x latency exceeds it (15/s x 8 s = 120).

    .venv/bin/python benchmarks/crash.py [--requests 1500] [--rate 15] [--latency-ms 8000]
        [--kills 5] [--broker-restarts 2] [--in-flight 100] [--keep-log PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from _stack import DOUANE_MODEL, Stack, progress, running_stack
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from streams.adapters.audit.sqlite import open_sqlite_reader
from streams.adapters.kafka_security import kafka_connection, start_client
from streams.core.tenant_topics import rejected_topic, request_topic, responses_topic
from streams.devtools.kafka_broker import start_broker, stop_broker

TENANT = "city-of-lyon"
REQUESTS_TOPIC, RESPONSES_TOPIC = request_topic(TENANT), responses_topic(TENANT)
REJECTIONS_TOPIC = rejected_topic(TENANT)  # what the tenant hears of a message reusing an id
STATIC_WORKER = {
    "DOUANE_KAFKA_GROUP_INSTANCE_ID": "douane-crash-worker-1",
    # a slow answer must never time out and be tried again: only the faults may send a
    # request twice, and that is what is counted
    "DOUANE_PROVIDER_TIMEOUT_S": "600",
}
FIRST_NAMES = ("Jeanne", "Karim", "Lucie", "Mehdi", "Sofia", "Yann", "Inès", "Paul")
FAMILY_NAMES = ("Martin", "Benali", "Durand", "Nguyen", "Lefèvre", "Moreau", "Diallo", "Roux")


def text(n: int) -> str:
    first, family = FIRST_NAMES[n % 8], FAMILY_NAMES[(n // 8) % 8]
    return (f"Bonjour, je suis {first} {family} ({first.lower()}.{family.lower()}@example.fr, "
            f"06 12 34 {n // 100 % 100:02d} {n % 100:02d}). Quels sont les horaires de la "
            f"médiathèque numéro {n} le samedi ?")


@dataclass
class Fault:
    kind: str  # "kill -9 worker" or "broker restart"
    at_wall: float  # time.time() when it struck (Kafka timestamps are wall-clock)
    in_flight: int  # requests waiting at the model when it struck
    back_wall: float  # when the worker was restarted / the broker answered again
    first_response_wall: float | None = None  # the first response created after back_wall

    @property
    def downtime_s(self) -> float:
        return self.back_wall - self.at_wall

    @property
    def recovery_s(self) -> float | None:
        return None if self.first_response_wall is None \
            else self.first_response_wall - self.at_wall


@dataclass
class Tally:
    ids: list[str]
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    raw: dict[str, list[bytes]] = field(default_factory=dict)  # the same, as published
    created_ms: list[int] = field(default_factory=list)  # Kafka timestamps of our responses
    rejected: Counter[str] = field(default_factory=Counter)  # our ids' copies, by code
    publish_attempts: int = 0

    def answered_ids(self) -> int:
        return sum(1 for i in self.ids if self.responses.get(i))


async def publish(stack: Stack, tally: Tally, rate: float) -> None:
    """One request every 1/rate s on a fixed schedule; each publish in a task of its own that
    tries again while the broker is away, so the schedule never waits for the broker."""
    kafka = kafka_connection(stack.settings, "admin")
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all",
                                request_timeout_ms=10_000)
    await start_client(producer, kafka, "the benchmark's producer")

    async def one(n: int, request_id: str) -> None:
        value = json.dumps({"id": request_id, "tenant": TENANT,
                            "messages": [{"role": "user", "content": text(n)}]}).encode()
        while True:
            tally.publish_attempts += 1
            try:
                await producer.send_and_wait(REQUESTS_TOPIC, value, key=request_id.encode())
                return
            except KafkaError:
                await asyncio.sleep(0.5)

    started = time.monotonic()
    tasks = []
    try:
        for n, request_id in enumerate(tally.ids):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n, request_id)))
            if n and n % 300 == 0:
                progress(f"  published {n}, {tally.answered_ids()} answered")
        await asyncio.gather(*tasks)
    finally:
        await producer.stop()


async def open_reader(stack: Stack) -> AIOKafkaConsumer:
    """A consumer of the tenant's responses and rejections, from their beginning."""
    kafka = kafka_connection(stack.settings, "admin")
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await start_client(consumer, kafka, "the benchmark's reader")
    metadata = AIOKafkaProducer(**kafka.client_options())  # partitions_for: public, waits
    await start_client(metadata, kafka, "the benchmark's metadata client")
    try:
        partitions = [TopicPartition(topic, p) for topic in (RESPONSES_TOPIC, REJECTIONS_TOPIC)
                      for p in sorted(await metadata.partitions_for(topic))]
    finally:
        await metadata.stop()
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return consumer


async def read_outcomes(consumer: AIOKafkaConsumer, tally: Tally, done: asyncio.Event) -> None:
    """Reads until ``done``, riding out the broker's restarts."""
    ours = set(tally.ids)
    try:
        while not done.is_set():
            try:
                batch = await consumer.getmany(timeout_ms=500)
            except KafkaError:
                await asyncio.sleep(0.5)
                continue
            for partition, records in batch.items():
                for record in records:
                    body = json.loads(record.value)
                    if partition.topic == REJECTIONS_TOPIC:
                        if body.get("request_id") in ours:
                            tally.rejected[body["error"]["code"]] += 1
                    elif body.get("id") in ours:
                        tally.responses.setdefault(body["id"], []).append(body)
                        tally.raw.setdefault(body["id"], []).append(record.value)
                        tally.created_ms.append(record.timestamp)
    finally:
        await consumer.stop()


async def in_flight_at_model(stack: Stack) -> int:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{stack.model_port}/_stand-in/in-flight")
        return int(answer.json()["in_flight"])


async def wait_for_window(stack: Stack, at_least: int, timeout_s: float) -> int:
    """Waits until ``at_least`` requests wait at the model (or ``timeout_s``); the count."""
    deadline = time.monotonic() + timeout_s
    count = await in_flight_at_model(stack)
    while count < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        count = await in_flight_at_model(stack)
    return count


async def kill_worker(stack: Stack, count: int) -> Fault:
    worker = stack.processes["worker"]
    os.kill(worker.pid, signal.SIGKILL)
    at = time.time()
    await asyncio.to_thread(worker.wait)
    stack.restart("worker")
    return Fault("kill -9 worker", at, count, time.time())


async def restart_broker(stack: Stack, count: int) -> Fault:
    at = time.time()
    await stop_broker(stack.settings, timeout_s=60)
    await start_broker(stack.settings, timeout_s=180, progress=progress)
    return Fault("broker restart", at, count, time.time())


async def inflict(stack: Stack, tally: Tally, arguments: argparse.Namespace,
                  faults: list[Fault]) -> None:
    """The faults, spread over the publishing time; each waits for the one before it to be
    over (a response created after it), so that they do not pile up, and then for the window
    to fill again (``--in-flight`` requests waiting at the model, or ``--window-timeout-s``):
    when recoveries take longer than the publishing, the later faults strike the backlog."""
    kinds = interleave(arguments.kills, arguments.broker_restarts)
    spacing = len(tally.ids) / arguments.rate / (len(kinds) + 1)
    started = time.monotonic()
    for number, kind in enumerate(kinds, start=1):
        await asyncio.sleep(max(0.0, started + number * spacing - time.monotonic()))
        if faults:
            await wait_for_recovery(tally, faults[-1], arguments.stall_s)
        progress(f"fault {number} of {len(kinds)}: {kind}...")
        count = await wait_for_window(stack, arguments.in_flight, arguments.window_timeout_s)
        fault = await (kill_worker(stack, count) if kind == "kill"
                       else restart_broker(stack, count))
        progress(f"  {fault.kind}: {fault.in_flight} waiting at the model, back after "
                 f"{fault.downtime_s:.1f} s")
        faults.append(fault)
    if faults:
        await wait_for_recovery(tally, faults[-1], arguments.stall_s)


def interleave(kills: int, broker_restarts: int) -> list[str]:
    """Kills and broker restarts spread among each other: kill, kill, broker, kill, ..."""
    total = kills + broker_restarts
    places = {round((n + 1) * total / (broker_restarts + 1)) - 1
              for n in range(broker_restarts)}
    return ["broker" if n in places else "kill" for n in range(total)]


async def wait_for_recovery(tally: Tally, fault: Fault, timeout_s: float) -> None:
    """Until a response created after the fault arrives, ``timeout_s``, or (a fault that struck
    an idle worker) every request has its response."""
    deadline = time.monotonic() + timeout_s
    while fault.first_response_wall is None and time.monotonic() < deadline \
            and tally.answered_ids() < len(tally.ids):
        after = [ms / 1000 for ms in tally.created_ms if ms / 1000 > fault.back_wall
                 or (fault.kind.startswith("kill") and ms / 1000 > fault.at_wall)]
        if after:
            fault.first_response_wall = min(after)
        else:
            await asyncio.sleep(0.2)


async def settle(tally: Tally, stall_s: float, settle_s: float) -> None:
    """Until every request has a response (then ``settle_s`` more, for late duplicates) or
    nothing new for ``stall_s``."""
    last, last_change = -1, time.monotonic()
    while time.monotonic() - last_change < stall_s:
        count = len(tally.created_ms) + sum(tally.rejected.values())
        if count != last:
            last, last_change = count, time.monotonic()
        if tally.answered_ids() == len(tally.ids):
            await asyncio.sleep(settle_s)
            return
        await asyncio.sleep(0.5)


async def received_counts(stack: Stack) -> Counter[str]:
    async with httpx.AsyncClient(timeout=120) as http:
        answer = await http.get(f"http://127.0.0.1:{stack.model_port}/_stand-in/received")
        return Counter(str(entry["request_id"]) for entry in answer.json())


def audit_out_of_order(stack: Stack, tally: Tally) -> dict[str, list[str]]:
    """Requests whose audit records are not admitted, forwarded, then their response's status
    (a producer's second copy may add a ``rejected`` record: it is left aside)."""
    odd = {}
    with open_sqlite_reader(stack.settings.audit_db) as reader:
        for request_id in tally.ids:
            kinds = [r.kind for r in reader.records_for_request(request_id)
                     if r.kind != "rejected"]
            statuses = [r["status"] for r in tally.responses.get(request_id, [])]
            if kinds != ["admitted", "forwarded", *statuses[:1]]:
                odd[request_id] = kinds
    return odd


def audit_verifies(stack: Stack) -> tuple[bool, str]:
    done = subprocess.run([sys.executable, "-m", "streams.cli", "audit", "verify"],
                          env=dict(stack.environment), capture_output=True, text=True,
                          timeout=1800)
    verdict = done.stdout.strip().splitlines()[-1:] or done.stderr.strip().splitlines()[-1:]
    return done.returncode == 0, "".join(verdict)


def seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return (f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f} s "
            f"({len(values)})")


def report(tally: Tally, faults: list[Fault], received: Counter[str],
           odd: dict[str, list[str]], verified: tuple[bool, str], arguments: argparse.Namespace,
           took_s: float) -> None:
    ids = tally.ids
    lost = [i for i in ids if not tally.responses.get(i)]
    duplicated = [i for i in ids if len(tally.responses.get(i, [])) > 1]
    # a response published again after a crash is the same bytes (at-least-once, identical);
    # any other second response breaks "one response per id"
    differing = [i for i in duplicated if len(set(tally.raw[i])) > 1]
    twice = [i for i in ids if received[i] > 1]
    outcomes: Counter[str] = Counter()
    for request_id in ids:
        for body in tally.responses.get(request_id, [])[:1]:
            reasons = ",".join(r["code"] for r in body.get("reasons", []))
            outcomes[body["status"] + (f" ({reasons})" if reasons and
                                       body["status"] != "answered" else "")] += 1
    uncertain = sum(n for outcome, n in outcomes.items() if "delivery-uncertain" in outcome)
    print(f"{len(ids)} requests at {arguments.rate:g}/s, model latency "
          f"{arguments.latency_ms:g} ms, {arguments.kills} x kill -9 of the worker, "
          f"{arguments.broker_restarts} broker restarts; {tally.publish_attempts} publish "
          f"attempts; outcomes read {took_s:.0f} s after the first publish; {os.cpu_count()} "
          "CPUs")
    print()
    print("| fault | waiting at the model | down | fault -> first new response |")
    print("|---|---|---|---|")
    for number, fault in enumerate(faults, start=1):
        recovery = f"{fault.recovery_s:.1f} s" if fault.recovery_s is not None else "none"
        print(f"| {number}. {fault.kind} | {fault.in_flight} | {fault.downtime_s:.1f} s "
              f"| {recovery} |")
    print()
    print("| outcome | requests |")
    print("|---|---|")
    for outcome, n in outcomes.most_common():
        print(f"| response: {outcome} | {n} |")
    for code, n in tally.rejected.most_common():
        print(f"| a second copy of a request on {REJECTIONS_TOPIC}: {code} | {n} |")
    print(f"| **lost** (no response) | **{len(lost)}** |")
    print(f"| **duplicated** (more than one response) | **{len(duplicated)}** |")
    print(f"| of which identical (the same bytes again, after a crash) "
          f"| {len(duplicated) - len(differing)} |")
    print(f"| **of which different** | **{len(differing)}** |")
    print(f"| **forwarded twice** (the model received the id more than once) "
          f"| **{len(twice)}** |")
    print(f"| delivery-uncertain | {uncertain} |")
    print(f"| never reached the model | {sum(1 for i in ids if received[i] == 0)} |")
    print(f"| audit records other than admitted, forwarded, outcome | {len(odd)} |")
    kills = [f.recovery_s for f in faults if f.kind.startswith("kill")
             and f.recovery_s is not None]
    brokers = [f.recovery_s for f in faults if f.kind.startswith("broker")
               and f.recovery_s is not None]
    print(f"| recovery, kill -9 -> first new response (min / median / max) | {seconds(kills)} |")
    print(f"| recovery, broker stop -> first new response | {seconds(brokers)} |")
    print(f"| audit log verified | {'yes' if verified[0] else 'NO'} |")
    print()
    print(f"douane audit verify: {verified[1]}")
    for label, which in (("lost", lost), ("duplicated", duplicated),
                         ("duplicated, different", differing), ("forwarded twice", twice),
                         ("audit out of order", list(odd))):
        if which:
            print(f"{label}: {which[:10]}{' ...' if len(which) > 10 else ''}")
    for request_id in duplicated[:5]:
        print(f"  {request_id}: {[r['status'] for r in tally.responses[request_id]]}")
    for request_id in list(odd)[:5]:
        print(f"  {request_id}: audit {odd[request_id]}")


async def main(arguments: argparse.Namespace) -> None:
    from streams.logging_setup import configure_logging

    configure_logging("console", 40)
    # the benchmark's own clients lose the broker on purpose: their reconnection errors are
    # expected, and what they lead to is counted
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    run = f"crash-{int(time.time())}"
    tally = Tally([f"{run}-{n}" for n in range(arguments.requests)])
    faults: list[Fault] = []
    async with running_stack(model_args=("--latency-ms", f"{arguments.latency_ms:g}"),
                             env=STATIC_WORKER) as stack:
        progress("waiting for the worker (one request through the front door)...")
        async with httpx.AsyncClient(timeout=600) as http:
            answer = await http.post(stack.door_url, headers=stack.headers, json={
                "model": DOUANE_MODEL, "messages": [{"role": "user", "content": "Bonjour"}]})
            answer.raise_for_status()
        done = asyncio.Event()
        reader = asyncio.create_task(read_outcomes(await open_reader(stack), tally, done))
        started = time.monotonic()
        progress(f"publishing {arguments.requests} requests at {arguments.rate:g}/s...")
        await asyncio.gather(publish(stack, tally, arguments.rate),
                             inflict(stack, tally, arguments, faults))
        progress("reading the outcomes...")
        await settle(tally, arguments.stall_s, arguments.settle_s)
        took_s = time.monotonic() - started
        done.set()
        await reader
        received = await received_counts(stack)
        odd = audit_out_of_order(stack, tally)
        progress("douane audit verify...")
        verified = audit_verifies(stack)
        if arguments.keep_log:
            shutil.copyfile(stack.home / "processes.log", arguments.keep_log)
    report(tally, faults, received, odd, verified, arguments, took_s)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=15.0, help="requests published per s")
    parser.add_argument("--latency-ms", type=float, default=8000.0,
                        help="the stand-in model's latency")
    parser.add_argument("--kills", type=int, default=5, help="kill -9 of the worker")
    parser.add_argument("--broker-restarts", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=100,
                        help="requests waiting at the model before each kill")
    parser.add_argument("--window-timeout-s", type=float, default=120.0,
                        help="kill anyway if the window has not filled by then")
    parser.add_argument("--stall-s", type=float, default=300.0,
                        help="give up waiting when nothing new arrives this long")
    parser.add_argument("--settle-s", type=float, default=10.0,
                        help="read this long after the last response, for late duplicates")
    parser.add_argument("--keep-log", help="copy the processes' log (JSON lines) there")
    asyncio.run(main(parser.parse_args()))
