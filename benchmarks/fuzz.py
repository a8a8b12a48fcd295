"""Hostile input at volume: many malformed messages with valid requests among them.

Starts its own stack (broker, stand-in model, worker, front door) and publishes, straight to
city-of-lyon's request topic (``douane.requests.city-of-lyon``) with the admin principal, a
seeded mix of what a broken or hostile producer sends: random bytes, random JSON, JSON nested
thousands of levels deep, invalid UTF-8 inside a request, requests over the size limit,
requests with a field of the wrong type or value, reused ids, and (about one in a hundred)
valid requests with personal data. Then it reads the tenant's responses and rejections
(``douane.rejected.city-of-lyon``), the operators' ``douane.rejected`` and
``douane.dead-letter`` until every message is accounted for or nothing has moved for
``--stall-s`` seconds.

Every message must end somewhere: the first message with a usable id in that id's one
response, any other with a rejection (or, if it broke douane, on ``douane.dead-letter``).
Prints what was sent by kind, rejections by code, responses by status, dead letters, messages
lost (accounted nowhere), ids answered twice, the longest pause in progress, throughput and the
worker's peak memory.

    .venv/bin/python benchmarks/fuzz.py [--messages 100000] [--seed 1] [--stall-s 120]
        [--keep-log PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from _stack import DOUANE_MODEL, Stack, progress, running_stack
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from concurrency import family_memory_mb, with_children

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.config import DEAD_LETTER_TOPIC, REJECTED_TOPIC
from streams.core.tenant_topics import rejected_topic, request_topic, responses_topic

TENANT = "city-of-lyon"
REQUESTS_TOPIC, RESPONSES_TOPIC = request_topic(TENANT), responses_topic(TENANT)
REJECTIONS = (rejected_topic(TENANT), REJECTED_TOPIC)  # the tenant's; what no tenant is told

VALID_TEXT = ("Bonjour, merci de préparer un courrier pour Jeanne Martin "
              "(jeanne.martin@example.fr, 06 12 34 56 78) au sujet de son dossier de logement.")


@dataclass
class Sent:
    kind: str
    request_id: str | None  # the id whose response is an outcome (valid, maybe valid)


@dataclass
class Tally:
    sent: dict[tuple[int, int], Sent] = field(default_factory=dict)  # (partition, offset)
    rejected: dict[tuple[int, int], str] = field(default_factory=dict)  # -> error code
    dead: dict[tuple[int, int], str] = field(default_factory=dict)  # -> the error's type
    # request id -> (status, first reason's code) of each response: a rejected message that
    # owns its id is told on the responses topic (status ``rejected``), not on a rejected topic
    responses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def lost(self) -> list[tuple[int, int]]:
        """Messages with no outcome. A message without a usable id must have a rejection (or
        a dead letter). Messages sharing a request id (a valid request and copies reusing its
        id) share one response, given to whichever came first, and every other one of them
        must have a rejection: so a group of n messages with a response needs n - 1
        rejections, without one n."""
        groups: dict[str, list[tuple[int, int]]] = {}
        missing = []
        for place, sent in self.sent.items():
            if sent.request_id is None:
                if place not in self.rejected and place not in self.dead:
                    missing.append(place)
            else:
                groups.setdefault(sent.request_id, []).append(place)
        for request_id, places in groups.items():
            without = [p for p in places if p not in self.rejected and p not in self.dead]
            missing += without[1:] if self.responses.get(request_id) else without
        return missing

    def accounted(self) -> int:
        return len(self.sent) - len(self.lost())


def random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(8 if depth < 6 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.random() < 0.5
    if choice == 2:
        return rng.randint(-2**63, 2**63)
    if choice == 3:
        return rng.random() * 10 ** rng.randint(-5, 30)
    if choice == 4:
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 40)))
    if choice in (5, 6):
        return {f"k{rng.randint(0, 99)}": random_json(rng, depth + 1)
                for _ in range(rng.randint(0, 6))}
    return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))]


def request(request_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": request_id, "tenant": "city-of-lyon",
                            "messages": [{"role": "user", "content": VALID_TEXT}]}
    body.update(changes)
    return body


def generators(rng: random.Random, run: str, valid_ids: list[str],
               ) -> list[tuple[str, float, Callable[[int], bytes]]]:
    """(kind, weight, make(n) -> bytes); ``valid`` ids are f"{run}-valid-{n}", and a reused id
    is one of ``valid_ids`` (those already published)."""
    def wrong_field(n: int) -> bytes:
        field_name = rng.choice(["messages", "tenant", "classification", "stream", "language",
                                 "model", "purpose", "conversation", "id"])
        return json.dumps(request(f"{run}-bad-{n}", **{field_name: random_json(rng)})).encode()

    def deep(n: int) -> bytes:
        levels = rng.randint(33, 20_000)
        return b"[" * levels + b"]" * levels

    def invalid_utf8(n: int) -> bytes:
        text = json.dumps(request(f"{run}-utf8-{n}")).encode()
        cut = rng.randrange(len(text))
        return text[:cut] + bytes([rng.choice([0xC3, 0xFF, 0xFE, 0x80])]) + text[cut:]

    def reused_id(n: int) -> bytes:
        if not valid_ids:
            return json.dumps(request(f"{run}-bad-{n}", tenant="nobody")).encode()
        return json.dumps(request(rng.choice(valid_ids))).encode()

    return [
        ("random bytes", 20, lambda n: rng.randbytes(rng.randint(0, 2000))),
        ("random JSON", 25, lambda n: json.dumps(random_json(rng)).encode()),
        ("wrong field", 25, wrong_field),
        ("deep nesting", 5, deep),
        ("invalid UTF-8", 10, invalid_utf8),
        ("oversize", 0.2, lambda n: json.dumps(request(
            f"{run}-big-{n}", messages=[{"role": "user", "content": "x" * 600_000}])).encode()),
        ("reused id", 3, reused_id),
        ("valid", 1, lambda n: json.dumps(request(f"{run}-valid-{n}")).encode()),
    ]


async def publish(stack: Stack, tally: Tally, count: int, seed: int) -> float:
    rng = random.Random(seed)
    run = f"fuzz{seed}-{int(time.time())}"
    valid_ids: list[str] = []
    kinds = generators(rng, run, valid_ids)
    weights = [w for _, w, _ in kinds]
    kafka = kafka_connection(stack.settings, "admin")
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", linger_ms=5,
                                max_request_size=2 * 1024 * 1024)
    await start_client(producer, kafka, "the fuzzer's producer")
    started = time.monotonic()
    try:
        pending: list[tuple[Sent, asyncio.Future[Any]]] = []
        for n in range(count):
            kind, _, make = rng.choices(kinds, weights)[0]
            value = make(n)
            request_id = f"{run}-valid-{n}" if kind == "valid" else None
            if request_id is not None:
                valid_ids.append(request_id)
            elif kind == "wrong field":  # some changes leave a valid request, answered
                request_id = f"{run}-bad-{n}"
            if kind == "reused id":
                request_id = json.loads(value)["id"]
            pending.append((Sent(kind, request_id), await producer.send(REQUESTS_TOPIC, value)))
            if len(pending) >= 500:
                await _settle(pending, tally)
            if n and n % 10_000 == 0:
                progress(f"  published {n}")
        await _settle(pending, tally)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def _settle(pending: list[tuple[Sent, asyncio.Future[Any]]], tally: Tally) -> None:
    for sent, future in pending:
        metadata = await future
        tally.sent[(metadata.partition, metadata.offset)] = sent
    pending.clear()


async def collect(stack: Stack, tally: Tally, stall_s: float) -> float:
    """Read the outcome topics until everything is accounted for; the longest pause."""
    kafka = kafka_connection(stack.settings, "admin")
    consumer = AIOKafkaConsumer(**kafka.client_options(), auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=4 << 20,
                                fetch_max_bytes=16 << 20)
    await start_client(consumer, kafka, "the fuzzer's reader")
    metadata = AIOKafkaProducer(**kafka.client_options())  # partitions_for: public, waits
    await start_client(metadata, kafka, "the fuzzer's metadata client")
    try:
        partitions = [TopicPartition(topic, p)
                      for topic in (*REJECTIONS, RESPONSES_TOPIC, DEAD_LETTER_TOPIC)
                      for p in sorted(await metadata.partitions_for(topic))]
    finally:
        await metadata.stop()
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    longest, last_change, last_count = 0.0, time.monotonic(), -1
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for partition, records in batch.items():
                for record in records:
                    _read(partition.topic, json.loads(record.value), tally)
            done = tally.accounted()
            now = time.monotonic()
            if done != last_count:
                longest = max(longest, now - last_change)
                last_change, last_count = now, done
                if done and done % 5000 < 100:
                    progress(f"  accounted {done} of {len(tally.sent)}")
            if done >= len(tally.sent) or now - last_change > stall_s:
                return max(longest, now - last_change if done < len(tally.sent) else 0.0)
    finally:
        await consumer.stop()


def _read(topic: str, body: dict[str, Any], tally: Tally) -> None:
    source = body.get("source") or {}
    if source.get("topic") != REQUESTS_TOPIC and topic != RESPONSES_TOPIC:
        return  # a forward topic's dead letter: not one of ours
    place = (source.get("partition"), source.get("offset"))
    if topic in REJECTIONS:
        tally.rejected[place] = body["error"]["code"]  # type: ignore[index]
    elif topic == DEAD_LETTER_TOPIC:
        tally.dead[place] = body.get("error_type", "?")  # type: ignore[index]
    else:
        reasons = body.get("reasons") or [{}]
        tally.responses.setdefault(body["id"], []).append(
            (body["status"], reasons[0].get("code", "")))


def report(tally: Tally, publish_s: float, total_s: float, longest: float,
           peak_mb: float) -> None:
    lost = tally.lost()
    valid_ids = {s.request_id for s in tally.sent.values()
                 if s.kind == "valid" and s.request_id is not None}
    twice = [i for i in valid_ids if len(tally.responses.get(i, [])) > 1]
    print(f"{len(tally.sent)} messages published in {publish_s:.0f} s; all outcomes read "
          f"{total_s:.0f} s after the first was published")
    print()
    print("| sent | messages |")
    print("|---|---|")
    for kind, n in Counter(s.kind for s in tally.sent.values()).most_common():
        print(f"| {kind} | {n} |")
    print()
    print("| outcome | messages |")
    print("|---|---|")
    for code, n in Counter(tally.rejected.values()).most_common():
        print(f"| rejected: {code} | {n} |")
    statuses = Counter(tally.responses[i][0][0] for i in valid_ids if tally.responses.get(i))
    for status, n in statuses.most_common():
        print(f"| response to a valid request: {status} | {n} |")
    others = Counter((s.kind, *tally.responses[s.request_id][0]) for s in tally.sent.values()
                     if s.request_id not in valid_ids and s.request_id
                     and tally.responses.get(s.request_id))  # not a copy of a valid id
    for (kind, status, code), n in sorted(others.items(), key=lambda item: -item[1]):
        told = f"{status}: {code}" if status == "rejected" else f"{status} (still a valid request)"
        print(f"| response to a {kind} message, {told} | {n} |")
    print(f"| douane.dead-letter | {len(tally.dead)} |")
    both = sum(1 for place in tally.dead if place in tally.rejected)
    if both:
        print(f"| of which also rejected | {both} |")
    print(f"| **lost** (no outcome anywhere) | **{len(lost)}** "
          f"{dict(Counter(tally.sent[place].kind for place in lost)) if lost else ''}|")
    print(f"| **valid ids answered twice** | **{len(twice)}** |")
    if tally.dead:
        print()
        print("| dead letters: message sent | error | messages |")
        print("|---|---|---|")
        causes = Counter((tally.sent[place].kind if place in tally.sent else "?", error)
                         for place, error in tally.dead.items())
        for (kind, error), n in causes.most_common():
            print(f"| {kind} | {error} | {n} |")
    print()
    print(f"Longest pause without progress: {longest:.1f} s. Throughput: "
          f"{len(tally.sent) / total_s:.0f} messages/s. Worker peak memory (VmHWM, with its "
          f"detection processes): {peak_mb:.0f} MB.")


async def main(arguments: argparse.Namespace) -> None:
    from streams.logging_setup import configure_logging

    configure_logging("console", 40)
    tally = Tally()
    async with running_stack() as stack:
        progress("waiting for the worker (one request through the front door)...")
        async with httpx.AsyncClient(timeout=600) as http:
            answer = await http.post(stack.door_url, headers=stack.headers, json={
                "model": DOUANE_MODEL, "messages": [{"role": "user", "content": "Bonjour"}]})
            answer.raise_for_status()
        progress(f"publishing {arguments.messages} messages...")
        started = time.monotonic()
        publish_s = await publish(stack, tally, arguments.messages, arguments.seed)
        progress("reading the outcomes...")
        longest = await collect(stack, tally, arguments.stall_s)
        total_s = time.monotonic() - started
        peak = family_memory_mb(with_children(stack.pid("worker")), "VmHWM")
        if arguments.keep_log:
            shutil.copyfile(stack.home / "processes.log", arguments.keep_log)
    report(tally, publish_s, total_s, longest, peak)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stall-s", type=float, default=120.0,
                        help="give up when nothing new is accounted for this long")
    parser.add_argument("--keep-log", help="copy the processes' log (JSON lines) there")
    asyncio.run(main(parser.parse_args()))
