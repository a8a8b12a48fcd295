"""Kafka client security settings: variables and properties files into aiokafka options
(and librdkafka's)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import confluent_kafka
import pytest
from aiokafka import AIOKafkaProducer

from streams.adapters import kafka_security as ks
from streams.config import SettingError, load_settings
from streams.devtools.kafka_tls import issue, make_ca

PASSWORD = "s3cr3t-Pa55word"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca = make_ca()
    client = issue(ca, "tenant", server=False)
    files = {"ca": folder / "ca.pem", "cert": folder / "client.pem",
             "key": folder / "client.key", "keystore": folder / "keystore.pem",
             "garbage": folder / "garbage.pem"}
    files["ca"].write_bytes(ca.certificate_pem())
    files["cert"].write_bytes(client.certificate_pem())
    files["key"].write_bytes(client.key_pem())
    files["keystore"].write_bytes(client.key_pem() + client.certificate_pem())
    files["garbage"].write_text("not a certificate\n")
    return files


def test_nothing_set_is_plaintext() -> None:
    security = ks.load_security({})
    assert security.protocol == "PLAINTEXT"
    assert security.aiokafka_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_from_variables(pki: dict[str, Path], tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    security = ks.load_security({
        ks.PROTOCOL_VAR: "sasl_ssl", ks.MECHANISM_VAR: "scram-sha-512",
        ks.USERNAME_VAR: "douane-worker", ks.PASSWORD_FILE_VAR: str(secret),
        ks.CAFILE_VAR: str(pki["ca"])})
    options = security.aiokafka_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "douane-worker"
    assert options["sasl_plain_password"] == PASSWORD  # the newline of the file is not in it
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].check_hostname
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert PASSWORD not in repr(security) and PASSWORD not in security.describe()


def test_mutual_tls_from_variables(pki: dict[str, Path]) -> None:
    security = ks.load_security({ks.PROTOCOL_VAR: "SSL", ks.CAFILE_VAR: str(pki["ca"]),
                                 ks.CERTFILE_VAR: str(pki["cert"]),
                                 ks.KEYFILE_VAR: str(pki["key"])})
    assert security.cert_file == pki["cert"] and security.key_file == pki["key"]
    assert isinstance(security.aiokafka_options()["ssl_context"], ssl.SSLContext)


JAVA_PROPERTIES = """\
# a Java client file, as Kafka documents it
bootstrap.servers=broker:9093
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
    username="city-of-lyon" password="{password}";
ssl.truststore.type=PEM
ssl.truststore.location={ca}
"""

LIBRDKAFKA_CONF = """\
bootstrap.servers=broker:9093
security.protocol=sasl_ssl
sasl.mechanisms=PLAIN
sasl.username=city-of-lyon
sasl.password={password}
ssl.ca.location={ca}
"""


@pytest.mark.parametrize("template, mechanism", [(JAVA_PROPERTIES, "SCRAM-SHA-256"),
                                                 (LIBRDKAFKA_CONF, "PLAIN")])
def test_client_properties_files(pki: dict[str, Path], tmp_path: Path, template: str,
                                 mechanism: str) -> None:
    path = tmp_path / "client.properties"
    path.write_text(template.format(password=PASSWORD, ca=pki["ca"]))
    security = ks.load_security({ks.PROPERTIES_VAR: str(path)})
    assert (security.protocol, security.sasl_mechanism, security.username,
            security.password, security.ca_file) == (
        "SASL_SSL", mechanism, "city-of-lyon", PASSWORD, pki["ca"])


def test_variables_override_the_properties_file(pki: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "client.properties"
    path.write_text(JAVA_PROPERTIES.format(password=PASSWORD, ca=pki["ca"]))
    security = ks.load_security({ks.PROPERTIES_VAR: str(path), ks.USERNAME_VAR: "other"})
    assert security.username == "other"


def test_pem_keystore_holds_key_and_chain(pki: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "client.properties"
    path.write_text(f"security.protocol=SSL\nssl.truststore.type=PEM\n"
                    f"ssl.truststore.location={pki['ca']}\nssl.keystore.type=PEM\n"
                    f"ssl.keystore.location={pki['keystore']}\n"
                    "ssl.endpoint.identification.algorithm=\n")
    security = ks.load_security({ks.PROPERTIES_VAR: str(path)})
    assert security.cert_file == security.key_file == pki["keystore"]
    assert not security.check_hostname
    assert not security.aiokafka_options()["ssl_context"].check_hostname


def _bad(tmp_path: Path, pki: dict[str, Path]) -> list[tuple[dict[str, str], str]]:
    missing = str(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    jks = tmp_path / "jks.properties"
    jks.write_text("security.protocol=SSL\nssl.truststore.location=/etc/x.jks\n")
    kerberos = tmp_path / "gssapi.properties"
    kerberos.write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                        "sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule "
                        "required;\n")
    no_password = tmp_path / "nopassword.properties"
    no_password.write_text("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                           "sasl.jaas.config=org.apache.kafka.common.security.scram."
                           'ScramLoginModule required username="u";\n')
    sasl = {ks.PROTOCOL_VAR: "SASL_SSL", ks.MECHANISM_VAR: "SCRAM-SHA-512"}
    return [
        ({ks.PROTOCOL_VAR: "TLS"}, "DOUANE_KAFKA_SECURITY_PROTOCOL='TLS' is not one of"),
        ({**sasl, ks.MECHANISM_VAR: "GSSAPI"}, "DOUANE_KAFKA_SASL_MECHANISM='GSSAPI' is not"),
        ({ks.PROTOCOL_VAR: "SASL_SSL"}, "needs a SASL mechanism: set DOUANE_KAFKA_SASL_MECH"),
        ({**sasl, ks.PASSWORD_VAR: PASSWORD}, "needs a user name: set DOUANE_KAFKA_SASL_USER"),
        ({**sasl, ks.USERNAME_VAR: "u"}, "SASL user 'u' has no password"),
        ({**sasl, ks.USERNAME_VAR: "u", ks.PASSWORD_FILE_VAR: missing},
         "DOUANE_KAFKA_SASL_PASSWORD_FILE="),
        ({**sasl, ks.USERNAME_VAR: "u", ks.PASSWORD_FILE_VAR: str(empty)}, "file is empty"),
        ({**sasl, ks.USERNAME_VAR: "u", ks.PASSWORD_FILE_VAR: str(empty),
          ks.PASSWORD_VAR: PASSWORD}, "keep one"),
        ({ks.MECHANISM_VAR: "PLAIN"}, "is set but security.protocol is PLAINTEXT"),
        ({ks.CAFILE_VAR: str(pki["ca"])}, "DOUANE_KAFKA_SSL_CAFILE is set but security"),
        ({ks.PROTOCOL_VAR: "SSL", ks.CAFILE_VAR: missing}, "DOUANE_KAFKA_SSL_CAFILE="),
        ({ks.PROTOCOL_VAR: "SSL", ks.CERTFILE_VAR: str(pki["cert"])}, "needs both"),
        ({ks.PROTOCOL_VAR: "SSL", ks.CAFILE_VAR: str(pki["garbage"])},
         "cannot build the TLS context from CA file"),
        ({ks.PROTOCOL_VAR: "SSL", ks.CHECK_HOSTNAME_VAR: "maybe"}, "is not true or false"),
        ({ks.PROPERTIES_VAR: missing}, "DOUANE_KAFKA_CLIENT_PROPERTIES="),
        ({ks.PROPERTIES_VAR: str(jks)}, "reads PEM files only"),
        ({ks.PROPERTIES_VAR: str(kerberos)}, "Krb5LoginModule"),
        ({ks.PROPERTIES_VAR: str(no_password)}, "has no password"),
    ]


def test_bad_settings_are_named_and_passwords_never_shown(
        tmp_path: Path, pki: dict[str, Path]) -> None:
    for env, expected in _bad(tmp_path, pki):
        with pytest.raises(ks.KafkaSecurityError) as caught:
            ks.load_security(env).aiokafka_options()
        assert expected in str(caught.value), (env, str(caught.value))
        assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("text, expected", [
    ("a=1\n# c\n! c\n\nb : 2\nc 3\n", {"a": "1", "b": "2", "c": "3"}),
    ("a=one \\\n   two\n", {"a": "one two"}),
    ("path=C:\\\\x\n", {"path": "C:\\\\x"}),  # an even run of backslashes does not join
])
def test_parse_properties(text: str, expected: dict[str, str]) -> None:
    assert ks.parse_properties(text) == expected


def test_roles_use_the_generated_files_of_a_local_broker_only(tmp_path: Path) -> None:
    env = {"DOUANE_HOME": str(tmp_path), "DOUANE_KAFKA_BOOTSTRAP": "127.0.0.1:19092"}
    settings = load_settings(env)
    clients = settings.kafka_data_dir / ks.CLIENTS_DIR
    clients.mkdir(parents=True)
    (clients / "douane-worker.properties").write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="douane-worker" password="{PASSWORD}";\n')
    worker = ks.kafka_connection(settings, "worker")
    assert worker.security.username == "douane-worker"
    assert "written by `douane kafka start`" in worker.security.source
    assert ks.kafka_connection(settings, "front-door").security.protocol == "PLAINTEXT"
    # an explicit protocol, or a remote cluster, never picks up the local files
    explicit = load_settings({**env, ks.PROTOCOL_VAR: "PLAINTEXT"})
    assert ks.kafka_connection(explicit, "worker").security.protocol == "PLAINTEXT"
    remote = load_settings({**env, "DOUANE_KAFKA_BOOTSTRAP": "kafka.example:9093"})
    assert ks.kafka_connection(remote, "worker").security.protocol == "PLAINTEXT"


def test_settings_never_show_the_password(tmp_path: Path) -> None:
    settings = load_settings({"DOUANE_HOME": str(tmp_path), ks.PASSWORD_VAR: PASSWORD})
    assert dict(settings.kafka_security_env) == {ks.PASSWORD_VAR: PASSWORD}
    assert PASSWORD not in repr(settings)


# --------------------------------------------------------------------------- failing fast


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start_error(kafka: ks.KafkaConnection) -> str:
    producer = AIOKafkaProducer(**kafka.client_options())
    with pytest.raises(ks.KafkaConnectError) as caught:
        await ks.start_client(producer, kafka, "the test's producer", timeout_s=120)
    return str(caught.value)


async def test_nothing_listening_says_so() -> None:
    port = _closed_port()
    message = await _start_error(ks.KafkaConnection(f"127.0.0.1:{port}"))
    assert message.startswith(f"the test's producer cannot connect to Kafka at 127.0.0.1:{port}")
    assert "nothing accepts connections" in message and "DOUANE_KAFKA_BOOTSTRAP" in message


async def test_a_listener_hanging_up_points_at_the_protocol(tmp_path: Path) -> None:
    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # what a TLS or SASL listener does to a client not speaking it

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        message = await _start_error(ks.KafkaConnection(f"127.0.0.1:{port}"))
    finally:
        server.close()
    assert "closed the connection during the handshake" in message
    assert "security.protocol (now PLAINTEXT" in message


def test_the_same_settings_in_librdkafka_names_are_accepted_by_librdkafka(
        pki: dict[str, Path], tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    security = ks.load_security({
        ks.PROTOCOL_VAR: "SASL_SSL", ks.MECHANISM_VAR: "SCRAM-SHA-512",
        ks.USERNAME_VAR: "douane-front-door", ks.PASSWORD_FILE_VAR: str(secret),
        ks.CAFILE_VAR: str(pki["ca"]), ks.CERTFILE_VAR: str(pki["cert"]),
        ks.KEYFILE_VAR: str(pki["key"]), ks.CHECK_HOSTNAME_VAR: "false"})
    options = ks.KafkaConnection("127.0.0.1:1", security).librdkafka_options()
    assert options == {
        "bootstrap.servers": "127.0.0.1:1", "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "douane-front-door",
        "sasl.password": PASSWORD, "ssl.ca.location": str(pki["ca"]),
        "ssl.certificate.location": str(pki["cert"]), "ssl.key.location": str(pki["key"]),
        "ssl.endpoint.identification.algorithm": "none"}
    # librdkafka refuses an unknown name or value, and reads the files, at construction
    confluent_kafka.Producer(options).flush(0)
    assert ks.load_security({}).librdkafka_options() == {"security.protocol": "PLAINTEXT"}


def test_the_front_door_uses_aiokafka_unless_told() -> None:
    assert load_settings({}).kafka_client == "librdkafka"  # the default since 2026-12-01
    assert load_settings({"DOUANE_KAFKA_CLIENT": "aiokafka"}).kafka_client == "aiokafka"
    with pytest.raises(SettingError, match="DOUANE_KAFKA_CLIENT='rdkafka' must be one of"):
        load_settings({"DOUANE_KAFKA_CLIENT": "rdkafka"})
