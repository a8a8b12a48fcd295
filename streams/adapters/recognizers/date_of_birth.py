"""Dates of birth: a date written right after a birth context, in the five languages.

A date alone is not personal data ("the committee met on 12 March 1984"); after "born",
"date of birth", "DOB", "né(e) le", "date de naissance", "nacido/nacida el", "fecha de
nacimiento", "народився/народилася", "дата народження", "fæddur/fædd", "fæðingardagur" it
is. Only the date is reported (the cue stays readable: "born on <DATE_OF_BIRTH_1>"). Between
the cue and the date may stand a place ("born in Leeds on", "né à Lyon le", "nacida en
Sevilla el", "народився у Києві", "fæddist í Reykjavík") and a connecting word ("on", "the",
"le", "el"), nothing else: a cue followed later in the sentence by another date ("Mary Smith
née Jones, who married on 12 May 1990") reports nothing.

What counts as a date: a day and a month, with or without the year, written with digits
(12/03/1984, 03-12-1984, 1984-03-12, 12.03.84) or with the month's name in any of the five
languages (12 March 1984, March 12, 1984, the 12th of March, 1er mars 1984, 12 de marzo de
1984, 12 березня 1984 року, 12. mars 1984). A year alone ("born in 1984") or a month and year
("born in March 1984") is not reported: it narrows a person down far less, and biographies
are full of them.

The cues and month names of every language are in one pattern, whatever the message's
language: a form in French quoted inside an English prompt is still found. The pattern only
starts at a cue word, so it costs one scan of the text for the cues.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

from streams.adapters.recognizers.base import DouaneRecognizer, Pattern

CUES = (
    # English
    r"born", r"date\s+of\s+birth", r"birth\s*date", r"d\.?\s?o\.?\s?b\.?", r"birthday",
    # French (né, née, nés, nées; "date de naissance", "naissance :")
    r"né(?:e|es|s)?", r"nee", r"naissance", r"naquit",
    # Spanish
    r"nacid[oa]s?", r"naci[óo]", r"nacimiento", r"f\.\s?nac\.?",
    # Ukrainian
    r"народи(?:вся|лася|лись|лися|вшись)", r"народження", r"нар\.",
    # Icelandic
    r"f[æe]dd(?:ur|ist|ar|ir|)", r"f[æe]ðingardag(?:ur|s|)", r"f[æe]ðingardagsetning",
)
MONTHS = (
    # English (with abbreviations)
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sept", "sep", "oct", "nov", "dec",
    # French
    "janvier", "février", "fevrier", "mars", "avril", "mai", "juin", "juillet", "août", "aout",
    "septembre", "octobre", "novembre", "décembre", "decembre", "janv", "févr", "fevr",
    "avr", "juil", "déc",
    # Spanish
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "setiembre", "octubre", "noviembre", "diciembre", "ene", "abr", "ago", "dic",
    # Ukrainian (genitive, as dates are written; nominative too)
    "січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня",
    "жовтня", "листопада", "грудня", "січень", "лютий", "березень", "квітень", "травень",
    "червень", "липень", "серпень", "вересень", "жовтень", "листопад", "грудень",
    # Icelandic
    "janúar", "febrúar", "apríl", "maí", "júní", "júlí", "ágúst", "október", "nóvember",
    "desember",
)
_MONTH = "(?:" + "|".join(sorted({regex.escape(m) for m in MONTHS}, key=len, reverse=True)) + ")"
_DAY = r"(?:3[01]|[12]\d|0?[1-9])"
_ORDINAL = r"(?:st|nd|rd|th|er|re|e|º|°|o|\.)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_YEAR_WORD = r"(?:\s*(?:року|р\.|рік|г\.))?"
DATE = (
    r"(?P<date>"
    # digits: 12/03/1984, 03-12-84, 12.03.1984, 1984-03-12
    r"\d{1,2}(?P<sep>[./-])\d{1,2}(?P=sep)(?:\d{4}|\d{2})(?!\d)"
    r"|\d{4}(?P<isosep>[./-])\d{1,2}(?P=isosep)\d{1,2}(?!\d)"
    # day first: 12 March 1984, the 12th of March, 1er mars 1984, 12 de marzo de 1984,
    # 12. mars 1984, 12 березня 1984 року
    rf"|{_DAY}{_ORDINAL}\s*(?:of\s+|de\s+)?{_MONTH}\.?(?:,?\s+(?:de\s+|of\s+)?{_YEAR}{_YEAR_WORD})?"
    # month first: March 12, 1984; March 12th
    rf"|{_MONTH}\.?\s+{_DAY}(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?"
    r")(?![\w])"
)
# What may stand between the cue and the date: a colon or dash, a parenthesis ("date of birth
# (dd/mm/yyyy):"), a place introduced by a preposition, a connecting word.
_CAPITALISED = r"(?-i:\p{Lu})[\p{L}'’-]*"
_PLACE = (rf"(?:\s+(?:in|at|à|au|a|en|у|в|í|á)\s+{_CAPITALISED}"
          rf"(?:[\s-]+(?:de\s+|del\s+|la\s+|sur\s+)?{_CAPITALISED}){{0,3}},?)?")
_CONNECTOR = r"(?:\s+(?:on\s+the|on|in|the|le|el\s+día|el|il|am))?"
DATE_OF_BIRTH_PATTERN = (
    r"(?i)(?<![\w])(?:" + "|".join(CUES) + r")(?![\w])"
    r"(?:\s*\([^()\n]{0,24}\))?\s*[:=–—-]?" + _PLACE + _CONNECTOR + r"\s*" + DATE
)


class DateOfBirthRecognizer(DouaneRecognizer):
    ENTITY = "DATE_OF_BIRTH"
    PATTERNS = (Pattern("date after a birth context", DATE_OF_BIRTH_PATTERN, 0.9),)

    def validate(self, candidate: str) -> bool:
        return True  # checked in ``spans``, which sees the date's parts

    def spans(self, text: str, match: regex.Match[str]) -> Iterator[tuple[int, int]]:
        if _plausible(match):
            yield match.start("date"), match.end("date")


def _plausible(match: regex.Match[str]) -> bool:
    """A date written with digits must have a real day and month (either order: 03/12/1984
    is the 3rd of December in Europe, March 12 in the United States)."""
    if match.group("sep"):
        first, second, _ = regex.split(r"[./-]", match.group("date"))
        a, b = int(first), int(second)
        return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    if match.group("isosep"):
        _, month, day = regex.split(r"[./-]", match.group("date"))
        return 1 <= int(month) <= 12 and 1 <= int(day) <= 31
    return True
