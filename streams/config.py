"""Runtime settings, read once from the environment.

Every knob douane has lives here so an operator finds them in one place. Values come from
environment variables (``DOUANE_*``); paths default to folders under ``DOUANE_HOME``
(``./.douane``), which is git-ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streams.core.tenant_topics import LAYOUTS, PER_TENANT
from streams.errors import DouaneError

# the single layout's topics (DOUANE_TOPIC_LAYOUT=single); per tenant by default:
# streams.core.tenant_topics
REQUESTS_TOPIC = "douane.requests"
RESPONSES_TOPIC = "douane.responses"
# pieces of answers as they stream, for requests that asked for it ("stream": true)
RESPONSE_CHUNKS_TOPIC = "douane.responses.chunks"
REJECTED_TOPIC = "douane.rejected"
DEAD_LETTER_TOPIC = "douane.dead-letter"
FORWARD_TOPIC_PREFIX = "douane.forward."
KAFKA_CLIENTS = ("librdkafka", "aiokafka")  # DOUANE_KAFKA_CLIENT, the default first
# the Kafka client security variables (streams/adapters/kafka_security.py lists them)
KAFKA_SECURITY_PREFIXES = ("DOUANE_KAFKA_SECURITY_", "DOUANE_KAFKA_SASL_", "DOUANE_KAFKA_SSL_",
                           "DOUANE_KAFKA_CLIENT_PROPERTIES")
# the front door's per-key and per-tenant limits (streams/front_door/limits.py lists them)
# DOUANE_EVENT_LOOP: the first is the default (streams/runtime/event_loop.py runs them)
EVENT_LOOPS = ("uvloop", "asyncio")
FRONT_DOOR_LIMIT_PREFIXES = ("DOUANE_FRONT_DOOR_KEY_", "DOUANE_FRONT_DOOR_TENANT_")


def forward_topic(provider_id: str) -> str:
    """The topic that carries redacted, audited requests for one provider."""
    return FORWARD_TOPIC_PREFIX + provider_id


def project_root() -> Path:
    """The source checkout (where ``schemas/`` and ``policies/`` live)."""
    return Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    home: Path
    kafka_bootstrap: str
    audit_db: Path
    signing_key: Path
    policy_path: Path
    max_message_bytes: int
    provider_timeout_s: float
    log_format: str  # "console" or "json"
    app_id: str
    audit_origin: str = "douane.example/audit/douane"  # names the log in signed checkpoints
    checkpoint_every: int = 1000  # records between two signed checkpoints
    checkpoint_interval_s: float = 60.0  # or seconds, whichever comes first
    phone_regions: tuple[str, ...] = ("FR", "ES", "UA", "IS", "UY", "GB", "US")  # national forms
    detector_timeout_s: float = 10.0  # a detection taking longer blocks the request
    audit_dsn: str | None = None  # postgresql://... selects the PostgreSQL audit store
    audit_busy_timeout_s: float = 30.0  # wait this long for the audit store's write lock
    kafka_session_timeout_s: float = 60.0  # a worker silent this long loses its partitions
    # the worker commits its offsets at most this often: each commit is a request the broker
    # writes to __consumer_offsets, and at 0.1 s there were 0.4 of them per answer under load
    # (docs/benchmarks.md). Only what a crash reads again depends on it, never what is skipped
    kafka_commit_interval_s: float = 0.5
    # librdkafka's producers try to deliver a message this long (message.timeout.ms, its
    # default) before reporting it failed; the worker then queues it again, so the broker's
    # absence is never a loss; tests shorten it to see that path with a broker away
    kafka_delivery_timeout_s: float = 300.0
    # the Kafka client of the worker and the front door: librdkafka (C, through confluent-kafka;
    # less CPU per message, docs/benchmarks.md "A Kafka client in C"; its failure paths checked
    # on a real broker, "librdkafka the default") or aiokafka (Python, the same behaviour)
    kafka_client: str = "librdkafka"
    fault: str | None = None  # test-only fault injection (streams.adapters.fault), never set
    keys_db: Path | None = None  # data keys for crypto-shredding (default: home/keys.sqlite3)
    vault_db: Path | None = None  # encrypted personal values (default: home/vault.sqlite3)
    retention_interval_s: float = 3600.0  # the worker runs `douane retention run` this often
    restore_answers: bool = True  # put the conversation's values back into answers
    max_in_flight: int = 512  # messages of one topic a worker works on at once (the window)
    topic_partitions: int = 12  # partitions of each topic douane creates: the scale-out limit
    # copies of each topic douane creates: 1 for the single local broker, 3 on a real cluster
    topic_replication_factor: int = 1
    kafka_max_request_bytes: int = 1024 * 1024  # the producer's largest message
    detection_processes: int = 1  # processes detecting personal data; 0: a thread of the worker
    store_threads: int = 8  # the worker's threads for audit appends and vault / key store work
    # Kafka's group.instance.id (static membership): a worker restarted with the same one gets
    # its partitions back at once instead of after the session timeout; unique per worker
    kafka_group_instance_id: str | None = None
    # DOUANE_KAFKA_SECURITY_PROTOCOL, _SASL_*, _SSL_*, _CLIENT_PROPERTIES as set: resolved into
    # client options by streams.adapters.kafka_security (files are read there, not here)
    # (may hold DOUANE_KAFKA_SASL_PASSWORD: kept out of repr)
    kafka_security_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # a second policy set judged in shadow next to the one in force: its decisions are
    # recorded for comparison (``douane policy diff --shadow``), never enforced
    policy_shadow_path: Path | None = None
    # Secrets that must never be copied with the data (DOUANE_KEYS_DIR): outside DOUANE_HOME
    # by default, so that a backup or copy of the data folder holds no key that could undo an
    # erasure or forge the log (see keys_folder_for)
    keys_dir: Path = Path(".douane-keys")
    # where the per-period key-encryption keys are (DOUANE_KEK_STORE): a folder
    # (default keys_dir/kek), or "pkcs11" for a PKCS#11 token (DOUANE_PKCS11_*)
    kek_store: str = ""
    # the DPO tools' audit signing key (DOUANE_DPO_SIGNING_KEY, default keys_dir): erasures,
    # holds and the commands' retention runs are signed with it, never with the worker's
    dpo_signing_key: Path = Path(".douane-keys/dpo-signing.pem")
    # witnesses' public keys (witness.vkey files, DOUANE_AUDIT_WITNESSES, comma-separated) that
    # `douane audit verify` requires by default, and how many must have cosigned
    # (DOUANE_AUDIT_QUORUM, default 1 when witnesses are set)
    audit_witnesses: tuple[Path, ...] = ()
    # where the audit signing keys are (DOUANE_AUDIT_SIGNER): "file" (PEM files, the default)
    # or "pkcs11" (key pairs in the PKCS#11 token named by DOUANE_PKCS11_*)
    audit_signer: str = "file"
    audit_quorum: int = 0
    # "per-tenant" (douane.requests.<tenant>, douane.responses.<tenant>: Kafka's ACLs bind
    # tenants to topics) or "single" (one douane.requests/douane.responses for everybody: a
    # compatibility mode for a single-tenant installation, see docs/security.md)
    topic_layout: str = PER_TENANT
    # a Kafka client properties file for the principal that manages douane's ACLs (a cluster
    # admin); unset: the local broker's douane-admin, or no ACL management by the worker
    kafka_acl_admin_properties: Path | None = None
    # the worker's liveness, readiness and metrics server (streams.runtime.health): off when
    # 0, so that several workers on one machine need no port each; loopback by default
    worker_http_port: int = 0
    worker_http_host: str = "127.0.0.1"
    # the front door: its API key file (DOUANE_FRONT_DOOR_KEYS, default
    # home/front-door-keys.json), how long a caller waits for an answer
    # (DOUANE_FRONT_DOOR_TIMEOUT_S) and how long an answer nobody waits for any more is
    # still expected (DOUANE_FRONT_DOOR_ABANDON_S)
    front_door_keys: Path | None = None
    front_door_timeout_s: float = 60.0
    front_door_abandon_s: float = 600.0
    # DOUANE_FRONT_DOOR_KEY_* and _TENANT_* as set: read into limits by
    # streams.front_door.limits (LimitSettings.from_environment)
    front_door_limits_env: tuple[tuple[str, str], ...] = ()
    # OTEL_* as set: whether traces are exported (streams.adapters.tracing.tracing_configured);
    # the OpenTelemetry SDK reads its own settings (endpoint, headers, sampler) itself
    otel_env: tuple[tuple[str, str], ...] = ()
    # the second-tier NER of each language (DOUANE_UK_NER, DOUANE_EN_NER, DOUANE_ES_NER)
    ner_tiers: NerTiers = field(default_factory=lambda: NerTiers())
    # the event loop of the worker, the front door and the console: "uvloop" (libuv's, less
    # CPU per message: docs/benchmarks.md) or "asyncio" (the standard library's), so that an
    # operator can rule uvloop out when looking for a fault
    event_loop: str = "uvloop"

    @property
    def kafka_data_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def public_key(self) -> Path:
        """The worker's exported public key sits next to the audit database, for verifiers."""
        return self.audit_db.with_suffix(".pub.pem")

    @property
    def dpo_public_key(self) -> Path:
        """The DPO tools' exported public key, next to the worker's."""
        return self.audit_db.with_suffix(".dpo.pub.pem")

    @property
    def legacy_signing_key(self) -> Path:
        """Where versions before DOUANE_KEYS_DIR kept the signing key: inside the data folder,
        so that a copy of the folder held the key that forges the log."""
        return self.home / "keys" / "audit-signing.pem"


UK_NER_MODES = ("slovnet-unsure", "slovnet", "off")  # the first is the default
CORENLP_MODES = ("off", "corenlp-unsure", "corenlp")
# the first is the default: the cheapest vote, on Spanish texts only (VOTE_LANGUAGES_DEFAULT),
# where it keeps detection above 100 prompts per CPU-second on third-party news
# (docs/benchmarks.md, "A cheaper Spanish vote")
VOTE_MODES = ("vote-places", "off", "vote-unsure", "vote")
# the languages with a spaCy model: a text in one of them may be voted on by the other two
VOTE_LANGUAGES = ("en", "fr", "es")
# English and French: every mode costs more CPU there than it gains (docs/benchmarks.md)
VOTE_LANGUAGES_DEFAULT = ("es",)
# the English NER trained here (recognizers/en_web_ner.py MODES; the first is the default)
EN_WEB_NER_MODES = ("off", "trained-candidates", "trained-unsure", "trained")


@dataclass(frozen=True)
class NerTiers:
    """Second-tier NER passes (issue 14; docs/operations.md, "Second-tier NER").

    - ``uk`` (``DOUANE_UK_NER``): Natasha's slovnet model on Ukrainian, on by default
      (``slovnet-unsure``), ``slovnet`` on every text, or ``off``;
    - ``en``, ``es`` (``DOUANE_EN_NER``, ``DOUANE_ES_NER``): Stanford CoreNLP's CRF classifier
      (GPL v3+, opt-in, fetched by ``douane models fetch corenlp``) in a JVM beside each
      detection process: ``off`` (the default), ``corenlp-unsure`` (only the sentences the
      fast pass is unsure of) or ``corenlp`` (every sentence);
    - ``vote`` (``DOUANE_NER_VOTE``): on an English, French or Spanish text, the other two
      installed spaCy models vote on its persons (``recognizers/xlingual_ner.py``):
      ``vote-places`` (the default: only a few words around the first pass's places and
      organisations that may be names), ``off``, ``vote-unsure`` (only the sentences with two
      capitalised words in a row no person covers) or ``vote`` (every sentence);
    - ``vote_languages`` (``DOUANE_NER_VOTE_LANGUAGES``, comma-separated, default ``es``):
      the languages of the texts voted on when the vote is on (Spanish, where it pays most;
      ``en,fr,es`` for all three; a detector loads no model for a vote on a language it does
      not detect in);
    - ``corenlp_dir`` (``DOUANE_CORENLP_DIR``): where the fetched CoreNLP files are
      (default ``$DOUANE_CACHE/corenlp``, or ``.cache/corenlp`` in the source checkout);
    - ``en_web`` (``DOUANE_EN_WEB_NER``): the English NER trained here on web writing
      (``recognizers/en_web_ner.py``, built by ``douane models build en-web-ner``): ``off``
      (the default), ``trained-candidates``, ``trained-unsure`` or ``trained`` (which
      sentences it reads); beside CoreNLP or not;
    - ``en_web_dir`` (``DOUANE_EN_WEB_NER_DIR``): where that model is built (default
      ``$DOUANE_CACHE/models/en-web-ner``).
    """

    uk: str = UK_NER_MODES[0]
    en: str = "off"
    es: str = "off"
    corenlp_dir: Path = field(default_factory=lambda: cache_root({}) / "corenlp")
    vote: str = VOTE_MODES[0]
    vote_languages: tuple[str, ...] = VOTE_LANGUAGES_DEFAULT
    en_web: str = EN_WEB_NER_MODES[0]
    en_web_dir: Path = field(
        default_factory=lambda: cache_root({}) / "models" / "en-web-ner")

    def corenlp_languages(self) -> tuple[str, ...]:
        """The languages whose CoreNLP tier is on."""
        return tuple(language for language, mode in (("en", self.en), ("es", self.es))
                     if mode != "off")


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """Downloaded files that are not Python packages (Kafka's jars, CoreNLP, corpora):
    ``$DOUANE_CACHE`` or ``<project root>/.cache``."""
    source = os.environ if env is None else env
    configured = source.get("DOUANE_CACHE")
    return Path(configured).resolve() if configured else project_root() / ".cache"


def load_ner_tiers(env: Mapping[str, str] | None = None) -> NerTiers:
    """The second-tier NER settings alone (a detector built without ``Settings`` reads them
    here); raises ``SettingError`` naming the variable for a value douane does not know."""
    source = os.environ if env is None else env
    return NerTiers(
        uk=_choice(source, "DOUANE_UK_NER", UK_NER_MODES),
        en=_choice(source, "DOUANE_EN_NER", CORENLP_MODES),
        es=_choice(source, "DOUANE_ES_NER", CORENLP_MODES),
        vote=_choice(source, "DOUANE_NER_VOTE", VOTE_MODES),
        vote_languages=_subset(source, "DOUANE_NER_VOTE_LANGUAGES", VOTE_LANGUAGES,
                               VOTE_LANGUAGES_DEFAULT),
        corenlp_dir=Path(source.get("DOUANE_CORENLP_DIR")
                         or cache_root(source) / "corenlp").resolve(),
        en_web=_choice(source, "DOUANE_EN_WEB_NER", EN_WEB_NER_MODES),
        en_web_dir=Path(source.get("DOUANE_EN_WEB_NER_DIR")
                        or cache_root(source) / "models" / "en-web-ner").resolve(),
    )


def keys_folder_for(home: Path) -> Path:
    """The default DOUANE_KEYS_DIR: a sibling of the data folder named after it
    (``.douane`` -> ``.douane-keys``). Not inside it, so that copying or backing up
    ``DOUANE_HOME`` never takes the keys along; a sibling, so a local install needs no root
    and two homes side by side never share keys."""
    return home.with_name(home.name + "-keys")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    source = os.environ if env is None else env
    home = Path(source.get("DOUANE_HOME", ".douane")).resolve()
    keys_dir = Path(source.get("DOUANE_KEYS_DIR") or keys_folder_for(home)).resolve()
    audit_db = Path(source.get("DOUANE_AUDIT_DB", str(home / "audit.sqlite3"))).resolve()
    return Settings(
        home=home,
        kafka_bootstrap=source.get("DOUANE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        audit_db=audit_db,
        signing_key=Path(
            source.get("DOUANE_SIGNING_KEY") or keys_dir / "audit-signing.pem").resolve(),
        policy_path=Path(
            source.get("DOUANE_POLICY", str(project_root() / "policies"))
        ).resolve(),
        max_message_bytes=int(source.get("DOUANE_MAX_MESSAGE_BYTES", str(256 * 1024))),
        provider_timeout_s=float(source.get("DOUANE_PROVIDER_TIMEOUT_S", "30")),
        log_format=source.get("DOUANE_LOG_FORMAT", "console"),
        app_id=source.get("DOUANE_APP_ID", "douane"),
        audit_origin=source.get(
            "DOUANE_AUDIT_ORIGIN",
            f"douane.example/audit/{source.get('DOUANE_APP_ID', 'douane')}"),
        checkpoint_every=int(source.get("DOUANE_CHECKPOINT_EVERY", "1000")),
        checkpoint_interval_s=float(source.get("DOUANE_CHECKPOINT_INTERVAL_S", "60")),
        phone_regions=tuple(
            r.strip().upper()
            for r in source.get("DOUANE_PHONE_REGIONS", "FR,ES,UA,IS,UY,GB,US").split(",")
            if r.strip()),
        detector_timeout_s=float(source.get("DOUANE_DETECTOR_TIMEOUT_S", "10")),
        audit_dsn=source.get("DOUANE_AUDIT_DSN") or None,
        audit_busy_timeout_s=float(source.get("DOUANE_AUDIT_BUSY_TIMEOUT_S", "30")),
        kafka_session_timeout_s=float(source.get("DOUANE_KAFKA_SESSION_TIMEOUT_S", "60")),
        kafka_commit_interval_s=_seconds(source, "DOUANE_KAFKA_COMMIT_INTERVAL_S", 0.5,
                                         maximum=60.0),
        kafka_delivery_timeout_s=_seconds(source, "DOUANE_KAFKA_DELIVERY_TIMEOUT_S", 300.0,
                                          maximum=900.0),
        fault=source.get("DOUANE_FAULT") or None,
        keys_db=Path(source.get("DOUANE_KEYS_DB", str(home / "keys.sqlite3"))).resolve(),
        vault_db=Path(source.get("DOUANE_VAULT_DB", str(home / "vault.sqlite3"))).resolve(),
        retention_interval_s=float(source.get("DOUANE_RETENTION_INTERVAL_S", "3600")),
        restore_answers=source.get("DOUANE_RESTORE_ANSWERS", "1").lower() not in
        ("0", "false", "no"),
        max_in_flight=_positive_int(source, "DOUANE_MAX_IN_FLIGHT", 512),
        topic_partitions=_positive_int(source, "DOUANE_TOPIC_PARTITIONS", 12),
        topic_replication_factor=_positive_int(source, "DOUANE_TOPIC_REPLICATION_FACTOR", 1),
        kafka_max_request_bytes=_positive_int(source, "DOUANE_KAFKA_MAX_REQUEST_BYTES",
                                              1024 * 1024),
        detection_processes=_count(source, "DOUANE_DETECTION_PROCESSES", 1),
        store_threads=_positive_int(source, "DOUANE_STORE_THREADS", 8),
        kafka_group_instance_id=_identifier(source, "DOUANE_KAFKA_GROUP_INSTANCE_ID"),
        topic_layout=_choice(source, "DOUANE_TOPIC_LAYOUT", LAYOUTS),
        kafka_client=_choice(source, "DOUANE_KAFKA_CLIENT", KAFKA_CLIENTS),
        kafka_acl_admin_properties=(Path(source["DOUANE_KAFKA_ACL_ADMIN_PROPERTIES"])
                                    if source.get("DOUANE_KAFKA_ACL_ADMIN_PROPERTIES")
                                    else None),
        kafka_security_env=tuple(sorted(
            (name, value) for name, value in source.items()
            if name.startswith(KAFKA_SECURITY_PREFIXES) and value)),
        policy_shadow_path=Path(source["DOUANE_POLICY_SHADOW"]).resolve()
        if source.get("DOUANE_POLICY_SHADOW") else None,
        keys_dir=keys_dir,
        kek_store=source.get("DOUANE_KEK_STORE") or str(keys_dir / "kek"),
        audit_witnesses=_paths(source, "DOUANE_AUDIT_WITNESSES"),
        audit_signer=_choice(source, "DOUANE_AUDIT_SIGNER", ("file", "pkcs11")),
        audit_quorum=_count(source, "DOUANE_AUDIT_QUORUM",
                            1 if _paths(source, "DOUANE_AUDIT_WITNESSES") else 0),
        dpo_signing_key=Path(
            source.get("DOUANE_DPO_SIGNING_KEY") or keys_dir / "dpo-signing.pem").resolve(),
        worker_http_port=_port(source, "DOUANE_WORKER_HTTP_PORT"),
        worker_http_host=source.get("DOUANE_WORKER_HTTP_HOST") or "127.0.0.1",
        front_door_keys=(Path(source["DOUANE_FRONT_DOOR_KEYS"])
                         if source.get("DOUANE_FRONT_DOOR_KEYS") else None),
        front_door_timeout_s=float(source.get("DOUANE_FRONT_DOOR_TIMEOUT_S", "60")),
        front_door_abandon_s=float(source.get("DOUANE_FRONT_DOOR_ABANDON_S", "600")),
        front_door_limits_env=tuple(sorted(
            (name, value) for name, value in source.items()
            if name.startswith(FRONT_DOOR_LIMIT_PREFIXES))),
        otel_env=tuple(sorted((name, value) for name, value in source.items()
                              if name.startswith("OTEL_"))),
        ner_tiers=load_ner_tiers(source),
        event_loop=_choice(source, "DOUANE_EVENT_LOOP", EVENT_LOOPS),
    )


class SettingError(DouaneError, ValueError):
    """A DOUANE_* variable holds a value douane cannot use; the message names it."""


INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,248}")


def _identifier(source: Mapping[str, str], name: str) -> str | None:
    text = source.get(name) or None
    if text is not None and not INSTANCE_ID.fullmatch(text):
        raise SettingError(f"{name} must be letters, digits, '.', '_' or '-' (at most 249), "
                           "e.g. the host name and a number: douane-worker-1")
    return text


def _choice(source: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when unset)."""
    text = source.get(name) or choices[0]
    if text not in choices:
        raise SettingError(f"{name}={text!r} must be one of: {', '.join(choices)}")
    return text


def _subset(source: Mapping[str, str], name: str, choices: tuple[str, ...],
            default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A comma-separated list of some of ``choices``, in their order (``default``, else all,
    when unset)."""
    text = source.get(name) or ""
    given = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [part for part in given if part not in choices]
    if unknown or (text.strip() and not given):
        raise SettingError(f"{name}={text!r} must be a comma-separated list of some of: "
                           f"{', '.join(choices)}")
    if not given:
        return choices if default is None else default
    return tuple(choice for choice in choices if choice in given)


def _paths(source: Mapping[str, str], name: str) -> tuple[Path, ...]:
    return tuple(Path(part.strip()).resolve() for part in source.get(name, "").split(",")
                 if part.strip())


def _port(source: Mapping[str, str], name: str) -> int:
    port = _count(source, name, 0)
    if port > 65535:
        raise SettingError(f"{name}={port} is not a TCP port (1-65535, or 0 for none)")
    return port


def _seconds(source: Mapping[str, str], name: str, default: float, maximum: float) -> float:
    """A duration in seconds, above 0 and at most ``maximum`` (the default when unset)."""
    text = source.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{name}={text!r} is not a number of seconds") from None
    if not 0 < value <= maximum:  # also refuses nan and inf
        raise SettingError(f"{name}={text!r} must be above 0 and at most {maximum:g} seconds")
    return value


def _positive_int(source: Mapping[str, str], name: str, default: int) -> int:
    return _count(source, name, default, minimum=1)


def _count(source: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    text = source.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingError(f"{name}={text!r} is not a whole number") from None
    if value < minimum:
        raise SettingError(f"{name}={text!r} must be at least {minimum}")
    return value
