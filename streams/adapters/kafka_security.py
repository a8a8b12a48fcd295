"""How every Kafka client of douane connects: bootstrap, TLS and SASL, from one place.

Every aiokafka producer, consumer and admin client douane creates takes its keyword arguments
from :meth:`KafkaConnection.client_options`, so the worker, the front door, the demo, the
topic tools and the tests all speak to a secured cluster the same way.

The settings use the names Kafka users know, from (later ones win):

1. a client properties file in Kafka's own format, ``DOUANE_KAFKA_CLIENT_PROPERTIES``
   (Java ``security.protocol``, ``sasl.mechanism``, ``sasl.jaas.config``, PEM
   ``ssl.truststore.location``/``ssl.keystore.location``; the librdkafka spellings
   ``sasl.mechanisms``, ``sasl.username``, ``sasl.password``, ``ssl.ca.location``,
   ``ssl.certificate.location``, ``ssl.key.location`` are read too);
   without it and without ``DOUANE_KAFKA_SECURITY_PROTOCOL``, a client of a local broker
   started by ``douane kafka start`` uses the file that command wrote for its principal;
2. the ``DOUANE_KAFKA_*`` variables of :data:`SECURITY_VARIABLES`.

Passwords come from a file (``DOUANE_KAFKA_SASL_PASSWORD_FILE``) or the environment, never
from the policy; they are kept out of ``repr``, logs and error messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context

from streams.config import SettingError, Settings
from streams.errors import DouaneError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")

PROTOCOL_VAR = "DOUANE_KAFKA_SECURITY_PROTOCOL"
MECHANISM_VAR = "DOUANE_KAFKA_SASL_MECHANISM"
USERNAME_VAR = "DOUANE_KAFKA_SASL_USERNAME"
PASSWORD_VAR = "DOUANE_KAFKA_SASL_PASSWORD"
PASSWORD_FILE_VAR = "DOUANE_KAFKA_SASL_PASSWORD_FILE"
CAFILE_VAR = "DOUANE_KAFKA_SSL_CAFILE"
CERTFILE_VAR = "DOUANE_KAFKA_SSL_CERTFILE"
KEYFILE_VAR = "DOUANE_KAFKA_SSL_KEYFILE"
KEY_PASSWORD_FILE_VAR = "DOUANE_KAFKA_SSL_KEY_PASSWORD_FILE"
CHECK_HOSTNAME_VAR = "DOUANE_KAFKA_SSL_CHECK_HOSTNAME"
PROPERTIES_VAR = "DOUANE_KAFKA_CLIENT_PROPERTIES"
SECURITY_VARIABLES = (PROTOCOL_VAR, MECHANISM_VAR, USERNAME_VAR, PASSWORD_VAR,
                      PASSWORD_FILE_VAR, CAFILE_VAR, CERTFILE_VAR, KEYFILE_VAR,
                      KEY_PASSWORD_FILE_VAR, CHECK_HOSTNAME_VAR, PROPERTIES_VAR)

# Who connects: each part of douane has its own principal on a secured local broker.
ADMIN_PRINCIPAL = "douane-admin"
WORKER_PRINCIPAL = "douane-worker"
FRONT_DOOR_PRINCIPAL = "douane-front-door"
ROLE_PRINCIPALS = {"admin": ADMIN_PRINCIPAL, "worker": WORKER_PRINCIPAL,
                   "front-door": FRONT_DOOR_PRINCIPAL}
CLIENTS_DIR = "clients"  # under settings.kafka_data_dir: <principal>.properties

_JAAS_OPTION = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')
_JAAS_MODULES = {"org.apache.kafka.common.security.scram.ScramLoginModule",
                 "org.apache.kafka.common.security.plain.PlainLoginModule"}


class KafkaSecurityError(SettingError):
    """The Kafka client security settings cannot be used; the message names the setting."""


@dataclass(frozen=True)
class KafkaSecurity:
    """The resolved security settings of a client (what to present, what to trust)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True
    source: str = "defaults"  # where the settings came from, for messages

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def describe(self) -> str:
        """One line for logs and errors: never the password."""
        parts = [f"security.protocol={self.protocol}"]
        if self.uses_sasl:
            parts.append(f"sasl.mechanism={self.sasl_mechanism} user={self.username}")
        if self.uses_tls:
            parts.append(f"CA={self.ca_file or 'system default'}")
            if self.cert_file is not None:
                parts.append(f"client certificate={self.cert_file}")
        return " ".join(parts) + f" (from {self.source})"

    def ssl_context(self) -> ssl.SSLContext:
        try:
            context = create_ssl_context(
                cafile=self.ca_file, certfile=self.cert_file, keyfile=self.key_file,
                password=self.key_password)
        except OSError as exc:  # ssl.SSLError included
            detail = exc.strerror or str(exc)
            files = ", ".join(f"{name} {path}" for name, path in (
                ("CA file", self.ca_file), ("certificate", self.cert_file),
                ("key", self.key_file)) if path is not None) or "the system CA store"
            raise KafkaSecurityError(
                f"cannot build the TLS context from {files} ({self.source}): "
                f"{type(exc).__name__}: {detail}") from None
        if not self.check_hostname:
            context.check_hostname = False
        built: ssl.SSLContext = context
        return built

    def aiokafka_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_sasl:
            options.update(sasl_mechanism=self.sasl_mechanism,
                           sasl_plain_username=self.username,
                           sasl_plain_password=self.password)
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        return options

    def librdkafka_options(self) -> dict[str, str]:
        """The same settings in librdkafka's names (confluent-kafka), files by path."""
        options = {"security.protocol": self.protocol}
        if self.uses_sasl:
            options.update({"sasl.mechanisms": self.sasl_mechanism or "",
                            "sasl.username": self.username or "",
                            "sasl.password": self.password or ""})
        if self.uses_tls:
            options["ssl.ca.location"] = str(self.ca_file) if self.ca_file else "probe"
            if self.cert_file is not None:
                options["ssl.certificate.location"] = str(self.cert_file)
            if self.key_file is not None:
                options["ssl.key.location"] = str(self.key_file)
            if self.key_password is not None:
                options["ssl.key.password"] = self.key_password
            options["ssl.endpoint.identification.algorithm"] = (
                "https" if self.check_hostname else "none")
        return options


@dataclass(frozen=True)
class KafkaConnection:
    """Where the cluster is and how to connect to it, for one principal."""

    bootstrap: str
    security: KafkaSecurity = KafkaSecurity()

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``/``AIOKafkaConsumer``/admin client."""
        return {"bootstrap_servers": self.bootstrap, **self.security.aiokafka_options()}

    def librdkafka_options(self) -> dict[str, str]:
        """Configuration for a confluent-kafka producer or consumer (holds the password)."""
        return {"bootstrap.servers": self.bootstrap, **self.security.librdkafka_options()}

    def describe(self) -> str:
        return f"{self.bootstrap} with {self.security.describe()}"


# --------------------------------------------------------------------------- parsing


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines of a ``.properties`` file (``#``/``!`` comments, ``\\`` joins lines;
    ``key: value`` and ``key value`` as Java reads them)."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip() if not pending else raw.lstrip()
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending)
    out: dict[str, str] = {}
    for line in joined:
        match = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)$", line)
        if match is None:
            out[line] = ""
        else:
            out[match.group(1)] = match.group(2).strip()
    return out


def jaas_credentials(jaas: str, where: str) -> tuple[str, str]:
    """``(username, password)`` from a ``sasl.jaas.config`` value (SCRAM or PLAIN module)."""
    module = jaas.strip().split(None, 1)[0] if jaas.strip() else ""
    if module not in _JAAS_MODULES:
        raise KafkaSecurityError(
            f"sasl.jaas.config in {where} uses login module {module or '(none)'!r}; douane "
            f"supports {' and '.join(sorted(_JAAS_MODULES))}")
    options = {k: re.sub(r"\\(.)", r"\1", v) for k, v in _JAAS_OPTION.findall(jaas)}
    missing = [k for k in ("username", "password") if not options.get(k)]
    if missing:
        raise KafkaSecurityError(
            f"sasl.jaas.config in {where} has no {' and no '.join(missing)}")
    return options["username"], options["password"]


def _read_secret(path_text: str, name: str) -> str:
    path = Path(path_text)
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise KafkaSecurityError(
            f"{name}={path_text!r}: the file cannot be read ({exc.strerror or exc})") from None
    if not secret:
        raise KafkaSecurityError(f"{name}={path_text!r}: the file is empty")
    return secret


def _readable_file(path_text: str, name: str) -> Path:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise KafkaSecurityError(f"{name}={path_text!r}: no such file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise KafkaSecurityError(
            f"{name}={path_text!r}: the file cannot be read ({exc.strerror or exc})") from None
    return path


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    upper = value.strip().upper()
    if upper not in allowed:
        raise KafkaSecurityError(
            f"{name}={value!r} is not one of {', '.join(allowed)}")
    return upper


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise KafkaSecurityError(f"{name}={value!r} is not true or false")


# Raw settings: (value, name to show in an error) per field, before validation.
_Raw = dict[str, tuple[str, str]]


def _from_properties(path_text: str, label: str) -> _Raw:
    path = Path(path_text)
    try:
        props = parse_properties(path.read_text())
    except OSError as exc:
        raise KafkaSecurityError(
            f"{label}={path_text!r}: the file cannot be read ({exc.strerror or exc})") from None
    where = str(path)
    raw: _Raw = {}

    def take(key: str, target: str) -> None:
        if props.get(key):
            raw[target] = (props[key], f"{key} in {where}")

    take("security.protocol", "protocol")
    take("sasl.mechanism", "mechanism")
    take("sasl.mechanisms", "mechanism")  # librdkafka
    take("sasl.username", "username")
    take("sasl.password", "password")
    if props.get("sasl.jaas.config"):
        username, password = jaas_credentials(props["sasl.jaas.config"], where)
        raw["username"] = (username, f"sasl.jaas.config in {where}")
        raw["password"] = (password, f"sasl.jaas.config in {where}")
    for store in ("truststore", "keystore"):
        kind = props.get(f"ssl.{store}.type", "JKS" if props.get(f"ssl.{store}.location")
                         else "")
        if kind and kind.upper() != "PEM":
            raise KafkaSecurityError(
                f"ssl.{store}.type={kind} in {where}: douane (Python) reads PEM files only; "
                f"convert the {store} to PEM and set ssl.{store}.type=PEM")
    take("ssl.truststore.location", "ca_file")
    take("ssl.ca.location", "ca_file")  # librdkafka
    take("ssl.keystore.location", "cert_file")  # a PEM keystore: key and chain in one file
    take("ssl.keystore.location", "key_file")
    take("ssl.certificate.location", "cert_file")  # librdkafka
    take("ssl.key.location", "key_file")
    take("ssl.key.password", "key_password")
    if "ssl.endpoint.identification.algorithm" in props:
        algorithm = props["ssl.endpoint.identification.algorithm"].strip().lower()
        raw["check_hostname"] = ("false" if algorithm in ("", "none") else "true",
                                 f"ssl.endpoint.identification.algorithm in {where}")
    return raw


def _from_environment(env: Mapping[str, str]) -> _Raw:
    raw: _Raw = {}
    for var, target in ((PROTOCOL_VAR, "protocol"), (MECHANISM_VAR, "mechanism"),
                        (USERNAME_VAR, "username"), (CAFILE_VAR, "ca_file"),
                        (CERTFILE_VAR, "cert_file"), (KEYFILE_VAR, "key_file"),
                        (CHECK_HOSTNAME_VAR, "check_hostname")):
        if env.get(var):
            raw[target] = (env[var], var)
    if env.get(PASSWORD_FILE_VAR):
        if env.get(PASSWORD_VAR):
            raise KafkaSecurityError(
                f"both {PASSWORD_VAR} and {PASSWORD_FILE_VAR} are set; keep one")
        raw["password"] = (_read_secret(env[PASSWORD_FILE_VAR], PASSWORD_FILE_VAR),
                           PASSWORD_FILE_VAR)
    elif env.get(PASSWORD_VAR):
        raw["password"] = (env[PASSWORD_VAR], PASSWORD_VAR)
    if env.get(KEY_PASSWORD_FILE_VAR):
        raw["key_password"] = (_read_secret(env[KEY_PASSWORD_FILE_VAR],
                                            KEY_PASSWORD_FILE_VAR), KEY_PASSWORD_FILE_VAR)
    return raw


def _validate(raw: _Raw, source: str) -> KafkaSecurity:
    def value(key: str) -> str | None:
        return raw[key][0] if key in raw else None

    def name(key: str, fallback: str) -> str:
        return raw[key][1] if key in raw else fallback

    protocol = _choice(value("protocol") or "PLAINTEXT", PROTOCOLS,
                       name("protocol", PROTOCOL_VAR))
    security = KafkaSecurity(protocol=protocol, source=source)
    if protocol.startswith("SASL_"):
        mechanism_text = value("mechanism")
        if mechanism_text is None:
            raise KafkaSecurityError(
                f"security.protocol {protocol} needs a SASL mechanism: set {MECHANISM_VAR} "
                f"(one of {', '.join(MECHANISMS)}) or sasl.mechanism in the properties file")
        mechanism = _choice(mechanism_text, MECHANISMS, name("mechanism", MECHANISM_VAR))
        username, password = value("username"), value("password")
        if not username:
            raise KafkaSecurityError(
                f"SASL mechanism {mechanism} needs a user name: set {USERNAME_VAR} or "
                "sasl.jaas.config in the properties file")
        if not password:
            raise KafkaSecurityError(
                f"SASL user {username!r} has no password: set {PASSWORD_FILE_VAR} (a file "
                f"readable by douane only) or {PASSWORD_VAR}")
        security = replace(security, sasl_mechanism=mechanism, username=username,
                           password=password)
    else:
        for key, fallback in (("mechanism", MECHANISM_VAR), ("username", USERNAME_VAR),
                              ("password", PASSWORD_VAR)):
            if key in raw:
                raise KafkaSecurityError(
                    f"{name(key, fallback)} is set but security.protocol is {protocol}, "
                    "which does not use SASL; use SASL_SSL (or SASL_PLAINTEXT)")
    tls_keys = (("ca_file", CAFILE_VAR), ("cert_file", CERTFILE_VAR),
                ("key_file", KEYFILE_VAR))
    if security.uses_tls:
        files = {key: _readable_file(raw[key][0], raw[key][1])
                 for key, _var in tls_keys if key in raw}
        if ("cert_file" in files) != ("key_file" in files):
            raise KafkaSecurityError(
                f"a client certificate needs both {CERTFILE_VAR} and {KEYFILE_VAR} "
                "(or a PEM ssl.keystore.location holding both)")
        check = _flag(value("check_hostname") or "true",
                      name("check_hostname", CHECK_HOSTNAME_VAR))
        security = replace(security, ca_file=files.get("ca_file"),
                           cert_file=files.get("cert_file"), key_file=files.get("key_file"),
                           key_password=value("key_password"), check_hostname=check)
    else:
        for key, fallback in tls_keys:
            if key in raw:
                raise KafkaSecurityError(
                    f"{name(key, fallback)} is set but security.protocol is {protocol}, "
                    "which does not use TLS; use SSL or SASL_SSL")
    return security


def is_local_bootstrap(bootstrap: str) -> bool:
    hosts = [part.split("://", 1)[-1].rsplit(":", 1)[0].strip()
             for part in bootstrap.split(",") if part.strip()]
    return bool(hosts) and all(h in ("127.0.0.1", "localhost") for h in hosts)


def generated_client_properties(settings: Settings, principal: str) -> Path:
    """The client file ``douane kafka start`` writes for ``principal``."""
    return settings.kafka_data_dir / CLIENTS_DIR / f"{principal}.properties"


def load_security(env: Mapping[str, str], default_properties: Path | None = None
                  ) -> KafkaSecurity:
    """Resolve the security settings from ``DOUANE_KAFKA_*`` variables (see module doc)."""
    raw: _Raw = {}
    source = "DOUANE_KAFKA_* variables"
    if env.get(PROPERTIES_VAR):
        raw.update(_from_properties(env[PROPERTIES_VAR], PROPERTIES_VAR))
        source = f"{PROPERTIES_VAR}={env[PROPERTIES_VAR]}"
    elif (not env.get(PROTOCOL_VAR) and default_properties is not None
          and default_properties.is_file()):
        raw.update(_from_properties(str(default_properties), "generated client file"))
        source = f"{default_properties} (written by `douane kafka start`)"
    overrides = _from_environment(env)
    if overrides and PROPERTIES_VAR in env:
        source += " and DOUANE_KAFKA_* variables"
    raw.update(overrides)
    return _validate(raw, source)


def kafka_connection(settings: Settings, role: str = "admin") -> KafkaConnection:
    """How ``role`` ("admin", "worker", "front-door") connects to the cluster of ``settings``.

    With no explicit settings, a client of a local broker started by ``douane kafka start``
    uses the credentials generated for the role's principal, so the demo and the tests need
    no extra step; a remote cluster always needs explicit settings.
    """
    env = dict(settings.kafka_security_env)
    principal = ROLE_PRINCIPALS.get(role)
    if principal is None:
        raise ValueError(f"unknown Kafka client role {role!r}")
    default = (generated_client_properties(settings, principal)
               if is_local_bootstrap(settings.kafka_bootstrap) else None)
    return KafkaConnection(settings.kafka_bootstrap, load_security(env, default))


# --------------------------------------------------------------------------- connecting


AUTHORIZATION_ERRORS = (TopicAuthorizationFailedError, GroupAuthorizationFailedError,
                        ClusterAuthorizationFailedError)


class KafkaConnectError(DouaneError, ConnectionError):
    """A Kafka client could not start; the message says what to check (never a password)."""


def _first_address(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",", 1)[0].strip().split("://", 1)[-1].rstrip("/")
    host, _sep, port = first.rpartition(":")
    return (host or first), int(port) if port.isdigit() else 9092


async def diagnose(kafka: KafkaConnection, timeout_s: float = 15.0) -> str:
    """Connect (and authenticate) once to the first bootstrap broker, outside aiokafka's
    bootstrap loop (which keeps only "Unable to bootstrap"), and say what went wrong."""
    security = kafka.security
    host, port = _first_address(kafka.bootstrap)
    where = f"{host}:{port}"
    protocol_hint = (f"check security.protocol (now {security.protocol}, set by "
                     f"{PROTOCOL_VAR} or the client properties file)")
    try:
        options = security.aiokafka_options()
        conn = await asyncio.wait_for(create_conn(
            host, port, security_protocol=options["security_protocol"],
            ssl_context=options.get("ssl_context"), sasl_mechanism=security.sasl_mechanism,
            sasl_plain_username=security.username, sasl_plain_password=security.password,
            request_timeout_ms=int(timeout_s * 1000)), timeout_s)
    except ssl.SSLCertVerificationError as exc:
        return (f"the broker's TLS certificate is not trusted ({exc.verify_message}): check "
                f"the CA file ({CAFILE_VAR} or ssl.truststore.location; now "
                f"{security.ca_file or 'the system CA store'}) and that {host} is a name in "
                "the broker's certificate")
    except ssl.SSLError as exc:
        return (f"the TLS handshake with {where} failed ({exc.reason or exc}): this listener "
                f"may not speak TLS; {protocol_hint}")
    except (SaslAuthenticationFailed, AuthenticationFailedError):
        return (f"the broker refused the credentials of user {security.username!r} "
                f"({security.sasl_mechanism}): check the user name and password "
                f"({USERNAME_VAR}, {PASSWORD_FILE_VAR} or sasl.jaas.config) and the "
                "mechanism")
    except UnsupportedSaslMechanismError:
        return (f"the broker does not accept SASL mechanism {security.sasl_mechanism} on "
                f"{where}: check {MECHANISM_VAR}")
    except KafkaConnectionError as exc:
        return (f"{where} closed the connection during the handshake ({exc}): the listener "
                f"expects another security protocol (a TLS or SASL listener hangs up on a "
                f"client that does not speak it); {protocol_hint}")
    except TimeoutError:
        return (f"{where} did not complete a Kafka handshake in {timeout_s:.0f} s: is it a "
                f"Kafka listener, and does it expect TLS? {protocol_hint}")
    except ConnectionRefusedError:
        return (f"nothing accepts connections at {where}: is the broker running, and is "
                "DOUANE_KAFKA_BOOTSTRAP right?")
    except (ConnectionResetError, ConnectionAbortedError) as exc:
        return (f"{where} reset the connection during the handshake "
                f"({type(exc).__name__}): the listener may not speak "
                f"{'TLS' if security.uses_tls else 'this protocol'}; {protocol_hint}")
    except OSError as exc:
        return (f"cannot reach {where} ({exc.strerror or type(exc).__name__}): check "
                "DOUANE_KAFKA_BOOTSTRAP")
    conn.close()
    if not security.uses_sasl:
        return (f"{where} accepts the connection but closes it at the first request: the "
                f"listener probably requires SASL authentication; {protocol_hint}")
    return (f"connecting and authenticating to {where} work on their own, so check the "
            "other bootstrap brokers and the ACLs of the principal")


async def start_client(client: Any, kafka: KafkaConnection, what: str,
                       timeout_s: float = 60.0) -> None:
    """``await client.start()`` for an aiokafka producer, consumer or admin client, failing
    with :class:`KafkaConnectError` naming what to check instead of a bare bootstrap error
    (aiokafka gives up at once on a refused handshake; ``timeout_s`` bounds a silent peer)."""
    try:
        await asyncio.wait_for(client.start(), timeout_s)
        return
    except AUTHORIZATION_ERRORS:
        raise  # connected and authenticated: Kafka denies an operation, and says which
    except (KafkaError, OSError, TimeoutError) as exc:
        failure = type(exc).__name__
    with contextlib.suppress(Exception):
        await (client.close() if hasattr(client, "close") else client.stop())
    reason = await diagnose(kafka, timeout_s=min(timeout_s, 15.0))
    raise KafkaConnectError(
        f"{what} cannot connect to Kafka at {kafka.bootstrap} as "
        f"{kafka.security.username or 'an anonymous client'} ({failure}): {reason} "
        f"[{kafka.security.describe()}]") from None


async def check_kafka(kafka: KafkaConnection, what: str) -> None:
    """Connect once (an admin client: no topic, no group) and leave: raises
    :class:`KafkaConnectError` saying what to check when the settings cannot work."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await start_client(admin, kafka, what)
    await admin.close()
