"""The JSON Schemas are written once, in ``schemas/``, and shipped inside the package
(``streams/schemas`` links to it) so that an installed douane reads them without a checkout."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from streams.adapters.schemas import SCHEMA_NAMES, load_schema, policy_schema
from streams.core.policy_load import PolicySchema

ROOT = Path(__file__).resolve().parents[2]
ROOT_SCHEMAS = sorted((ROOT / "schemas").glob("*.schema.json"))


def test_every_schema_of_the_root_folder_is_shipped_under_its_name() -> None:
    assert [p.name.removesuffix(".schema.json") for p in ROOT_SCHEMAS] == sorted(SCHEMA_NAMES)


@pytest.mark.parametrize("path", ROOT_SCHEMAS, ids=lambda p: p.name)
def test_the_packaged_schema_is_the_root_one(path: Path) -> None:
    packaged = ROOT / "streams" / "schemas" / path.name
    assert packaged.read_bytes() == path.read_bytes()
    assert load_schema(path.name.removesuffix(".schema.json")) == json.loads(path.read_bytes())


def test_the_package_data_rule_takes_every_schema() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["streams"]
    for path in ROOT_SCHEMAS:
        assert any(fnmatch.fnmatch(f"schemas/{path.name}", p) for p in patterns), path.name


def test_an_unknown_schema_name_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match=r"no schema named 'requests'.*request"):
        load_schema("requests")


def test_the_policy_schema_is_checked_as_a_schema_when_built() -> None:
    assert policy_schema().document == load_schema("policy")
    with pytest.raises(jsonschema.SchemaError):
        PolicySchema({"type": 5})
