"""``douane console``: the web console for DPOs, auditors and security teams, a face beside the
command (``streams/cli/``) that reads the same stores through ``streams/services/``.

app       the application: sessions, CSRF, roles, rendering, security headers
accounts  local accounts (Argon2id), lock-out, sessions, the roles' permissions
filters   the search filters of a query string, in the reader's time zone
i18n      English and French texts, the reader's time zone
assets    the vendored scripts (htmx, Chart.js) and their checksums
server    serving it until stopped
pages/    one module per page (map in its ``__init__``)
"""
