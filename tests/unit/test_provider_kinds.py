"""The provider kinds: one registry (streams.core.provider_kinds), the schema kept in step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from streams.adapters.providers.gateway import ProviderGateway
from streams.core.policy import Provider
from streams.core.provider_kinds import PROVIDER_KINDS, WIRE_FORMATS, WireFormat, wire_format

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "policy.schema.json"


def test_the_policy_schema_lists_exactly_the_registered_kinds() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$defs"]["provider"]["properties"]["kind"]["enum"] == list(PROVIDER_KINDS)


def test_every_wire_format_is_spoken_by_a_kind() -> None:
    assert set(WIRE_FORMATS.values()) == set(get_args(WireFormat))


async def test_the_gateway_has_an_adapter_for_every_kind() -> None:
    gateway = ProviderGateway(timeout_s=1.0)
    try:
        for kind in PROVIDER_KINDS:
            provider = Provider(id="p", kind=kind, endpoint="http://127.0.0.1:1/v1",
                                models=("m",), jurisdiction="FR")
            assert gateway.adapter(provider) is not None
    finally:
        await gateway.aclose()


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known kinds: openai, anthropic"):
        wire_format("telepathy")
    with pytest.raises(ValidationError, match="unknown provider kind 'telepathy'"):
        Provider(id="p", kind="telepathy", endpoint="http://127.0.0.1:1/v1", models=("m",),
                 jurisdiction="FR")
