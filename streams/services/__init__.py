"""What the commands, the worker and (later) the console share, with their stores passed in.

topics          douane's Kafka topics: names, creation, partitions, retention from the policy
stores          opening the key store and the personal vault from the settings
audit_log       opening the audit log to append to (one writer per process)
retention       retention runs, legal holds, what is held (status and policy reports)
persons         one person's identifiers (the core's linking rule over the vault), a DPO's
                confirm/split, the holds that protect a whole person
erasure         erasing one person (crypto-shredding), dry-run plans, refusals, what it cannot reach
subject_access  what douane holds about one person, and the erasures the log records
policy_in_force the policy set the worker runs, as the audit log records it (DPO commands)
evidence        evidence bundles, inclusion proofs, the witness quorum check
audit_search    the console's search (pages of records, newest first) and overview (requests by
                day and status, entity types, providers, jurisdictions, reasons, tenants)

Services never print and never parse arguments (that is ``streams/cli/``); they take their
stores and the audit writer as arguments, so a process opens each once.
"""
