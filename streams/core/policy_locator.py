"""Where each part of a merged policy set was written: the file, line and column, and the
path in that file, for messages such as ``health.yaml:12:5: rules[1].residency: ...``."""

from __future__ import annotations

from streams.core.policy_yaml import Path, YamlDocument, format_path

LIST_SECTIONS = ("providers", "tenants", "purposes", "rules", "budgets")


class Locator:
    """Maps a path in the merged document to the file, position and path where it was written."""

    def __init__(self) -> None:
        self.files: list[tuple[str, YamlDocument]] = []
        self.texts: list[str] = []
        self.items: dict[str, list[tuple[int, int]]] = {s: [] for s in LIST_SECTIONS}
        self.owner: dict[str, int] = {}

    def local(self, path: Path) -> tuple[int, Path]:
        if path and path[0] in self.items and len(path) > 1 and isinstance(path[1], int):
            items = self.items[str(path[0])]
            if path[1] < len(items):
                file_index, local_index = items[path[1]]
                return file_index, (path[0], local_index, *path[2:])
        if path and isinstance(path[0], str):
            return self.owner.get(path[0], 0), path
        return 0, path

    def where(self, section: str, index: int) -> str:
        """``health.yaml rules[1]`` for the merged ``rules[5]``."""
        file_index, local_path = self.local((section, index))
        return f"{self.files[file_index][0]} {format_path(local_path)}"

    def at(self, path: Path, message: str, *, key: bool = False) -> str:
        file_index, local_path = self.local(path)
        return self.at_file(file_index, local_path, message, key=key)

    def at_file(self, file_index: int, path: Path, message: str, *, key: bool = False) -> str:
        name, document = self.files[file_index]
        mark = document.key_mark(path) if key else document.mark(path)
        return f"{name}:{mark.line}:{mark.column}: {format_path(path)}: {message}"
