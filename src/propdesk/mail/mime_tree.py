"""Raw bytes -> a MIME tree: is it a message at all, the repairs the parser cannot do, the parse.

mail-parser parses first (this is the only module that imports ``mailparser``); where it fails
the stdlib ``email`` package takes over and a defect records it. Nothing here raises on bad input.
"""

from __future__ import annotations

import logging
import re
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

import mailparser

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TNEF_MAGIC = b"\x78\x9f\x3e\x22"
_BINARY_MAGIC = {
    _OLE_MAGIC: "an Outlook .msg / OLE compound file",
    _TNEF_MAGIC: "a bare TNEF (winmail.dat) stream",
    b"%PDF-": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,100}:")
_JUNK_LINES = 5  # at most this many junk lines above the headers are dropped

# mail-parser logs every part type it does not handle and every header it cannot decode, with
# header contents: noise for us (we record defects instead) and not for our logs.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)


def not_rfc822_reason(raw: bytes) -> str | None:
    """Why ``raw`` is not an RFC 822 message at all, or None when it may be one."""
    if not raw.strip():
        return "empty input"
    for magic, what in _BINARY_MAGIC.items():
        if raw.startswith(magic):
            return f"input is {what}, not an RFC 822 message"
    first = raw.lstrip(b"\r\n\t ").split(b"\n", 1)[0]
    if not _HEADER_LINE.match(first) and not first.startswith(b"From "):
        head = raw[:4096]
        if head.count(b"\x00") > 8:
            return "input is binary data, not an RFC 822 message"
        if not re.search(rb"(?m)^[!-9;-~]{1,100}:", head):
            return "no RFC 822 header found"
    return None


def normalise(raw: bytes, defects: list[str]) -> bytes:
    """Repairs the stdlib parser cannot do itself: mbox From_ line, BOM, leading blank lines."""
    data = raw
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        defects.append("UTF-8 byte-order mark before the headers removed")
    stripped = data.lstrip(b"\r\n")
    if stripped is not data and len(stripped) != len(data):
        data = stripped
        defects.append("blank lines before the headers removed")
    if data.startswith((b"From ", b">From ")):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
        defects.append("mbox 'From ' separator line removed")
    lines = data.split(b"\n", _JUNK_LINES + 2)
    if not _HEADER_LINE.match(lines[0]):
        # A few junk lines (a transport banner, a stray "-->") above a real header block.
        for k in range(1, min(_JUNK_LINES + 1, len(lines) - 1)):
            if _HEADER_LINE.match(lines[k]) and _HEADER_LINE.match(lines[k + 1]):
                defects.append(f"{k} non-header line(s) before the headers removed")
                return b"\n".join(lines[k:])
    return data


def parse_tree(data: bytes, defects: list[str]) -> tuple[Message, Any]:
    """The MIME tree: mail-parser first, then stdlib compat32, then headers only."""
    try:
        parser = mailparser.MailParser.from_bytes(data)
        if parser.message is not None:
            return parser.message, parser
        defects.append("mail-parser returned no message; stdlib fallback")
    except Exception as exc:  # mail-parser is fragile on some inputs; fall back, don't fail
        defects.append(f"mail-parser failed ({type(exc).__name__}); stdlib fallback")
    try:
        return message_from_bytes(data, policy=compat32), None
    except Exception as exc:  # RecursionError on absurd nesting, and friends
        defects.append(f"stdlib parser failed ({type(exc).__name__}); headers only")
    return BytesHeaderParser(policy=compat32).parsebytes(data, headersonly=True), None


def mp_defects(parser: Any) -> list[str]:
    """mail-parser's defect list (dicts of part type -> messages) flattened to short strings."""
    out: list[str] = []
    for item in getattr(parser, "defects", []) or []:
        if isinstance(item, dict):
            for where, msgs in item.items():
                for msg in msgs if isinstance(msgs, list) else [msgs]:
                    out.append(f"{where}: {str(msg).split(':', 1)[0]}")
    return out


def as_bytes(raw: object) -> bytes:
    """bytes from bytes-likes (IMAP libraries hand out bytearray/memoryview) or, leniently, str."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    return b""  # not bytes at all: reported as not RFC 822 ("empty input")
