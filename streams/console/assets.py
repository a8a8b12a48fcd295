"""The console's scripts and styles, served by douane itself (no CDN: government networks are
often closed).

Third-party files are the minified builds published on the npm registry, copied unchanged
into ``static/`` with their licence; :data:`VENDORED` names each with its package, version,
licence and SHA-256 (``tests/unit/test_console_assets.py`` checks the files against it). To
update one: ``npm pack PACKAGE@VERSION``, copy the file from the tarball's ``dist/``, and
change its line here. ``console.js`` and ``console.css`` are douane's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Vendored:
    file: str
    package: str  # on the npm registry
    version: str
    licence: str
    licence_file: str
    sha256: str


VENDORED = (
    Vendored("htmx.min.js", "htmx.org", "2.0.11", "0BSD", "htmx.LICENSE.txt",
             "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"),
    Vendored("chart.umd.min.js", "chart.js", "4.6.1", "MIT", "chart.js.LICENSE.md",
             "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"),
)


def register(app: web.Application) -> None:
    app.router.add_static("/static/", STATIC, follow_symlinks=False, append_version=False)
