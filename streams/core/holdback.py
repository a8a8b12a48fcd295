"""A hold-back buffer for streamed answers: text is released as soon as it can no longer be
part of an unfinished placeholder (``<PERSON_1>``) or an unfinished word, so a placeholder or a
personal value split across chunks reaches the ``transform`` hook whole, while the first words
still leave without waiting for the end of the answer.

``transform`` is the hook for what must happen to released text (restoring placeholders,
scanning the answer for personal data); it receives only whole words and whole placeholders.
Pure and synchronous, like the rest of the core.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# what an unfinished "<ENTITY_TYPE_n>" can look like; a "<" followed by anything else is text
PLACEHOLDER_START = re.compile(r"<[A-Z0-9_]{0,48}")
# the end of a sentence or line: where a personal value (an IBAN in four-digit groups, a name
# and surname) can no longer continue
SENTENCE_END = re.compile(r"[.!?;:\n][\s\"»”)\]]*\s")


def _identity(text: str) -> str:
    return text


class HoldBack:
    def __init__(self, transform: Callable[[str], str] = _identity,
                 max_hold_chars: int = 256, whole_sentences: bool = False) -> None:
        """``whole_sentences``: release only up to the end of a sentence or line, so that a
        scanning ``transform`` sees values made of several words (cards, IBANs, full names)
        whole; ``max_hold_chars`` still bounds the delay."""
        self.transform = transform
        self.max_hold_chars = max_hold_chars
        self.whole_sentences = whole_sentences
        self.pending = ""

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the transformed text that is safe to send now (maybe '')."""
        self.pending += chunk
        cut = self._safe_prefix_length()
        released, self.pending = self.pending[:cut], self.pending[cut:]
        return self.transform(released) if released else ""

    def flush(self) -> str:
        """The end of the stream: everything still held, transformed."""
        released, self.pending = self.pending, ""
        return self.transform(released) if released else ""

    def _safe_prefix_length(self) -> int:
        text = self.pending
        if len(text) > self.max_hold_chars:  # a bound on memory and on delay
            forced = len(text) - self.max_hold_chars
            space = text.find(" ", forced)  # at a word boundary when there is one
            return space + 1 if space >= 0 else forced
        cut = len(text)
        opening = text.rfind("<")
        if opening >= 0 and PLACEHOLDER_START.fullmatch(text[opening:]):
            cut = opening  # maybe the start of a placeholder: wait for its end
        if self.whole_sentences:
            ends = [m.end() for m in SENTENCE_END.finditer(text, 0, cut)]
            return ends[-1] if ends else 0
        last_space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
        # hold the last, maybe unfinished, word: a name split as "Jea" + "nne" is seen whole
        return last_space + 1 if last_space >= 0 else 0
