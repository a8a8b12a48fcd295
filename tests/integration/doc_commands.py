"""The shell commands the README and the first-steps guides show, read from the Markdown.

Read: README.md (its ``sh`` blocks, and inline code that starts with ``douane ``, ``make `` or
``.venv/bin/``: the README tells newcomers to run those too) and the two guides the README
sends a newcomer to for a first run: docs/producers.md (sending a first prompt, over Kafka or
through the front door) and docs/operations.md ("Running it": starting the broker, a worker,
the front door by hand). The other guides are for later tasks (policies, audit, retention,
detection); their commands take inputs a first run does not have (an audit bundle, a new
policy set) and are exercised by the tests of those commands.

A command is known by its text without its trailing comment, whitespace collapsed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_STEPS = ("README.md", "docs/producers.md", "docs/operations.md")
INLINE_COMMAND = re.compile(r"`((?:douane|make|\.venv/bin/\S+) [^`|]+)`")
FENCE = re.compile(r"^[ \t]*```([\w-]*)[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)


@dataclass(frozen=True)
class DocCommand:
    file: str
    line: int  # 1-based line of the command in ``file``
    text: str  # as written (with its comment)

    @property
    def key(self) -> str:
        return command_key(self.text)


def command_key(text: str) -> str:
    """The command without its comment: ``shlex`` reads quotes as the shell does."""
    return shlex.join(shlex.split(text, comments=True))


def doc_commands(root: Path = ROOT) -> list[DocCommand]:
    found: list[DocCommand] = []
    for name in FIRST_STEPS:
        text = (root / name).read_text()
        for block in FENCE.finditer(text):
            if block.group(1) not in ("sh", "bash", "shell", "console"):
                continue
            first_line = text.count("\n", 0, block.start(2)) + 1
            pending: list[str] = []  # the lines of a command continued with a backslash
            for offset, line in enumerate(block.group(2).splitlines()):
                if not pending and (not line.strip() or line.lstrip().startswith("#")):
                    continue
                pending.append(line.strip().removesuffix("\\").strip())
                if not line.rstrip().endswith("\\"):
                    found.append(DocCommand(name, first_line + offset - len(pending) + 1,
                                            " ".join(pending)))
                    pending = []
        if name == "README.md":
            outside = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
            for match in INLINE_COMMAND.finditer(outside):
                found.append(DocCommand(name, outside.count("\n", 0, match.start()) + 1,
                                        match.group(1)))
    return found


def code_block(name: str, language: str, number: int = 0) -> str:
    """The ``number``-th block of ``language`` in ``name`` (a doc under the checkout)."""
    text = (ROOT / name).read_text()
    blocks = [m.group(2) for m in FENCE.finditer(text) if m.group(1) == language]
    return blocks[number]
