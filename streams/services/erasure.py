"""Erasing one data subject: destroy their data keys (crypto-shredding), prune, audit."""

from __future__ import annotations

from dataclasses import dataclass

from streams.adapters.audit.protocols import AuditStore
from streams.adapters.key_store import DestroyedKeys, KeyStore
from streams.adapters.personal_vault import PersonalVault
from streams.services.audit_log import append_record
from streams.services.retention import as_of


@dataclass(frozen=True)
class ErasureReport:
    tenant: str
    subject: str
    destroyed: DestroyedKeys
    pruned: int
    record_id: str

    def text(self) -> str:
        lines = [f"erasure: subject {self.subject} of tenant {self.tenant}: "
                 f"{len(self.destroyed.keys)} data keys destroyed, {self.pruned} vault entries "
                 "pruned"]
        if not self.destroyed.keys:
            lines.append("  douane held no data key for this subject: nothing to erase (the "
                         "request is recorded; check the spelling, or search by --subject)")
        lines += [f"  key {k.key_id} ({k.period.label})" for k in self.destroyed.keys]
        lines.append(f"audit record {self.record_id}")
        return "\n".join(lines)


def erase_subject(keys: KeyStore, vault: PersonalVault, audit: AuditStore, tenant: str,
                  subject: str, reason: str) -> ErasureReport:
    """SubjectHeldError (nothing destroyed) if a legal hold covers the subject."""
    destroyed = keys.erase(tenant, subject)
    pruned = vault.prune(keys.live_key_ids())
    record_id = append_record(audit, "erased", tenant, {
        "as_of": as_of(keys.clock), "subject_fingerprint": subject, "reason": reason,
        "data_keys": [{"key_id": k.key_id, "period": k.period.period_id}
                      for k in destroyed.keys],
        "vault_entries_pruned": pruned,
    })
    return ErasureReport(tenant, subject, destroyed, pruned, record_id)
