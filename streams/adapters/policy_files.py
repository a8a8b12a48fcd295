"""Reading a policy set from disk: a directory (its ``policy.yaml`` is the manifest), a manifest
file, or a single-file policy. Test cases live in ``tests/`` next to the manifest.

Each file is read once and the set is built from those bytes, so what was validated is exactly
what is hashed and used; :func:`fingerprint` lets the worker notice a change cheaply.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import yaml

from streams.adapters.schemas import policy_schema
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy_cases import Case, CaseFileError, parse_cases
from streams.core.policy_load import IncludeOutsideFolder, SourceFile, build_policy_set
from streams.core.policy_yaml import YamlSyntaxError, load_yaml

MANIFEST = "policy.yaml"


def manifest_path(path: Path) -> Path:
    return path / MANIFEST if path.is_dir() else path


def display(path: Path) -> str:
    """A path as users typed it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_policy_set(path: Path) -> LoadedPolicy:
    """The policy set at ``path``. Raises PolicyError listing every problem."""
    entry = manifest_path(path)
    shown = display(entry)
    try:
        text = entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        from streams.core.policy import PolicyError

        reason = "no such file" if isinstance(error, FileNotFoundError) else type(error).__name__
        raise PolicyError([f"{shown}:1:1: (document): cannot read the policy ({reason})"]) \
            from None
    base = entry.parent
    folder = base.resolve()

    def read(name: str) -> str:
        target = (base / name).resolve()  # symbolic links followed, as open() would
        if not target.is_relative_to(folder):
            raise IncludeOutsideFolder(
                f"it leads to {target}, outside the policy folder {folder}")
        return target.read_text(encoding="utf-8")

    return build_policy_set(SourceFile(shown, text), read,
                            extra_problems=_unlisted(entry, text), schema=policy_schema())


def parse_policy(text: str, source: str) -> LoadedPolicy:
    """A policy written as one YAML document (no ``include``). Raises :class:`PolicyError`."""
    return build_policy_set(SourceFile(source, text), schema=policy_schema())


def _unlisted(entry: Path, text: str) -> list[str]:
    """YAML files beside the manifest that it does not include: probably forgotten."""
    if entry.name != MANIFEST:
        return []
    try:
        document = load_yaml(text).value
    except YamlSyntaxError:
        return []
    includes = document.get("include") if isinstance(document, dict) else None
    if not isinstance(includes, list):
        return []
    listed = {str(name) for name in includes}
    return [f"{display(other)}:1:1: (document): not included by {display(entry)} "
            f"(add it to include, or move it out of the folder)"
            for other in sorted(entry.parent.glob("*.y*ml"))
            if other.name != MANIFEST and other.name not in listed]


def fingerprint(path: Path) -> str:
    """A digest of every YAML file of the set as it is now (names and bytes): changes when
    any file is added, removed or edited. Errors count as content, so a vanished file also
    shows as a change."""
    digest = hashlib.sha256()
    entry = manifest_path(path)
    files = sorted(entry.parent.glob("*.y*ml")) if entry.name == MANIFEST else [entry]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        try:
            digest.update(file.read_bytes())
        except OSError as error:
            digest.update(type(error).__name__.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def test_files(path: Path) -> list[Path]:
    """The YAML test cases of the set: ``tests/*.yaml`` beside the manifest."""
    folder = manifest_path(path).parent / "tests"
    return sorted(folder.glob("*.y*ml")) if folder.is_dir() else []


def read_cases(path: Path) -> tuple[list[Case], list[str]]:
    """The test cases of the set at ``path``, and a problem per file that cannot be read."""
    cases: list[Case] = []
    errors: list[str] = []
    for file in test_files(path):
        try:
            cases.extend(parse_cases(file.read_text("utf-8"), display(file)))
        except (OSError, UnicodeDecodeError) as error:
            errors.append(f"{display(file)}:1:1: cannot read the test file "
                          f"({type(error).__name__})")
        except CaseFileError as error:
            errors.append(str(error))
    return cases, errors


class _WrittenOutDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def policy_yaml(document: Any) -> str:
    """YAML for a derived policy document, every value written out in full: PyYAML would write
    an object used twice (a list shared by two providers) as an alias, which policies refuse."""
    return yaml.dump(document, Dumper=_WrittenOutDumper, sort_keys=False, allow_unicode=True)


def policy_document(path: Path) -> dict[str, Any]:
    """A copy of the merged document of the set at ``path``: tools and tests derive variants
    from it (another endpoint, another rule) and write them as a single-file policy."""
    return copy.deepcopy(dict(load_policy_set(path).document))
