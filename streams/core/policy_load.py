"""Building a policy set from its files: parse, check against the JSON Schema, merge in include
order, build the model, check cross-references, hash. Every problem is collected, with its
file, line, column and path, and reported at once.

Pure: the caller hands over the manifest's text, a ``read`` function for included files and
the policy JSON Schema as a :class:`PolicySchema` (``streams.adapters.policy_files`` reads the
files from disk, ``streams.adapters.schemas`` the schema douane ships).

The hash is SHA-256 over the RFC 8785 form of the merged document (without ``include``): it
names *what* the policy says, so re-indenting, re-commenting or moving a section to another
file does not change it; reordering rules does, because order is precedence.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import rfc8785
from pydantic import ValidationError

from streams.core.durations import DURATION_PATTERN, duration_problem
from streams.core.loaded_policy import LoadedPolicy, RuleOrigin
from streams.core.policy import ID, Policy, PolicyError
from streams.core.policy_check import check_policy, policy_warnings
from streams.core.policy_locator import LIST_SECTIONS, Locator
from streams.core.policy_yaml import Path, YamlDocument, YamlSyntaxError, format_path, load_yaml
from streams.errors import DouaneError

MAPPING_SECTIONS = ("detection", "classifications")
MANIFEST_ONLY = ("policy", "version", "description", "jurisdiction", "include")


class IncludeOutsideFolder(DouaneError, PermissionError):
    """Raised by a ``read`` function for an include that resolves (through a symbolic link)
    outside the manifest's folder; its message says where it leads."""


def include_escapes(name: str) -> bool:
    """Whether an include names a file outside the manifest's folder by its spelling alone
    (an absolute path, or a ``..`` step); symbolic links are the reader's to check."""
    return posixpath.isabs(name) or ".." in name.split("/") or "\\" in name


@dataclass(frozen=True)
class SourceFile:
    path: str  # as shown in messages, e.g. policies/health.yaml
    text: str


class PolicySchema:
    """The policy JSON Schema (``schemas/policy.schema.json``), checked once as a schema, with
    the validator every policy file of a set is checked with."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        jsonschema.Draft202012Validator.check_schema(document)
        self.document = document
        self.validator = jsonschema.Draft202012Validator(document)


def build_policy_set(
    entry: SourceFile,
    read: Callable[[str], str] | None = None,
    extra_problems: Iterable[str] = (),
    *,
    schema: PolicySchema,
) -> LoadedPolicy:
    """The policy set whose manifest (or only file) is ``entry``, each file checked against
    ``schema``. Raises PolicyError."""
    problems = list(extra_problems)
    locator = Locator()
    merged: dict[str, Any] = {s: [] for s in LIST_SECTIONS}
    manifest = _parse(entry, locator, problems, schema, manifest=True)
    if manifest is None:
        raise PolicyError(problems)
    for key in MANIFEST_ONLY:
        if key in manifest:
            merged[key] = manifest[key]
    for missing in ("policy", "version"):
        if missing not in manifest:
            problems.append(locator.at_file(0, (), f"the manifest must give '{missing}'"))
    _merge(manifest, 0, merged, locator, problems)
    includes = manifest.get("include") or []
    if includes and read is None:
        problems.append(locator.at_file(0, ("include",), "includes cannot be read here"))
        includes = []
    base = posixpath.dirname(entry.path)
    for position, name in enumerate(includes):
        if not isinstance(name, str):
            continue  # the schema reported it
        if include_escapes(name):  # never opened: a policy reads its own folder only
            problems.append(locator.at_file(0, ("include", position), (
                f"include '{name}' is outside the policy folder: a manifest includes files "
                "in its own folder or below it (no absolute path, no '..')")))
            continue
        shown = posixpath.join(base, name) if base else name
        try:
            text = read(name) if read is not None else ""
        except OSError as error:
            reason = ("no such file" if isinstance(error, FileNotFoundError)
                      else str(error) if isinstance(error, IncludeOutsideFolder)
                      else type(error).__name__)
            problems.append(locator.at_file(0, ("include", position),
                                            f"cannot read '{name}' ({reason})"))
            continue
        document = _parse(SourceFile(shown, text), locator, problems, schema, manifest=False)
        if document is not None:
            _merge(document, len(locator.files) - 1, merged, locator, problems)
    if problems:
        raise PolicyError(problems)
    merged.pop("include", None)
    if not merged["budgets"]:  # a set without budgets keeps the hash it had before them
        del merged["budgets"]
    try:
        policy = Policy.model_validate(merged)
    except ValidationError as error:
        for problem in error.errors():
            path = tuple(problem["loc"])
            raise_key = problem["type"] == "extra_forbidden"
            problems.append(locator.at(path, problem["msg"], key=raise_key))
        raise PolicyError(problems) from None
    problems.extend(check_policy(policy, locator))
    if problems:
        raise PolicyError(problems)
    try:
        digest = hashlib.sha256(rfc8785.dumps(merged)).hexdigest()
    except rfc8785.CanonicalizationError as error:  # e.g. an integer beyond 2**53
        raise PolicyError([locator.at_file(
            0, (), f"cannot be hashed as canonical JSON ({type(error).__name__})")]) from None
    origins = tuple(
        RuleOrigin(locator.files[file_index][0], local_index, rule.id)
        for (file_index, local_index), rule in zip(locator.items["rules"], policy.rules,
                                                    strict=True)
    )
    files = tuple((name, hashlib.sha256(text.encode("utf-8")).hexdigest())
                  for (name, _), text in zip(locator.files, locator.texts, strict=True))
    return LoadedPolicy(policy, digest, entry.path, files=files, rule_origins=origins,
                        document=merged, warnings=tuple(policy_warnings(policy, locator)))


def _parse(
    source: SourceFile, locator: Locator, problems: list[str], schema: PolicySchema, *,
    manifest: bool,
) -> dict[str, Any] | None:
    try:
        document = load_yaml(source.text)
    except YamlSyntaxError as error:
        problems.append(f"{source.path}:{error.mark.line}:{error.mark.column}: "
                        f"(document): {error.message}")
        return None
    locator.files.append((source.path, document))
    locator.texts.append(source.text)
    index = len(locator.files) - 1
    for mark, path, message in document.problems:
        problems.append(f"{source.path}:{mark.line}:{mark.column}: {format_path(path)}: {message}")
    if not isinstance(document.value, dict):
        problems.append(locator.at_file(index, (), "a policy file must be a YAML mapping"))
        return None
    problems.extend(_schema_problems(document, index, locator, schema))
    if not manifest:
        for key in MANIFEST_ONLY:
            if key in document.value:
                problems.append(locator.at_file(
                    index, (key,), f"'{key}' belongs in the manifest only", key=True))
    return document.value


def _merge(
    document: dict[str, Any], index: int, merged: dict[str, Any], locator: Locator,
    problems: list[str],
) -> None:
    for section in LIST_SECTIONS:
        items = document.get(section)
        if isinstance(items, list):
            for local_index, item in enumerate(items):
                merged[section].append(item)
                locator.items[section].append((index, local_index))
    for section in MAPPING_SECTIONS:
        if section not in document:
            continue
        if section in locator.owner:
            first = locator.files[locator.owner[section]][0]
            problems.append(locator.at_file(
                index, (section,), f"already given in {first}; give it in one file", key=True))
            continue
        locator.owner[section] = index
        merged[section] = document[section]


# ------------------------------------------------------------------------- schema messages

def _schema_problems(document: YamlDocument, index: int, locator: Locator,
                     schema: PolicySchema) -> list[str]:
    out: list[tuple[Path, str, bool]] = []
    for error in schema.validator.iter_errors(document.value):
        out.extend(_describe(error))
    return [locator.at_file(index, path, message, key=key)
            for path, message, key in sorted(out, key=lambda p: document.key_mark(p[0]).line)]


def _describe(error: jsonschema.ValidationError) -> list[tuple[Path, str, bool]]:
    path: Path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    kind = error.validator
    expected: Any = error.validator_value
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extras = [k for k in instance if k not in schema.get("properties", {})]
        return [((*path, key), f"unknown key '{key}' (allowed: {', '.join(allowed)})", True)
                for key in extras]
    if kind == "required":
        missing = [k for k in expected if k not in instance]
        return [(path, f"missing required key '{k}'", False) for k in missing]
    if kind == "enum":
        choices = ", ".join(str(v) for v in expected)
        return [(path, f"{_show(instance)} is not one of: {choices}", False)]
    if kind == "type":
        return [(path, f"expected {expected}, got {_type_name(instance)}", False)]
    if kind == "pattern":
        return [(path, PATTERN_HELP[expected](instance) if expected in PATTERN_HELP
                 else f"{_show(instance)} is not allowed here ({schema.get('description', '')})",
                 False)]
    if kind == "anyOf" and path and path[-1] == "residency":
        return [(path, "residency must give providers, jurisdictions or regions "
                       "(providers: [] allows none: such requests are blocked)", False)]
    if kind == "anyOf":
        options = [next(iter(s.get("required", ["?"]))) for s in expected]
        return [(path, f"a rule must set at least one of: {', '.join(options)}", False)]
    if kind == "minimum" and path and "prices" in path:
        return [(path, f"{_show(instance)}: a price cannot be negative", False)]
    if kind in ("minimum", "maximum") and path and path[-1] == "warn_at_percent":
        return [(path, f"{_show(instance)}: warn_at_percent is a percentage of the monthly "
                       "amount, from 1 to 100", False)]
    if kind in ("exclusiveMinimum", "maximum") and path and path[-1] == "monthly":
        return [(path, f"{_show(instance)}: a monthly budget is an amount above 0", False)]
    if kind == "uniqueItems":
        return [(path, "items must be unique", False)]
    if kind == "propertyNames":
        return [(path, f"entity type names are upper case, e.g. PERSON ({error.message})", False)]
    return [(path, error.message, False)]


# what a value of each pattern of the schema looks like, said as how to fix it
PATTERN_HELP: dict[str, Callable[[Any], str]] = {
    DURATION_PATTERN: duration_problem,
    ID: lambda v: f"{_show(v)} is not an id: lower-case letters, digits and '-', starting with "
                  "a letter or digit, at most 63 characters (e.g. city-of-lyon)",
    "^[A-Z]{2}$": lambda v: f"{_show(v)} is not a country: two capital letters "
                            "(ISO 3166-1 alpha-2), e.g. FR, IS, US",
    "^[a-z]{2}$": lambda v: f"{_show(v)} is not a language: two lower-case letters "
                            "(ISO 639-1), e.g. fr, en",
    "^[A-Z][A-Z0-9_]*$": lambda v: f"{_show(v)} is not an entity type: capital letters, digits "
                                   "and '_', e.g. PERSON, FR_NIR",
    "^[A-Za-z0-9_.][A-Za-z0-9_./-]*\\.ya?ml$": lambda v: f"{_show(v)} is not a policy file: a "
                                                   "path inside the folder ending in .yaml",
    "^[A-Z]{3}$": lambda v: f"{_show(v)} is not a currency: three capital letters "
                            "(ISO 4217), e.g. EUR, USD, CHF",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": lambda v: f"{_show(v)} is not a date: YYYY-MM-DD, "
                                              "e.g. 2025-01-01",
    "^https?://": lambda v: f"{_show(v)} is not an endpoint: a URL starting with https:// "
                            "(http:// only on-premises or on this machine)",
}


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)
