"""Where the matter is: the sender's unit, the building, the floor and a section/wing.

This module: the building, floor and section, and the whole ``Location``; the unit is found by
``propdesk.core.unit`` (reading the words around each number with ``location_text``).

The spec's patterns (``apt (\\w+)``, ``#(\\w+)``, ``(\\d+[A-Z])``, ``building (\\w+)``, ...) made
robust. Deviations from the naive spec, on purpose:

- every number is a *candidate* scored by its context; the best-scored one wins, so "I'm in 3A,
  the unit above is 4A" gives 3A;
- a unit mentioned near neighbour words ("above", "next door", "lives in", "knocked on") is a
  neighbour's, and every other bare mention of that same id is distrusted too;
- times (10:30), dates (3/4), money ($75), phone numbers (555-0142), ordinals (5th), and numbers
  after tracking/work-order/spot/mailbox/dryer words are never units; "AC unit" has no id;
- a bare number (no keyword) is only a candidate where the tenant places themselves ("I live
  in\n1502", "Sitting outside 9C" when locked out, "Katie\n304" under the sign-off name, "Nadia
  from 712 here"); years, phone groups, street numbers, ranges and temperatures never are;
- "suite" only counts outside address lines ("400 Main Street, Suite 300" is a work signature);
- building: "Building C" / "bldg C" / "Tower B" / "Block 2" -> C/B/2, "the Maple building" ->
  MAPLE (capitalised name only); the tenant's own sign-off counts, a work signature does not;
- floor: only when stated ("3rd floor", "floor 7", "top floor (5th)"), never from the unit id,
  never "between the 4th and 5th floors".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from propdesk.core.location_text import ADDRESS_RE, TIME_AFTER_RE, words_before
from propdesk.core.unit import UNIT_NOT_SPECIFIED, extract_unit
from propdesk.core.vocabulary import Vocabulary

__all__ = [
    "UNIT_NOT_SPECIFIED",
    "Location",
    "extract_building",
    "extract_floor",
    "extract_location",
    "extract_unit",
]

_BUILDING_ID_RE = re.compile(
    r"(?<![A-Za-z])(?:building|bldg|tower|block)\.?[:-]?\s*(?:#|no\.)?\s*([A-Z]|\d{1,3}|[A-Z]\d)"
    r"(?!\w|'(?!s\b))",
    re.IGNORECASE,
)
_BUILDING_LABEL_RE = re.compile(r"(?<![A-Za-z])(?i:building|bldg)\.?:\s*([A-Z][a-z]+)\b")
_BUILDING_LETTER_RE = re.compile(
    r"\b[Tt]he ([B-HJ-Z]) (?i:building|bldg|tower)\b"
)  # "the C building"
_BUILDING_NAME_RE = re.compile(r"(?<![\w'])([A-Z][a-z]+|[A-Z]{2,})[ \t]+(?:building|bldg)\b", re.I)
_ORDINAL_WORDS = {
    "first": "1",
    "second": "2",
    "third": "3",
    "fourth": "4",
    "fifth": "5",
    "sixth": "6",
    "seventh": "7",
    "eighth": "8",
    "ninth": "9",
    "tenth": "10",
    "eleventh": "11",
    "twelfth": "12",
}
_CARDINAL_WORDS = {
    w: str(i)
    for i, w in enumerate(
        ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"),
        start=1,
    )
}
_FLOOR_RES = (
    re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)[\s-]+(?:floor\b(?!s)|flr?\b\.?)", re.IGNORECASE),
    re.compile(r"\b(?:from|on|at|in)\s+(\d{1,2})\s+floor\b(?!s)", re.IGNORECASE),  # "from 7 floor"
    re.compile(r"\b(?i:the|on|my|our)\s+(\d{1,2})\.\s+floor\b(?!s)"),  # "on the 3. floor"
    re.compile(
        r"\bfloor\s*(?:#|no\.?|:|number)?\s*\(?(\d{1,2})(?:st|nd|rd|th)?\)?(?![\d:/])", re.I
    ),
    re.compile(r"\bflr?(?:\.\s*|\s+)(\d{1,2})\b(?![:/.]\d|\s*oz)", re.IGNORECASE),  # "fl. 3"
    re.compile(r"\b(" + "|".join(_ORDINAL_WORDS) + r")[\s-]+floor\b(?!s)", re.IGNORECASE),
    re.compile(r"\bfloor\s+(" + "|".join(_CARDINAL_WORDS) + r")\b", re.IGNORECASE),
)
_BETWEEN_RE = re.compile(r"between\s+(?:the\s+)?\S+\s+and\s+(?:the\s+)?\S+\s+floors", re.I)
_SECTION_RE = re.compile(
    r"\b(north|south|east|west|rear|front)\s+(wing|tower|side of the building|section)\b", re.I
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where the matter is. ``unit_number`` is "Unit 3B" or "Unit not specified"."""

    unit_number: str = UNIT_NOT_SPECIFIED
    building: str | None = None
    floor: str | None = None
    section: str | None = None
    evidence: tuple[str, ...] = ()


def extract_building(text: str, vocab: Vocabulary) -> str | None:
    """ "Building C" -> C, "the Maple building" -> MAPLE; first stated wins."""
    stop = vocab.location.building_stopwords
    found: list[tuple[int, str]] = []
    for m in _BUILDING_ID_RE.finditer(text):
        ident = m.group(1)
        if ident.isalpha() and not ident.isupper():
            continue
        if TIME_AFTER_RE.match(text[m.end() :]) or re.match(
            r"\s+(?:blocks?|away|stor(?:e?y|ies|eys)|floors|units|apartments|flats)\b",
            text[m.end() :],
        ):
            continue  # "a block 2 minutes away", "building 3 stories"
        if ident == "I" and m.group(0)[0].islower() and re.match(r"\s+[a-z]", text[m.end() :]):
            continue  # "the building I live in" (but "Building I has no heat")
        if len(ident) > 1 and ident.lower() in stop:
            continue
        found.append((m.start(), ident.upper()))
    found.extend((m.start(), m.group(1)) for m in _BUILDING_LETTER_RE.finditer(text))
    for m in _BUILDING_LABEL_RE.finditer(text):  # "Building: Birch"
        if m.group(1).lower() not in stop:
            found.append((m.start(), m.group(1).upper()))
    for m in _BUILDING_NAME_RE.finditer(text):
        name = m.group(1)
        if name.lower() in stop or name.lower() in {"building", "bldg"}:
            continue
        if not name[0].isupper():
            continue
        found.append((m.start(), name.upper()))
    return min(found)[1] if found else None


def extract_floor(text: str, vocab: Vocabulary) -> str | None:
    """The floor when stated explicitly; never inferred from a unit number."""
    masked = _BETWEEN_RE.sub(" ", text)
    best: tuple[int, str] | None = None
    for pattern in _FLOOR_RES:
        for m in pattern.finditer(masked):
            word = m.group(1).lower()
            value = _ORDINAL_WORDS.get(word) or _CARDINAL_WORDS.get(word) or word
            if value == "0":
                continue
            if m.group(0).lower().startswith("fl") and (
                TIME_AFTER_RE.match(masked[m.end() :])  # "mopped the floor 3 times"
                # "kitchen floor 2 tiles"
                or words_before(masked, m.start(), 1) in vocab.location.surface_before_floor
            ):
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), str(int(value)))
    return best[1] if best else None


_COMPANY_RE = re.compile(
    r"\b(?:inc|llc|ltd|corp|co|company|services|group|associates|partners|suite|ste)\b", re.I
)


def _signature_building(signature: str, vocab: Vocabulary) -> str | None:
    """ "Katie\nBirch Building, #204": the tenant's own sign-off names their building; a work
    signature ("Acme Building Services, Suite 300") does not."""
    if not signature or _COMPANY_RE.search(signature) or ADDRESS_RE.search(signature):
        return None
    return extract_building(signature, vocab)


def extract_location(subject: str, new_text: str, signature: str, vocab: Vocabulary) -> Location:
    """Unit, building, floor and section of one email."""
    unit, why = extract_unit(subject, new_text, signature, vocab)
    text = f"{subject}\n{new_text}"
    building = extract_building(text, vocab) or _signature_building(signature, vocab)
    floor = extract_floor(text, vocab)
    section_m = _SECTION_RE.search(text)
    section = section_m.group(0).upper() if section_m else None
    evidence = [why]
    if building:
        evidence.append(f"building:{building}")
    if floor:
        evidence.append(f"floor:{floor}")
    return Location(unit, building, floor, section, tuple(evidence))
