"""Opening the audit log to append to. A process opens one writer and passes it around: the
worker its own (``streams/worker.py``), a command one for its run, the console one for its
life (``Console.audit_writer``).

Each writer signs with the key of its role: the worker with the worker's key
(``DOUANE_SIGNING_KEY``), the DPO commands (retention, erasure, holds, checkpoints) with the
DPO tools' key (``DOUANE_DPO_SIGNING_KEY``); both live in ``DOUANE_KEYS_DIR``, outside the data
folder. A worker key left at its old place inside ``DOUANE_HOME`` is moved out on first use.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from streams.adapters.audit.group_commit import GroupCommitLog
from streams.adapters.audit.open import open_audit_log
from streams.adapters.audit.protocols import AuditStore
from streams.adapters.pkcs11_keys import TokenSigner, open_token, signer_label, token_config
from streams.adapters.private_files import make_private_folder
from streams.adapters.signer import AuditSigner, export_public_key, load_or_create_signer
from streams.config import Settings
from streams.core.audit import AuditEvent
from streams.core.keyring import DPO, WORKER

log = structlog.get_logger(__name__)


def role_signer(settings: Settings, role: str) -> AuditSigner:
    """The signing key of ``role`` (created on first use), its public key exported beside the
    log for verifiers."""
    public = settings.public_key if role == WORKER else settings.dpo_public_key
    if settings.audit_signer == "pkcs11":
        signer = TokenSigner(open_token(token_config()), signer_label(role))
        export_public_key(signer.public_key_pem(), public)
        return signer
    if role == WORKER:
        move_legacy_signing_key(settings)
        return load_or_create_signer(settings.signing_key, public)
    return load_or_create_signer(settings.dpo_signing_key, public)


def move_legacy_signing_key(settings: Settings) -> None:
    """Move a worker key from inside the data folder (older versions) to DOUANE_KEYS_DIR, so
    the log keeps its active key and a copy of the data folder no longer carries it."""
    old, new = settings.legacy_signing_key, settings.signing_key
    if old == new or new.exists() or not old.exists():
        return
    make_private_folder(new.parent)
    try:
        os.rename(old, new)  # atomic: two processes starting at once move it once
    except FileNotFoundError:
        return  # the other one moved it
    except OSError:  # another file system: copy, then remove the old one
        shutil.copy2(old, new)
        old.unlink()
    log.warning("audit signing key moved out of the data folder", to=str(new))


def open_writer(settings: Settings, role: str = DPO, *,
                follow_rotation: bool = False) -> GroupCommitLog:
    """A writer signing with ``role``'s key: the DPO tools' by default (every command but the
    worker writes as the DPO tools). ``follow_rotation``, for a writer a process keeps open
    (the console's): when another process rotated the key, it loads the new one."""
    loader = (lambda: role_signer(settings, role)) if follow_rotation else None
    return open_audit_log(settings, role_signer(settings, role), signer_loader=loader, role=role)


def append_record(audit: AuditStore, build: Callable[[str, datetime], AuditEvent]) -> str:
    """Append one signed record that belongs to no request, built by ``build(unique, now)``
    (a function of ``streams.core.audit_events`` given its values); returns its id."""
    event = build(uuid.uuid4().hex, datetime.now(UTC))
    audit.append(event)
    return event.record_id
