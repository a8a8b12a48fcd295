"""The core (``streams/core/``) is pure, checked on its source with ``ast``: no module imports
or calls anything that does I/O (a complete list, imports inside functions included), and the
modules import each other in one direction only (no circle, not even through an import inside
a function or under ``TYPE_CHECKING``)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "streams" / "core"
PACKAGE = "streams.core"


def core_modules() -> dict[str, Path]:
    return {f"{PACKAGE}.{path.stem}": path for path in sorted(CORE.glob("*.py"))
            if path.stem != "__init__"}


def imported_names(source: str, package: str = PACKAGE) -> list[tuple[int, str]]:
    """(line, dotted name) for every import anywhere in ``source``, a module of ``package``:
    ``import a.b`` gives a.b, ``from a import b`` gives a.b (b may be a module or a name)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules of ``sources`` it imports (the longest name that is one)."""
    graph: dict[str, set[str]] = {module: set() for module in sources}
    for module, source in sources.items():
        for _, name in imported_names(source):
            while name and name not in sources:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_core_modules_import_each_other_in_one_direction() -> None:
    sources = {m: p.read_text(encoding="utf-8") for m, p in core_modules().items()}
    found = circle(import_graph(sources))
    assert found is None, "import circle in streams/core: " + " -> ".join(found or [])


def test_the_graph_sees_circles_closed_by_lazy_and_type_checking_imports() -> None:
    sources = {
        f"{PACKAGE}.a": "from streams.core.b import B\n",
        f"{PACKAGE}.b": "def f():\n    from streams.core.c import C\n",
        f"{PACKAGE}.c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from . import a\n",
    }
    found = circle(import_graph(sources))
    assert found is not None and set(found) == set(sources)
    del sources[f"{PACKAGE}.c"]
    assert circle(import_graph(sources)) is None


@pytest.mark.parametrize("source", ["import streams.core.b.x\n", "from streams.core.b import x\n",
                                    "from .b import x\n", "from . import b\n"])
def test_every_spelling_of_an_import_is_an_edge(source: str) -> None:
    graph = import_graph({f"{PACKAGE}.a": source, f"{PACKAGE}.b": ""})
    assert graph[f"{PACKAGE}.a"] == {f"{PACKAGE}.b"}


# --- no I/O: what the core may not import or call ------------------------------------------

# Module prefixes no core module may import, anywhere (inside functions too). The core gets
# what it needs as values: texts, the schema, clocks (``now``), verify functions, keyed tokens.
FORBIDDEN_IMPORTS = (
    # files, processes, the environment, the clock and chance (inputs, never read here)
    "os", "pathlib", "io", "shutil", "tempfile", "glob", "fileinput", "mmap", "sys",
    "importlib", "pkgutil", "subprocess", "multiprocessing", "concurrent", "threading",
    "_thread", "signal", "time", "random", "secrets", "uuid", "logging", "structlog",
    "asyncio", "selectors", "select",
    # the network and its clients
    "socket", "ssl", "http", "urllib.request", "urllib3", "ftplib", "smtplib", "requests",
    "httpx", "httpx_aiohttp", "aiohttp",
    # databases and brokers
    "sqlite3", "dbm", "shelve", "psycopg", "psycopg2", "psycopg_pool", "asyncpg", "aiokafka",
    "confluent_kafka", "kafka", "faust",
    # detection models (loaded from disk, run in adapters)
    "spacy", "thinc", "presidio_analyzer", "presidio_anonymizer", "lingua", "pymorphy3",
    "islenska", "phonenumbers", "faker",
    # keys: the core never holds a key store, a token or key files (signatures are checked
    # through verify functions the adapters pass in; keyed tokens are obtained outside)
    "cryptography", "pkcs11",
    # telemetry: spans and their export live in streams/adapters/tracing.py; the core gets a
    # trace id as a value
    "opentelemetry",
    # douane's own outer rings (tests/unit/test_layout.py checks the rest of douane)
    "streams.adapters", "streams.services", "streams.cli", "streams.devtools",
    "streams.runtime", "streams.front_door", "streams.config", "streams.pipeline",
    "streams.worker", "streams.app",
)
# pure functions of a forbidden module: parse text, touch nothing
ALLOWED_IMPORTS = ("socket.inet_aton",)  # the numeric host forms resolvers accept
# What the list above cannot name is what it has not thought of (a new dependency, a standard
# module it forgot). So the core may import only what is listed here, after a look at it: the
# standard library's modules of pure functions and values, and a few parsers. A module not on
# the list fails the test, whether or not FORBIDDEN_IMPORTS names it.
PURE_IMPORTS = (
    "__future__", "typing", "types", "abc", "collections", "dataclasses", "enum", "functools",
    "itertools", "operator", "copy", "contextlib", "numbers", "graphlib", "bisect", "heapq",
    "re", "string", "textwrap", "difflib", "unicodedata", "math", "fractions", "decimal",
    "json", "base64", "binascii", "struct", "hashlib", "hmac", "ipaddress", "urllib.parse",
    # clocks are passed in: datetime's values and arithmetic only (``.now()`` is refused below)
    "datetime",
    # path text only: its functions that look at the disk are refused below
    "posixpath",
    # parsers and validators of texts and values handed in (no loader reads a file here)
    "yaml", "jsonschema", "jsonschema_rs", "rfc8785", "pydantic",
    "streams.core", "streams.errors",
    *ALLOWED_IMPORTS,
)
FORBIDDEN_CALLS = frozenset({"open", "print", "input", "exec", "eval", "compile",
                             "__import__", "breakpoint"})
# file and clock methods, whatever the object (pathlib, zipfile, datetime...)
FORBIDDEN_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "open",
                               "touch", "mkdir", "rmdir", "unlink", "iterdir", "now", "utcnow",
                               "today", "exists", "is_file", "is_dir", "isfile", "isdir",
                               "stat", "lstat", "getsize", "getmtime", "realpath", "abspath",
                               "expanduser", "getcwd", "listdir", "scandir", "walk", "glob",
                               "rglob", "sleep", "monotonic", "perf_counter", "urandom",
                               "getenv"})


def io_in(source: str, package: str = PACKAGE) -> list[str]:
    """Each forbidden import and call in ``source``, as ``line: what``."""
    found = []
    for line, name in imported_names(source, package):
        def under(prefixes: tuple[str, ...], name: str = name) -> bool:
            return any(name == p or name.startswith(p + ".") for p in prefixes)
        if under(FORBIDDEN_IMPORTS) and not under(ALLOWED_IMPORTS):
            found.append(f"{line}: imports {name}")
        elif not under(PURE_IMPORTS):
            found.append(f"{line}: imports {name}, not on the list of pure modules (PURE_IMPORTS)")
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            found.append(f"{node.lineno}: calls {node.func.id}()")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_METHODS:
            found.append(f"{node.lineno}: calls .{node.func.attr}()")
    return found


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_a_core_module_neither_imports_nor_calls_io(path: Path) -> None:
    package = ".".join(("streams", *path.relative_to(CORE.parent).parent.parts))
    found = io_in(path.read_text(encoding="utf-8"), package)
    assert not found, f"streams/core/{path.relative_to(CORE)} does I/O:\n  " + "\n  ".join(found)


@pytest.mark.parametrize(("source", "expected"), [
    ("import os\n", "1: imports os"),
    ("def f():\n    import sqlite3\n", "2: imports sqlite3"),
    ("from os import path\n", "1: imports os.path"),
    ("from urllib.request import urlopen\n", "1: imports urllib.request.urlopen"),
    ("from presidio_analyzer import AnalyzerEngine\n",
     "1: imports presidio_analyzer.AnalyzerEngine"),
    ("from cryptography.hazmat.primitives import serialization\n",
     "1: imports cryptography.hazmat.primitives.serialization"),
    ("from ..adapters import key_store\n", "1: imports streams.adapters.key_store"),
    ("text = open('x').read()\n", "1: calls open()"),
    ("def f(p):\n    return p.read_text()\n", "2: calls .read_text()"),
    ("def f(p, b):\n    p.write_bytes(b)\n", "2: calls .write_bytes()"),
    ("from datetime import datetime\nnow = datetime.now()\n", "2: calls .now()"),
    # not named as forbidden, yet not known to be pure: refused all the same
    ("import zipfile\n", "1: imports zipfile, not on the list of pure modules (PURE_IMPORTS)"),
    ("from openai import OpenAI\n",
     "1: imports openai.OpenAI, not on the list of pure modules (PURE_IMPORTS)"),
    ("import posixpath\nposixpath.exists('x')\n", "2: calls .exists()"),
])
def test_the_checker_finds_io_however_it_is_written(source: str, expected: str) -> None:
    assert expected in io_in(source)


def test_the_checker_lets_pure_code_through() -> None:
    source = ("import hashlib\nimport json\nfrom socket import inet_aton\n"
              "from urllib.parse import urlsplit\nfrom streams.core.model import Finding\n"
              "from streams.errors import DouaneError\n")
    assert io_in(source) == []
