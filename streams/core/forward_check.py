"""Whether a message on a forward topic is exactly what the admit stage decided.

Anyone allowed to write to ``douane.forward.<provider>`` (or an ACL mistake) could otherwise
send a provider whatever they like, unredacted, under any classification. The forward stage
therefore sends only a message that matches, field by field, the request's signed ``admitted``
record: same request and tenant, decision ``forward``, same classification and purpose, same
providers in the same order, and a body whose digest is the one recorded at admission.

Pure: the caller loads (and checks the signature of) the admitted record; this compares.
Problems name fields, never their values (a forged message may carry personal data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.core.decision import forwarded_digest
from streams.core.model import Reason
from streams.core.placeholders import conversation_digest

__all__ = ["NOT_ADMITTED", "admission_problem"]

NOT_ADMITTED = "not-admitted"


def admission_problem(message: Mapping[str, Any],
                      admitted: Mapping[str, Any] | None) -> Reason | None:
    """None if ``message`` matches ``admitted`` (the payload of the request's validly signed
    ``admitted`` record, or None when there is none); otherwise the reason it is refused."""
    if admitted is None:
        return _refused("the request has no validly signed 'admitted' record")
    details = admitted.get("details", {})
    expected = {
        "kind": (admitted.get("kind"), "admitted"),
        "id": (admitted.get("request_id"), message.get("id")),
        "tenant": (admitted.get("tenant"), message.get("tenant")),
        "decision": (details.get("decision"), "forward"),
        "classification": (details.get("classification"), message.get("classification")),
        "purpose": (details.get("purpose"), message.get("purpose")),
        "providers": ([details.get("provider"), *details.get("fallbacks", [])],
                      [message.get("provider"), *(message.get("fallbacks") or [])]),
    }
    differing = [name for name, (recorded, given) in expected.items() if recorded != given]
    tenant, conversation = message.get("tenant"), message.get("conversation")
    if not (isinstance(tenant, str) and isinstance(conversation, str)
            and details.get("conversation_sha256") == conversation_digest(tenant, conversation)):
        differing.append("conversation")
    body = message.get("body")
    if not isinstance(body, dict) or details.get("forwarded_sha256") != forwarded_digest(body):
        differing.append("body")
    if differing:
        return _refused("it differs from the request's signed admission in: "
                        + ", ".join(differing))
    return None


def _refused(why: str) -> Reason:
    return Reason(NOT_ADMITTED, f"this forward message was not sent: {why}. Only what the admit "
                                "stage decided and signed is ever sent to a provider")
