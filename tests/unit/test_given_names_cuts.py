"""The scan for a name after a day (``DAY_THEN_WORD``) is skipped where no day is named
(``given_names.may_name_a_day``): never where the scan could match, and no finding changes."""

from __future__ import annotations

import sys

import pytest
import regex

from streams.adapters.recognizers import given_names
from streams.adapters.recognizers.given_names import (
    DAY_THEN_WORD,
    DAYS,
    GivenNameRecognizer,
    may_name_a_day,
)

EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)


def test_every_character_regex_reads_as_a_day_letter_is_seen() -> None:
    """Each letter of each day, replaced by every code point ``regex`` matches to it
    case-insensitively: the day is still seen."""
    for letter in sorted(set("".join(DAYS))):
        twins = [m.group() for m in regex.finditer(f"(?i:{regex.escape(letter)})",
                                                   EVERY_CHARACTER)]
        assert (letter in twins and len(twins) >= 2) or not letter.isalpha()
        for day in DAYS:
            for at in [i for i, c in enumerate(day) if c == letter]:
                for twin in twins:
                    written = day[:at] + twin + day[at + 1:]
                    assert regex.fullmatch(f"(?i:{day})", written)
                    assert may_name_a_day(f"On {written} Nicole"), (day, hex(ord(twin)))


@pytest.mark.parametrize(("text", "named"), [
    ("On Monday María will be away", True),
    ("ON MONDAY MARÍA", True),
    ("le miércoles Juan", True),
    ("LE MIÉRCOLES JUAN", True),
    ("SÁBADO Pedro", True),
    ("dimanche", True),
    ("sundays", True),  # a substring is enough: the scan decides
    ("WEDNESDAY", True),
    ("MONDAY with a dotted \u0130", True),  # always scanned
    ("Nicole and Amanda met in Lyon on the 4th", False),
    ("Mon. Tue. Wed.", False),
    ("", False),
])
def test_may_name_a_day(text: str, named: bool) -> None:
    assert may_name_a_day(text) is named


def test_no_match_where_no_day_is_named() -> None:
    texts = ["On Monday María will be away", "mardi Nicole viendra", "el lunes Juan",
             "ON SUNDAY Amanda", "Le MIÉRCOLES Nicole", "On Sunday Nicole Leite", "Monday",
             "Nicole, Monday", "born on a Friday, Amanda", *DAYS]
    for text in texts + [t.upper() for t in texts] + [t.title() for t in texts]:
        if DAY_THEN_WORD.search(text) is not None:
            assert may_name_a_day(text), text


def test_same_findings_with_the_scan_always_run(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["On Monday María will be away.", "Le mardi Nicole viendra.", "El lunes Juan dijo.",
             "ON SUNDAY Amanda called.", "Nothing here but Lyon.", "Sábado Pedro llamó.",
             "On Friday Grace said she would come.", "Call Dan on Tuesday."]
    recognizers = [GivenNameRecognizer(language) for language in ("en", "fr", "es")]
    found = [[(r.start, r.end) for r in g.analyze(t, None)] for g in recognizers for t in texts]
    monkeypatch.setattr(given_names, "may_name_a_day", lambda text: True)
    assert [[(r.start, r.end) for r in g.analyze(t, None)]
            for g in recognizers for t in texts] == found
    assert any(found)
