"""``douane audit ...``: what a data-protection officer runs against the audit log."""

from __future__ import annotations

from streams.adapters.audit_store import load_audit_schema, verify_store
from streams.config import Settings


def run_verify(settings: Settings) -> int:
    if not settings.audit_db.exists():
        print(f"audit verify: no audit database at {settings.audit_db} "
              "(set DOUANE_AUDIT_DB or run the worker first)")
        return 2
    if not settings.public_key.exists():
        print(f"audit verify: no public key at {settings.public_key}")
        return 2
    report = verify_store(settings.audit_db, [settings.public_key], load_audit_schema())
    if report.ok:
        print(f"audit verify: OK - {report.records_checked} records, signatures and chain intact "
              f"({settings.audit_db})")
        return 0
    print(f"audit verify: FAILED after {report.records_checked} good records - "
          f"first bad record: seq {report.first_bad_seq} ({report.first_bad_record_id}): "
          f"{report.problem}")
    return 1
