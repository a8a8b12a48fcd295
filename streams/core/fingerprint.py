"""Keyed fingerprints of data subjects: how douane finds a person without storing who they are.

HMAC-SHA-256 with a per-tenant key over the value in a normal form (Unicode NFC, case-folded,
runs of white space as one space), so ``Jean  DUPONT`` and ``jean dupont`` are one subject.
Never an unkeyed hash: anyone could hash a list of names and compare.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normal_form(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value).casefold()).strip()


def subject_fingerprint(tenant_key: bytes, value: str) -> str:
    if len(tenant_key) < 32:
        raise ValueError("a fingerprint key is at least 32 bytes")
    digest = hmac.new(tenant_key, b"douane-subject\0" + normal_form(value).encode("utf-8"),
                      hashlib.sha256)
    return digest.hexdigest()


FINGERPRINT = re.compile(r"[0-9a-f]{64}")
