"""The audit log: append-only, hash-chained, Ed25519-signed records in SQLite or PostgreSQL.

One concept per module; import from the module that holds the name:

- ``protocols``: what callers see (``AuditStore``, ``AuditLog``, ``StoredRecord``, the errors)
- ``schema``: the tables, defined once for every database
- ``backend``: what a database gives the log (``Database`` to read, ``Backend`` to write)
- ``records``: the SQL reader every store shares (``SqlRecords``)
- ``group_commit``: the writing half every store shares (``GroupCommitLog``: group commit,
  checkpoints, key rotation), writing through a ``Backend``
- ``sqlite``, ``postgres``: the two backends, and the stores and readers built on them
- ``index``: the search index and daily counts (not evidence), kept by the append path and
  read by searches and the overview
- ``open``: which store a process uses, from the settings
- ``verify``: the keys a verifier trusts, checking a log or one record
"""
