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
            (?:wrote|schrieb|a\s+écrit|a\s+ecrit|escribió|escribio|ha\s+scritto|schreef
            |escreveu|skrev)\s*:
        |.{0,200}(?:<[^>]*@[^>]*>|\d{1,2}:\d{2}|\d{4}).{0,200}\s
            (?:wrote|writes|schrieb|a\s+écrit|escribió)\s*:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
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
    r"|respectfully|take\s+care|br|mvg|gruß|grüße|saludos|cordialement)\s*[,.!-]*\s*$",
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
    joined = first
    for span in range(1, 4):
        if _ATTRIBUTION.match(joined):
            return span
        if i + span >= len(lines) or not lines[i + span].strip():
            return 0
        joined = f"{joined} {lines[i + span].strip()}"
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


def _trim(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(ln.rstrip() for ln in lines)).strip("\n")


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Separate a trailing signature from the new lines: (new, signature)."""
    for i, line in enumerate(lines):
        if _SIG_DASHES.match(line) or _MOBILE_SIG.match(line):
            # Only when something was written before it: a bare "Sent from my iPhone" body
            # then yields an empty new text, which is right.
            return lines[:i], lines[i:]
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    if len(nonblank) < 2:
        return lines, []
    # A sign-off line near the end, followed only by a short name block.
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


def split_body(text: str) -> SplitBody:
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
    if not new.strip() and is_forward:
        # A bare forward with no comment: what was forwarded is what the sender is telling us.
        fwd = [ln for ln in history[1:] if not _HDR_OTHER.match(ln) and not _HDR_FROM.match(ln)]
        new = _trim(fwd)
    return SplitBody(new=new, quoted=_trim(quoted_lines), signature=_trim(sig_lines))
