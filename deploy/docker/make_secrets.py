"""Secrets for docker-compose.yml: a private CA, the broker's certificate, a password and a
Kafka client properties file per principal, as files under deploy/docker/secrets/ (0600,
git-ignored), which compose mounts at /run/secrets/. Run once from the checkout:

    .venv/bin/python deploy/docker/make_secrets.py [--policy policies]

Existing files are kept (run it again after adding a tenant to the policy: only the new
tenant's files are made). The broker's certificate names the host ``kafka`` (the compose
service) and ``localhost``.

For the production profile (deploy/production/docker-compose.yml) it also writes the audit
database's password (``audit-db.secret``, read by PostgreSQL), the workers' libpq password file
for it (``audit-db.pgpass``) and Grafana's admin password (``grafana-admin.secret``). Their
names do not end in ``.password``: the broker makes a SCRAM user of every such file.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from streams.adapters.policy_files import load_policy_set
from streams.core.kafka_acls import ADMIN, FRONT_DOOR, WORKER, tenant_principal
from streams.devtools.kafka_tls import issue, make_ca, write_private

HERE = Path(__file__).resolve().parent
IN_CONTAINER = "/run/secrets"
BOOTSTRAP = "kafka:9092"
CONTROLLER_USER = "douane-controller"
# the production profile's PostgreSQL (service, port, database, role)
AUDIT_DB = ("postgres", 5432, "douane_audit", "douane")
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"


def password(folder: Path, principal: str) -> str:
    return secret(folder / f"{principal}.password")


def secret(path: Path) -> str:
    """A random secret kept in ``path`` (made once)."""
    if not path.is_file():
        write_private(path, secrets.token_urlsafe(32).encode())
    return path.read_text().strip()


def write_production_secrets(out: Path) -> None:
    host, port, database, role = AUDIT_DB
    audit_db = secret(out / "audit-db.secret")
    # libpq ignores a password file that others may read: write_private makes it 0600
    write_private(out / "audit-db.pgpass",
                  f"{host}:{port}:{database}:{role}:{audit_db}\n".encode())
    secret(out / "grafana-admin.secret")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, default=HERE.parents[1] / "policies")
    parser.add_argument("--out", type=Path, default=HERE / "secrets")
    args = parser.parse_args()
    out: Path = args.out
    if not (out / "kafka-ca.pem").is_file():
        ca = make_ca("douane compose Kafka CA")
        broker = issue(ca, "douane compose Kafka broker", ("kafka", "localhost"))
        # the CA key is not a secret any service needs: kept apart from what is mounted
        write_private(out.parent / "ca" / "kafka-ca.key", ca.key_pem())
        write_private(out / "kafka-broker.pem", broker.key_pem() + broker.certificate_pem()
                      + ca.certificate_pem())
        write_private(out / "kafka-ca.pem", ca.certificate_pem())
    tenants = sorted(load_policy_set(args.policy).policy.tenant_ids)
    principals = [ADMIN, WORKER, FRONT_DOOR, *(tenant_principal(t) for t in tenants)]
    password(out, CONTROLLER_USER)
    for principal in principals:
        write_private(out / f"{principal}.properties", (
            f"# {principal}: holds its password, keep it readable by its owner only\n"
            f"bootstrap.servers={BOOTSTRAP}\nsecurity.protocol=SASL_SSL\n"
            "sasl.mechanism=SCRAM-SHA-512\n"
            f'sasl.jaas.config={SCRAM} required username="{principal}" '
            f'password="{password(out, principal)}";\n'
            f"ssl.truststore.type=PEM\nssl.truststore.location={IN_CONTAINER}/kafka-ca.pem\n"
        ).encode())
    write_production_secrets(out)
    print(f"{len(principals)} principals' files in {out}: "
          + ", ".join(principals) + "; the audit database's and Grafana's passwords")


if __name__ == "__main__":
    main()
