"""Cutting a governed answer into stream chunks without splitting a placeholder.

Answers reach the front door whole (from ``douane.responses``), so they are cut here into
word-sized pieces for ``stream: true`` callers. The cut never falls inside a placeholder such
as ``<PERSON_1>``, so a client (or a later restoration step) always sees one whole.
"""

from __future__ import annotations

import re

TOKENISH = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>|\S+\s*|\s+")


def pieces(text: str, words_per_piece: int = 3) -> list[str]:
    tokens = TOKENISH.findall(text)
    return ["".join(tokens[i:i + words_per_piece])
            for i in range(0, len(tokens), words_per_piece)] or [""]
