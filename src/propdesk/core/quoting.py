"""Split a plain-text email body into what the sender wrote now, quoted history and signature.

Pure text logic (stdlib only) so it is shared by every input path and tested without mail.
The classifier reads only the new part, so the rules lean towards cutting history: a reply
header ("On ... wrote:", "-----Original Message-----", an Outlook ``From:/Sent:/To:`` block,
"Begin forwarded message:") ends the new text, and ``>`` lines are always history. Text that
resumes after a ``>`` block (bottom-posting, inline answers) is kept as new.

Deviation from a naive signature cut: a sign-off block ("Thanks,\\nAna\\nUnit 4B") is moved to
the signature, but lines in it that name a unit/apartment stay in the new text, because tenants
put their unit there and location extraction only sees the new text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED_LINE = re.compile(r"^\s*>")

# Lines that start quoted or forwarded history; everything from here on is history.
_HARD_MARKERS = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:original\s+message|original|forwarded\s+message|message\s+d'origine
            |mensaje\s+original|messaggio\s+originale|urspr(?:ü|u)ngliche\s+nachricht
            |weitergeleitete\s+nachricht|message\s+transf(?:é|e)r(?:é|e))\s*-{2,}
        |_{10,}
        |begin\s+forwarded\s+message\s*:
        |-{5,}\s*forwarded\s+by\b.*
        |\*?(?:from|von|da|de|van)\s*:\*?\s.+\s(?:sent|date|gesendet|inviato|enviado|envoy(?:é|e))\s*:.*
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

# "On <date>, <who> wrote:" in a few languages; may be wrapped over up to three lines.
_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        (?:on|am|le|el|il|op|em|den|på)\s.{0,300}?
            (?:wrote|schrieb(?:\s[^:]{1,200})?|a\s+écrit|a\s+ecrit|escribió|escribio
            |ha\s+scritto|schreef|escreveu|skrev)\s*:
        |.{0,200}(?:<[^>]*@[^>]*>|\d{1,2}:\d{2}|\d{4}).{0,200}\s
            (?:wrote|writes|schrieb|a\s+écrit|escribió|написал|написала|napisał)\s*:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)

_ATTRIBUTION_END = re.compile(
    r"(?:wrote|writes|schrieb[^:]*|écrit|ecrit|escribió|escribio|scritto|schreef|escreveu|skrev"
    r"|написал|написала|napisał)\s*:\s*$",
    re.IGNORECASE,
)
_BARE_ATTRIBUTION = re.compile(
    r"^.{1,200}\s(?:wrote|writes|schrieb|a\s+écrit|escribió|ha\s+scritto|написал|napisał)\s*:\s*$",
    re.IGNORECASE,
)

# How a wrapped attribution starts: a leading word, or a date/time/address in the first line.
_ATTRIBUTION_HEAD = re.compile(
    r"^\s*(?:(?:on|am|le|el|il|op|em|den|på)\s|.*(?:\d{1,2}:\d{2}|\d{4}|@))", re.IGNORECASE
)

# Outlook-style header block: "From:" then, within the next lines, "Sent:"/"Date:" and "To:" or
# "Subject:" (English, German, Italian, French, Spanish, Dutch).
_HDR_FROM = re.compile(r"^\s*\*?(?:from|von|da|de|van)\s*:\*?\s*\S", re.IGNORECASE)
_HDR_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|inviato|data|envoy(?:é|e)|enviado(?:\s+el)?|verzonden"
    r"|to|an|a|à|para|aan|subject|betreff|oggetto|objet|asunto|onderwerp|cc)\s*:",
    re.IGNORECASE,
)

_MOBILE_SIG = re.compile(
    r"^\s*(?:sent\s+from\s+my\s+\w+|sent\s+from\s+(?:outlook|yahoo|mail|samsung|my)\b.*"
    r"|get\s+outlook\s+for\s+\w+.*|sent\s+(?:via|using)\s+.*(?:app|mobile|phone).*"
    r"|von\s+meinem\s+\w+\s+gesendet|inviato\s+da\s+.*|envoyé\s+de\s+mon\s+\w+)\s*\.?$",
    re.IGNORECASE,
)
_SIG_DASHES = re.compile(r"^(?:--|-- |__)\s*$")
_SIGN_OFF = re.compile(
    r"^\s*(?:thanks?(?:\s+(?:again|so\s+much|a\s+lot|in\s+advance))?|thank\s+you(?:\s+\w+)?"
    r"|many\s+thanks|thx|tia|cheers|best|best\s+wishes|all\s+the\s+best|(?:best|kind|warm"
    r"|warmest|many)?\s*regards|sincerely(?:\s+yours)?|yours(?:\s+(?:truly|sincerely))?"
    r"|respectfully|take\s+care|br|mvg|gruß|grüße|saludos|cordialement|merci|danke|gracias"
    r"|grazie|obrigad[oa]|cordiali\s+saluti|mit\s+freundlichen\s+grüßen)\s*[,.!-]*\s*$",
    re.IGNORECASE,
)
# A line in a sign-off block that tells us where the tenant lives: it stays in the new text.
_LOCATION_HINT = re.compile(
    r"\b(?:unit|apt|apartment|suite|flat|floor|building|bldg|room)\b|#\s*\d|\b\d+\s*[a-z]\b"
    r"|\(\s*\d+\s*[a-z]?\s*\)",
    re.IGNORECASE,
)
_MAX_SIGNOFF_TAIL = 4  # name / unit / phone lines after the sign-off word
_MAX_SIGNOFF_LINE = 60


@dataclass(frozen=True, slots=True)
class SplitBody:
    """The three parts of a body; each keeps its line breaks and paragraphs."""

    new: str
    quoted: str
    signature: str


def _attribution_at(lines: list[str], i: int) -> int:
    """Number of lines (1-3) of an "On ... wrote:" attribution starting at ``i``, else 0."""
    first = lines[i].strip()
    if not first or len(first) > 400 or _QUOTED_LINE.match(first):
        return 0
    nxt = next((ln for ln in lines[i + 1 : i + 3] if ln.strip()), "")
    if _QUOTED_LINE.match(nxt) and _BARE_ATTRIBUTION.match(first):
        return 1  # "Bob wrote:" directly above a ">" block needs no date to be trusted
    joined = first
    for span in range(1, 4):
        # The verb check is cheap; the full pattern backtracks, so only run it when it can match.
        if joined.endswith(":") and _ATTRIBUTION_END.search(joined) and _ATTRIBUTION.match(joined):
            return span
        if not _ATTRIBUTION_HEAD.match(first) or i + span >= len(lines):
            return 0  # only a line that looks like the start of one may wrap
        nxt = lines[i + span].strip()
        if not nxt or nxt.startswith(">"):
            return 0
        joined = f"{joined} {nxt}"
    return 0


def _header_block_at(lines: list[str], i: int) -> bool:
    """True when ``lines[i]`` starts an Outlook-style From:/Sent:/To: header block."""
    if not _HDR_FROM.match(lines[i]):
        return False
    following = [ln for ln in lines[i + 1 : i + 6] if ln.strip()]
    return sum(1 for ln in following if _HDR_OTHER.match(ln)) >= 2


def _history_start(lines: list[str]) -> tuple[int, bool]:
    """Index where un-prefixed history starts (len(lines) if none) and whether it is a forward."""
    for i, line in enumerate(lines):
        if _QUOTED_LINE.match(line):
            continue
        if _HARD_MARKERS.match(line) or _header_block_at(lines, i):
            return i, "forward" in line.lower()
        span = _attribution_at(lines, i)
        if span:
            # "On ... wrote:" followed by ">" lines is a quote block; text may resume after it
            # (bottom-posting), so only the attribution itself is history here.
            nxt = next((ln for ln in lines[i + span :] if ln.strip()), "")
            if not _QUOTED_LINE.match(nxt):
                return i, False
    return len(lines), False


def _forwarded_body(lines: list[str]) -> str:
    """The text of a forwarded message: its header block (up to a blank line) dropped."""
    start = next((i for i, ln in enumerate(lines) if ln.strip()), len(lines))
    if start < len(lines) and (_HDR_FROM.match(lines[start]) or _HDR_OTHER.match(lines[start])):
        end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
        return "\n".join(lines[end:])
    return "\n".join(lines[start:])


def _trim(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(ln.rstrip() for ln in lines)).strip("\n")


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Separate a trailing signature from the new lines: (new, signature)."""
    for i, line in enumerate(lines):
        if _SIG_DASHES.match(line) or _MOBILE_SIG.match(line):
            # A bare "Sent from my iPhone" body then yields an empty new text, which is right.
            # A sign-off just above the "-- " line belongs to the signature too.
            new, sign_off = _split_sign_off(lines[:i])
            return new, [*sign_off, *lines[i:]]
    return _split_sign_off(lines)


def _split_sign_off(lines: list[str]) -> tuple[list[str], list[str]]:
    """A sign-off line near the end ("Thanks,") and the short name block under it."""
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    if len(nonblank) < 2:
        return lines, []
    for i in nonblank[-(_MAX_SIGNOFF_TAIL + 1) :]:
        if not _SIGN_OFF.match(lines[i]):
            continue
        tail = [ln for ln in lines[i + 1 :] if ln.strip()]
        before = [ln for ln in lines[:i] if ln.strip()]
        if not before or len(tail) > _MAX_SIGNOFF_TAIL:
            continue
        if any(len(ln.strip()) > _MAX_SIGNOFF_LINE for ln in tail):
            continue
        keep = [ln for ln in tail if _LOCATION_HINT.search(ln)]
        sig = [lines[i]] + [ln for ln in tail if ln not in keep]
        new = lines[:i]
        if keep:
            new = [*new, "", *keep]
        return new, sig
    return lines, []


def split_body(text: str, *, _unwrap_forward: int = 4) -> SplitBody:
    """Split ``text`` (LF line endings) into new text, quoted history and signature."""
    lines = text.split("\n")
    start, is_forward = _history_start(lines)
    head, history = lines[:start], lines[start:]
    new_lines: list[str] = []
    quoted_lines: list[str] = []
    i = 0
    while i < len(head):
        line = head[i]
        if _QUOTED_LINE.match(line):
            quoted_lines.append(line)
            i += 1
            continue
        span = _attribution_at(head, i)
        if span:
            quoted_lines.extend(head[i : i + span])
            i += span
            continue
        new_lines.append(line)
        i += 1
    quoted_lines.extend(history)
    new_lines, sig_lines = _split_signature(new_lines)
    new = _trim(new_lines)
    if not new.strip() and is_forward and _unwrap_forward > 0:
        # A bare forward with no comment: what was forwarded is what the sender is telling us
        # (its own history and signature still split off; a few nested forwards at most).
        new = split_body(_forwarded_body(history[1:]), _unwrap_forward=_unwrap_forward - 1).new
    return SplitBody(new=new, quoted=_trim(quoted_lines), signature=_trim(sig_lines))


def own_text(text: str) -> str:
    """What the sender of ``text`` wrote themselves: ``split_body``'s new text without unwrapping
    a bare forward (so a forward with no comment of its own gives "")."""
    return split_body(text, _unwrap_forward=0).new
