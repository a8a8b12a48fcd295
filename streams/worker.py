"""Assembling a running worker: settings -> policy, detector, audit store, provider -> Kafka.

The only place that knows which concrete adapters are used; tests build a ``Pipeline`` with
the same function and drive it without Kafka.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog

from streams.adapters import metrics, tracing
from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.open import describe, open_audit_log
from streams.adapters.audit.protocols import AUDIT_UNAVAILABLE
from streams.adapters.fault import wrap_for_faults
from streams.adapters.kafka_acl_admin import reconcile_acls
from streams.adapters.kafka_security import (
    ADMIN_PRINCIPAL,
    PROPERTIES_VAR,
    KafkaConnection,
    check_kafka,
    generated_client_properties,
    is_local_bootstrap,
    kafka_connection,
    load_security,
)
from streams.adapters.operator_keys import FileOperatorKeys
from streams.adapters.personal_vault import PersonalVault
from streams.adapters.placeholder_vault import PlaceholderVault
from streams.adapters.policy_files import load_policy_set
from streams.adapters.policy_reload import (
    PolicyReloader,
    detection_gaps,
    policy_event,
    shadow_event,
)
from streams.adapters.presidio_detector import (
    detector_for_policy,
    policy_default_language,
    policy_languages_and_entities,
    policy_wants_possible_names,
)
from streams.adapters.providers.gateway import ProviderGateway
from streams.adapters.schemas import load_schema
from streams.adapters.shredding_operator_keys import (
    ShreddingOperatorKeys,
    shortest_payload_retention,
)
from streams.config import Settings
from streams.core.audit import AuditEvent
from streams.core.intake import RequestIntake
from streams.core.kafka_acls import acl_layout
from streams.core.kept_bytes import kept_bytes_for
from streams.core.keyring import WORKER
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import Detector
from streams.pipeline import Pipeline
from streams.runtime import event_loop
from streams.runtime.batched_detection import BatchedDetector, ProcessBatches
from streams.runtime.health import WorkerHealth, start_health_server
from streams.runtime.parallel_consumer import ParallelStages
from streams.services.audit_log import role_signer
from streams.services.retention import scheduled_retention_run
from streams.services.stores import open_key_store, vault_path
from streams.services.topics import consumed_topics, prepare_topics

log = structlog.get_logger(__name__)

POLICY_CHECK_INTERVAL_S = 2.0


def load_policy(path: Path) -> LoadedPolicy:
    """The policy set at ``path`` (a folder with policy.yaml, or a file). PolicyError if not
    valid: the worker does not start on an invalid policy. Its warnings are logged."""
    loaded = load_policy_set(path)
    for warning in loaded.warnings:
        log.warning("policy warning", warning=warning)
    return loaded


def load_request_schema() -> dict[str, object]:
    return copy.deepcopy(load_schema("request"))


def open_worker_audit_log(settings: Settings) -> GroupCommitLog:
    """The audit log the worker writes, re-reading the signing key when it is rotated."""
    return open_audit_log(settings, role_signer(settings, WORKER),
                          signer_loader=lambda: role_signer(settings, WORKER), role=WORKER)


def build_pipeline(settings: Settings, audit_log: GroupCommitLog,
                   detector: Detector | None = None) -> Pipeline:
    """The worker's pipeline. Detection runs in ``DOUANE_DETECTION_PROCESSES`` processes that
    load the models; with 0 (or a ``detector`` given, in tests) in a thread of this process."""
    policy = load_policy(settings.policy_path)
    started = time.monotonic()
    detection: BatchedDetector
    if detector is None and settings.detection_processes > 0:
        languages, entities = policy_languages_and_entities(policy.policy)
        processes = ProcessBatches(settings.detection_processes, languages, entities,
                                   settings.phone_regions,
                                   policy_default_language(policy.policy, languages),
                                   policy_wants_possible_names(policy.policy))
        processes.wait_until_loaded()
        detection = BatchedDetector(processes, settings.detector_timeout_s)
    else:
        detection = BatchedDetector.in_thread(
            detector or detector_for_policy(policy.policy, settings.phone_regions),
            settings.detector_timeout_s)
    log.info("detector ready", seconds=round(time.monotonic() - started, 1),
             processes=detection.batches.parallel if detector is None else 0)
    # every personal value douane keeps (encrypt tokens, placeholders) under per-person keys
    vault = PersonalVault(vault_path(settings), open_key_store(settings))
    return Pipeline(
        policy=policy,
        intake=RequestIntake(load_request_schema(), policy.policy.tenant_ids,
                             settings.max_message_bytes),
        detector=None,
        audit=wrap_for_faults(audit_log, settings.fault),
        provider=ProviderGateway(settings.provider_timeout_s),
        detector_timeout_s=settings.detector_timeout_s,
        keys=shredding_keys(settings, policy, vault),
        placeholders=PlaceholderVault(vault),
        responses=vault,  # answered responses, to publish them again after a crash
        restore_answers=settings.restore_answers,
        detection=detection,
        store_threads=settings.store_threads,
        original_kept_bytes=kept_bytes_for(settings.kafka_max_request_bytes),
        # a set under evaluation (DOUANE_POLICY_SHADOW): decided and recorded, never enforced
        shadow=load_policy(settings.policy_shadow_path) if settings.policy_shadow_path
        else None,
        topic_layout=settings.topic_layout,
    )


def shredding_keys(settings: Settings, policy: LoadedPolicy,
                   vault: PersonalVault) -> ShreddingOperatorKeys:
    """`encrypt` tokens die with their data keys; the values are listed in the vault."""
    return ShreddingOperatorKeys(
        vault.keys, FileOperatorKeys(settings.home / "keys" / "operators"),
        shortest_payload_retention(policy), vault)


def audit_shadow(pipeline: Pipeline, path: Path, app_id: str) -> AuditEvent:
    """The record saying which set is judged in shadow, and what its decisions cannot see: the
    detector is the one the set in force needs (detecting more would change its findings)."""
    assert pipeline.shadow is not None
    limits = [f"{gap}; the shadow decisions ignore them" for gap in
              detection_gaps(pipeline.detection, pipeline.shadow)]
    for limit in limits:
        log.warning("shadow policy limited by the detector", limit=limit)
    log.info("shadow policy loaded: decided and recorded, never enforced",
             shadow=pipeline.shadow.reference, policy=pipeline.policy.reference)
    return shadow_event(pipeline.policy, pipeline.shadow, path, app_id, limits)


def run_worker(settings: Settings) -> int:
    # Kafka first: a wrong password or CA stops the worker in seconds, before the detection
    # models load (tens of seconds)
    event_loop.run(check_kafka(kafka_connection(settings, "worker"), "the worker"),
                   settings.event_loop)
    audit_log = open_worker_audit_log(settings)
    pipeline = build_pipeline(settings, audit_log)
    pipeline.audit.append(policy_event("loaded", None, pipeline.policy, settings.policy_path,
                                       settings.app_id))
    if pipeline.shadow is not None and settings.policy_shadow_path is not None:
        pipeline.audit.append(audit_shadow(pipeline, settings.policy_shadow_path,
                                           settings.app_id))
    # after the detection processes are started: they export nothing
    tracing.start_tracing("douane-worker", dict(settings.otel_env))  # when configured
    # what startup made (policy, schemas, clients) lives as long as the process: out of the
    # collector's sight, a full collection under load no longer walks it again
    gc.freeze()
    try:
        event_loop.run(_serve(settings, pipeline, audit_log), settings.event_loop)
    finally:
        tracing.stop_tracing()  # the spans still queued leave now
    return 0


async def _serve(settings: Settings, pipeline: Pipeline, audit_log: GroupCommitLog) -> None:
    health = WorkerHealth(pipeline, audit_log)
    # first: liveness answers (and readiness says not yet) while topics and ACLs are prepared
    runner = (await start_health_server(health, settings.worker_http_host,
                                        settings.worker_http_port)
              if settings.worker_http_port else None)
    try:
        await _serve_stages(settings, pipeline, audit_log, health)
    finally:
        if runner is not None:
            await runner.cleanup()


async def _serve_stages(settings: Settings, pipeline: Pipeline, audit_log: GroupCommitLog,
                        health: WorkerHealth) -> None:
    from streams.app import run_stages

    kafka = kafka_connection(settings, "worker")
    acl_admin = acl_admin_connection(settings)
    await prepare_topics(kafka, pipeline.policy, settings.topic_partitions,
                         settings.topic_layout, settings.topic_replication_factor)
    await apply_acls(acl_admin, settings, pipeline.policy)
    running: list[ParallelStages] = []

    async def topics_acls_retention_from(policy: LoadedPolicy) -> None:
        # a tenant added gets its topics and ACLs before the worker reads its topic; a
        # tenant removed loses its ACLs and is no longer read
        await prepare_topics(kafka, policy, settings.topic_partitions, settings.topic_layout,
                             settings.topic_replication_factor)
        await apply_acls(acl_admin, settings, policy)
        for stages in running:
            stages.follow(consumed_topics(policy, settings.topic_layout))
        if isinstance(pipeline.keys, ShreddingOperatorKeys):
            pipeline.keys.retention_s = shortest_payload_retention(policy)

    reloader = PolicyReloader(settings.policy_path, pipeline, pipeline.audit, settings.app_id,
                              on_applied=topics_acls_retention_from)

    async def reload_policy() -> None:
        before = reloader.seen
        outcome = await reloader.check()
        if outcome is not None:
            metrics.POLICY_RELOADS.labels(outcome).inc()
        if reloader.seen != before:  # the files were read: did they load?
            health.policy_refused = outcome == "refused"

    async def sign_checkpoint() -> None:
        # appends sign one when due; this covers the last records when traffic stops
        # (a no-op when the latest checkpoint already covers the whole log). It opens a
        # write transaction even then: the readiness's check that the store can write
        try:
            await asyncio.to_thread(audit_log.issue_checkpoint)
        except AUDIT_UNAVAILABLE:
            pipeline.audit_writable = False
            raise
        pipeline.audit_writable = True

    async def retention_run() -> None:
        # through the worker's own audit writer: one writer per process
        try:
            report = await asyncio.to_thread(scheduled_retention_run, settings, pipeline.audit)
        except Exception:
            metrics.RETENTION_RUNS.labels("failed").inc()
            raise
        metrics.RETENTION_RUNS.labels("done").inc()
        metrics.KEYS_DESTROYED.labels("data").inc(len(report.destroyed.keys))
        metrics.KEYS_DESTROYED.labels("period").inc(len(report.destroyed.keks))

    timers = [every(POLICY_CHECK_INTERVAL_S, reload_policy,
                    "policy reload failed; the previous policy stays in force"),
              every(settings.retention_interval_s, retention_run, "retention run failed")]
    if settings.checkpoint_interval_s > 0:
        timers.append(every(settings.checkpoint_interval_s, sign_checkpoint,
                            "checkpoint signing failed"))
    log.info("worker starting", bootstrap=settings.kafka_bootstrap,
             kafka_security=kafka.security.describe(),
             policy=pipeline.policy.reference, audit_store=describe(settings),
             max_in_flight=settings.max_in_flight, event_loop=event_loop.loop_name(),
             kafka_client=settings.kafka_client)

    def on_running(stages: ParallelStages) -> None:
        running.append(stages)
        health.consumer = stages

    await run_stages(settings, pipeline, timers, on_running=on_running)


def acl_admin_connection(settings: Settings) -> KafkaConnection | None:
    """Who applies douane's ACLs: the principal of ``DOUANE_KAFKA_ACL_ADMIN_PROPERTIES`` (a
    cluster admin: creating ACLs needs ALTER on the cluster, which the worker's own principal
    must not have, or it could grant itself anything); on a local broker started by
    ``douane kafka start``, its ``douane-admin``; otherwise nobody (the operator applies the
    layout, docs/security.md)."""
    if settings.kafka_acl_admin_properties is not None:
        return KafkaConnection(settings.kafka_bootstrap, load_security(
            {PROPERTIES_VAR: str(settings.kafka_acl_admin_properties)}))
    admin_file = generated_client_properties(settings, ADMIN_PRINCIPAL)
    if is_local_bootstrap(settings.kafka_bootstrap) and admin_file.is_file():
        return KafkaConnection(settings.kafka_bootstrap, load_security({}, admin_file))
    return None


async def apply_acls(acl_admin: KafkaConnection | None, settings: Settings,
                     policy: LoadedPolicy) -> None:
    """Make the ACLs of douane's principals the layout for this policy's tenants."""
    if acl_admin is None:
        log.info("kafka ACLs not managed by the worker (no DOUANE_KAFKA_ACL_ADMIN_PROPERTIES): "
                 "apply douane's layout on the cluster (docs/security.md)")
        return
    await reconcile_acls(acl_admin, acl_layout(sorted(policy.policy.tenant_ids),
                                               settings.topic_layout))


def every(interval_s: float, job: Callable[[], Awaitable[None]],
          failure: str) -> Callable[[], Coroutine[Any, Any, None]]:
    """A timer: ``job`` every ``interval_s`` seconds; a failure is logged and retried at the
    next interval, never stopping the worker."""
    async def timer() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job()
            except Exception as error:
                log.error(failure, error_type=type(error).__name__)
    return timer
