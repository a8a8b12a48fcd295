"""douane's exceptions: one base class, and the whole tree in one place.

Every exception class defined under ``streams/`` derives from :class:`DouaneError` (a unit
test, ``tests/unit/test_errors.py``, finds them all and checks it). Most also keep the
built-in base they have always had (``ValueError``, ``RuntimeError``, ``LookupError``), so
that code catching those goes on catching them. The ``douane`` command prints any
``DouaneError`` that reaches it the same way, ``douane: <diagnostics>``, and exits with 2.

Messages and diagnostics are safe to print and to log: they name files, lines, fields, rule
ids, providers, URLs, statuses and audit record ids, never a prompt, an answer, a detected
value or any other personal data. A new exception class keeps it so.

The tree (module in brackets; built-in base after the ``/``)::

    DouaneError
    ├── SettingError / ValueError               [config]  a DOUANE_* variable douane cannot use
    │   └── KafkaSecurityError                  [adapters.kafka_security]  unusable Kafka
    │                                             client security settings (TLS, SASL)
    ├── PolicyError / ValueError                [core.policy]  a policy set that cannot be
    │                                             used; one file:line:column problem per line
    ├── YamlSyntaxError / ValueError            [core.policy_yaml]  YAML that does not parse
    ├── IncludeOutsideFolder / PermissionError  [core.policy_load]  an include that leads
    │                                             outside the manifest's folder
    ├── CaseFileError / ValueError              [core.policy_cases]  a bad policy test file
    ├── CanonicalJsonError / ValueError         [core.canonical_json]  not representable (JCS)
    ├── AuditPayloadError / ValueError          [core.audit]  an event that cannot be a record
    ├── CheckpointError / ValueError            [core.checkpoint]  a bad or unverified checkpoint
    ├── WitnessRefusal / ValueError             [core.cosignature]  a fork or a rollback
    ├── KeyringError / ValueError               [core.keyring]  a bad keyring file
    ├── ProofError / ValueError                 [core.merkle]  a Merkle proof that does not verify
    ├── UnreadableCost / ValueError             [core.pricing]  an answered record's usage or
    │                                             cost fields are not what douane writes
    ├── AuditStoreError / RuntimeError          [adapters.audit.protocols]  the audit log cannot
    │   │                                         do what was asked
    │   ├── AuditStoreCorruptError              a stored row cannot be read back
    │   └── AuditStoreUnavailableError          the database server cannot be reached
    ├── SqliteOpenError / RuntimeError          [adapters.sqlite_files]  no WAL database in time
    ├── KeyStoreError / RuntimeError            [adapters.key_store]
    │   └── SubjectHeldError                    an erasure asked for a subject under legal hold
    ├── KekStoreError / RuntimeError            [adapters.kek_store]  a period key is damaged or
    │                                             cannot be taken over
    ├── TokenError / RuntimeError               [adapters.pkcs11_keys]  the PKCS#11 token cannot
    │                                             be used (module, token, PIN or key named)
    ├── ValueErasedError / LookupError          [adapters.personal_vault]  its data key is gone
    ├── ErasureRefusedError / RuntimeError      [services.erasure]  a person linked ambiguously
    │                                             (a DPO must confirm or split the links first)
    ├── ReportError / ValueError                [services.report]  a transparency report that
    │                                             cannot be computed (a bundle that is not
    │                                             valid evidence, a bad --at-size)
    ├── DetectorError / RuntimeError            [adapters.presidio_detector]  detection failed
    │                                             (the request is blocked: fail closed)
    ├── StepsOverCpuLimit / TimeoutError        [adapters.recognizers.base]  the steps after
    │                                             the recognizers used their CPU limit on one
    │                                             request (a DetectorError's cause: blocked)
    ├── ModelsOverCpuLimit / TimeoutError       [adapters.recognizers.base]  NER or a model
    │                                             tier used its CPU limit on one request (a
    │                                             DetectorError's cause: blocked)
    ├── SlovnetUnavailableError / RuntimeError  [adapters.recognizers.slovnet_ner]  DOUANE_UK_NER
    │                                             set, its PyPI packages not installed
    ├── CoreNlpUnavailableError / RuntimeError  [adapters.recognizers.corenlp_ner]  DOUANE_EN_NER
    │                                             or DOUANE_ES_NER on, CoreNLP not fetched (or
    │                                             no Java), or fetching it failed
    ├── CoreNlpSidecarError / RuntimeError      [adapters.recognizers.corenlp_ner]  the CoreNLP
    │                                             JVM died or hung (detection fails: blocked)
    ├── EnWebNerUnavailableError / RuntimeError [adapters.recognizers.en_web_ner]
    │                                             DOUANE_EN_WEB_NER on, its model not built,
    │                                             altered or not the manifest's
    ├── BuildError / RuntimeError               [devtools.train_ner]  a training file could
    │                                             not be read or is not the pinned one
    ├── RangesRefused / RuntimeError            [adapters.recognizers.corenlp_ner]  no byte
    │                                             ranges served (the whole jar is fetched)
    ├── DetectionProcessDied / RuntimeError     [runtime.batched_detection]  the detection
    │                                             process holding a batch exited (blocked)
    ├── ClientFailed / RuntimeError             [runtime.parallel_consumer_librdkafka]  a
    │                                             fatal librdkafka error: the worker exits
    │                                             for its supervisor to restart it
    ├── ProviderError / RuntimeError            [adapters.providers.base]  a provider call gave
    │                                             no usable answer; ``kind``, ``retryable``
    ├── WitnessError / RuntimeError             [adapters.witness]  a bad witness directory
    ├── FaultSpecError / ValueError             [adapters.fault]  a DOUANE_FAULT not understood
    ├── TracingSettingError / ValueError        [adapters.tracing]  an OTEL_* setting douane
    │                                             cannot honour (another exporter or protocol)
    ├── KafkaConnectError / ConnectionError     [adapters.kafka_security]  a Kafka client could
    │                                             not start; says what to check
    ├── KafkaAclError / RuntimeError            [adapters.kafka_acl_admin]  the broker refused
    │                                             to create, list or delete ACLs
    ├── TopicsNotCreatedError                   [services.topics]  the broker refused to create
    │                                             a topic (named, with Kafka's reason)
    ├── KafkaBrokerError / RuntimeError         [devtools.kafka_broker]  the local broker cannot
    │                                             be managed
    ├── KafkaPrincipalError / RuntimeError      [devtools.kafka_principals]  a principal of the
    │                                             local broker cannot be changed
    ├── CorpusMissing / RuntimeError            [devtools.bench.third_party]  a labelled corpus
    │                                             is not in the cache or cannot be fetched
    ├── BadRequest / ValueError                 [front_door.openai_format]  an OpenAI request
    │                                             that is not a douane request
    ├── KeyFileError / ValueError               [front_door.keys]  an unreadable API key file
    ├── AccountError / ValueError               [console.accounts]  a console account that cannot
    │                                             be added as asked (name, role, password length)
    ├── FilterError / ValueError                [console.filters]  a console search filter that
    │                                             cannot be read (names the filter, not its value)
    └── LimitSettingError / ValueError          [front_door.limits]  a bad front-door limit

Module-private exceptions used for control flow inside one module (``core.audit._NotPlain``,
``core.audit._Bad``, ``devtools.kafka_broker._NotReady``) derive from ``DouaneError`` too, so
the rule has no exceptions. The one exception is ``streams.offline_verifier.Invalid``: the
offline verifier is a single file an auditor copies and runs without douane, so it imports
nothing from ``streams``.
"""

from __future__ import annotations

__all__ = ["DouaneError"]


class DouaneError(Exception):
    """The base of every exception douane defines (the tree is in this module's docstring)."""

    def diagnostics(self) -> str:
        """What an operator reads: the message, and where the problem is when the error
        knows (subclasses carrying locations override this). Safe to print: never personal
        data."""
        return str(self)
