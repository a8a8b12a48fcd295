"""Where provider calls used to live; kept so older imports keep working.

Provider calls are now in ``streams.adapters.providers``: one adapter per wire format behind
``ProviderGateway``, with retries, circuit breakers and fallback in ``delivery``.
"""

from __future__ import annotations

from streams.adapters.providers.base import (
    AUDIT_RECORD_HEADER,
    REQUEST_ID_HEADER,
    ProviderAnswer,
    ProviderError,
)

__all__ = ["AUDIT_RECORD_HEADER", "REQUEST_ID_HEADER", "ProviderAnswer", "ProviderError"]
