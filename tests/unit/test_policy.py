"""parse_policy: the shipped policy parses, its digest ignores layout, errors name the path."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from streams.config import project_root
from streams.core.policy import PolicyError, parse_policy

DEFAULT_TEXT = (project_root() / "policies" / "default.yaml").read_text("utf-8")
DEFAULT = yaml.safe_load(DEFAULT_TEXT)


def edited(change: Callable[[dict[str, Any]], object]) -> str:
    document = copy.deepcopy(DEFAULT)
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def test_default_policy_parses() -> None:
    loaded = parse_policy(DEFAULT_TEXT, "default.yaml")
    policy = loaded.policy
    assert (policy.policy, policy.version) == ("default", 1)
    assert policy.tenant_ids == {"ministry-of-health", "city-of-lyon", "tax-office"}
    assert policy.tenant("ministry-of-health").default_classification == "sensitive"
    assert policy.provider("local-stand-in").models == ("douane-echo-1",)
    assert policy.classifications["secret"].providers == ()
    assert policy.classifications["personal"].providers == ("local-stand-in",)
    assert policy.redaction.entities["CREDIT_CARD"].operator == "block"
    assert policy.redaction.entities["PHONE_NUMBER"].min_score == 0.4
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.digest)
    assert loaded.reference == {"name": "default", "version": 1, "sha256": loaded.digest}
    assert loaded.source == "default.yaml"


DIGEST = parse_policy(DEFAULT_TEXT, "default.yaml").digest


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(DEFAULT_TEXT, id="same-text"),
        pytest.param(yaml.safe_dump(DEFAULT, sort_keys=True, indent=4), id="reindented-sorted"),
        pytest.param(yaml.safe_dump(DEFAULT, default_flow_style=True), id="flow-style"),
        pytest.param(
            "\n".join(line.split(" #")[0] for line in DEFAULT_TEXT.splitlines()
                      if not line.startswith("#")),
            id="comments-removed",
        ),
        pytest.param("# a new comment\n" + DEFAULT_TEXT.replace("\n", "\n\n"),
                     id="comment-and-blank-lines"),
        pytest.param(yaml.safe_dump(DEFAULT, allow_unicode=True, width=20), id="wrapped"),
    ],
)
def test_digest_ignores_layout_and_comments(text: str) -> None:
    assert parse_policy(text, "other-name.yaml").digest == DIGEST


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(version=2), id="version"),
        pytest.param(lambda d: d.update(description="other"), id="description"),
        pytest.param(lambda d: d["redaction"]["entities"]["PERSON"].update(min_score=0.6),
                     id="min-score"),
        pytest.param(lambda d: d["redaction"]["entities"]["PERSON"].update(operator="block"),
                     id="operator"),
        pytest.param(lambda d: d["classifications"]["public"].update(providers=[]),
                     id="residency"),
        pytest.param(lambda d: d["tenants"][0].update(default_classification="personal"),
                     id="tenant-default"),
        pytest.param(lambda d: d["providers"][0].update(endpoint="http://127.0.0.1:9/v1"),
                     id="endpoint"),
        pytest.param(lambda d: d["tenants"].reverse(), id="tenant-order"),
    ],
)
def test_digest_changes_when_a_value_changes(change: Callable[[dict[str, Any]], object]) -> None:
    assert parse_policy(edited(change), "default.yaml").digest != DIGEST


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param(
            edited(lambda d: d["classifications"]["personal"].update(
                providers=["local-stand-in", "us-cloud"])),
            ["classifications.personal.providers", "unknown provider 'us-cloud'",
             "known: local-stand-in"],
            id="unknown-provider-in-classification",
        ),
        pytest.param(
            edited(lambda d: d["classifications"].pop("secret")),
            ["classifications", "no residency rule for secret"],
            id="missing-classification",
        ),
        pytest.param(
            edited(lambda d: [d["classifications"].pop(c) for c in ("public", "sensitive")]),
            ["no residency rule for public, sensitive"],
            id="two-missing-classifications",
        ),
        pytest.param(
            edited(lambda d: d["classifications"].update(restricted={"providers": []})),
            ["classifications.restricted"],
            id="unknown-classification",
        ),
        pytest.param(
            edited(lambda d: d["providers"][0].update(id="Local_Stand_In")),
            ["providers.0.id", "pattern"],
            id="bad-provider-id",
        ),
        pytest.param(
            edited(lambda d: d["providers"][0].update(jurisdiction="France")),
            ["providers.0.jurisdiction"],
            id="bad-jurisdiction",
        ),
        pytest.param(
            edited(lambda d: d["providers"][0].update(models=[])),
            ["providers.0.models"],
            id="provider-without-models",
        ),
        pytest.param(
            edited(lambda d: d["tenants"][2].update(id="Tax Office")),
            ["tenants.2.id"],
            id="bad-tenant-id",
        ),
        pytest.param(
            edited(lambda d: d["tenants"][1].update(default_classification="restricted")),
            ["tenants.1.default_classification"],
            id="bad-default-classification",
        ),
        pytest.param(
            edited(lambda d: d["redaction"]["entities"]["PERSON"].update(min_score=1.5)),
            ["redaction.entities.PERSON.min_score"],
            id="min-score-above-1",
        ),
        pytest.param(
            edited(lambda d: d["redaction"]["entities"]["EMAIL_ADDRESS"].update(operator="mask")),
            ["redaction.entities.EMAIL_ADDRESS.operator"],
            id="unknown-operator",
        ),
        pytest.param(
            edited(lambda d: d.update(rules=[])),
            ["rules", "Extra inputs are not permitted"],
            id="unknown-top-level-key",
        ),
        pytest.param(
            edited(lambda d: d["providers"][0].update(api_key="x")),
            ["providers.0.api_key", "Extra inputs are not permitted"],
            id="unknown-provider-key",
        ),
        pytest.param(edited(lambda d: d.pop("redaction")), ["redaction", "required"],
                     id="missing-redaction"),
        pytest.param("- policy: default\n- version: 1\n", ["must be a YAML mapping"],
                     id="yaml-list"),
        pytest.param("just a sentence", ["must be a YAML mapping"], id="yaml-scalar"),
        pytest.param("", ["must be a YAML mapping"], id="empty-file"),
        pytest.param("policy: [default\nversion: 1\n", ["not valid YAML"], id="unclosed-flow"),
        pytest.param("policy: a: b\n", ["not valid YAML"], id="nested-mapping-on-one-line"),
        pytest.param("policy: default\n\tversion: 1\n", ["not valid YAML"], id="tab-indent"),
    ],
)
def test_errors_name_the_file_and_the_path(text: str, fragments: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policies/broken.yaml")
    message = str(caught.value)
    assert message.startswith("policies/broken.yaml: ")
    for fragment in fragments:
        assert fragment in message


def test_every_error_line_names_the_file() -> None:
    text = edited(lambda d: (d.update(extra=1), d["providers"][0].update(kind="acme")))
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    lines = str(caught.value).splitlines()
    assert all(line.startswith("p.yaml: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} >= {"extra", "providers.0.kind"}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(edited(lambda d: d["providers"][0].update(retention_days=2**53 + 1)),
                     id="integer-beyond-json-range"),
    ],
)
def test_values_that_cannot_be_hashed_are_policy_errors(text: str) -> None:
    with pytest.raises(PolicyError, match=r"^p\.yaml: "):
        parse_policy(text, "p.yaml")
