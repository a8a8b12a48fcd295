"""Keyed fingerprints of data subjects: how douane finds a person without storing who they are.

HMAC-SHA-256 with a per-tenant key over the value in a normal form (:func:`normal_form`), so
``Madame Jeanne  MARTIN``, ``jeanne martin`` and ``Jeanne Mártin`` are one subject. Never an
unkeyed hash: anyone could hash a list of names and compare.

The normal form:

* Unicode NFKC (compatibility forms: ligatures, full-width letters), case-folded;
* accents on Latin letters dropped (``é`` -> ``e``, ``ñ`` -> ``n``), because a name is often
  typed without them; letters of other scripts are kept whole, since in Ukrainian ``й`` and
  ``ї`` are letters of their own, not ``и`` and ``і`` with an accent (and Icelandic ``ð``,
  ``þ``, ``æ`` are letters with no accent to drop);
* runs of white space (no-break spaces included) as one space, none at either end;
* honorifics in front of a name removed (several in a row too: ``Mme la Dre``), in the five
  languages douane detects: see :data:`HONORIFICS`. ``Don`` is not among them: it is an English
  first name as often as a Spanish honorific. A value that is only an honorific keeps it.

Values fingerprinted before this normal form (NFC, case, spaces only) are still found:
:func:`legacy_normal_form` gives the older form, and lookups try both.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_SPACES = re.compile(r"\s+")

# honorifics, case-folded and without accents (they are matched after both); with or without
# a full stop where the abbreviation takes one
HONORIFICS: dict[str, tuple[str, ...]] = {
    "en": ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "madam", "rev"),
    "fr": ("monsieur", "madame", "mademoiselle", "messieurs", "mesdames", "m", "mme", "mmes",
           "mlle", "mlles", "docteur", "docteure", "dr", "dre", "professeur", "professeure",
           "pr", "me", "maitre", "le", "la"),
    "es": ("senor", "senora", "senorita", "sr", "sra", "srta", "dona", "dna", "dr", "dra",
           "profesor", "profesora", "lic", "licenciado", "licenciada", "ing"),
    "uk": ("пан", "пані", "панна", "добродій", "добродійка", "д-р", "доктор", "професор",
           "проф"),
    "is": ("herra", "fru", "ungfru", "sera", "dr", "professor"),
}
# "le"/"la" only between two honorifics ("Madame la Docteure"): never a name's own particle
_ARTICLES = frozenset({"le", "la"})
_TITLES = frozenset(t for words in HONORIFICS.values() for t in words) - _ARTICLES


def _is_title(word: str) -> bool:
    return word.rstrip(".") in _TITLES


def legacy_normal_form(value: str) -> str:
    """The normal form before honorifics and accents were folded (NFC, case, spaces)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value).casefold()).strip()


def _without_latin_accents(text: str) -> str:
    kept: list[str] = []
    base_is_latin = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            if not base_is_latin:
                kept.append(char)
            continue
        base_is_latin = char.isascii() or "LATIN" in unicodedata.name(char, "")
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _without_honorifics(words: list[str]) -> list[str]:
    start = 0
    while start < len(words) - 1:
        word = words[start]
        if _is_title(word) or (start > 0 and word in _ARTICLES and _is_title(words[start + 1])):
            start += 1
            continue
        break
    return words[start:]


def normal_form(value: str) -> str:
    folded = _without_latin_accents(unicodedata.normalize("NFKC", value).casefold())
    words = _SPACES.sub(" ", folded).strip().split(" ")
    return " ".join(_without_honorifics(words))


def subject_fingerprint(tenant_key: bytes, value: str) -> str:
    return _keyed(tenant_key, normal_form(value))


def subject_fingerprints(tenant_key: bytes, value: str) -> tuple[str, ...]:
    """The fingerprint of ``value``, then the one it had under the legacy normal form when that
    differs (to find values stored before it changed)."""
    current = normal_form(value)
    legacy = legacy_normal_form(value)
    found = [_keyed(tenant_key, current)]
    if legacy != current:
        found.append(_keyed(tenant_key, legacy))
    return tuple(found)


def _keyed(tenant_key: bytes, normal: str) -> str:
    if len(tenant_key) < 32:
        raise ValueError("a fingerprint key is at least 32 bytes")
    digest = hmac.new(tenant_key, b"douane-subject\0" + normal.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()


FINGERPRINT = re.compile(r"[0-9a-f]{64}")
