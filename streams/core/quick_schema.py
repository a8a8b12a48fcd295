"""A compiled check of a JSON Schema for the messages that pass it, the common case.

jsonschema (pure Python) walks its schema for every message: about 130 µs of CPU for a request
and 150 µs for a forward message, on the worker's event loop. jsonschema-rs (Rust, compiled
once per schema) answers "valid or not" in 1-2 µs for the same schemas and draft (2020-12,
patterns with ECMA-262's ``$``: the end of the input). It only says yes or no: a message it
refuses is checked again by the jsonschema validator that names the place and rule broken, so
the errors are jsonschema's, word for word. A message it cannot read (a value JSON does not
have) is refused by it and left to jsonschema too. ``tests/unit/test_intake_fuzz.py`` checks
that both agree on generated messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs


class QuickSchema:
    """Whether a value matches ``schema``; no error details (jsonschema gives those)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        # no reference leaves the schema: refused rather than fetched (the core does no I/O)
        self._validator = jsonschema_rs.validator_for(dict(schema), retriever=_no_retrieval)

    def passes(self, value: object) -> bool:
        try:
            return self._validator.is_valid(value)
        except Exception:  # a value it cannot convert (a lone surrogate...): jsonschema decides
            return False


def _no_retrieval(uri: str) -> Any:
    raise ValueError(f"the schema refers to {uri}: douane's schemas refer to nothing outside")
