"""The sender's own unit: every id in the text is a candidate, scored by the words around it.

See ``propdesk.core.location`` for the rules in short; the unit keywords and the neighbour,
self, correction and rejection cues are ``[location]`` data of the vocabulary.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from propdesk.core.decisions import words_re
from propdesk.core.location_text import (
    ADDRESS_RE,
    TIME_AFTER_RE,
    ends_with_cue,
    has_cue,
    is_temperature,
    line_of,
    not_a_number_context,
    words_before,
)
from propdesk.core.vocabulary import LocationWords, Vocabulary

UNIT_NOT_SPECIFIED = "Unit not specified"

_ID = r"(?:PH|ph|Ph)?(?:[A-Za-z]-?)?\d{1,4}(?:-?[A-Za-z](?![A-Za-z]))?"  # 4C, B12, 4-B, PH2, B-204
# after a keyword only: "Unit 12 B" (a spaced letter; not A or I, which are words)
_KW_ID = r"(?:\d{1,4} [B-HJ-Z](?![\w'/])|" + _ID + r")"


@functools.lru_cache(maxsize=8)
def _keyword_re(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """A unit keyword (``[location] unit_keywords``, in their order) and the id after it."""
    return words_re(
        keywords,
        r"(?<![A-Za-z])({})"
        # "the garden-level unit, G1": after a comma only an id with a letter (never "unit, 3 of")
        r"(?:[.:-]|,(?=\s*(?:[A-Za-z]{1,2}-?\d|\d{1,4}-?[A-Za-z]\b)))?"
        r"(?:\s*(?:#|no\.?|number)(?:\s+is)?)?\s*\(?\s*#?(" + _KW_ID + r")(?![\w/-]|:\d)",
    )


_HASH_RE = re.compile(r"#\s?(\d{1,4}[A-Za-z]?)(?![\w:/]|-\d)")  # not "#14-31/32" (an office)
# never inside an e-mail address or a domain ("4b@example.org", "12c.example.net")
_BARE_ALNUM_RE = re.compile(r"(?<![\w#$/:.,@-])(\d{1,4}-?[A-Za-z])(?![\w/%@-]|:\d|\.[a-z])")
_BARE_NUM_RE = re.compile(r"(?<![\w#$/:.,@-])(\d{1,4})(?![\w/:%@-]|[.,]\d|\.[a-z])")
# no keyword, upper case only: "PH2", "B-204" (a building letter before the number)
# ("E-21" on a display is an error code: three digits at least, never quoted)
_BARE_PREFIXED_RE = re.compile(r"(?<![\w#$/.'\"-])(PH\d{1,2}|[A-HJ-Z]-\d{3,4})(?![\w/'\"-])")
_SIGN_OFF_RE = re.compile(
    r"^[-\u2013\s]*[A-Z][\w.'&]*(?:\s+(?:&\s+)?[A-Z][\w.'&]*){0,3}\s*(?:[,(\-\u2013]|\s)\s*"
    r"(?:formerly\s+)?(" + _ID + r")\)?\s*$"
)
# "Wen Zhao, Room 1504": a hotel-style "room" names the unit only in the tenant's sign-off
_ROOM_SIGN_OFF_RE = re.compile(
    r"^[-\u2013\s]*[A-Z][\w.'&]*(?:\s+[A-Z][\w.'&]*){0,3}\s*,\s*[Rr]oom\s+\d{1,4}\s*$"
)
_ALONE_RE = re.compile(r"^\s*[-\u2013(]?\s*(" + _ID + r")\s*\)?[.!]?\s*$")


@dataclass
class _Candidate:
    unit: str
    score: float
    pos: int
    why: str


@functools.lru_cache(maxsize=8)
def _self_sentence_re(at_feelings: tuple[str, ...]) -> re.Pattern[str]:
    """ "I'm in 4B", "we have lived at 12": the sender places themselves (lower-case text);
    "I'm so mad at 5C" (``[location] at_feelings``) is at a unit, not in it."""
    return re.compile(
        r"(?:^|\s)(?:i'm|i am|we're|we are|(?:i've|i have|we've|we have) been"
        r"|(?:i|we|i've|we've|i have|we have) (?:live|lived|rent|stay|stayed|moved|reside|resided))"
        r"(?:\s+(?!he\b|she\b|they\b|he's|she's|they're|who\b)[a-z']+){0,5}"
        r"(?:\s+in|" + "".join(f"(?<!\\b{re.escape(w)})" for w in at_feelings) + r"\s+at)$"
    )


_NAME = r"[A-Z][a-z]+(?:\s[A-Z][a-z]+)?"
_INTRO_NAME_RE = re.compile(
    r"\b(?:[Hh]i|[Hh]ello|[Hh]ey|I'm|I am|[Tt]his is|[Ii]t's),?\s+" + _NAME + r"\s+(?:from\s+|\()$"
)
_NAME_FROM_RE = re.compile(r"(?:^|\n|[.!?,]\s)\s*" + _NAME + r"\s+from\s+$")


def _named(text: str, m: re.Match[str]) -> bool:
    """ "I'm Katie (304)", "Hi, this is Katie from 304", "Katie from 304 here": the sender."""
    before, after = text[max(0, m.start() - 40) : m.start()], text[m.end() :]
    if _INTRO_NAME_RE.search(before):
        return not re.match(r"\)\s*\d", after)  # "(555) 201-3344" is a phone
    return bool(_NAME_FROM_RE.search(before) and re.match(r"\s+here\b", after))


_GREETING_FROM_RE = re.compile(
    r"(?:^|\s)(?:hi|hello|hey|greetings|this is [a-z]+(?: [a-z]+)?) from$"
)
_AT_DOOR_RE = re.compile(
    r"\b(?:i'm|i am|we're|we are|locked out)\b"
    # "Sitting outside 9C" (no subject: the sender), not "a box sitting outside 9C"
    r"|(?:^|\b(?:i|we|am|are|currently|now|i've been|we've been)\s+)"
    r"(?:sitting|standing|waiting|stuck|sat|stood)\b"
)
_LOCKED_OUT_RE = re.compile(
    r"\b(?:locked (?:my ?self |our ?selves )?out|lock ?out|lost (?:my|our|the) keys?"
    r"|keys? (?:are |is )?(?:still )?inside|can'?t get in|cannot get in)\b",
    re.IGNORECASE,
)


def _at_door(text: str, pos: int, before: str, words: LocationWords) -> bool:
    """ "Sitting outside 9C" / "locked out ... outside #22": the tenant at a door, likely their
    own. It loses to any other unit but does not make that id a neighbour's."""
    if not ends_with_cue(before, words.weak_neighbour_before, 2):
        return False
    return bool(_AT_DOOR_RE.search(words_before(text, pos, 10)) or _LOCKED_OUT_RE.search(text))


def _add(
    found: list[_Candidate], text: str, words: LocationWords, m: re.Match[str], score: float
) -> None:
    raw, pos = m.group(m.lastindex or 0), m.start()
    why = m.group(0).strip()
    if has_cue(words_before(text, pos, 20), words.ignore_context):
        return  # "my forwarding address is 45 Oak St, Apt 2"
    before = words_before(text, pos)
    if any(f" {before}".endswith(f" {cue}") for cue in words.rejected_before):
        found.append(
            _Candidate(
                raw.upper().replace("-", "").replace(" ", ""), -1.0, pos, why + " (rejected)"
            )
        )
        return
    placed = _self_sentence_re(words.at_feelings).search(words_before(text, pos, 9))
    if placed and not ends_with_cue(before, words.person_before, 2):
        score += 2.0  # "I'm right next door in 907": the tenant says where they are
        why += " (self)"
    elif raw[-1].isalpha() and before.endswith(("i'm", "we're", "i am", "we are")):
        score += 2.0  # "upstairs is 6B, I'm 5B"
        why += " (self)"
    elif _at_door(text, pos, before, words):
        score = 0.5
        why += " (place)"
    elif ends_with_cue(before, words.neighbour_before, 4) and not (
        ends_with_cue(before, words.self_before, 3) or before.endswith(("my", "our"))
    ):  # "noise from my unit 4B": the possessive makes it the sender's
        score = -1.0
        why += " (neighbour)"
    elif ends_with_cue(before, words.correction_before, 3):
        score += 4.0  # "7B - sorry, I mean 7D": the correction wins
        why += " (corrected)"
    elif ends_with_cue(before, words.self_before, 4) or before.split()[-1:] in (["my"], ["our"]):
        score += 2.0
        why += " (self)"
    found.append(_Candidate(raw.upper().replace("-", "").replace(" ", ""), score, pos, why))


def _keyword_candidates(text: str, words: LocationWords, found: list[_Candidate]) -> None:
    for m in _keyword_re(words.unit_keywords).finditer(text):
        keyword = m.group(1).lower()
        if keyword in {"suite", "ste"} and ADDRESS_RE.search(line_of(text, m.start())):
            continue  # a work address in a signature
        prev = words_before(text, m.start(), 1)
        if keyword == "unit" and prev in words.device_before_unit:
            continue
        if m.group(2).isdigit() and TIME_AFTER_RE.match(text[m.end() :]):
            continue  # "apt. 3 weeks ago": a sentence ended after the keyword
        _add(found, text, words, m, 3.0)
    for m in _HASH_RE.finditer(text):
        prev_words = words_before(text, m.start(), 2).split()
        if "," in text[max(0, m.start() - 3) : m.start()]:
            prev_words = []  # "Elm building, #204": the comma ends the building's name
        if _STREET_BEFORE_RE.search(text[max(0, m.start() - 40) : m.start()]):
            prev_words = []  # "55 Pine St #1207": the apartment of a street address
        if any(p in words.unit_ignore_before for p in prev_words[-2:]) or any(
            p in {"apt", "apartment", "unit", "flat", "suite"} for p in prev_words[-1:]
        ):
            continue
        _add(found, text, words, m, 2.5)


_STREET_BEFORE_RE = re.compile(
    r"\b\d+\s+(?:[A-Z][a-z]+\s+){1,2}(?:st|street|ave|avenue|rd|road|blvd|ln|lane|dr|drive)\.?,?\s*$",
    re.IGNORECASE,
)
_NAME_LINE_RE = re.compile(r"^[-\u2013\u2014\s]*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}\s*,?$")


def _under_name(text: str, pos: int) -> bool:
    """ "Katie\n304": an id alone on its line right under a short name line (the sign-off)."""
    start = text.rfind("\n", 0, pos) + 1
    lines = [ln.strip() for ln in text[: max(0, start - 1)].splitlines() if ln.strip()]
    return bool(lines) and len(lines[-1]) <= 30 and bool(_NAME_LINE_RE.match(lines[-1]))


def _prefixed_candidates(text: str, words: LocationWords, found: list[_Candidate]) -> None:
    for m in _BARE_PREFIXED_RE.finditer(text):
        prev = words_before(text, m.start(), 1)
        if prev in words.unit_ignore_before or prev in {"apt", "apartment", "unit"}:
            continue
        # "leak in B-204", "B-204 here": a place word or the start of a line before it, never
        # "my F-150" / "Super Duty F-350" (a truck)
        line_start = not text[text.rfind("\n", 0, m.start()) + 1 : m.start()].strip(" -(")
        placed = prev in {"in", "at", "from", "of", "to", "into", "is", "no", "number", "penthouse"}
        if line_start or placed or m.group(1).startswith("PH"):
            _add(found, text, words, m, 1.5)


def _alnum_candidates(text: str, words: LocationWords, found: list[_Candidate]) -> None:
    for m in _BARE_ALNUM_RE.finditer(text):
        if not_a_number_context(text, m.start(1), m.end(1)) or is_temperature(text, m):
            continue
        prev = words_before(text, m.start(), 1)
        if re.search(r",\s*$", text[: m.start()]):
            prev = ""  # "6th floor, 6F": the comma starts a new item
        if prev in words.unit_ignore_before or prev in {"apt", "apartment", "unit", "flat"}:
            continue
        line = line_of(text, m.start())
        # the tenant's own sign-off ("- Janet, 11C") beats a unit named in a complaint
        last = not text[m.end() :].strip(" \t\n.)!")  # "... thanks - Janet, 11C" ends it
        signed = _ALONE_RE.match(line) or _SIGN_OFF_RE.match(line.strip()) or last
        score = 4.0 if signed else 2.0
        _add(found, text, words, m, score)
        possessive = re.match(r"['\u2019]s\b", text[m.end() :])
        if possessive and found and found[-1].pos == m.start() and "(self)" not in found[-1].why:
            found[-1].score = -1.0  # "6C's toilet overflowed": another household
            found[-1].why += " (possessive)"


def _number_candidates(text: str, words: LocationWords, found: list[_Candidate]) -> None:
    for m in _BARE_NUM_RE.finditer(text):
        if not_a_number_context(text, m.start(1), m.end(1)):
            continue
        before = words_before(text, m.start())
        line = line_of(text, m.start()).strip()
        # "my unit is 1204", "our flat is number 31"
        bare = re.sub(r"(?: number| no| #)? is(?: number| no| #)?$", "", before)
        direct = any(f" {bare}".endswith(f" {cue}") for cue in words.self_before)
        room_signed = before.endswith("room") and bool(_ROOM_SIGN_OFF_RE.match(line))
        if not direct and before.rsplit(" ", 1)[-1] in words.unit_ignore_before and not room_signed:
            continue  # "Work order 5521 - kitchen light"
        if not direct and len(m.group(1)) == 4 and 1950 <= int(m.group(1)) <= 2039:
            continue  # a year: "moving out in 2025"
        if m.group(1) == "911":
            continue
        if (
            direct
            or _self_sentence_re(words.at_feelings).search(words_before(text, m.start(), 9))
            or _GREETING_FROM_RE.search(before)
            or _named(text, m)
        ):
            _add(found, text, words, m, 2.0)  # "I'm in 215" (right before the number)
        elif _at_door(text, m.start(), before, words):
            _add(found, text, words, m, 0.5)  # "locked out, waiting outside 306"
        elif (
            room_signed
            or (_SIGN_OFF_RE.match(line) and len(line) < 40)
            or (_ALONE_RE.match(line) and _under_name(text, m.start()))
        ):
            _add(found, text, words, m, 2.5)
        elif (
            len(m.group(1)) >= 2  # "14", not a lone digit
            and not text[m.end() :].strip(" \t\n.)!")
            and re.search(r"(?:\s[-\u2013]|[,.!])\s*$", text[: m.start()])
        ):
            # "heat not working - 1205", "dishwasher leaking again. 14": the id ends the mail
            _add(found, text, words, m, 2.0)
        elif len(m.group(1)) >= 3 and (
            before.endswith(" in") or before == "in" or re.match(r"\s*[-\u2013:]", text[m.end() :])
        ):
            # "the heater in 1105 is broken", "1105 - no heat": likely the sender's, weakly
            _add(found, text, words, m, 1.0)


def _unit_candidates(text: str, words: LocationWords, offset: float) -> list[_Candidate]:
    found: list[_Candidate] = []
    _keyword_candidates(text, words, found)
    _prefixed_candidates(text, words, found)
    _alnum_candidates(text, words, found)
    _number_candidates(text, words, found)
    for c in found:
        c.score += offset if c.score >= 0 else 0.0
    return found


def extract_unit(subject: str, new_text: str, signature: str, vocab: Vocabulary) -> tuple[str, str]:
    """The sender's own unit ("Unit 4C" or "Unit not specified") and why."""
    words = vocab.location
    candidates = _unit_candidates(subject, words, -0.5)
    candidates += _unit_candidates(new_text, words, 0.0)
    if signature:  # the tenant's own sign-off counts; a work address ("Suite 300") does not
        own = [ln for ln in signature.splitlines() if not ADDRESS_RE.search(ln)]
        for ln in signature.splitlines():  # "123 Maple Ave, Apt 5B": only the keyword id counts
            if ADDRESS_RE.search(ln):
                own += [
                    m.group(0)
                    for m in _keyword_re(words.unit_keywords).finditer(ln)
                    if m.group(1).lower() not in {"suite", "ste"}
                ]
        candidates += _unit_candidates("\n".join(own), words, 0.0)
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
