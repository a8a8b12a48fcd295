"""``douane demo``: fifteen prompts in five languages cross the border, end to end.

Starts the stand-in model server (checking the audit record of every request it receives) and
a worker as child processes, publishes the sample prompts with a plain aiokafka producer, prints
for each the decision, what actually left for the model and the answer, then verifies the
audit log and ends with the run's transparency summary (``douane report``: cost per provider,
where data went, dependence). The broker must already be running (``make demo`` starts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import NotLeaderForPartitionError

from streams.adapters.kafka_acl_admin import create_acls
from streams.adapters.kafka_security import kafka_connection, start_client
from streams.adapters.private_files import open_private_for_append
from streams.adapters.topic_retention import topic_settings
from streams.cli.audit import run_verify
from streams.config import Settings
from streams.core.audit import format_timestamp
from streams.core.kafka_acls import acl_layout
from streams.core.tenant_topics import answer_topics, request_topics
from streams.devtools.demo_doors import (
    EXTERNAL_ID,
    external_state,
    received_by_external,
    two_doors_policy,
)
from streams.devtools.local_stack import spawn_douane, stop_process, wait_http
from streams.devtools.ports import free_port
from streams.devtools.stand_ins.server import running
from streams.services.audit_log import open_writer
from streams.services.report import Period, report_from_log
from streams.services.report_formats import summary_lines
from streams.services.topics import ensure_topics, topic_names
from streams.worker import load_policy

RESPONSE_TIMEOUT_S = 180.0


def sample_prompts() -> list[dict[str, Any]]:
    text = resources.files("streams.devtools.demo_data").joinpath("prompts.json").read_text("utf-8")
    prompts: list[dict[str, Any]] = json.loads(text)
    return prompts


@asynccontextmanager
async def child_process(name: str, args: list[str], log_path: Path) -> Any:
    with open(open_private_for_append(log_path), "ab") as log_file:  # 0600 in a 0700 folder
        process = spawn_douane(args, os.environ, log_file)
        try:
            yield process
        finally:
            stop_process(process)
            if process.returncode not in (0, -15):
                print(f"  ({name} exited with {process.returncode}; log: {log_path})")


async def run_demo(settings: Settings, model_port: int) -> int:
    policy = load_policy(settings.policy_path)
    endpoint = policy.policy.providers[0].endpoint
    if f":{model_port}/" not in endpoint + "/":
        print(f"demo: the policy's provider endpoint is {endpoint}; start the stand-in there "
              f"with --model-port")
        return 2
    # a second, external door for public data (streams.devtools.demo_doors)
    external, external_port = external_state(), free_port()
    demo_policy = two_doors_policy(settings.policy_path, settings.home / "demo-two-doors.yaml",
                                   external_port)
    if demo_policy is not None:
        os.environ["DOUANE_POLICY"] = str(demo_policy)  # for the worker started below
        policy = load_policy(demo_policy)
    started = time.monotonic()
    started_at = format_timestamp(datetime.now(UTC))  # the transparency summary's period
    run_id = uuid.uuid4().hex[:8]
    prompts = sample_prompts()
    logs = settings.home / "logs"
    print(f"douane demo - run {run_id}, broker {settings.kafka_bootstrap}, policy "
          f"'{policy.policy.policy}' v{policy.policy.version} (sha256 {policy.digest[:12]}...)")
    admin = kafka_connection(settings, "admin")
    await ensure_topics(admin, topic_names(policy, settings.topic_layout),
                        settings=topic_settings(policy, settings.topic_layout))
    # the front door's grants on this policy's tenants' topics (the worker applies the whole
    # layout when it starts; the demo publishes as soon as it is started)
    await create_acls(admin, acl_layout(sorted(policy.policy.tenant_ids), settings.topic_layout))
    base = f"http://127.0.0.1:{model_port}"
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(child_process(
            "model server", ["model-server", "--port", str(model_port), "--check-audit"],
            logs / "model-server.log"))
        await wait_http(f"{base}/v1/models")
        if demo_policy is not None:
            await stack.enter_async_context(running("anthropic", external, external_port))
            print(f"  external provider stand-in ({EXTERNAL_ID}, Anthropic Messages, "
                  f"jurisdiction US) at http://127.0.0.1:{external_port}/v1 - public data only")
        # the worker's health and metrics server (off unless a port is given)
        worker_http = f"http://127.0.0.1:{settings.worker_http_port or free_port()}"
        os.environ["DOUANE_WORKER_HTTP_PORT"] = worker_http.rsplit(":", 1)[1]
        await stack.enter_async_context(child_process("worker", ["worker"], logs / "worker.log"))
        print(f"  stand-in model at {base}/v1 (refuses anything without a signed audit record); "
              f"worker starting (log: {logs / 'worker.log'})")
        print(f"  worker health and metrics: {worker_http}/livez, {worker_http}/readyz, "
              f"{worker_http}/metrics (DOUANE_WORKER_HTTP_PORT); `douane front-door` serves "
              "the same paths on its own port")
        responses = await exchange(settings, prompts, run_id)
        async with httpx.AsyncClient() as client:
            received = (await client.get(f"{base}/_stand-in/received")).json()
            scraped = await scrape(client, f"{worker_http}/metrics")
    by_id = {entry["request_id"]: entry for entry in received}
    by_id.update(received_by_external(external, settings))
    leaks = report(prompts, responses, by_id, run_id)
    print()
    if scraped:
        print(f"the worker's metrics ({worker_http}/metrics, for Prometheus), requests by stage "
              "and decision:")
        for line in scraped:
            print(f"  {line}")
        print()
    # what the worker does every DOUANE_CHECKPOINT_INTERVAL_S: commit the tree to a signed note
    with open_writer(settings) as log:
        checkpoint = log.issue_checkpoint()
    print(f"checkpoint signed: the log's first {checkpoint.size} records "
          f"(douane audit prove RECORD_ID gives any one's inclusion proof)")
    verified = run_verify(settings) == 0
    print_transparency(settings, started_at)
    elapsed = time.monotonic() - started
    print(f"demo finished in {elapsed:.0f}s: {len(responses)}/{len(prompts)} responses, "
          f"{leaks} planted personal value(s) reached the model, audit log "
          f"{'verified' if verified else 'FAILED verification'}.")
    await leave_console_running(settings)
    return 0 if verified and leaks == 0 and len(responses) == len(prompts) else 1


def print_transparency(settings: Settings, since: str) -> None:
    """What this run cost, where its data went and how dependent it was (``douane report``)."""
    report = report_from_log(settings, Period(since, None))
    print(f"\ntransparency summary of this run (the full report, HTML in French or English: "
          f"douane report --since {since} --out report.html):")
    for line in summary_lines(report):
        print(f"  {line}")


CONSOLE_PORT = 8090
DEMO_ACCOUNT = "demo"


async def leave_console_running(settings: Settings) -> None:
    """``douane console`` on the demo's stores, left running after the demo ends (in its own
    session, so the terminal's Ctrl-C or the end of ``make`` does not stop it), with a demo
    account whose new password is printed. A console left by an earlier demo is stopped first."""
    import secrets
    import signal

    from streams.console.accounts import AccountStore, accounts_path

    pid_file = settings.home / "console.pid"
    if pid_file.exists():
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            # only if that process is still a console (the number may have been reused)
            if b"console" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):  # until it has let its port go
                    if not Path(f"/proc/{pid}").exists():
                        break
                    await asyncio.sleep(0.1)
        pid_file.unlink()
    password = secrets.token_urlsafe(12)
    accounts = AccountStore(accounts_path(settings.home))
    try:
        accounts.remove(DEMO_ACCOUNT)
        accounts.add(DEMO_ACCOUNT, "dpo", password)
    finally:
        accounts.close()
    port = CONSOLE_PORT if port_is_free(CONSOLE_PORT) else free_port()
    log_path = settings.home / "logs" / "console.log"
    with open(open_private_for_append(log_path), "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "console", "--port", str(port)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=os.environ.copy(), start_new_session=True)
    pid_file.write_text(f"{process.pid}\n")
    url = f"http://127.0.0.1:{port}/"
    try:
        await wait_http(f"{url}healthz")
    except TimeoutError:
        print(f"the console did not start (log: {log_path})")
        return
    print(f"\nthe DPO console is running at {url} - sign in as {DEMO_ACCOUNT!r} with password "
          f"{password!r} (role dpo; a new password each demo). It keeps running after the "
          f"demo: stop it with `kill {process.pid}` (log: {log_path}).")


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def scrape(client: httpx.AsyncClient, url: str) -> list[str]:
    """The request counters of a ``/metrics`` page (none if it cannot be read)."""
    try:
        text = (await client.get(url)).text
    except httpx.HTTPError:
        return []
    return sorted(line for line in text.splitlines() if line.startswith("douane_requests_total{"))


class _NotLeaderYet(logging.Filter):
    """Drops aiokafka's "Failed fetch offsets ... NotLeaderForPartitionError" lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(isinstance(arg, NotLeaderForPartitionError) for arg in record.args or ())


@contextlib.contextmanager
def _quiet_while_leaders_are_elected() -> Iterator[None]:
    """The demo creates its topics a moment before it reads their ends: until the broker has
    made itself leader of each partition, aiokafka logs every retry of the offset request as an
    error, then succeeds. Those retries are expected here and say nothing to the person running
    the demo; any other error of the fetcher is still printed."""
    fetcher_log = logging.getLogger("aiokafka.consumer.fetcher")
    expected = _NotLeaderYet()
    fetcher_log.addFilter(expected)
    try:
        yield
    finally:
        fetcher_log.removeFilter(expected)


async def exchange(
    settings: Settings, prompts: list[dict[str, Any]], run_id: str
) -> dict[str, dict[str, Any]]:
    """Publish every prompt with a plain producer and collect one response per id."""
    # as the front door would: the one principal (besides the worker) that may publish the
    # requests of every tenant it serves (to douane.requests.<tenant>) and read their answers
    kafka = kafka_connection(settings, "front-door")
    layout = settings.topic_layout
    tenants = sorted({prompt["tenant"] for prompt in prompts})
    consumer = AIOKafkaConsumer(**kafka.client_options())
    await start_client(consumer, kafka, "the demo's consumer")
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all")
    await start_client(producer, kafka, "the demo's producer")
    try:
        partitions = [TopicPartition(topic, p)
                      for topic in answer_topics(layout, tenants) if "chunks" not in topic
                      for p in sorted(await producer.partitions_for(topic))]
        consumer.assign(partitions)
        with _quiet_while_leaders_are_elected():
            await consumer.seek_to_end(*partitions)
            for position in partitions:  # resolve the end offsets now, before publishing
                await consumer.position(position)
        for number, prompt in enumerate(prompts, start=1):
            request = {"id": f"demo-{run_id}-{number:02d}", "tenant": prompt["tenant"],
                       "messages": [{"role": "user", "content": prompt["text"]}],
                       "metadata": {"demo_run": run_id}}
            for field in ("classification", "language"):
                if field in prompt:
                    request[field] = prompt[field]
            [topic] = request_topics(layout, [prompt["tenant"]])
            await producer.send_and_wait(topic, json.dumps(request).encode(),
                                         key=request["id"].encode())
        print(f"  published {len(prompts)} requests to "
              f"{', '.join(request_topics(layout, tenants))}; waiting for answers...")
        responses: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + RESPONSE_TIMEOUT_S
        while len(responses) < len(prompts) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    value = json.loads(record.value)
                    if value["id"].startswith(f"demo-{run_id}-"):
                        responses[value["id"]] = value
        return responses
    finally:
        await producer.stop()
        await consumer.stop()


def report(
    prompts: list[dict[str, Any]], responses: dict[str, dict[str, Any]],
    received: dict[str, dict[str, Any]], run_id: str,
) -> int:
    leaks = 0
    for number, prompt in enumerate(prompts, start=1):
        request_id = f"demo-{run_id}-{number:02d}"
        answer = responses.get(request_id)
        status = answer["status"].upper() if answer else "NO RESPONSE"
        print(f"\n[{number:02d}] {prompt['tenant']}: {status}", end="")
        if answer and answer.get("provider") and answer["status"] == "answered":
            print(f" via {answer['provider']} (classification "
                  f"{prompt.get('classification', 'tenant default')})", end="")
        if answer and answer.get("redacted_entities"):
            counts = ", ".join(f"{n} {k}" for k, n in sorted(answer["redacted_entities"].items()))
            print(f" - redacted {counts}", end="")
        print()
        print(f"     prompt : {prompt['text']}")
        seen = received.get(request_id)
        if seen:
            left = " | ".join(m["content"] for m in seen["body"]["messages"])
            print(f"     left   : {left}")
            checked = ("by the model server before answering" if "audit_problem" in seen
                       else "in the log after the run")
            print(f"     audit  : signed record {seen['audit_record_id']} verified {checked}: "
                  f"{'yes' if seen['audit_verified'] else 'NO'}")
            leaked = [value for value in prompt["planted"] if value in left]
            if leaked:
                leaks += len(leaked)
                print(f"     LEAK   : {len(leaked)} planted value(s) reached the model")
        else:
            print("     left   : nothing left douane")
        if answer and answer["status"] == "answered":
            print(f"     answer : {answer['messages'][0]['content']}")
        elif answer:
            for reason in answer["reasons"]:
                print(f"     reason : {reason['code']} - {reason['message']}")
    return leaks
