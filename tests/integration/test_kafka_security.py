"""Attacks on the session's broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer with
``allow.everyone.if.no.acl.found=false``), each failing if its defence breaks; and the files
``douane kafka start`` writes, used by independent clients (Kafka's Java client, librdkafka).

In the single-topic layout a tenant principal may only publish to ``douane.requests``; its
answers reach it through the front door. The per-tenant topic layout (a later step) must add:
tenant A writing to tenant B's request topic, reading B's response topics, and a payload
claiming another tenant on A's own topic (``tenant-mismatch``).
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import confluent_kafka  # a dev dependency: librdkafka, the independent client
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from stack import KafkaClient, Stack, request

from streams.adapters.kafka_security import (
    PROPERTIES_VAR,
    KafkaConnectError,
    KafkaConnection,
    KafkaSecurity,
    load_security,
    start_client,
)
from streams.config import REQUESTS_TOPIC, RESPONSES_TOPIC, forward_topic
from streams.core.kafka_acls import FRONT_DOOR, tenant_principal
from streams.devtools.kafka_broker import ensure_kafka_jars
from streams.devtools.kafka_principals import BrokerSecrets
from streams.devtools.kafka_tls import make_ca

pytestmark = pytest.mark.integration

TENANT = "city-of-lyon"
JAVA_CLIENT = Path(__file__).parent / "java" / "FileClient.java"
AUTHORIZATION_ERRORS = (TopicAuthorizationFailedError, GroupAuthorizationFailedError)


def secrets_of(stack: Stack) -> BrokerSecrets:
    return BrokerSecrets(stack.settings.kafka_data_dir)


def connection_of(stack: Stack, principal: str) -> KafkaConnection:
    """How a client that was handed ``<principal>.properties`` connects."""
    path = secrets_of(stack).properties_file(principal)
    return KafkaConnection(stack.settings.kafka_bootstrap,
                           load_security({PROPERTIES_VAR: str(path)}))


async def refused(stack: Stack, security: KafkaSecurity) -> str:
    """The error a producer with ``security`` gets at start (it must get one)."""
    kafka = KafkaConnection(stack.settings.kafka_bootstrap, security)
    producer = AIOKafkaProducer(**kafka.client_options())
    with pytest.raises(KafkaConnectError) as caught:
        await start_client(producer, kafka, "the attacker", timeout_s=120)
    return str(caught.value)


# --------------------------------------------------------------------------- authentication


async def test_a_client_without_credentials_is_refused(kafka: Stack) -> None:
    message = await refused(kafka, KafkaSecurity())  # PLAINTEXT, no user
    assert "closed the connection during the handshake" in message
    assert "security.protocol (now PLAINTEXT" in message


async def test_tls_without_sasl_is_refused(kafka: Stack) -> None:
    ca = secrets_of(kafka).ca_file
    message = await refused(kafka, KafkaSecurity(protocol="SSL", ca_file=ca))
    assert "requires SASL authentication" in message


async def test_a_wrong_password_is_refused_and_never_shown(kafka: Stack) -> None:
    real = connection_of(kafka, tenant_principal(TENANT)).security
    wrong = "not-" + (real.password or "")
    message = await refused(kafka, replace(real, password=wrong))
    assert f"refused the credentials of user '{tenant_principal(TENANT)}'" in message
    assert wrong not in message and str(real.password) not in message


async def test_a_broker_certificate_from_another_ca_is_refused(
        kafka: Stack, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(make_ca("an attacker's CA").certificate_pem())
    real = connection_of(kafka, tenant_principal(TENANT)).security
    message = await refused(kafka, replace(real, ca_file=other_ca))
    assert "the broker's TLS certificate is not trusted" in message
    assert str(other_ca) in message


@pytest.mark.parametrize("command", [["worker"], ["front-door", "--port", "0"]])
async def test_a_misconfigured_process_stops_at_start_saying_what_to_check(
        kafka: Stack, command: list[str]) -> None:
    """Not a retry loop: the process exits (the generous timeout only bounds a hang)."""
    env = {**kafka.env, "DOUANE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "DOUANE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
           "DOUANE_KAFKA_SASL_USERNAME": "douane-worker",
           "DOUANE_KAFKA_SASL_PASSWORD": "a-guess",
           "DOUANE_KAFKA_SSL_CAFILE": str(secrets_of(kafka).ca_file)}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", *command], env=env,
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "refused the credentials of user 'douane-worker'" in done.stderr
    assert "a-guess" not in done.stderr + done.stdout


def test_the_generated_files_are_readable_by_their_owner_only(kafka: Stack) -> None:
    secrets = secrets_of(kafka)
    files = [p for folder in (secrets.clients_dir, secrets.credentials_dir, secrets.tls_dir)
             for p in folder.iterdir() if p.name != "ca.pem"]
    files.append(kafka.settings.kafka_data_dir / "server.properties")  # holds passwords
    assert len(files) > 10
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    principals = secrets.principals()
    assert {"douane-admin", "douane-worker", "douane-front-door",
            tenant_principal(TENANT)} <= set(principals)


# --------------------------------------------------------------------------- authorization


async def test_a_tenant_cannot_write_to_a_forward_topic(douane: Stack) -> None:
    """The walk-around of issue 11: a forged forward message straight to a provider."""
    kafka = connection_of(douane, tenant_principal(TENANT))
    producer = AIOKafkaProducer(**kafka.client_options())
    await start_client(producer, kafka, "tenant")
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(forward_topic("sovereign-local"), b"{}")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(RESPONSES_TOPIC, b"{}")  # nor forge an answer
    finally:
        await producer.stop()


async def test_a_tenant_cannot_read_the_responses(douane: Stack) -> None:
    """``douane.responses`` holds every tenant's answers in the single-topic layout."""
    canary = f"canary-{uuid.uuid4().hex[:8]}"
    partition = TopicPartition(RESPONSES_TOPIC, 0)
    async with KafkaClient(douane.settings) as operator:  # something there to read
        await operator.producer.send_and_wait(
            RESPONSES_TOPIC, json.dumps({"id": canary}).encode(), partition=0)
    kafka = connection_of(douane, tenant_principal(TENANT))
    consumer = AIOKafkaConsumer(**kafka.client_options(), auto_offset_reset="earliest")
    await start_client(consumer, kafka, "tenant")
    try:
        # aiokafka does not raise for an assigned partition it may not read: it logs the
        # refusal and fetches nothing (Kafka's Java client raises, see the Java test below)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        read = []
        for _ in range(10):
            batch = await consumer.getmany(timeout_ms=500)
            read += [r for records in batch.values() for r in records]
        assert read == []
        assert RESPONSES_TOPIC not in await consumer.topics()  # not even its metadata
    finally:
        await consumer.stop()


async def test_a_tenant_cannot_join_the_workers_group(douane: Stack) -> None:
    """Joining would hand it some of the request partitions: other tenants' prompts."""
    kafka = connection_of(douane, tenant_principal(TENANT))
    consumer = AIOKafkaConsumer(REQUESTS_TOPIC, **kafka.client_options(),
                                group_id=douane.settings.app_id, auto_offset_reset="earliest")
    try:
        with pytest.raises(AUTHORIZATION_ERRORS):
            await start_client(consumer, kafka, "tenant")
            await asyncio.wait_for(consumer.getmany(timeout_ms=10_000), 60)
    finally:
        await consumer.stop()


async def test_a_tenant_principal_publishes_and_douane_answers(douane: Stack) -> None:
    kafka = connection_of(douane, tenant_principal(TENANT))
    request_id = f"tenant-{uuid.uuid4().hex[:8]}"
    async with KafkaClient(douane.settings) as reader:  # the admin reads, as an operator
        producer = AIOKafkaProducer(**kafka.client_options(), acks="all")
        await start_client(producer, kafka, "tenant")
        try:
            await producer.send_and_wait(REQUESTS_TOPIC, request(
                request_id, "Opening hours of the library?", TENANT), key=request_id.encode())
        finally:
            await producer.stop()
        [answer] = (await reader.responses({request_id}, timeout_s=120))[request_id]
    assert answer["status"] == "answered"


# --------------------------------------------------------------------------- independent clients


def java_client(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    lib = ensure_kafka_jars(lambda _m: None)
    log4j = Path(__file__).resolve().parents[2] / "kafka" / "log4j2.properties"
    return subprocess.run(
        ["java", "-Xmx256m", "-cp", str(lib / "*"), f"-Dlog4j2.configurationFile={log4j}",
         f"-Ddouane.kafka.log={stack.logs / 'java-client.log'}", str(JAVA_CLIENT), *args],
        capture_output=True, text=True, timeout=600, check=False)


async def test_kafkas_java_client_works_with_the_generated_properties(douane: Stack) -> None:
    secrets = secrets_of(douane)
    request_id = f"java-{uuid.uuid4().hex[:8]}"
    front_door = str(secrets.properties_file(FRONT_DOOR))
    sent = await asyncio.to_thread(
        java_client, douane, "produce", front_door, REQUESTS_TOPIC, request_id,
        request(request_id, "Opening hours of the town hall?", TENANT).decode())
    assert sent.returncode == 0 and sent.stdout.startswith("SENT douane.requests/"), sent
    got = await asyncio.to_thread(java_client, douane, "consume", front_door,
                                  RESPONSES_TOPIC, request_id)
    assert got.returncode == 0 and got.stdout.startswith("RECORD "), got
    answer = json.loads(got.stdout.removeprefix("RECORD "))
    assert (answer["id"], answer["status"]) == (request_id, "answered")
    # a tenant's file: its requests are accepted, the shared responses topic is not its to read
    tenant = str(secrets.properties_file(tenant_principal(TENANT)))
    denied = await asyncio.to_thread(java_client, douane, "consume", tenant,
                                     RESPONSES_TOPIC, request_id)
    assert denied.returncode == 3, denied
    assert "TopicAuthorizationException" in denied.stdout


def librdkafka_config(path: Path) -> dict[str, Any]:
    """A ``.librdkafka.conf`` read as ``kcat -F`` reads it: ``key=value`` lines."""
    config: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            config[key.strip()] = value.strip()
    return config


def librdkafka_exchange(secrets: BrokerSecrets, request_id: str, body: bytes
                        ) -> dict[str, Any]:
    config = librdkafka_config(secrets.librdkafka_file(FRONT_DOOR))
    producer = confluent_kafka.Producer(config)
    errors: list[Any] = []
    producer.produce(REQUESTS_TOPIC, body, key=request_id,
                     on_delivery=lambda error, _message: errors.append(error))
    assert producer.flush(120) == 0 and errors == [None], errors
    consumer = confluent_kafka.Consumer({**config, "group.id": f"{FRONT_DOOR}-librdkafka",
                                         "auto.offset.reset": "earliest",
                                         "enable.auto.commit": False})
    try:
        consumer.subscribe([RESPONSES_TOPIC])
        for _ in range(600):
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            if message.key() == request_id.encode():
                answer: dict[str, Any] = json.loads(message.value())
                return answer
        raise AssertionError(f"no response for {request_id} through librdkafka")
    finally:
        consumer.close()


def librdkafka_forward_denied(secrets: BrokerSecrets) -> Any:
    config = librdkafka_config(secrets.librdkafka_file(tenant_principal(TENANT)))
    producer = confluent_kafka.Producer(config)
    errors: list[Any] = []
    producer.produce(forward_topic("sovereign-local"), b"{}",
                     on_delivery=lambda error, _message: errors.append(error))
    producer.flush(120)
    return errors[0] if errors else None


async def test_librdkafka_works_with_the_generated_conf(douane: Stack) -> None:
    secrets = secrets_of(douane)
    request_id = f"rdkafka-{uuid.uuid4().hex[:8]}"
    answer = await asyncio.to_thread(librdkafka_exchange, secrets, request_id, request(
        request_id, "Opening hours of the swimming pool?", TENANT))
    assert answer["status"] == "answered"
    error = await asyncio.to_thread(librdkafka_forward_denied, secrets)
    assert error is not None and error.name() == "TOPIC_AUTHORIZATION_FAILED", error
