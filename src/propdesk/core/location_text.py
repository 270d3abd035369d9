"""Reading the words around a number: the sentence before it, and what it is if not a unit.

Shared by the unit finder (``unit``) and the building and floor extraction (``location``): the
words just before a position (same sentence, hard wraps undone), whether they end with a cue, and
whether a number is a time, a date, money, a phone group, a street number or a temperature.
"""

from __future__ import annotations

import re

ADDRESS_RE = re.compile(
    r"\d+\s+\w+(?:\s+\w+)?\s+(?:street|st|avenue|ave|road|rd|blvd|boulevard|lane|ln|drive|dr|way"
    r"|parkway|pkwy|highway|hwy|court|ct|place|pl|plaza|circle|cir|terrace|square|sq|pike|turnpike)"
    r"\b|\|",
    re.IGNORECASE,
)
TIME_AFTER_RE = re.compile(
    r"^\s*(?:am|pm|a\.m|p\.m|o'clock|degrees|%|percent|minutes|min|hours"
    r"|days|weeks|months|years|year|people|times|inches|feet|ft|lbs"
    r"|dollars|bucks|cents|month|day|week)\b",
    re.IGNORECASE,
)


# a line break inside a wrapped sentence ("... I live in\n1502, he is in 1503") is no sentence end:
# the line runs on (a lower-case word or a comma, 4+ words) into a lower-case word or a number
_WRAPPED_RE = re.compile(r"(?<=[a-z,])\n(?=[a-z0-9(#])")


def _unwrap(chunk: str) -> str:
    def join(m: re.Match[str]) -> str:
        line = chunk[chunk.rfind("\n", 0, m.start()) + 1 : m.start()]
        return " " if len(line.split()) >= 4 else "\n"

    return _WRAPPED_RE.sub(join, chunk)


def words_before(text: str, pos: int, n: int = 6) -> str:
    """The last ``n`` words before ``pos`` in its sentence, lower-cased ("#" counts as a word)."""
    start = max(0, pos - 80)
    before = _unwrap(text[start : pos + 1])[: pos - start].lower()  # +1: what follows a break
    before = re.split(r"[.!?;:\n]\s", before + " ")[-1]  # the same sentence only
    words = re.findall(r"[a-z0-9']+|#", before)
    return " ".join(words[-n:])


def has_cue(before: str, cues: tuple[str, ...]) -> bool:
    """One of ``cues`` (whole words) anywhere in ``before``."""
    padded = f" {before} "
    return any(f" {cue} " in padded or padded.endswith(f" {cue} ") for cue in cues)


def ends_with_cue(before: str, cues: tuple[str, ...], last: int = 3) -> bool:
    """One of ``cues`` (whole words) within the ``last`` words of ``before``."""
    tail = " ".join(before.split()[-last:])
    return any(f" {cue} " in f" {tail} " for cue in cues)


def line_of(text: str, pos: int) -> str:
    """The whole line of ``text`` that ``pos`` is on."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end >= 0 else len(text)]


_STREET_AFTER_RE = re.compile(
    r"\s+(?:[A-Z][a-z]+\s+){1,2}(?:st|street|ave|avenue|rd|road|blvd|boulevard|lane|ln|dr|drive"
    r"|way|ct|court|pl|place|terrace|pkwy|parkway)\b",
    re.IGNORECASE,
)


_MONTH_BEFORE_RE = re.compile(
    r"\b(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|may|june"
    r"|july|august|september|october|november|december)\.?\s+$",
    re.IGNORECASE,
)


def not_a_number_context(text: str, start: int, end: int) -> bool:
    """Times, money, phone numbers, dates, quantities."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 12]
    if "$" in before or re.match(r"^[:/]\d", after) or re.search(r"\d[:/. -]$", before):
        return True  # "924 38 051": a group of a phone number
    if _MONTH_BEFORE_RE.search(text[max(0, start - 12) : start]):
        return True  # "Dec. 14", "March 3"
    if re.match(r"[\s.]\d{3,4}\b|\s*[-\u2013]\s*\d", after):  # "555 0142", "100 - 200"
        return True
    if _STREET_AFTER_RE.match(text[end : end + 40]):  # "45 Oak Street"
        return True
    return bool(TIME_AFTER_RE.match(after))


_TEMPERATURE_RE = re.compile(r"degree|thermostat|temperature|\btemps?\b|°|celsius|fahrenheit", re.I)


def is_temperature(text: str, m: re.Match[str]) -> bool:
    """ "82 degrees in here, 30C outside": a C/F after a number near temperature words."""
    if m.group(1)[-1] not in "CFcf":
        return False
    if m.group(1)[-1] in "Ff" and 40 <= int(m.group(1)[:-1].rstrip("-")) <= 110:
        return words_before(text, m.start(), 1) not in {"in", "of", "from", "unit"}  # "58F"
    sentence = words_before(text, m.start(), 12) + " " + text[m.end() : m.end() + 30]
    prev = words_before(text, m.start(), 1)
    return bool(_TEMPERATURE_RE.search(sentence)) and prev not in {"in", "of", "from", "unit"}
