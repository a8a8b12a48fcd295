"""The console's vendored scripts are exactly the files named in ``streams/console/assets.py``
(package, version, licence and SHA-256), each with its licence beside it, and nothing else
third-party sits in ``static/``."""

from __future__ import annotations

import hashlib

from streams.console.assets import STATIC, VENDORED

OWN = {"console.js", "console.css"}


def test_each_vendored_file_has_the_recorded_sha256_and_its_licence() -> None:
    for vendored in VENDORED:
        data = (STATIC / vendored.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == vendored.sha256, vendored.file
        assert vendored.version in data[:400].decode("utf-8", "replace") or \
            vendored.package == "htmx.org", vendored.file  # Chart.js names its version
        licence = (STATIC / vendored.licence_file).read_text()
        assert ("MIT" in licence or "Zero-Clause BSD" in licence), vendored.licence_file


def test_static_holds_only_the_listed_files() -> None:
    listed = {v.file for v in VENDORED} | {v.licence_file for v in VENDORED} | OWN
    assert {p.name for p in STATIC.iterdir()} == listed


def test_a_changed_byte_is_seen() -> None:
    vendored = VENDORED[0]
    data = bytearray((STATIC / vendored.file).read_bytes())
    data[-2] ^= 1
    assert hashlib.sha256(bytes(data)).hexdigest() != vendored.sha256
