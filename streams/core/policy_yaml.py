"""YAML for policies: plain values plus the line and column of every node, so an error can say
``policies/health.yaml:12:5: rules[2].residency.providers[0]: ...``.

Three deliberate differences from ``yaml.safe_load``:
- only ``true``/``false`` are booleans (YAML 1.2), so the jurisdiction ``NO`` (Norway) or a
  value ``off`` stays a string instead of silently becoming ``False``;
- a date such as a price's ``valid_from: 2025-01-01`` stays the string it is written as (a
  policy is JSON data: it is checked by a JSON Schema and hashed as canonical JSON);
- a key repeated in one mapping is an error, not "the last one wins";
- aliases (``*name``, and so ``<<: *name`` merges) are refused where they are written: nested
  aliases make a few lines of YAML expand into billions of nodes ("billion laughs"), which kept
  ``policy validate`` busy for minutes, and a policy gains nothing from them that writing the
  value out does not give more readably. An anchor alone (``&name``) is harmless and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from streams.errors import DouaneError

Path = tuple[str | int, ...]


class _PolicyLoader(yaml.SafeLoader):
    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):  # refused before anything is expanded
            event: yaml.AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
            where = event.start_mark
            raise YamlSyntaxError(
                Mark(where.line + 1, where.column + 1) if where else Mark(1, 1),
                f"YAML aliases are not allowed in a policy (*{event.anchor}): write the value "
                "out where it is used")
        return super().compose_node(parent, index)


_PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class YamlDocument:
    value: Any
    marks: dict[Path, Mark] = field(default_factory=dict)  # node of the value at a path
    key_marks: dict[Path, Mark] = field(default_factory=dict)  # the key naming that path
    problems: list[tuple[Mark, Path, str]] = field(default_factory=list)

    def mark(self, path: Path) -> Mark:
        """The mark of ``path``, or of its nearest ancestor that exists in the file."""
        for cut in range(len(path), -1, -1):
            found = self.marks.get(path[:cut])
            if found is not None:
                return found
        return Mark(1, 1)

    def key_mark(self, path: Path) -> Mark:
        return self.key_marks.get(path) or self.mark(path)


class YamlSyntaxError(DouaneError, ValueError):
    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message

    def diagnostics(self) -> str:
        return f"line {self.mark.line}, column {self.mark.column}: {self.message}"


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def load_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; raises :class:`YamlSyntaxError` with the position."""
    loader = _PolicyLoader(text)
    try:
        node = loader.get_single_node()
        document = YamlDocument(None)
        if node is not None:
            _walk(node, (), document, _PolicyLoader(""))
            document.value = loader.construct_document(node)
        return document
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark or error.context_mark
        mark = Mark(where.line + 1, where.column + 1) if where else Mark(1, 1)
        raise YamlSyntaxError(mark, f"not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(Mark(1, 1), f"not valid YAML ({type(error).__name__})") from None
    finally:
        loader.dispose()


def _walk(node: yaml.Node, path: Path, document: YamlDocument, keys: _PolicyLoader) -> None:
    document.marks[path] = _mark(node)
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), document, keys)
    elif isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # a "<<:" merge of a mapping written in place (aliases are refused)
            try:
                key = keys.construct_object(key_node, deep=True)
            except yaml.YAMLError:
                key = str(getattr(key_node, "value", "?"))
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key)
            child = (*path, key)
            if key in seen:
                document.problems.append((_mark(key_node), child, f"duplicate key '{key}'"))
            seen.add(key)
            document.key_marks[child] = _mark(key_node)
            _walk(value_node, child, document, keys)


def format_path(path: Path) -> str:
    """``("rules", 2, "residency")`` -> ``rules[2].residency``; ``()`` -> ``(document)``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(document)"
