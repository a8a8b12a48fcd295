"""The arrows between douane's parts (DESIGN.md, docs/architecture.md), checked on the source.

    cli/  (a face: parse, print)  ->  services/  ->  runtime  ->  adapters/  ->  core/
    devtools/ (local broker, stand-ins, model server, demo, bench) may use anything;
    nothing but a face (and the tests) uses devtools/.

Every ``import`` in every module is read with ``ast`` (those inside functions too), so a
lazy import cannot slip an arrow past the rules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

STREAMS = Path(__file__).resolve().parents[2] / "streams"

RUNTIME = ("worker.py", "app.py", "pipeline.py", "answer_chunks.py", "runtime/",
           "front_door/", "config.py", "logging_setup.py")


@dataclass(frozen=True)
class Rule:
    name: str
    files: tuple[str, ...]  # paths under streams/; a trailing "/" means the whole package
    forbidden: tuple[str, ...]  # module prefixes; "streams" forbids all of douane
    allowed: tuple[str, ...] = ()  # exceptions to ``forbidden``
    outside: tuple[str, ...] = ()  # files the rule does not cover

    def sources(self) -> list[Path]:
        found: set[Path] = set()
        for entry in self.files:
            if entry.endswith("/"):
                found.update((STREAMS / entry).rglob("*.py"))
            elif (STREAMS / entry).exists():
                found.add(STREAMS / entry)
        skipped = {p for entry in self.outside for p in (
            (STREAMS / entry).rglob("*.py") if entry.endswith("/") else [STREAMS / entry])}
        return sorted(found - skipped)

    def breaks(self, module: str) -> bool:
        def under(prefixes: tuple[str, ...]) -> bool:
            return any(module == p or module.startswith(p + ".") for p in prefixes)
        return under(self.forbidden) and not under(self.allowed)


RULES = [
    Rule("the core is pure: it imports nothing else of douane (the exception base excepted)",
         ("core/",), forbidden=("streams",), allowed=("streams.core", "streams.errors")),
    Rule("the exception base imports nothing of douane", ("errors.py",),
         forbidden=("streams",)),
    Rule("the standalone verifier imports nothing of douane", ("offline_verifier.py",),
         forbidden=("streams",)),
    Rule("services never import a face or devtools", ("services/",),
         forbidden=("streams.cli", "streams.console", "streams.devtools")),
    Rule("runtime never imports a face or devtools", RUNTIME,
         forbidden=("streams.cli", "streams.console", "streams.devtools")),
    Rule("adapters never import a face, a service or devtools", ("adapters/",),
         forbidden=("streams.cli", "streams.console", "streams.services",
                    "streams.devtools")),
    Rule("nothing but a face imports devtools", ("./",),
         forbidden=("streams.devtools",), outside=("cli/", "devtools/")),
    Rule("the console never imports the command (faces stand side by side)", ("console/",),
         forbidden=("streams.cli",)),
]

# Every module of streams/ is in one of these parts, so that a new one falls under the rules
# above (a module added beside worker.py would otherwise escape "never imports a face").
PARTS = ("__init__.py", "core/", "errors.py", "offline_verifier.py", "adapters/", *RUNTIME,
         "services/", "cli/", "console/", "devtools/")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    package = ".".join(("streams", *path.relative_to(STREAMS).with_suffix("").parts[:-1]))
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source`` (a module of ``package``); ``from a
    import b`` gives a and a.b (b may be a module)."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_imports_follow_the_arrows(rule: Rule) -> None:
    sources = rule.sources()
    assert sources, f"{rule.name}: no file matches {rule.files} (was a package moved?)"
    broken: dict[str, str] = {}  # one line per import statement, naming the module it reaches
    for path in sources:
        for line, module in imported_modules(path):
            if rule.breaks(module):
                where = f"streams/{path.relative_to(STREAMS)}:{line}"
                broken[where] = max(broken.get(where, ""), module, key=len)
    assert not broken, f"{rule.name}; forbidden imports:\n  " + "\n  ".join(
        f"{where} imports {module}" for where, module in broken.items())


def test_the_checker_sees_lazy_and_relative_imports() -> None:
    source = "def f():\n    from ..cli import main\n    import streams.devtools.x\n"
    modules = {m for _, m in imports_in(source, "streams.services")}
    assert {"streams.cli", "streams.cli.main", "streams.devtools.x"} <= modules
    rule = next(r for r in RULES if r.files == ("services/",))
    assert rule.breaks("streams.cli.main") and not rule.breaks("streams.adapters.key_store")


def test_every_module_is_in_a_part_the_rules_know() -> None:
    parts = Rule("every part", PARTS, forbidden=()).sources()
    strays = sorted(str(path.relative_to(STREAMS)) for path in STREAMS.rglob("*.py")
                    if path not in parts)
    assert not strays, ("modules in no part of tests/unit/test_layout.py (add them to PARTS, "
                        f"and to RUNTIME if they run in production): {strays}")


# Settings come from the environment in config.py only (one place to see them all). Secrets
# are read where they are used and never kept in Settings; the adapters' package sets the
# libraries' own variables before any adapter imports them; devtools start processes with
# environments of their own.
ENVIRONMENT_READERS = {
    "config.py": "every DOUANE_* setting",
    "adapters/pkcs11_keys.py": "the token's PIN (DOUANE_PKCS11_PIN or its file)",
    "adapters/providers/base.py": "a provider's key (DOUANE_PROVIDER_KEY_<ID>)",
    "adapters/__init__.py": "sets TLDEXTRACT_* and OPENBLAS_* before any adapter imports them",
}


def environment_uses(source: str) -> list[int]:
    """Lines that touch the process environment: ``os.environ``, ``os.getenv``, ``environ``
    or ``getenv`` imported from os."""
    names = ("environ", "environb", "getenv")

    def touches(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute):
            return (node.attr in names and isinstance(node.value, ast.Name)
                    and node.value.id == "os")
        return isinstance(node, ast.ImportFrom) and node.module == "os" and any(
            alias.name in names for alias in node.names)

    return [node.lineno for node in ast.walk(ast.parse(source)) if touches(node)]


def test_settings_are_read_from_the_environment_in_config_only() -> None:
    readers = Rule("environment", ("./",), forbidden=(), outside=("devtools/",)).sources()
    strays = [f"streams/{path.relative_to(STREAMS)}:{line}" for path in readers
              if str(path.relative_to(STREAMS)) not in ENVIRONMENT_READERS
              for line in environment_uses(path.read_text(encoding="utf-8"))]
    assert not strays, ("the environment read outside streams/config.py (add a setting there, "
                        f"or a secret to ENVIRONMENT_READERS with why): {strays}")


def test_the_environment_checker_sees_every_spelling() -> None:
    source = ("import os\nfrom os import environ, getenv\na = os.environ['X']\n"
              "b = os.getenv('Y')\n")
    assert environment_uses(source) == [2, 3, 4]
    assert environment_uses("import os\npath = os.path.join('a', 'b')\n") == []
