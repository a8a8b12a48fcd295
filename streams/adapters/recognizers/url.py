"""Web addresses. A domain that is part of an e-mail address ("example.fr" in
"jeanne@example.fr") is not a URL: it is covered by the e-mail finding."""

from __future__ import annotations

from collections.abc import Iterator

import regex

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

SCHEME_URL = r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"'()\[\]]++"
BARE_DOMAIN = (
    r"(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)++"
    r"(?:com|org|net|gov|edu|fr|es|ua|is|uy|uk|de|eu|be|ch|io|info|gouv\.fr|gob\.es)"
    r"(?:/[^\s<>\"'()\[\]]*+)?(?![\w@-])"
)


class DouaneUrlRecognizer(DouaneRecognizer):
    ENTITY = "URL"
    PATTERNS = (Pattern("URL", SCHEME_URL, 0.6), Pattern("domain", BARE_DOMAIN, 0.5))
    PREFILTER = regex.compile(r"\.")
    CONTEXT = {"*": ("url", "site", "http", "lien", "link", "enlace", "посилання", "vefsíða")}
    SCORE_WITH_CONTEXT = 0.7

    def spans(self, text: str, match: regex.Match[str]) -> Iterator[tuple[int, int]]:
        """The match without trailing punctuation; nothing if it is an e-mail's domain."""
        end = match.end()
        while end > match.start() and text[end - 1] in ".,;:!?":
            end -= 1
        if end < len(text) and text[end] == "@":
            return
        yield match.start(), end
