"""What an installed douane has: every file under ``streams/`` that is not Python (schemas,
lexicons, demo prompts, the console's templates and static files) must be declared as package
data in pyproject.toml, or a wheel install silently lacks it (the console would find no
templates, detection no lexicon)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "streams"


def data_files() -> list[PurePosixPath]:
    """Every file under ``streams/`` that is not Python source, as the wheel would name it
    (the link ``streams/schemas`` followed, as setuptools follows it)."""
    found = []
    for folder, subfolders, files in os.walk(PACKAGE, followlinks=True):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if not name.endswith((".py", ".pyc")):
                found.append(PurePosixPath(Path(folder, name).relative_to(ROOT).as_posix()))
    return sorted(found)


def owning_package(file: PurePosixPath) -> tuple[str, PurePosixPath]:
    """The innermost Python package holding ``file``, and the file's path inside it."""
    folder = file.parent
    while not (ROOT / folder / "__init__.py").is_file():
        folder = folder.parent
    return ".".join(folder.parts), file.relative_to(folder)


def declared(package: str, inside: PurePosixPath, rules: dict[str, list[str]]) -> bool:
    """Whether a package-data glob of ``package`` takes ``inside`` (a ``*`` stays within one
    folder, as in setuptools)."""
    for pattern in rules.get(package, []):
        parts = PurePosixPath(pattern).parts
        if len(parts) == len(inside.parts) and all(
                fnmatchcase(name, part) for name, part in zip(inside.parts, parts, strict=True)):
            return True
    return False


def test_the_console_and_the_other_data_files_are_found() -> None:
    names = {str(file) for file in data_files()}
    assert "streams/console/templates/base.html" in names
    assert "streams/console/static/htmx.min.js" in names
    assert "streams/schemas/policy.schema.json" in names


def test_every_data_file_is_declared_as_package_data() -> None:
    rules = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))[
        "tool"]["setuptools"]["package-data"]
    missing = [str(file) for file in data_files() if not declared(*owning_package(file), rules)]
    assert not missing, f"not declared in [tool.setuptools.package-data]: {missing}"


def test_the_built_wheel_holds_every_data_file(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "schemas", source / "schemas")
    shutil.copytree(PACKAGE, source / "streams", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta; "
         "print(build_meta.build_wheel(sys.argv[1]))", str(tmp_path / "wheel")],
        cwd=source, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = tmp_path / "wheel" / built.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
    missing = [str(file) for file in data_files() if str(file) not in packaged]
    assert not missing, f"the wheel lacks: {missing}"
