"""E-mail addresses. The pattern uses possessive quantifiers so that long runs of dots cannot
make it backtrack, and the text must contain an "@" before any pattern runs."""

from __future__ import annotations

import regex

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

LOCAL = r"[\w!#$%&'*+/=?^`{|}~-]++(?:\.[\w!#$%&'*+/=?^`{|}~-]++)*+"
DOMAIN = r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
EMAIL_PATTERN = rf"(?<![\w.@+-]){LOCAL}@{DOMAIN}(?![\w@-]|\.\w)"


class DouaneEmailRecognizer(DouaneRecognizer):
    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (Pattern("e-mail", EMAIL_PATTERN, 1.0),)
    PREFILTER = regex.compile("@")

    def validate(self, candidate: str) -> bool:
        local, _, domain = candidate.rpartition("@")
        return len(local) <= 64 and len(domain) <= 253 and ".." not in candidate
