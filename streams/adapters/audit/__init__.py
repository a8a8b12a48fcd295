"""The audit log: append-only, hash-chained, Ed25519-signed records in SQLite or PostgreSQL.

One concept per module; import from the module that holds the name:

- ``protocols``: what callers see (``AuditStore``, ``AuditLog``, ``StoredRecord``, the errors)
- ``schema``: the tables, defined once for every database
- ``backend``: what a database gives the log (``Database`` to read, ``Backend`` to write)
- ``records``: the SQL reader every store shares (``SqlRecords``)
- ``spend_ledger``: the budgets' ledger (``budget_spend``), written with each answered append
- ``group_commit``: the store itself, one class for every database (``GroupCommitLog``: group
  commit, checkpoints, key rotation), writing through a ``Backend`` it is given
- ``sqlite``, ``postgres``: the two backends, and the functions that open a log or a reader on
  one (``open_sqlite_log``, ``open_sqlite_reader``, ``open_postgres_log``,
  ``open_postgres_reader``)
- ``index``: the search index and daily counts (not evidence), kept by the append path and
  read by searches and the overview
- ``open``: which store a process uses, from the settings
- ``verify``: the keys a verifier trusts, checking a log or one record
"""
