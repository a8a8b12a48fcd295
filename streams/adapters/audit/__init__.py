"""The audit log: append-only, hash-chained, Ed25519-signed records in SQLite or PostgreSQL.

One concept per module; import from the module that holds the name:

- ``protocols``: what callers see (``AuditStore``, ``AuditLog``, ``StoredRecord``, the errors)
- ``schema``: the tables
- ``records``: the SQL reader every store shares
- ``group_commit``: the writing half every store shares (group commit, checkpoints, keys)
- ``sqlite``, ``postgres``: the two stores
- ``open``: which store a process uses, from the settings
- ``verify``: the keys a verifier trusts, checking a log or one record
"""
