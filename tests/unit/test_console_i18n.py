"""Every English text of the console's templates has its French form, dates are shown in the
reader's zone, and the language follows the switch, then the browser."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest

from streams.console import i18n

CONSOLE = Path(__file__).resolve().parents[2] / "streams" / "console"
# _("...") in templates; the texts handed to refusal() and the sign-in form in the pages
TEMPLATE_TEXT = re.compile(r'_\("((?:[^"\\]|\\.)+)"\)')
PAGE_TEXT = re.compile(r'(?:refusal\(request, \d+, |_login_form\(request, \d+, )((?:"[^"]*"\s*)+)')


def english_texts() -> set[str]:
    found = set()
    for template in (CONSOLE / "templates").glob("*.html"):
        found |= set(TEMPLATE_TEXT.findall(template.read_text()))
        # the (value, "label") pairs a template loops over
        found |= set(re.findall(r'\("[\w-]+", "([^"]+)"', template.read_text()))
    for page in [*(CONSOLE / "pages").glob("*.py"), CONSOLE / "app.py"]:
        for match in PAGE_TEXT.findall(page.read_text()):
            text = "".join(re.findall(r'"([^"]*)"', match))
            if "{" not in text:
                found.add(text)
    return found


def test_every_text_has_a_french_form() -> None:
    texts = english_texts()
    assert len(texts) > 100  # the search finds them
    assert sorted(t for t in texts if t not in i18n.FRENCH) == []


def test_the_check_sees_a_missing_text() -> None:
    assert "Overview" in english_texts() and "Something new" not in i18n.FRENCH


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    ("fr", "en-GB,en;q=0.9", "fr"), (None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    (None, "de-DE,en;q=0.5", "en"), (None, None, "en"), ("xx", "fr", "fr"),
])
def test_the_language_follows_the_switch_then_the_browser(cookie: str | None,
                                                         header: str | None,
                                                         expected: str) -> None:
    assert i18n.pick_language(cookie, header) == expected


def test_times_are_shown_in_the_readers_zone() -> None:
    paris = i18n.zone("Europe%2FParis")
    assert i18n.local_time("2026-11-30T08:00:00.000000Z", paris) == "2026-11-30 09:00:00 CET"
    assert i18n.local_time("2026-07-01T08:00:00.000000Z", paris) == "2026-07-01 10:00:00 CEST"
    assert i18n.zone("Not/AZone") is UTC and i18n.zone("../../etc/passwd") is UTC
    assert i18n.zone(None) is UTC
