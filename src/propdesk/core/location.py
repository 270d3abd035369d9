"""Where the matter is: the sender's unit, the building, the floor and a section/wing.

The spec's patterns (``apt (\\w+)``, ``#(\\w+)``, ``(\\d+[A-Z])``, ``building (\\w+)``, ...) made
robust. Deviations from the naive spec, on purpose:

- every number is a *candidate* scored by its context; the best-scored one wins, so "I'm in 3A,
  the unit above is 4A" gives 3A;
- a unit mentioned near neighbour words ("above", "next door", "lives in", "knocked on") is a
  neighbour's, and every other bare mention of that same id is distrusted too;
- times (10:30), dates (3/4), money ($75), phone numbers (555-0142), ordinals (5th), and numbers
  after tracking/work-order/spot/mailbox/dryer words are never units; "AC unit" has no id;
- "suite" only counts outside address lines ("400 Main Street, Suite 300" is a work signature);
- building: "Building C" / "bldg C" -> C, "the Maple building" -> MAPLE (capitalised name only);
- floor: only when stated ("3rd floor", "floor 7", "top floor (5th)"), never from the unit id,
  never "between the 4th and 5th floors".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from propdesk.core.vocabulary import LocationWords, Vocabulary

UNIT_NOT_SPECIFIED = "Unit not specified"

_ID = r"(?:PH|ph|Ph)?[A-Za-z]?\d{1,4}(?:-?[A-Za-z](?![A-Za-z]))?"  # 4C, B12, 4-B, PH2
_KEYWORD_RE = re.compile(
    r"(?<![A-Za-z])(apartment|apartamento|apt|unit|flat|suite|ste|residence)\.?"
    r"(?:\s*(?:#|no\.?|number)(?:\s+is)?)?\s*(" + _ID + r")(?![\w/-]|:\d)",
    re.IGNORECASE,
)
_HASH_RE = re.compile(r"#\s?(\d{1,4}[A-Za-z]?)(?![\w:/])")
_BARE_ALNUM_RE = re.compile(r"(?<![\w#$/:.,-])(\d{1,4}-?[A-Za-z])(?![\w/%-]|:\d)")
_BARE_NUM_RE = re.compile(r"(?<![\w#$/:.,-])(\d{1,4})(?![\w/:%,-]|\.\d)")
_SIGN_OFF_RE = re.compile(
    r"^[-\u2013\s]*[A-Z][\w.'&]*(?:\s+(?:&\s+)?[A-Z][\w.'&]*){0,3}\s*(?:[,(\-\u2013]|\s)\s*"
    r"(?:formerly\s+)?(" + _ID + r")\)?\s*$"
)
_ALONE_RE = re.compile(r"^\s*[-\u2013(]?\s*(" + _ID + r")\s*\)?[.!]?\s*$")
_ADDRESS_RE = re.compile(
    r"\d+\s+\w+(?:\s+\w+)?\s+(?:street|st|avenue|ave|road|rd|blvd|boulevard|lane|ln|drive|dr|way)"
    r"\b|\|",
    re.IGNORECASE,
)
_TIME_AFTER_RE = re.compile(
    r"^\s*(?:am|pm|a\.m|p\.m|o'clock|degrees|%|percent|minutes|min|hours"
    r"|days|weeks|months|years|year|people|times|inches|feet|ft|lbs"
    r"|dollars|bucks|cents|month|day|week)\b",
    re.IGNORECASE,
)

_BUILDING_ID_RE = re.compile(
    r"(?<![A-Za-z])(?:building|bldg)\.?\s*#?\s*([A-Z]|\d{1,3}|[A-Z]\d)(?![\w'])", re.IGNORECASE
)
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
_FLOOR_RES = (
    re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)[\s-]+floor\b(?!s)", re.IGNORECASE),
    re.compile(r"\bfloor\s*(?:#|no\.?)?\s*\(?(\d{1,2})(?:st|nd|rd|th)?\)?(?![\d:/])", re.I),
    re.compile(r"\b(" + "|".join(_ORDINAL_WORDS) + r")[\s-]+floor\b(?!s)", re.IGNORECASE),
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


@dataclass
class _Candidate:
    unit: str
    score: float
    pos: int
    why: str


def _words_before(text: str, pos: int, n: int = 6) -> str:
    before = text[max(0, pos - 60) : pos].lower()
    before = re.split(r"[.!?;:\n]\s", before + " ")[-1]  # the same sentence only
    words = re.findall(r"[a-z0-9']+|#", before)
    return " ".join(words[-n:])


def _has_cue(before: str, cues: tuple[str, ...]) -> bool:
    padded = f" {before} "
    return any(f" {cue} " in padded or padded.endswith(f" {cue} ") for cue in cues)


def _ends_with_cue(before: str, cues: tuple[str, ...], last: int = 3) -> bool:
    tail = " ".join(before.split()[-last:])
    return any(f" {cue} " in f" {tail} " for cue in cues)


def _line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end >= 0 else len(text)]


def _not_a_number_context(text: str, start: int, end: int) -> bool:
    """Times, money, phone numbers, dates, quantities."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 12]
    if "$" in before or re.match(r"^[:/]\d", after) or re.search(r"\d[:/.-]$", before):
        return True
    return bool(_TIME_AFTER_RE.match(after))


def _add(
    found: list[_Candidate], text: str, words: LocationWords, m: re.Match[str], score: float
) -> None:
    raw, pos = m.group(m.lastindex or 0), m.start()
    why = m.group(0).strip()
    if _has_cue(_words_before(text, pos, 20), words.ignore_context):
        return  # "my forwarding address is 45 Oak St, Apt 2"
    before = _words_before(text, pos)
    if any(f" {before}".endswith(f" {cue}") for cue in words.rejected_before):
        found.append(_Candidate(raw.upper().replace("-", ""), -1.0, pos, why + " (rejected)"))
        return
    if _ends_with_cue(before, words.neighbour_before, 4) and not _ends_with_cue(
        before, words.self_before, 3
    ):
        score = -1.0
        why += " (neighbour)"
    elif _ends_with_cue(before, words.correction_before, 3):
        score += 4.0  # "7B - sorry, I mean 7D": the correction wins
        why += " (corrected)"
    elif _ends_with_cue(before, words.self_before, 4):
        score += 2.0
        why += " (self)"
    found.append(_Candidate(raw.upper().replace("-", ""), score, pos, why))


def _keyword_candidates(text: str, words: LocationWords, found: list[_Candidate]) -> None:
    for m in _KEYWORD_RE.finditer(text):
        keyword = m.group(1).lower()
        if keyword in {"suite", "ste"} and _ADDRESS_RE.search(_line_of(text, m.start())):
            continue  # a work address in a signature
        prev = _words_before(text, m.start(), 1)
        if keyword == "unit" and prev in {"ac", "storage", "c", "hvac", "condenser"}:
            continue
        _add(found, text, words, m, 3.0)
    for m in _HASH_RE.finditer(text):
        prev_words = _words_before(text, m.start(), 2).split()
        if any(p in words.unit_ignore_before for p in prev_words[-2:]) or any(
            p in {"apt", "apartment", "unit", "flat", "suite"} for p in prev_words[-1:]
        ):
            continue
        _add(found, text, words, m, 2.5)


def _bare_candidates(text: str, words: LocationWords, found: list[_Candidate]) -> None:
    for m in _BARE_ALNUM_RE.finditer(text):
        if _not_a_number_context(text, m.start(1), m.end(1)):
            continue
        prev = _words_before(text, m.start(), 1)
        if prev in words.unit_ignore_before or prev in {"apt", "apartment", "unit", "flat"}:
            continue
        line = _line_of(text, m.start())
        # the tenant's own sign-off ("- Janet, 11C") beats a unit named in a complaint
        last = not text[m.end() :].strip(" \t\n.)!")  # "... thanks - Janet, 11C" ends it
        signed = _ALONE_RE.match(line) or _SIGN_OFF_RE.match(line.strip()) or last
        score = 4.0 if signed else 2.0
        _add(found, text, words, m, score)
    for m in _BARE_NUM_RE.finditer(text):
        if _not_a_number_context(text, m.start(1), m.end(1)):
            continue
        before = _words_before(text, m.start())
        line = _line_of(text, m.start()).strip()
        if any(f" {before}".endswith(f" {cue}") for cue in words.self_before):
            _add(found, text, words, m, 2.0)  # "I'm in 215" (right before the number)
        elif _SIGN_OFF_RE.match(line) and len(line) < 40:
            _add(found, text, words, m, 2.5)


def _unit_candidates(text: str, words: LocationWords, offset: float) -> list[_Candidate]:
    found: list[_Candidate] = []
    _keyword_candidates(text, words, found)
    _bare_candidates(text, words, found)
    for c in found:
        c.score += offset if c.score >= 0 else 0.0
    return found


def extract_unit(subject: str, new_text: str, signature: str, vocab: Vocabulary) -> tuple[str, str]:
    """The sender's own unit ("Unit 4C" or "Unit not specified") and why."""
    words = vocab.location
    candidates = _unit_candidates(subject, words, -0.5)
    candidates += _unit_candidates(new_text, words, 0.0)
    if signature:  # the tenant's own sign-off counts; a work address ("Suite 300") does not
        own = "\n".join(ln for ln in signature.splitlines() if not _ADDRESS_RE.search(ln))
        candidates += _unit_candidates(own, words, 0.0)
    neighbours = {c.unit for c in candidates if c.score < 0}
    best: _Candidate | None = None
    for c in candidates:
        if c.unit in neighbours:
            continue
        if not re.search(r"\d", c.unit):
            continue
        if best is None or c.score > best.score:
            best = c
    if best is None:
        return UNIT_NOT_SPECIFIED, "unit:none"
    return f"Unit {best.unit}", f"unit:{best.why}"


def extract_building(text: str, vocab: Vocabulary) -> str | None:
    """ "Building C" -> C, "the Maple building" -> MAPLE; first stated wins."""
    stop = vocab.location.building_stopwords
    found: list[tuple[int, str]] = []
    for m in _BUILDING_ID_RE.finditer(text):
        ident = m.group(1)
        if ident.isalpha() and not ident.isupper():
            continue
        if len(ident) > 1 and ident.lower() in stop:
            continue
        found.append((m.start(), ident.upper()))
    for m in _BUILDING_NAME_RE.finditer(text):
        name = m.group(1)
        if name.lower() in stop or name.lower() in {"building", "bldg"}:
            continue
        if not name[0].isupper():
            continue
        found.append((m.start(), name.upper()))
    return min(found)[1] if found else None


def extract_floor(text: str) -> str | None:
    """The floor when stated explicitly; never inferred from a unit number."""
    masked = _BETWEEN_RE.sub(" ", text)
    best: tuple[int, str] | None = None
    for pattern in _FLOOR_RES:
        for m in pattern.finditer(masked):
            value = _ORDINAL_WORDS.get(m.group(1).lower(), m.group(1))
            if value == "0":
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), str(int(value)))
    return best[1] if best else None


def extract_location(subject: str, new_text: str, signature: str, vocab: Vocabulary) -> Location:
    """Unit, building, floor and section of one email."""
    unit, why = extract_unit(subject, new_text, signature, vocab)
    text = f"{subject}\n{new_text}"
    building = extract_building(text, vocab)
    floor = extract_floor(text)
    section_m = _SECTION_RE.search(text)
    section = section_m.group(0).upper() if section_m else None
    evidence = [why]
    if building:
        evidence.append(f"building:{building}")
    if floor:
        evidence.append(f"floor:{floor}")
    return Location(unit, building, floor, section, tuple(evidence))
