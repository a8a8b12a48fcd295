"""The forward stage's reading of a forward message and its comparison with the signed
admission (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from streams.adapters.schemas import forward_schema
from streams.core.decision import forwarded_digest
from streams.core.forward_check import NOT_ADMITTED, admission_problem
from streams.core.forward_message import (
    FORWARD_MALFORMED,
    FORWARD_VERSION_UNKNOWN,
    ForwardMessage,
)
from streams.core.model import Reason
from streams.core.placeholders import conversation_digest

BODY = {"model": "m", "messages": [{"role": "user", "content": "Hello <PERSON_1>"}]}
MESSAGE = {"id": "r1", "tenant": "t", "provider": "p", "fallbacks": ["q"],
           "classification": "personal", "purpose": "casework", "conversation": "case-1",
           "body": BODY}
ADMITTED = {"kind": "admitted", "request_id": "r1", "tenant": "t",
            "details": {"decision": "forward", "classification": "personal",
                        "purpose": "casework", "provider": "p", "fallbacks": ["q"],
                        "forwarded_sha256": forwarded_digest(BODY),
                        "conversation_sha256": conversation_digest("t", "case-1")}}


def test_the_message_the_admit_stage_wrote_passes() -> None:
    assert admission_problem(MESSAGE, ADMITTED) is None


@pytest.mark.parametrize(("message_changes", "named"), [
    ({"id": "r2"}, "id"),
    ({"tenant": "other"}, "tenant"),
    ({"classification": "public"}, "classification"),
    ({"purpose": "press"}, "purpose"),
    ({"provider": "q", "fallbacks": ["p"]}, "providers"),
    ({"fallbacks": []}, "providers"),
    ({"body": {**BODY, "model": "other"}}, "body"),
    ({"body": "not an object"}, "body"),
    # another conversation's placeholders would be restored in this answer
    ({"conversation": "case-2"}, "conversation"),
    ({"conversation": None}, "conversation"),
])
def test_each_difference_is_refused_and_named(message_changes: dict[str, Any],
                                              named: str) -> None:
    problem = admission_problem({**MESSAGE, **message_changes}, ADMITTED)
    assert problem is not None and problem.code == NOT_ADMITTED
    assert named in problem.message


@pytest.mark.parametrize(("admitted", "named"), [
    (None, "no validly signed"),
    ({**ADMITTED, "kind": "blocked"}, "kind"),
    ({**ADMITTED, "details": {**ADMITTED["details"], "decision": "block"}}, "decision"),
])
def test_no_admission_or_a_blocking_one_is_refused(admitted: dict[str, Any] | None,
                                                   named: str) -> None:
    problem = admission_problem(MESSAGE, admitted)
    assert problem is not None and named in problem.message


def test_the_refusal_never_repeats_a_value() -> None:
    secret = {**MESSAGE, "tenant": "Jeanne Martin", "body": {"messages": "Jeanne Martin"}}
    problem = admission_problem(secret, ADMITTED)
    assert problem is not None and "Jeanne" not in problem.message


def test_a_conversation_is_one_tenants_own() -> None:
    """The same conversation id under another tenant names another conversation."""
    assert conversation_digest("t", "case-1") != conversation_digest("u", "case-1")
    assert conversation_digest("t", "case-1") != conversation_digest("t\0case", "-1")


# --- reading the message: its version, then its shape (ForwardMessage.parse) --------------

WHOLE = {**MESSAGE, "version": 1, "audit_record_id": "r1/admitted", "stream": False,
         "policy_hash": "ab" * 32, "redacted_entities": {"PERSON": 1},
         "metadata": {"ticket": "T-1"}}


def test_a_message_is_read_back_as_it_was_written() -> None:
    message = ForwardMessage.parse(WHOLE, forward_schema())
    assert isinstance(message, ForwardMessage)
    assert message.as_json() == WHOLE
    unversioned = {k: v for k, v in WHOLE.items() if k != "version"}  # written before 1
    assert ForwardMessage.parse(unversioned, forward_schema()) == message


@pytest.mark.parametrize(("value", "code", "said"), [
    ({**WHOLE, "version": 2}, FORWARD_VERSION_UNKNOWN, "layout version 2"),
    ({**WHOLE, "version": "Jeanne"}, FORWARD_VERSION_UNKNOWN, "no number"),
    ({**WHOLE, "fallbacks": "Jeanne"}, FORWARD_MALFORMED, "$.fallbacks ('type')"),
    ({k: v for k, v in WHOLE.items() if k != "body"}, FORWARD_MALFORMED, "missing body"),
    (["Jeanne"], FORWARD_MALFORMED, "at $ ('type')"),
])
def test_a_message_of_another_version_or_shape_is_not_read(value: Any, code: str,
                                                           said: str) -> None:
    reason = ForwardMessage.parse(value, forward_schema())
    assert isinstance(reason, Reason)
    assert reason.code == code and said in reason.message
    assert "Jeanne" not in reason.message  # never a value of the message
