"""What a caller is told about a refusal: the stable code and a sentence saying what to do.

The full reasons (which rule of which policy file decided, which providers were excluded and
why, what a provider answered) are for the people who run douane: they stay in the audit
record (``douane audit query``, ``douane policy explain``). A producing system or a front-door
caller gets none of them: no caller role may see them (front-door keys and tenant principals
have none), and the policy's structure is not the caller's to probe.

A reason built with a ``client`` sentence (:class:`streams.core.model.Reason`) keeps it; any
other gets the sentence of its code below, or :data:`OTHERWISE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

OTHERWISE = ("the request could not be completed; give its request id and audit record id to "
             "your douane operator, who can see why")

# code -> the caller's sentence when the reason did not carry one of its own
FOR_CALLERS: dict[str, str] = {
    "unknown-tenant": "the request's tenant is not served by this douane: use the tenant your "
                      "douane operator gave you",
    "unknown-purpose": "the request's purpose is not declared in the policy: use a purpose "
                       "your douane operator gave you, or leave it out",
    "purpose-not-allowed": "this tenant may not declare this purpose: use one of the purposes "
                           "your douane operator gave you, or leave it out",
    "unknown-classification": "the classification is not one of douane's (public, internal, "
                              "personal, sensitive, secret): use one of them",
    "no-residency-rule": "the policy lets no provider receive a request of this classification: "
                         "nothing was sent; ask your douane operator",
    "no-allowed-provider": "no provider the policy allows may receive this request: nothing "
                           "was sent; ask your douane operator, or send it again later with a "
                           "new id",
    "model-not-allowed": "the requested model may not be used for this request: leave the "
                         "model out (or use \"auto\") to let the policy choose",
    "operator-unavailable": "douane cannot protect the personal data in this request right now: "
                            "nothing was sent; tell your douane operator",
    "provider-unavailable": "an allowed provider is failing repeatedly and was skipped; send "
                            "the request again later with a new id",
    "provider-failed": "an allowed provider gave no answer (after retries); send the request "
                       "again later with a new id",
    "stream-interrupted": "the provider stopped in the middle of its answer; part of it was "
                          "already passed on, so it is not asked again: send the request again "
                          "with a new id",
    "answer-scan-failed": "the answer could not be checked for personal data and is withheld: "
                          "send the request again with a new id",
    "budget-exhausted": "the monthly budget for this request's tenant or purpose is spent: "
                        "nothing was sent; ask your douane operator, or send it again next "
                        "month with a new id",
    "not-admitted": "this request was not sent: what was to leave differed from what douane "
                    "had decided; tell your douane operator",
}


# Intake rejections (streams.core.intake): what the producer does about each. Its message already
# says what is wrong and where (never the value); the first message with an id owns that id's
# response, so whatever is sent again needs a new id.
_AGAIN = "send it again as a new request, with a new id"
FOR_REJECTIONS: dict[str, str] = {
    "oversize": f"shorten the request below the size limit and {_AGAIN}",
    "invalid-utf8": f"encode the message in UTF-8 and {_AGAIN}",
    "too-deep": f"give the request the shape of the request schema (a few levels deep) and "
                f"{_AGAIN}",
    "not-json": f"publish one JSON object per message (the request schema) and {_AGAIN}",
    "schema-violation": f"correct the field named (see the request schema) and {_AGAIN}",
    "unknown-tenant": f"use the tenant your douane operator gave you and {_AGAIN}",
    "tenant-mismatch": f"leave the tenant field out (the topic says whose request it is) or give "
                       f"the topic's tenant, and {_AGAIN}",
    "duplicate-id": "this message was not processed (its id's response is the earlier "
                    f"message's): {_AGAIN}",
}


def rejection_advice(code: str) -> str:
    """What a producer does about a message rejected with ``code``."""
    return FOR_REJECTIONS.get(code, OTHERWISE)


def client_reason(code: str, message: str, client: str | None = None) -> dict[str, str]:
    """The ``{code, message}`` a caller gets for a reason whose full ``message`` is audited.

    A code without a sentence of its own keeps its message only when it is one of the codes
    whose messages are written for callers (:data:`CALLER_WORDED`)."""
    if client is not None:
        return {"code": code, "message": client}
    if code in CALLER_WORDED:
        return {"code": code, "message": message}
    return {"code": code, "message": FOR_CALLERS.get(code, OTHERWISE)}


# codes whose messages are written for the caller already (they name only the caller's own
# request: its classification, language, the types found, what to do)
CALLER_WORDED = frozenset({
    "classification-raised", "language-fallback", "redacted", "detector-failed",
    "delivery-uncertain", "answer-blocked-entity",
})


def client_reasons(reasons: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """:func:`client_reason` of each ``{code, message}`` (audited) reason."""
    return [client_reason(r.get("code", ""), r.get("message", "")) for r in reasons]
