"""The provider kinds douane knows and the wire format each one speaks: the one registry.

A policy declares each provider with a ``kind``; the kind says which wire format douane speaks
to it (the endpoint in the policy says where). Everything else is derived from this table:
the ``kind`` a policy may name (``streams.core.policy.Provider``), the adapter the gateway
picks (``streams.adapters.providers.gateway``). ``schemas/policy.schema.json`` is a static
contract and lists the kinds in its ``kind`` enum; a unit test keeps it equal to this table.

Adding a kind that speaks an existing wire format: one line here and one in the schema's enum.
A new wire format also needs its adapter in ``streams/adapters/providers/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

__all__ = ["PROVIDER_KINDS", "WIRE_FORMATS", "WireFormat", "wire_format"]

WireFormat = Literal["openai-chat", "anthropic-messages", "gemini"]

# kind -> wire format, in the order the documentation lists them
WIRE_FORMATS: Final[Mapping[str, WireFormat]] = MappingProxyType({
    "openai": "openai-chat",
    "anthropic": "anthropic-messages",
    "gemini": "gemini",
    "mistral": "openai-chat",
    "openai-compatible": "openai-chat",   # vLLM, Ollama, llama.cpp... (the sovereign door)
    "dashscope": "openai-chat",           # Alibaba Qwen, compatible mode
    "qianfan": "openai-chat",             # Baidu ERNIE, Qianfan v2
})

PROVIDER_KINDS: Final[tuple[str, ...]] = tuple(WIRE_FORMATS)


def wire_format(kind: str) -> WireFormat:
    """The wire format of a provider kind; ``ValueError`` naming the known kinds otherwise."""
    try:
        return WIRE_FORMATS[kind]
    except KeyError:
        raise ValueError(f"unknown provider kind {kind!r}; known kinds: "
                         + ", ".join(PROVIDER_KINDS)) from None
