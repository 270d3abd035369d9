"""Forwarded originals inside a message: attached message/rfc822 parts and inline blocks.

A tenant (or staff) often forwards a request instead of writing one: the words are then in the
forwarded original, not in the outer mail. This module reads that chain, outermost first, each
level with its sender, subject and own text, down to a bounded depth; the core decides which
level holds the request and who the requester is (``core.pipeline``).

Inline blocks are recognised by Gmail's "---------- Forwarded message ---------", Apple's "Begin
forwarded message:" and Outlook's "-----Original Message-----" (the last only when the text
above it is empty: in a reply with words of its own it is quoted history, not a forward).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import parseaddr

from propdesk.core.message import Address, Forwarded
from propdesk.core.quoting import own_text, split_body
from propdesk.mail.charsets import clean_text, decode_header_value
from propdesk.mail.header_limits import DEFAULT_LIMITS, HeaderLimits, one_line, usable_address
from propdesk.mail.mime_walk import Walk, walk_tree

_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*forwarded\s+message\s*-{2,}|begin\s+forwarded\s+message\s*:)\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MARKER = re.compile(r"^\s*-{2,}\s*original\s+message\s*-{2,}\s*$", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\s*[>\s]*\*?(from|sent|date|to|cc|subject|reply-to)\s*:\*?\s*(.*)$", re.IGNORECASE
)
_MAX_HEADER_LINES = 12


@dataclass(frozen=True, slots=True)
class _Level:
    """One level found: the forwarded original and what lies inside it (for the next level)."""

    forwarded: Forwarded
    body: str
    enclosed: tuple[Message, ...]


def forward_chain(
    body: str,
    enclosed: list[Message],
    *,
    max_depth: int,
    max_bytes: int,
    limits: HeaderLimits = DEFAULT_LIMITS,
) -> tuple[tuple[Forwarded, ...], bool]:
    """The forwarded originals of a message, outermost first, and whether more were nested
    than ``max_depth`` (those were not read)."""
    levels: list[Forwarded] = []
    text, attached = body, tuple(enclosed)
    while True:
        found = _next_level(text, attached, max_bytes, limits)
        if found is None:
            return tuple(levels), False
        if len(levels) >= max_depth:
            return tuple(levels), True
        levels.append(found.forwarded)
        text, attached = found.body, found.enclosed


def _next_level(
    text: str, attached: tuple[Message, ...], max_bytes: int, limits: HeaderLimits
) -> _Level | None:
    """The original forwarded by ``text``'s sender: attached first, else an inline block."""
    if attached:
        return _attached(attached[0], max_bytes, limits)
    return _inline(text, limits)


def _attached(part: Message, max_bytes: int, limits: HeaderLimits) -> _Level:
    walk = Walk()
    walk_tree(part, walk, max_bytes)
    body = clean_text("\n\n".join(t.strip("\n") for t in walk.texts))
    split = split_body(body)
    sender = _address(decode_header_value(str(part.get("from") or ""))[0], limits)
    subject = decode_header_value(str(part.get("subject") or ""))[0]
    subject = one_line(subject, limits.max_subject_chars)
    forwarded = Forwarded(sender, subject, split.new, split.signature, "attached")
    return _Level(forwarded, body, tuple(walk.enclosed))


def _inline(text: str, limits: HeaderLimits) -> _Level | None:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _FORWARD_MARKER.match(line):
            break
        if _ORIGINAL_MARKER.match(line):
            if own_text("\n".join(lines[:i])).strip():
                return None  # a reply quoting its history, not a forward
            break
    else:
        return None
    headers, rest = _header_block(lines[i + 1 :])
    body = "\n".join(rest)
    split = split_body(body)
    sender = _address(headers.get("from", ""), limits)
    subject = one_line(headers.get("subject", ""), limits.max_subject_chars)
    return _Level(Forwarded(sender, subject, split.new, split.signature, "inline"), body, ())


def _header_block(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """The "From: / Date: / Subject:" lines under a marker (first value each) and the rest."""
    headers: dict[str, str] = {}
    start = next((k for k, ln in enumerate(lines) if ln.strip()), len(lines))
    end = start
    for k in range(start, min(len(lines), start + _MAX_HEADER_LINES)):
        match = _HEADER_LINE.match(lines[k])
        if not match:
            break
        headers.setdefault(match.group(1).lower(), match.group(2).strip())
        end = k + 1
    return headers, lines[end:]


def _address(value: str, limits: HeaderLimits) -> Address | None:
    """The forwarded original's sender, when its From names a usable address."""
    name, addr = parseaddr(value.replace("[mailto:", "<").replace("]", ">"))
    addr = clean_text(addr).strip().strip("<>").lower()
    if not usable_address(addr):
        return None
    return Address(addr, one_line(clean_text(name), limits.max_name_chars).strip('"'))
