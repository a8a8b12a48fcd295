"""The JSON Schemas douane ships, read from the installed package.

``schemas/`` at the root of the source is where they are written and documented;
``streams/schemas`` is a symbolic link to it, so the schemas are package data
(``pyproject.toml``) and an installed douane, editable or not, reads them with
:mod:`importlib.resources` wherever it was installed. One copy: nothing to keep in step.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from streams.core.forward_message import ForwardSchema
from streams.core.policy_load import PolicySchema

SCHEMA_NAMES = ("audit-record", "forward", "policy", "rejected", "request", "response")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.schema.json`` (e.g. ``request``), parsed."""
    if name not in SCHEMA_NAMES:
        raise ValueError(f"no schema named '{name}' (douane ships: {', '.join(SCHEMA_NAMES)})")
    text = (resources.files("streams") / "schemas" / f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def policy_schema() -> PolicySchema:
    """The policy schema with its validator, built once per process."""
    return PolicySchema(load_schema("policy"))


@functools.cache
def forward_schema() -> ForwardSchema:
    """The forward message schema with its validator, built once per process."""
    return ForwardSchema(load_schema("forward"))
