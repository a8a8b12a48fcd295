"""Every command of the README and of the first-steps guides runs as written (issue 16).

The commands are read from the Markdown (``doc_commands.py`` says which files and why) and run
in the order a newcomer follows them, with ``bash`` in a folder laid out as a checkout is
(``.venv`` and the policy beside ``.douane``), against a broker, model server, worker and
front door that the commands themselves start. A command is either in :data:`SCENARIO` (run)
or in :data:`NOT_RUN` (with the reason); a new command in those files that is in neither, or
an entry for a command the docs no longer show, fails
:func:`test_every_doc_command_is_run_or_listed` (no broker needed).

Placeholders are filled from the run's own data, never typed in here:
- ``FINGERPRINT`` (twice in ``subject split``): the first two subject fingerprints that the
  README's own ``subject-access`` command printed for the person this test published;
- ``dk-...`` in the front door's Python example: the key ``keys add`` printed;
- ports ``8080`` (front door) and ``8088`` (model) become free ports of this machine (other
  programs may hold the written ones); the policy's sovereign provider points at the model's
  port, as ``policies/sovereign.yaml`` points at 8088; the broker's port comes from
  ``DOUANE_KAFKA_BOOTSTRAP`` as the docs say.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest
import yaml
from aiokafka import AIOKafkaConsumer
from doc_commands import ROOT, code_block, command_key, doc_commands
from stack import KafkaClient, request, wait_until

from streams.adapters.kafka_security import kafka_connection, start_client
from streams.adapters.policy_files import policy_document
from streams.config import REJECTED_TOPIC, Settings, load_settings
from streams.core.kafka_acls import tenant_principal
from streams.core.tenant_topics import request_topic, responses_topic
from streams.devtools.kafka_broker import stop_broker
from streams.devtools.local_stack import wait_http
from streams.devtools.ports import free_port

pytestmark = pytest.mark.integration

TENANT = "city-of-lyon"

# Run, in this order, each exactly as the docs write it (keys: the command without comment).
SCENARIO = [
    ".venv/bin/douane kafka start",
    "douane kafka start",  # README: idempotent, the running broker is kept
    ".venv/bin/douane model-server --port 8088",
    ".venv/bin/douane worker",
    "kcat -F .douane/kafka/clients/tenant-city-of-lyon.librdkafka.conf -P -t "
    "douane.requests.city-of-lyon -k case-2290-q1 <<< '{\"id\": \"case-2290-q1\", "
    "\"messages\": [{\"role\": \"user\", \"content\": \"Opening hours?\"}]}'",
    "kcat -F .douane/kafka/clients/tenant-city-of-lyon.librdkafka.conf -G "
    "tenant-city-of-lyon.answers douane.responses.city-of-lyon",
    # the first prompt published again: its id is taken, the tenant reads its rejection
    "kcat -F .douane/kafka/clients/tenant-city-of-lyon.librdkafka.conf -P -t "
    "douane.requests.city-of-lyon -k case-2290-q1 <<< '{\"id\": \"case-2290-q1\", "
    "\"messages\": [{\"role\": \"user\", \"content\": \"Opening hours?\"}]}'",
    "kcat -F .douane/kafka/clients/tenant-city-of-lyon.librdkafka.conf -G "
    "tenant-city-of-lyon.rejections douane.rejected.city-of-lyon",
    ".venv/bin/douane keys add --tenant city-of-lyon",
    ".venv/bin/douane front-door --port 8080",
    "douane subject-access --tenant city-of-lyon --value 'Madame Jeanne Martin'",
    "douane subject split --tenant city-of-lyon --subject FINGERPRINT --subject FINGERPRINT "
    "--case DPO-2026-4",
    "douane erasure request --tenant city-of-lyon --value 'Jeanne Martin' --case DPO-2026-4 "
    "--dry-run",
    "douane erasure request --tenant city-of-lyon --value 'Jeanne Martin' --case DPO-2026-4",
    "douane hold add --tenant city-of-lyon --value 'Jeanne Martin' --reason 'case TA-2025-117'",
    "douane retention run --dry-run --as-of 2026-12-31",
    "douane retention status",
    "douane audit verify",
    "douane audit costs",
    "douane report --since 30d --out report.html",
    "douane report --since 30d --format csv --out report.csv",
    "douane policy validate policies/",
    "douane policy test policies/",
    ".venv/bin/douane kafka stop",
    "douane kafka stop",  # README: idempotent, nothing left to stop
]

NOT_RUN = {
    # they first install packages (pip into .venv, the Kafka jars, softhsm2 with apt-get): a test
    # cannot, and `make test` is the run this test is part of; their steps are run above
    # (`douane kafka start`) or by test_pipeline_on_kafka.py (the demo's prompts)
    "make demo": "installs packages, then runs the demo on the developer's broker",
    "make test": "installs packages, then runs the whole suite, this test included",
    "make kafka-stop": "installs packages first; runs `douane kafka stop`, run above",
    # a section name in the README's table of guides, not a command
    "douane policy": "names the policy commands of docs/policies.md",
    "douane audit reindex": "named in the README's table of guides (docs/audit.md); rebuilding "
                            "the search index is tested with the audit store's contract",
    # the console serves until stopped; tests/integration/test_console_browser.py adds accounts
    # and runs it in a real browser
    "douane console": "names the console of the README's Console section; the browser test "
                      "runs it",
    "douane report": "names the report command; the README's report examples are run above",
    "douane models fetch corenlp": "downloads 68 MB from Maven Central; the same fetch is run "
                                   "against a local HTTP server (tests/unit/test_corenlp_tier.py) "
                                   "and by the CoreNLP sidecar tests' fixture",
    "douane models fetch corenlp [--languages en,es]": "as the line above, with its options",
    "douane models build en-web-ner": "as the line below, without its options",
    "douane models build en-web-ner [--mirrors DIR] [--seed 1] [--epochs 10] [--cpu-minutes 15] "
    "[--out DIR]": "trains a model for about 9 CPU minutes; the same build is run on a few "
                   "sentences in tests/adapters/test_en_web_ner_build.py",
    # (and its French load, `--language fr`: the same command and options)
    "douane bench planted": "a benchmark of a minute of CPU, run by hand (docs/benchmarks.md); "
                            "its load (mixed, en, fr) and scoring are tested in "
                            "tests/unit/test_planted_load.py",
    # traces need a collector at that name; tests/integration/test_traces_on_kafka.py runs the
    # worker and the front door with an OTLP receiver of its own
    "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 douane worker":
        "needs an OpenTelemetry collector; the traces test brings its own receiver",
    "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 OTEL_SERVICE_NAME="
    "douane-front-door-a douane front-door --port 8080": "as above",
    # a PKCS#11 token holds secrets this test does not have ($PIN); the same settings are used
    # against SoftHSM2 by tests/adapters/test_pkcs11_token.py
    "softhsm2-util --init-token --free --label douane --pin $PIN --so-pin $SO_PIN":
        "needs the token's PINs; tests/adapters/test_pkcs11_token.py makes its own token",
    "export DOUANE_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so": "PKCS#11 setting, as above",
    "export DOUANE_PKCS11_TOKEN=douane": "PKCS#11 setting, as above",
    "export DOUANE_PKCS11_PIN_FILE=/etc/douane/pkcs11.pin": "PKCS#11 setting, as above",
    "export DOUANE_AUDIT_SIGNER=pkcs11": "PKCS#11 setting, as above",
    "export DOUANE_KEK_STORE=pkcs11": "PKCS#11 setting, as above",
    # re-locking reaches PyPI and needs uv; tests/unit/test_requirements_lock.py checks the lock
    "scripts/lock-requirements.sh": "reaches PyPI with uv; the lock is checked by a unit test",
    "scripts/lock-requirements.sh --upgrade": "as above",
    "git diff requirements/": "reads what a re-lock changed, as above",
    # the production profile needs a Docker engine (none here); tests/unit/
    # test_deployment_files.py checks the files with `docker-compose config`
    ".venv/bin/python deploy/docker/make_secrets.py":
        "writes the production profile's secrets into the checkout; the compose file's test "
        "covers their names",
    "docker-compose -p douane -f deploy/production/docker-compose.yml up -d --build":
        "needs a Docker engine",
    "docker-compose -p douane -f deploy/production/docker-compose.yml ps": "as above",
    "docker-compose -p douane -f deploy/production/docker-compose.yml exec front-door douane "
    "keys add --tenant city-of-lyon": "as above",
}

FINGERPRINT = re.compile(r"\b[0-9a-f]{64}\b")


def test_every_doc_command_is_run_or_listed() -> None:
    written = {c.key: c for c in doc_commands()}
    scenario = {command_key(c) for c in SCENARIO}
    listed = {command_key(c) for c in NOT_RUN}
    neither = [f"{c.file}:{c.line}: {c.text}" for k, c in written.items()
               if k not in scenario | listed]
    assert not neither, ("commands in the docs that no test runs: add them to SCENARIO (run) or "
                         "NOT_RUN (with the reason)\n" + "\n".join(neither))
    stale = sorted((scenario | listed) - set(written))
    assert not stale, f"SCENARIO/NOT_RUN name commands the docs no longer show: {stale}"
    assert not scenario & listed


@dataclass
class Checkout:
    """A folder laid out as a checkout after `make`: `.venv`, the policy, `.douane`."""

    root: Path
    env: dict[str, str]
    ports: dict[str, str]  # as written in the docs -> this run's
    servers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.root / ".douane"

    def written(self, key: str) -> str:
        """The command as the docs write it (comment included), ports filled."""
        text = next(c.text for c in doc_commands() if c.key == command_key(key))
        self.ran.append(command_key(key))
        for written, actual in self.ports.items():
            text = re.sub(rf"\b{written}\b", actual, text)
        return text

    def run(self, key: str, fill: list[str] | None = None, timeout_s: float = 300
            ) -> subprocess.CompletedProcess[str]:
        text = self.written(key)
        for value in fill or ():
            text = text.replace("FINGERPRINT", value, 1)
        done = subprocess.run(["bash", "-c", text], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout_s)
        assert done.returncode == 0, f"{text}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def serve(self, key: str) -> None:
        text = self.written(key)
        log = (self.root / f"{len(self.servers)}.log").open("w")
        self.servers[key] = subprocess.Popen(
            ["bash", "-c", f"exec {text}"], cwd=self.root, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def stop_servers(self) -> None:
        for process in reversed(self.servers.values()):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.servers.clear()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.root.glob("*.log")))


@pytest.fixture()
def checkout(tmp_path: Path) -> Iterator[Checkout]:
    root = tmp_path / "checkout"
    root.mkdir()
    (root / ".venv").symlink_to(ROOT / ".venv")
    model_port, front_port = free_port(), free_port()
    policy = policy_document(ROOT / "policies")
    sovereign = policy["providers"][0]
    assert sovereign["endpoint"] == "http://127.0.0.1:8088/v1", sovereign  # what the docs say
    sovereign["endpoint"] = f"http://127.0.0.1:{model_port}/v1"
    (root / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DOUANE_")}
    env = {
        **inherited,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{inherited.get('PATH', '')}",
        # this checkout's code, whichever checkout the virtualenv was installed from
        "PYTHONPATH": str(ROOT),
        "DOUANE_HOME": str(root / ".douane"),
        "DOUANE_POLICY": str(root / "policy.yaml"),
        "DOUANE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port(pairs=True)}",
        "DOUANE_CACHE": os.environ.get("DOUANE_CACHE", str(ROOT / ".cache")),
        "DOUANE_LOG_FORMAT": "json",
        "DOUANE_DETECTOR_TIMEOUT_S": "120",  # a loaded 2-core machine: see conftest.py
    }
    made = Checkout(root, env, {"8088": str(model_port), "8080": str(front_port)})
    try:
        yield made
    finally:
        made.stop_servers()
        asyncio.run(stop_broker(load_settings(env)))


def kcat(checkout: Checkout, key: str, request_id: str) -> str:
    """kcat as written when it is installed; else the same options read by librdkafka through
    confluent-kafka (the library kcat is built on): the same client file, topic, key, group."""
    if shutil.which("kcat"):
        if " -P " in key:
            return checkout.run(key).stdout
        text = checkout.written(key)
        process = subprocess.Popen(["bash", "-c", f"exec {text}"], cwd=checkout.root,
                                   env=checkout.env, stdout=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if f'"{request_id}"' in line:
                    return line
            raise AssertionError(f"kcat read no response for {request_id}")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    words = checkout.written(key).split("#")[0]
    options = re.findall(r"-([FtkG]) (\S+)", words)
    given = dict(options)
    conf = {}
    for line in (checkout.root / given["F"]).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _sep, value = line.partition("=")
            conf[name.strip()] = value.strip()
    if " -P " in words:
        body = words.split("<<<", 1)[1].strip().strip("'")
        producer = confluent_kafka.Producer(conf)
        errors: list[Any] = []
        producer.produce(given["t"], body.encode(), key=given["k"],
                         on_delivery=lambda error, _message: errors.append(error))
        assert producer.flush(120) == 0 and errors == [None], errors
        return ""
    topic = words.split()[-1]
    consumer = confluent_kafka.Consumer({**conf, "group.id": given["G"],
                                         "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        for _ in range(600):
            message = consumer.poll(0.5)
            if message is not None and not message.error() and message.key() == \
                    request_id.encode():
                return str(message.value().decode())
        raise AssertionError(f"no response for {request_id} on {topic}\n{checkout.logs()}")
    finally:
        consumer.close()


async def tenant_exchange(checkout: Checkout, body: bytes) -> dict[str, Any]:
    """A producing system of the tenant: its own client file, topic and consumer group."""
    request_id = json.loads(body)["id"]
    conf = {}
    clients = checkout.home / "kafka" / "clients"
    for line in (clients / f"{tenant_principal(TENANT)}.librdkafka.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _sep, value = line.partition("=")
            conf[name.strip()] = value.strip()

    def exchange() -> dict[str, Any]:
        producer = confluent_kafka.Producer(conf)
        producer.produce(request_topic(TENANT), body, key=request_id)
        assert producer.flush(120) == 0
        consumer = confluent_kafka.Consumer({**conf, "auto.offset.reset": "earliest",
                                             "group.id": f"{tenant_principal(TENANT)}.docs"})
        try:
            consumer.subscribe([responses_topic(TENANT)])
            for _ in range(600):
                message = consumer.poll(0.5)
                if message is not None and not message.error() and \
                        message.key() == request_id.encode():
                    answer: dict[str, Any] = json.loads(message.value())
                    return answer
            raise AssertionError(f"no response for {request_id}\n{checkout.logs()}")
        finally:
            consumer.close()

    return await asyncio.to_thread(exchange)


async def worker_answers(checkout: Checkout, settings: Settings) -> None:
    """Wait until the worker made the tenants' topics and answers (its models load first)."""
    kafka = kafka_connection(settings, "admin")

    async def topics_made() -> bool:
        consumer = AIOKafkaConsumer(**kafka.client_options())
        await start_client(consumer, kafka, "the test's consumer")
        try:
            return {request_topic(TENANT), REJECTED_TOPIC} <= await consumer.topics()
        finally:
            await consumer.stop()
    await wait_until(topics_made, 300, checkout.logs, poll_s=1)
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    async with KafkaClient(settings) as client:
        await client.publish(request(probe, "Say hello.", TENANT))
        responses = await client.responses({probe}, timeout_s=300)
    assert [r["status"] for r in responses[probe]] == ["answered"], checkout.logs()


async def test_the_docs_commands_run_as_written(checkout: Checkout) -> None:
    settings = load_settings(checkout.env)
    checkout.run(".venv/bin/douane kafka start")
    checkout.run("douane kafka start")
    checkout.serve(".venv/bin/douane model-server --port 8088")
    await wait_http(f"http://127.0.0.1:{checkout.ports['8088']}/v1/models")
    checkout.serve(".venv/bin/douane worker")
    await worker_answers(checkout, settings)

    # docs/producers.md: a first prompt with kcat, its answer read back in the tenant's group
    await asyncio.to_thread(kcat, checkout, SCENARIO[4], "case-2290-q1")
    first = json.loads(await asyncio.to_thread(kcat, checkout, SCENARIO[5], "case-2290-q1"))
    assert (first["status"], first["tenant"]) == ("answered", TENANT), first
    # the same prompt published again: its id is taken, and the tenant reads why on its own
    # rejection topic
    await asyncio.to_thread(kcat, checkout, SCENARIO[6], "case-2290-q1")
    again = json.loads(await asyncio.to_thread(kcat, checkout, SCENARIO[7], "case-2290-q1"))
    assert (again["request_id"], again["error"]["code"]) == ("case-2290-q1", "duplicate-id")
    assert "new id" in again["error"]["what_to_do"]

    # the contract's example, exactly as written, answered as its response example says
    example = code_block("docs/producers.md", "json", 0)
    promised = json.loads(code_block("docs/producers.md", "json", 1).replace("{...}", "{}")
                          .replace("\"e703d4...\"", "null"))
    answer = await tenant_exchange(checkout, example.encode())
    assert answer["status"] == promised["status"] == "answered", answer
    for name in ("id", "tenant", "provider", "model", "redacted_entities", "reasons",
                 "audit_record_id"):
        assert answer[name] == promised[name], (name, answer[name], promised[name])

    # the front door, and the OpenAI SDK example with the key it printed
    added = checkout.run(".venv/bin/douane keys add --tenant city-of-lyon")
    [key] = re.findall(r"\bdk-[A-Za-z0-9_-]+", added.stdout)
    checkout.serve(".venv/bin/douane front-door --port 8080")
    await wait_http(f"http://127.0.0.1:{checkout.ports['8080']}/healthz", timeout_s=120)
    script = code_block("docs/producers.md", "python").replace('"dk-..."', json.dumps(key))
    script = script.replace(":8080/", f":{checkout.ports['8080']}/")
    printed = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script],
                             cwd=checkout.root, env=checkout.env, capture_output=True,
                             text=True, timeout=300)
    assert printed.returncode == 0, printed.stderr + checkout.logs()
    assert "Jeanne Martin" in printed.stdout  # the stand-in echoes; her name is restored
    assert "sovereign-local" in printed.stdout

    # the README's DPO commands, on a person this test published (name, e-mail and phone)
    person_id = f"docs-{uuid.uuid4().hex[:8]}"
    async with KafkaClient(settings) as client:
        await client.publish(request(
            person_id, "Write to Jeanne Martin (jeanne.martin@example.fr, +33 6 12 34 56 78) "
            "about her renewal.", TENANT))
        responses = await client.responses({person_id}, timeout_s=180)
    assert responses[person_id][0]["status"] == "answered", responses
    access = checkout.run("douane subject-access --tenant city-of-lyon --value "
                          "'Madame Jeanne Martin'")
    fingerprints = list(dict.fromkeys(FINGERPRINT.findall(access.stdout)))
    assert len(fingerprints) >= 3, access.stdout  # her name, e-mail and phone, linked
    checkout.run(SCENARIO[11], fill=fingerprints[:2])
    assert "would proceed" in checkout.run(SCENARIO[12]).stdout
    assert "refused" not in checkout.run(SCENARIO[13]).stdout
    checkout.run(SCENARIO[14])
    checkout.run(SCENARIO[15])
    status = checkout.run("douane retention status")
    assert "on disk" in status.stdout, status.stdout  # read back from the running broker
    checkout.run("douane audit verify")
    checkout.run("douane audit costs")  # exits 1 if a recorded cost does not recompute
    summary = checkout.run("douane report --since 30d --out report.html").stdout
    assert "sovereign-local (llama" in summary and "computed at signed checkpoint" in summary
    page = (checkout.root / "report.html").read_text()
    assert "<svg" in page and "sovereign-local" in page and "<script" not in page
    checkout.run("douane report --since 30d --format csv --out report.csv")
    table = (checkout.root / "report.csv").read_text().splitlines()
    assert table[0] == "scope,table,provider,model,jurisdiction,hosting,currency,measure,value"
    assert any(line.startswith("overall,usage,sovereign-local,") for line in table), table

    # the README's policy commands, on the shipped set as a checkout has it
    (checkout.root / "policies").symlink_to(ROOT / "policies")
    assert "policies: valid" in checkout.run("douane policy validate policies/").stdout
    assert ", 0 failed," in checkout.run("douane policy test policies/").stdout

    checkout.stop_servers()
    checkout.run(".venv/bin/douane kafka stop")
    checkout.run("douane kafka stop")
    assert checkout.ran == [command_key(c) for c in SCENARIO]
