"""What users meet with many callers at once and a model that takes time to answer.

Closed loop: C callers each send a Chat Completions request, wait for its answer, send the next,
for a fixed duration, with a stand-in model that waits L ms before every answer (``douane
model-server --latency-ms L``). For every (L, C), on a fresh stack (its own broker, model
server, worker and front door, so that no backlog of an earlier run is served in a later one):
first directly to the stand-in, then through douane's front door. Prints, per run: answers/s,
p50/p99 latency, errors, and for the douane path the worker's CPU time per answer and its
resident memory (at the start of the run and its peak, VmHWM), and the front door's CPU time per
answer. Also measures the bare detector on the same prompt and the stand-in's answer to it (what
a worker scans per request), so "worker saturated throughput / bare detector" can be read off.

    .venv/bin/python benchmarks/concurrency.py [--latency-ms 0,1500] [--callers 8,64,256]
        [--duration-s 20] [--max-in-flight N] [--partitions N] [--warm-up-s S]
        [--kafka-requests] [--worker-kafka-client aiokafka|librdkafka]

``--worker-kafka-client`` sets ``DOUANE_KAFKA_CLIENT`` for the worker alone (the front door keeps
the environment's), to compare the worker's CPU per answer on its two Kafka clients
(``--kafka-requests`` counts aiokafka's requests only: export ``DOUANE_KAFKA_CLIENT=aiokafka``
for it, librdkafka being the default).
``--kafka-requests`` also counts the Kafka requests the worker and the front door send per answer
(``benchmarks/kafka_requests/sitecustomize.py``) and splits the broker's CPU by JVM thread (names
from ``jstack``); ``--warm-up-s`` runs the callers that long through douane before the measured
window, so that a fresh broker's JIT compilation is mostly behind it.

Latency percentiles count every request sent in the window: one still waiting at the end counts
at its age then, and a percentile that falls on such a request is shown as a lower bound (">=").
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _stack import DIRECT_MODEL, DOUANE_MODEL, Stack, progress, running_stack
from httpx_aiohttp import AiohttpTransport

from streams.adapters.policy_files import load_policy_set
from streams.adapters.presidio_detector import detector_for_policy
from streams.config import load_settings
from streams.core.model import ChatMessage
from streams.devtools.kafka_broker import PID_FILE
from streams.devtools.model_server import answer_for
from streams.logging_setup import configure_logging

# 131 words: three names, an e-mail address, two phone numbers (a council officer's request).
# Every request gets other names and numbers (``prompts``): the same text over and over would let
# caches (spaCy's tokenizer, lexemes) serve what real traffic never repeats.
TEMPLATE = (
    "Hello, I am writing on behalf of {first} {family}, who lives in Bristol and applied for "
    "the council's home adaptation grant in March. She has not heard back since. Her daughter, "
    "{daughter} {family}, has been helping her with the paperwork and can be reached at "
    "{email} or on +44 7700 900{mobile:03d}. Could you draft a short, friendly "
    "letter to Mrs {family} that explains where her application stands, lists the documents we "
    "still need (proof of income and an occupational therapist's assessment), and tells her "
    "that she can call our case officer, {officer}, on 0117 496 0{office:03d} between 9 am and "
    "4 pm on weekdays if anything is unclear? Please keep it under 200 words, avoid jargon, and "
    "end with a sentence reassuring her that the grant has not been refused."
)
# names of several origins, as a British council's residents have
NAME_LOCALES = ("en_GB", "en_GB", "fr_FR", "pl_PL", "es_ES", "pt_PT", "tr_TR", "en_IN")


def prompts(count: int, seed: int = 1) -> list[str]:
    from faker import Faker

    fakers = [Faker(locale) for locale in NAME_LOCALES]
    for number, faker in enumerate(fakers):
        faker.seed_instance(seed + number)
    made = []
    for n in range(count):
        faker = fakers[n % len(fakers)]
        family = faker.last_name()
        daughter = faker.first_name_female()
        made.append(TEMPLATE.format(
            first=faker.first_name_female(), family=family, daughter=daughter,
            email=ascii_address(f"{daughter}.{family}@example.co.uk"),
            mobile=n % 1000, officer=fakers[(n + 3) % len(fakers)].name(),
            office=(n * 7) % 1000))
    return made


def ascii_address(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().replace(" ", ""))
    return decomposed.encode("ascii", "ignore").decode()


PROMPTS = prompts(1000)
PROMPT = PROMPTS[0]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    latency_ms: float
    callers: int
    path: str  # "direct" or "douane"
    duration_s: float
    latencies_s: list[float] = field(default_factory=list)  # answered (200) in the window
    waiting_s: list[float] = field(default_factory=list)  # ages of those unanswered at the end
    errors: int = 0
    worker_cpu_s: float | None = None
    detection_cpu_s: float | None = None  # the part spent in the detection processes
    door_cpu_s: float | None = None
    worker_rss_mb: tuple[float, float] | None = None  # (at the start, peak)
    # where the rest of the machine's CPU went (2 shared cores: everything competes)
    broker_cpu_s: float | None = None
    model_cpu_s: float | None = None
    callers_cpu_s: float | None = None  # this script: the callers' HTTP client
    machine_cpu_s: float | None = None  # every process on the machine, from /proc/stat
    # --kafka-requests: per process ("worker", "front door"), requests sent by kind
    kafka_requests: dict[str, collections.Counter[str]] = field(default_factory=dict)
    broker_thread_ticks: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies_s) / self.duration_s

    def percentile(self, q: int) -> str:
        """The q-th percentile over every request sent, those still waiting counted at their
        age; '>=' when it falls on one of those (the true value is higher)."""
        values = sorted([(s, False) for s in self.latencies_s]
                        + [(s, True) for s in self.waiting_s])
        if not values:
            return "-"
        seconds, waiting = values[min(len(values) - 1, (len(values) * q) // 100)]
        return f"{'>=' if waiting else ''}{seconds * 1000:.0f} ms" if seconds < 10 \
            else f"{'>=' if waiting else ''}{seconds:.1f} s"

    def per_answer_ms(self, cpu_s: float | None) -> str:
        if cpu_s is None or not self.latencies_s:
            return "-"
        return f"{cpu_s * 1000 / len(self.latencies_s):.1f}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def machine_busy_seconds() -> float:
    """CPU time spent by every process on the machine (all CPUs), from /proc/stat: user, nice,
    system, irq, softirq and steal; idle and iowait excluded."""
    with open("/proc/stat") as stat:
        fields = [int(part) for part in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def broker_pid(stack: Stack) -> int:
    return int((stack.settings.kafka_data_dir / PID_FILE).read_text().strip())


def with_children(pid: int) -> list[int]:
    """The process and its children (a worker's detection processes), from /proc."""
    family = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                family.append(int(entry))
    return family


def family_cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def family_memory_mb(pids: list[int], name: str) -> float:
    return sum(memory_mb(p, name) for p in pids)


def memory_mb(pid: int, name: str) -> float:
    """A 'Vm...' line of /proc/<pid>/status (VmRSS: now, VmHWM: peak) in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) / 1024
    raise LookupError(name)


COUNTS_VARIABLE = "DOUANE_BENCH_KAFKA_COUNTS"


def kafka_request_counts(folder: Path) -> dict[str, collections.Counter[str]]:
    """What ``kafka_requests/sitecustomize.py`` wrote: the worker's and the front door's
    requests so far, by kind."""
    found: dict[str, collections.Counter[str]] = {}
    for path in folder.glob("*.json"):
        written = json.loads(path.read_text())
        arguments = " ".join(written["argv"])
        role = "worker" if " worker" in f" {arguments}" else \
            "front door" if "front-door" in arguments else None
        if role is not None:
            found.setdefault(role, collections.Counter()).update(written["counts"])
    return found


def jvm_thread_names(pid: int) -> dict[int, str]:
    """Thread id -> Java thread name, from ``jstack`` (empty without it)."""
    jstack = shutil.which("jstack")
    if jstack is None:
        return {}
    dump = subprocess.run([jstack, str(pid)], capture_output=True, text=True, timeout=60).stdout
    return {int(m.group(2), 16): m.group(1)
            for m in re.finditer(r'^"([^"]+)".*? nid=0x([0-9a-f]+)', dump, re.MULTILINE)}


def thread_cpu_ticks(pid: int, names: dict[int, str]) -> collections.Counter[str]:
    """CPU time (clock ticks) of a process's threads by name, numbers taken out (one line per
    pool)."""
    by_name: collections.Counter[str] = collections.Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                name = names.get(int(tid)) or comm.read().strip()
        except OSError:
            continue
        pool = re.sub(r"[0-9]+", "N", name.replace("data-plane-kafka-", ""))
        by_name[pool] += int(fields[11]) + int(fields[12])
    return by_name


async def closed_loop(run: Run, url: str, headers: dict[str, str], model: str) -> None:
    sent = 0
    # httpx's own pool (httpcore) made the client the bottleneck: with a 1.5 s model and 256
    # callers it reached 27 answers/s instead of 154 (0 ms, 64 callers: 101/s instead of
    # 2,200/s); aiohttp's pool under the same httpx API does not (as in the worker's gateway)
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=run.callers + 10))
    started = time.perf_counter()
    deadline = started + run.duration_s
    sent_at: dict[int, float] = {}  # caller -> when its current request left

    async with httpx.AsyncClient(timeout=300, transport=transport) as http:

        async def caller(number: int) -> None:
            nonlocal sent
            # callers arrive spread over one model latency, as independent users do, not all
            # in the same millisecond (that would make every later round a burst of C)
            await asyncio.sleep(number * max(run.latency_ms, 1000) / 1000 / run.callers)
            while True:
                sent_at[number] = time.perf_counter()
                body = {"model": model, "messages": [
                    {"role": "user", "content": PROMPTS[sent % len(PROMPTS)]}]}
                sent += 1
                try:
                    response = await http.post(url, json=body, headers=headers)
                    answered = response.status_code == 200
                except httpx.HTTPError:
                    answered = False
                if time.perf_counter() > deadline:
                    return  # too late to count: the main task is cancelling the callers
                if answered:
                    run.latencies_s.append(time.perf_counter() - sent_at.pop(number))
                else:
                    run.errors += 1
                    sent_at.pop(number)

        async def report() -> None:
            while True:
                await asyncio.sleep(5)
                progress(f"  L={run.latency_ms:g} ms C={run.callers} {run.path}: "
                         f"{time.perf_counter() - started:4.0f} s, "
                         f"{len(run.latencies_s)} answered, {run.errors} errors")

        tasks = [asyncio.create_task(caller(n)) for n in range(run.callers)]
        reporter = asyncio.create_task(report())
        await asyncio.sleep(run.duration_s)
        end = time.perf_counter()
        run.waiting_s = [end - at for at in sent_at.values()]
        for task in [*tasks, reporter]:
            task.cancel()
        await asyncio.gather(*tasks, reporter, return_exceptions=True)


async def warm_up(stack: Stack) -> None:
    """A few requests through the door, one after the other (the worker loads its models and
    joins its consumer groups), and a few directly."""
    async with httpx.AsyncClient(timeout=300) as http:
        for url, model in ((stack.door_url, DOUANE_MODEL), (stack.direct_url, DIRECT_MODEL)):
            for _ in range(3):
                response = await http.post(url, headers=stack.headers, json={
                    "model": model, "messages": [{"role": "user", "content": PROMPT}]})
                response.raise_for_status()


async def measure(latency_ms: float, callers: int, duration_s: float, paths: Sequence[str],
                  env: dict[str, str], warm_up_s: float = 0.0,
                  counts: Path | None = None,
                  worker_env: dict[str, str] | None = None) -> list[Run]:
    runs: list[Run] = []
    progress(f"L={latency_ms:g} ms C={callers}: starting a stack...")
    if counts is not None:
        env = {**env, COUNTS_VARIABLE: str(counts), "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).parent / "kafka_requests"),
                        os.environ.get("PYTHONPATH")) if p)}
    async with running_stack(model_args=("--latency-ms", f"{latency_ms:g}"), env=env,
                             worker_env=worker_env) as stack:
        await warm_up(stack)
        if warm_up_s > 0 and "douane" in paths:
            progress(f"  warming up through douane for {warm_up_s:g} s...")
            await closed_loop(Run(latency_ms, callers, "douane", warm_up_s), stack.door_url,
                              stack.headers, DOUANE_MODEL)
        if "direct" in paths:
            run = Run(latency_ms, callers, "direct", duration_s)
            await closed_loop(run, stack.direct_url, stack.headers, DIRECT_MODEL)
            runs.append(run)
        if "douane" in paths:
            run = Run(latency_ms, callers, "douane", duration_s)
            # the worker and its detection processes (DOUANE_DETECTION_PROCESSES)
            worker, door = with_children(stack.pid("worker")), stack.pid("front-door")
            rss_start = family_memory_mb(worker, "VmRSS")
            worker_cpu, door_cpu = family_cpu_seconds(worker), cpu_seconds(door)
            detection_cpu = family_cpu_seconds(worker[1:])
            broker, model = broker_pid(stack), stack.pid("model-server")
            others = (cpu_seconds(broker), cpu_seconds(model), cpu_seconds(os.getpid()),
                      machine_busy_seconds())
            if counts is not None:
                names = jvm_thread_names(broker)
                threads_before = thread_cpu_ticks(broker, names)
                await asyncio.sleep(0.5)  # the counts are written every 0.2 s
                requests_before = kafka_request_counts(counts)
            await closed_loop(run, stack.door_url, stack.headers, DOUANE_MODEL)
            if counts is not None:
                run.broker_thread_ticks = thread_cpu_ticks(broker, names)
                run.broker_thread_ticks.subtract(threads_before)
                await asyncio.sleep(0.5)
                run.kafka_requests = kafka_request_counts(counts)
                for role, sent in run.kafka_requests.items():
                    sent.subtract(requests_before.get(role, collections.Counter()))
            run.broker_cpu_s, run.model_cpu_s, run.callers_cpu_s, run.machine_cpu_s = (
                after - before for after, before in zip(
                    (cpu_seconds(broker), cpu_seconds(model), cpu_seconds(os.getpid()),
                     machine_busy_seconds()), others, strict=True))
            run.worker_cpu_s = family_cpu_seconds(worker) - worker_cpu
            run.detection_cpu_s = family_cpu_seconds(worker[1:]) - detection_cpu
            run.door_cpu_s = cpu_seconds(door) - door_cpu
            run.worker_rss_mb = (rss_start, family_memory_mb(worker, "VmHWM"))
            runs.append(run)
    for run in runs:
        progress(f"  {run.path}: {run.rate:.1f} answers/s, p50 {run.percentile(50)}")
    return runs


def detector_rate(seconds: float) -> tuple[float, int]:
    """(prompt + answer pairs detected per second, words in the answer), one thread."""
    settings = load_settings()
    detector = detector_for_policy(load_policy_set(settings.policy_path).policy,
                                   settings.phone_regions)
    def pair(n: int) -> tuple[tuple[ChatMessage, ...], tuple[ChatMessage, ...]]:
        text = PROMPTS[n % len(PROMPTS)]
        return (ChatMessage("user", text),), (ChatMessage("assistant", answer_for({
            "model": DIRECT_MODEL, "messages": [{"role": "user", "content": text}]})),)

    for n in range(5):  # model loading
        for messages in pair(len(PROMPTS) - 1 - n):
            detector.detect(messages, None)
    pairs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        prompt, answer = pair(pairs)
        detector.detect(prompt, None)
        detector.detect(answer, None)
        pairs += 1
    return pairs / (time.perf_counter() - started), len(pair(0)[1][0].content.split())


def table(runs: Sequence[Run]) -> str:
    lines = ["| L | C | path | answers/s | p50 | p99 | errors | worker CPU ms/answer "
             "| of which detection processes | worker RSS start → peak "
             "| front door CPU ms/answer | broker | stand-in | callers | whole machine |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        rss = f"{run.worker_rss_mb[0]:.0f} → {run.worker_rss_mb[1]:.0f} MB" \
            if run.worker_rss_mb else "-"
        lines.append(
            f"| {run.latency_ms:g} ms | {run.callers} | {run.path} | {run.rate:.1f} "
            f"| {run.percentile(50)} | {run.percentile(99)} | {run.errors} "
            f"| {run.per_answer_ms(run.worker_cpu_s)} "
            f"| {run.per_answer_ms(run.detection_cpu_s)} | {rss} "
            f"| {run.per_answer_ms(run.door_cpu_s)} | {run.per_answer_ms(run.broker_cpu_s)} "
            f"| {run.per_answer_ms(run.model_cpu_s)} | {run.per_answer_ms(run.callers_cpu_s)} "
            f"| {run.per_answer_ms(run.machine_cpu_s)} |")
    return "\n".join(lines)


def request_lines(runs: Sequence[Run]) -> list[str]:
    """Per douane run: Kafka requests per answer by process and kind, and the broker's CPU
    per answer by thread pool (the largest ones)."""
    lines = []
    for run in runs:
        answers = len(run.latencies_s)
        if not answers or not run.kafka_requests:
            continue
        for role, sent in sorted(run.kafka_requests.items()):
            fetches = sent.pop("Fetch", 0)
            listed = sent.pop("partitions listed in fetches", 0)
            kinds = ", ".join(f"{kind} {count / answers:.2f}"
                              for kind, count in sorted(sent.items()) if count > 0)
            lines.append(f"L={run.latency_ms:g} ms C={run.callers} {role}: requests per answer: "
                         f"Fetch {fetches / answers:.2f} "
                         f"({listed / max(1, fetches):.0f} partitions each), {kinds}")
        pools = ", ".join(f"{pool} {ticks * 1000 / CLOCK_TICKS / answers:.1f}"
                          for pool, ticks in run.broker_thread_ticks.most_common(8)
                          if ticks > 0)
        lines.append(f"L={run.latency_ms:g} ms C={run.callers} broker CPU ms per answer by "
                     f"thread: {pools}")
    return lines


def numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


async def main(arguments: argparse.Namespace) -> None:
    configure_logging("console", logging.WARNING)
    env: dict[str, str] = {}
    if arguments.max_in_flight is not None:
        env["DOUANE_MAX_IN_FLIGHT"] = str(arguments.max_in_flight)
    if arguments.partitions is not None:
        env["DOUANE_TOPIC_PARTITIONS"] = str(arguments.partitions)
    if arguments.detection_processes is not None:
        env["DOUANE_DETECTION_PROCESSES"] = str(arguments.detection_processes)
    worker_env = ({"DOUANE_KAFKA_CLIENT": arguments.worker_kafka_client}
                  if arguments.worker_kafka_client else {})
    paths = [p.strip() for p in arguments.paths.split(",")]
    progress(f"bare detector, {arguments.detector_s:g} s...")
    detections, answer_words = detector_rate(arguments.detector_s)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="douane-kafka-requests-") as folder:
        for latency_ms in numbers(arguments.latency_ms):
            for callers in numbers(arguments.callers):
                counts = Path(folder) / f"{latency_ms:g}-{callers:g}" \
                    if arguments.kafka_requests else None
                if counts is not None:
                    counts.mkdir()
                runs += await measure(latency_ms, int(callers), arguments.duration_s, paths,
                                      env, arguments.warm_up_s, counts, worker_env)
    print(f"Closed loop, {arguments.duration_s:g} s per run, prompts of {len(PROMPT.split())} "
          f"words (3 names, an e-mail address, 2 phone numbers; other values in every "
          f"request); callers start spread over one model latency (1 s at L = 0); "
          f"{os.cpu_count()} CPUs; env {env or 'default'}; worker's own env "
          f"{worker_env or 'none'}")
    print()
    print(table(runs))
    print()
    if arguments.kafka_requests:
        print("\n".join(request_lines(runs)))
        print()
    print(f"Bare detector (one thread, detect() on the prompt and on the stand-in's "
          f"{answer_words}-word answer): {detections:.1f} prompt+answer pairs/s")
    saturated = [run for run in runs if run.path == "douane" and run.latency_ms == 0]
    if saturated:
        best = max(saturated, key=lambda run: run.rate)
        print(f"Worker saturated throughput (L=0, best C={best.callers}): {best.rate:.1f} "
              f"answers/s = {100 * best.rate / detections:.0f} % of the bare detector")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", default="0,1500",
                        help="the stand-in model's latencies, comma-separated")
    parser.add_argument("--callers", default="8,64,256",
                        help="numbers of concurrent callers, comma-separated")
    parser.add_argument("--duration-s", type=float, default=20.0, help="per run")
    parser.add_argument("--paths", default="direct,douane",
                        help="direct (to the stand-in), douane (through the front door)")
    parser.add_argument("--detector-s", type=float, default=5.0,
                        help="how long to measure the bare detector")
    parser.add_argument("--max-in-flight", type=int,
                        help="DOUANE_MAX_IN_FLIGHT for the worker")
    parser.add_argument("--detection-processes", type=int,
                        help="DOUANE_DETECTION_PROCESSES for the worker")
    parser.add_argument("--warm-up-s", type=float, default=0.0,
                        help="callers through douane this long before each measured window")
    parser.add_argument("--kafka-requests", action="store_true",
                        help="count Kafka requests per answer; the broker's CPU by thread")
    parser.add_argument("--worker-kafka-client", choices=("aiokafka", "librdkafka"),
                        help="DOUANE_KAFKA_CLIENT for the worker only (the front door keeps "
                             "the environment's)")
    parser.add_argument("--partitions", type=int,
                        help="DOUANE_TOPIC_PARTITIONS (the worker and the front door)")
    asyncio.run(main(parser.parse_args()))
