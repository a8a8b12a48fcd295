"""The local broker's security material: TLS files, principals, their client files and ACLs.

Everything lives under the broker's data dir (``$DOUANE_HOME/kafka``)::

    tls/ca.pem          the private CA's certificate: what every client trusts
    tls/ca.key          its key (0600); only this machine's ``douane kafka`` signs with it
    tls/broker.pem      the broker's key and certificate chain, a PEM keystore (0600)
    credentials/<principal>.password     generated passwords (0600)
    clients/<principal>.properties       Java client settings (0600)
    clients/<principal>.librdkafka.conf  librdkafka settings, ``kcat -F`` ready (0600)

SCRAM users are created when the storage is formatted (``--add-scram``) and, for principals
added later, through the running broker (``kafka.admin.ConfigCommand``); ACLs through the
admin protocol (``streams.adapters.kafka_acl_admin``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from streams.adapters.kafka_security import CLIENTS_DIR
from streams.core.kafka_acls import (
    ADMIN,
    FRONT_DOOR,
    TENANT_PREFIX,
    WORKER,
)
from streams.devtools.kafka_tls import issue, make_ca, write_private
from streams.errors import DouaneError

log = structlog.get_logger(__name__)

SCRAM_MECHANISM = "SCRAM-SHA-512"
CONTROLLER_USER = "douane-controller"  # the PLAIN user of the loopback controller listener
DOUANE_PRINCIPALS = (ADMIN, WORKER, FRONT_DOOR)
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
_PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


class KafkaPrincipalError(DouaneError, RuntimeError):
    """A principal of the local broker cannot be created, changed or removed."""


@dataclass(frozen=True)
class BrokerSecrets:
    """Paths of the local broker's security material (see the module doc)."""

    data_dir: Path

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.tls_dir / "ca.key"

    @property
    def keystore(self) -> Path:
        return self.tls_dir / "broker.pem"

    @property
    def credentials_dir(self) -> Path:
        return self.data_dir / "credentials"

    @property
    def clients_dir(self) -> Path:
        return self.data_dir / CLIENTS_DIR

    def password_file(self, principal: str) -> Path:
        return self.credentials_dir / f"{principal}.password"

    def properties_file(self, principal: str) -> Path:
        return self.clients_dir / f"{principal}.properties"

    def librdkafka_file(self, principal: str) -> Path:
        return self.clients_dir / f"{principal}.librdkafka.conf"

    # ------------------------------------------------------------------ material

    def ensure_tls(self) -> None:
        """A CA and the broker's certificate, made once (kept across restarts)."""
        if self.ca_file.is_file() and self.keystore.is_file():
            return
        ca = make_ca()
        broker = issue(ca, "douane local Kafka broker", ("localhost", "127.0.0.1"))
        write_private(self.ca_key, ca.key_pem())
        write_private(self.keystore, broker.key_pem() + broker.certificate_pem()
                      + ca.certificate_pem())
        write_private(self.ca_file, ca.certificate_pem())
        log.info("local kafka CA and broker certificate created", folder=str(self.tls_dir))

    def password(self, principal: str, *, create: bool = True) -> str:
        """The principal's password, generated (256 bits, URL-safe) on first use."""
        path = self.password_file(principal)
        if path.is_file():
            return path.read_text().strip()
        if not create:
            raise KafkaPrincipalError(f"no principal {principal!r} (no {path})")
        # URL-safe base64: no quote, comma, bracket or backslash to escape in JAAS or SCRAM
        password = secrets.token_urlsafe(32)
        write_private(path, (password + "\n").encode())
        return password

    def principals(self) -> list[str]:
        """The SCRAM principals this broker was given (douane's own and tenants')."""
        if not self.credentials_dir.is_dir():
            return []
        return sorted(p.name.removesuffix(".password")
                      for p in self.credentials_dir.glob("*.password")
                      if p.name != f"{CONTROLLER_USER}.password")

    def has(self, principal: str) -> bool:
        return self.password_file(principal).is_file()

    def is_set_up(self) -> bool:
        return self.password_file(ADMIN).is_file()

    # ------------------------------------------------------------------ client files

    def write_client_files(self, principal: str, bootstrap: str) -> None:
        password = self.password(principal, create=False)
        header = (f"# Written by `douane kafka` for principal {principal}; holds its password: "
                  "keep it readable by its owner only.\n")
        java = (
            f"{header}bootstrap.servers={bootstrap}\n"
            "security.protocol=SASL_SSL\n"
            f"sasl.mechanism={SCRAM_MECHANISM}\n"
            f'sasl.jaas.config={_SCRAM_LOGIN} required username="{principal}" '
            f'password="{password}";\n'
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.ca_file}\n"
        )
        librdkafka = (
            f"{header}bootstrap.servers={bootstrap}\n"
            "security.protocol=SASL_SSL\n"
            f"sasl.mechanisms={SCRAM_MECHANISM}\n"
            f"sasl.username={principal}\n"
            f"sasl.password={password}\n"
            f"ssl.ca.location={self.ca_file}\n"
        )
        write_private(self.properties_file(principal), java.encode())
        write_private(self.librdkafka_file(principal), librdkafka.encode())

    def remove_principal_files(self, principal: str) -> None:
        for path in (self.password_file(principal), self.properties_file(principal),
                     self.librdkafka_file(principal)):
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ broker side

    def format_scram_arguments(self, principals: Iterable[str]) -> list[str]:
        """``kafka-storage format`` arguments creating these SCRAM users.

        The passwords are on the format command's line for the seconds it runs (visible to
        this machine's other users in ``ps``): Kafka offers no file for them, and the salted
        form it also takes is as good as the password to a SCRAM client."""
        out: list[str] = []
        for principal in principals:
            out += ["--add-scram",
                    f"{SCRAM_MECHANISM}=[name={principal},password={self.password(principal)}]"]
        return out

    def server_properties(self, listener: str) -> list[str]:
        """The broker's TLS, SASL and authorizer settings for its ``listener`` (SASL_SSL)."""
        admin_password = self.password(ADMIN)
        controller_password = self.password(CONTROLLER_USER)
        name = listener.lower()
        return [
            # clients: SCRAM-SHA-512 over TLS; the broker talks to itself as the admin
            f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={SCRAM_MECHANISM}",
            f"listener.name.{name}.sasl.enabled.mechanisms={SCRAM_MECHANISM}",
            f"listener.name.{name}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config={_SCRAM_LOGIN} "
            f'required username="{ADMIN}" password="{admin_password}";',
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
            "ssl.client.auth=none",  # SCRAM authenticates clients; TLS protects the channel
            # the controller listener: loopback only, and SCRAM cannot authenticate there
            # (its credentials live in the metadata the controller serves), so a PLAIN user
            # known to this file alone; without it the broker would reach the controller as
            # ANONYMOUS, which would then have to be a super user
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            f"listener.name.controller.plain.sasl.jaas.config={_PLAIN_LOGIN} required "
            f'username="{CONTROLLER_USER}" password="{controller_password}" '
            f'user_{CONTROLLER_USER}="{controller_password}";',
            # deny what no ACL allows; only the admin and the controller's user are exempt
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN};User:{CONTROLLER_USER}",
        ]


def is_tenant_principal(principal: str) -> bool:
    return principal.startswith(TENANT_PREFIX)
