"""One exception tree: every exception class under streams/ derives from DouaneError."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from streams import errors
from streams.adapters.providers.base import ProviderError
from streams.core.policy import PolicyError
from streams.core.policy_yaml import Mark, YamlSyntaxError
from streams.errors import DouaneError

STREAMS = Path(errors.__file__).resolve().parent
# a single file an auditor copies and runs without douane: it imports nothing from streams
STANDALONE = {"streams.offline_verifier"}
BUILTIN_EXCEPTIONS = {name for name in dir(builtins)
                      if isinstance(getattr(builtins, name), type)
                      and issubclass(getattr(builtins, name), BaseException)}


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) for every class under streams/ whose bases make it an exception: a
    built-in exception, a name ending in Error or Exception, or another class found here."""
    classes = []
    for path in sorted(STREAMS.rglob("*.py")):
        module = ".".join(path.relative_to(STREAMS.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
                classes.append((module, node.name, bases))
    found: dict[str, tuple[str, str]] = {}
    changed = True
    while changed:
        changed = False
        for module, name, bases in classes:
            if (module, name) in found.values():
                continue
            if any(base in BUILTIN_EXCEPTIONS or base in found
                   or base.endswith(("Error", "Exception")) for base in bases):
                found[name] = (module, name)
                changed = True
    return sorted(found.values())


EXCEPTIONS = _exception_classes()


def test_the_exceptions_are_found() -> None:
    names = {name for _, name in EXCEPTIONS}
    assert {"PolicyError", "ProviderError", "SubjectHeldError", "AuditStoreCorruptError",
            "BadRequest", "WitnessRefusal"} <= names
    assert len(EXCEPTIONS) >= 26


@pytest.mark.parametrize(("module", "name"), [
    pytest.param(module, name, id=f"{module}.{name}") for module, name in EXCEPTIONS
    if module not in STANDALONE])
def test_every_exception_class_derives_from_douane_error(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, DouaneError), f"{module}.{name} does not derive from DouaneError"


def test_every_public_exception_is_in_the_documented_tree() -> None:
    for module, name in EXCEPTIONS:
        if module not in STANDALONE and not name.startswith("_"):
            assert name in (errors.__doc__ or ""), f"{module}.{name} is not in streams.errors"


def test_built_in_bases_are_kept_for_code_that_catches_them() -> None:
    assert issubclass(PolicyError, ValueError)
    assert issubclass(ProviderError, RuntimeError)


def test_diagnostics_default_to_the_message_and_name_locations_when_known() -> None:
    assert DouaneError("the witness directory is missing").diagnostics() \
        == "the witness directory is missing"
    problems = ["policies/health.yaml:12:5: rules[2].residency: unknown provider 'x'",
                "policies/base.yaml:3:1: tenants[0]: missing 'id'"]
    assert PolicyError(problems).diagnostics() == (
        "the policy set cannot be used: 2 problem(s)\n"
        "  policies/health.yaml:12:5: rules[2].residency: unknown provider 'x'\n"
        "  policies/base.yaml:3:1: tenants[0]: missing 'id'")
    assert YamlSyntaxError(Mark(4, 7), "mapping values are not allowed here").diagnostics() \
        == "line 4, column 7: mapping values are not allowed here"
    assert ProviderError("http://127.0.0.1:9/v1 answered HTTP 429", retryable=True,
                         status=429, kind="rate-limited").diagnostics() \
        == "http://127.0.0.1:9/v1 answered HTTP 429 [rate-limited, retryable]"


def test_the_command_prints_a_douane_error_one_way(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from streams.cli import main

    monkeypatch.setenv("DOUANE_MAX_IN_FLIGHT", "many")
    assert main(["worker"]) == 2
    printed = capsys.readouterr().err
    assert printed.startswith("douane: ") and "DOUANE_MAX_IN_FLIGHT" in printed
