"""The console's pages, one module each, each registering its routes (``register(app)``) as a
command group registers its subcommands.

sign_in     sign in and out
overview    counts and charts over a period, each linking to its search
costs       cost and dependence (douane report's figures) and the report to download
search      the audit query's filters, paginated results, a record's detail, CSV/JSON export
integrity   the latest checkpoint, witness cosignatures, a full verification with progress
evidence    the evidence bundle the standalone verifier checks
people      subject access, erasure with confirmation, legal holds, retention status (dpo)
policies    the policy in force, the history of policy changes, two versions compared
"""

from __future__ import annotations

from streams.console.pages import (
    costs,
    evidence,
    integrity,
    overview,
    people,
    policies,
    search,
    sign_in,
)

PAGES = (sign_in, overview, costs, search, integrity, evidence, people, policies)
