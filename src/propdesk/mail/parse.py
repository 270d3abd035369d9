"""Raw RFC 822 bytes -> ``InboundMessage``: the one adapter both the daemon and ``classify`` use.

mail-parser (the only importer of ``mailparser``) parses the bytes into the MIME tree and gives
us decoded addresses, the Date as UTC and its defect list. Body text and attachments are taken
from that same tree by our own walk, because mail-parser flattens enclosed messages into the
body (a bounce's or forward's original would read as the tenant's words), gives nameless parts
random file names and decodes unknown charsets into U+FFFD floods. Where mail-parser itself
fails we fall back to the stdlib ``email`` package and record a defect. ``parse_message`` never
raises: whatever it could not do is listed in ``defects``.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import mimetypes
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import mailparser

from propdesk.core.message import Address, Attachment, InboundMessage, NotTicketReason
from propdesk.core.quoting import SplitBody, split_body
from propdesk.mail.charsets import clean_text, decode_bytes, decode_header_value, raw_header_text
from propdesk.mail.filters import MailFacts, classify_not_ticket
from propdesk.mail.flowed import unflow
from propdesk.mail.html_text import html_to_text

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_MAX_DEPTH = 40  # MIME nesting we walk; deeper is a defect, not a RecursionError
_MAX_DEFECTS = 60
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
_MSGID = re.compile(r"<[^<>\s]{1,900}>")
_ESCAPED_BYTES = re.compile(r"\\(?:u[dD][89a-fA-F]|x[89a-fA-F])[0-9a-fA-F]")
_BODY_BOUNDARY = re.compile(rb"(?m)^--([^\r\n]{1,200}?)(?:--)?[ \t]*\r?$")
_LOOKS_HTML = re.compile(r"<(?:html|body|div|p|br|table|span|font)\b", re.IGNORECASE)
_BODY_MSGID = re.compile(
    rb"^[ \t>]*Message-ID[ \t]*:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE
)
_BOUNCE_SCAN_BYTES = 256 * 1024

_MP_ATTR = {"from": "from_", "to": "to", "cc": "cc", "reply-to": "reply_to"}

# mail-parser logs every part type it does not handle and every header it cannot decode, with
# header contents: noise for us (we record defects instead) and not for our logs.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)


@dataclass
class _Walk:
    """What the walk over the MIME tree collected."""

    texts: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    attachments: list[Attachment] = field(default_factory=list)
    part_types: set[str] = field(default_factory=set)
    defects: list[str] = field(default_factory=list)
    enclosed_ids: list[str] = field(default_factory=list)  # Message-IDs of enclosed originals


def _not_rfc822_reason(raw: bytes) -> str | None:
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


def _normalise(raw: bytes, defects: list[str]) -> bytes:
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


def _parse_tree(data: bytes, defects: list[str]) -> tuple[Message, Any]:
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


def _mp_defects(parser: Any) -> list[str]:
    """mail-parser's defect list (dicts of part type -> messages) flattened to short strings."""
    out: list[str] = []
    for item in getattr(parser, "defects", []) or []:
        if isinstance(item, dict):
            for where, msgs in item.items():
                for msg in msgs if isinstance(msgs, list) else [msgs]:
                    out.append(f"{where}: {str(msg).split(':', 1)[0]}")
    return out


def _headers(msg: Message, defects: list[str]) -> tuple[tuple[str, str], ...]:
    """Every header, in order, decoded (RFC 2047, 8-bit) to clean text."""
    out: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        text, hdr_defects = decode_header_value(str(value))
        defects.extend(f"{name}: {d}" for d in hdr_defects)
        out.append((clean_text(str(name)).strip(), text))
    return tuple(out)


def _first(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    return first


def _norm_address(addr: str) -> str:
    return clean_text(addr).strip().strip("<>").lower()


def _addresses(msg: Message, parser: Any, name: str, defects: list[str]) -> tuple[Address, ...]:
    """Addresses of one header: mail-parser's decoded pairs, or stdlib getaddresses."""
    pairs: list[tuple[str, str]] = []
    got = False
    if parser is not None and name in ("from", "to", "cc", "reply-to"):
        try:
            # mail-parser exposes headers as attributes ("from_", "reply_to"): (name, addr) pairs
            value = getattr(parser, _MP_ATTR[name])
            if isinstance(value, list):
                pairs = [(str(n), str(a)) for n, a in value]
                # mail-parser backslash-escapes undecodable 8-bit names; ours decodes them.
                got = not any(_ESCAPED_BYTES.search(n + a) for n, a in pairs)
        except Exception as exc:  # a library bug must not cost us the sender
            defects.append(f"{name}: mail-parser address parse failed ({type(exc).__name__})")
    if not got:
        raw = [raw_header_text(str(v))[0] for k, v in msg.raw_items() if k.lower() == name][:1]
        try:
            pairs = [
                (decode_header_value(n)[0], decode_header_value(a)[0]) for n, a in getaddresses(raw)
            ]
        except Exception as exc:  # malformed groups etc.
            defects.append(f"{name}: unparsable address header ({type(exc).__name__})")
    out = []
    for display, addr in pairs:
        address = _norm_address(addr)
        if not address:  # a group name, "undisclosed-recipients:;"
            continue
        out.append(Address(address=address, name=clean_text(display).strip().strip('"')))
    return tuple(out)


def _date(msg: Message, parser: Any, defects: list[str]) -> datetime | None:
    """The Date header as tz-aware UTC, or None (with a defect) when absent or unparsable.

    mail-parser first, then the stdlib's RFC 5322 parser, then ISO 8601 (some scripts send it).
    """
    value: datetime | None = None
    if parser is not None:
        try:
            got = parser.date
            value = got if isinstance(got, datetime) else None
        except Exception:  # fall through to the stdlib
            value = None
    raw = str(msg.get("date") or "").strip()
    if value is None and raw:
        try:
            value = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                value = None
    if value is None:
        if raw:
            defects.append("Date header unparsable")
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # year 9999 in a far-west zone
        defects.append("Date header out of range")
        return None


def _message_id(headers: dict[str, str], sha: str, defects: list[str]) -> str:
    raw = headers.get("message-id", "")
    match = _MSGID.search(raw)
    if match:
        return match.group(0)
    if raw.strip() and " " not in raw.strip():
        defects.append("Message-ID without angle brackets")
        return f"<{raw.strip()}>"
    defects.append("no Message-ID; synthetic id from the content hash")
    return f"<{sha[:32]}@propdesk.invalid>"


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # compat32 is lenient, but a broken part must not stop the walk
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message, walk: _Walk) -> str:
    data = _payload_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:  # a malformed parameter list
        charset = None
    text, text_defects = decode_bytes(data, charset)
    walk.defects.extend(f"{part.get_content_type()}: {d}" for d in text_defects)
    if part.get_content_type() == "text/plain" and _param(part, "format") == "flowed":
        text = unflow(text, delsp=_param(part, "delsp") == "yes")
    return text


def _param(part: Message, name: str) -> str:
    """A Content-Type parameter, lower-cased; "" when absent or unparsable."""
    try:
        value = part.get_param(name)
    except Exception:  # a malformed parameter list
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


def _filename(part: Message, index: int, ctype: str) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # a malformed parameter list
        name = ""
    if isinstance(name, tuple):  # RFC 2231 value the stdlib did not collapse
        name = name[2] if len(name) == 3 else ""
    # Never a path: no separators, no "." / ".." (the name is sender-controlled).
    name = decode_header_value(str(name))[0].replace("/", "_").replace("\\", "_").strip()
    if name.strip("."):
        return name[:255]
    ext = mimetypes.guess_extension(ctype) or ".bin"
    if ctype.startswith("message/"):
        ext = ".eml"
    return f"part-{index}{ext}"


def _flatten(part: Message, walk: _Walk) -> bytes:
    """A part back as bytes; the generator refuses some broken headers, so rebuild by hand."""
    try:
        return part.as_bytes(policy=compat32)
    except Exception:  # HeaderParseError, unencodable charsets, ...
        walk.defects.append(f"{part.get_content_type()}: rebuilt from raw headers")
    head = "".join(f"{k}: {v}\n" for k, v in part.raw_items()).encode("utf-8", "surrogateescape")
    kids = b"\n".join(_flatten(kid, walk) for kid in _children(part))
    return head + b"\n" + (kids or _payload_bytes(part))


def _attachment(part: Message, index: int, max_bytes: int, walk: _Walk) -> None:
    ctype = part.get_content_type()
    if part.is_multipart():  # message/rfc822 and friends: keep the enclosed message whole
        data = _flatten(part, walk)
        body = data.split(b"\n\n", 1)
        data = body[1] if len(body) == 2 and ctype.startswith("message/") else data
    else:
        data = _payload_bytes(part)
    name = _filename(part, index, ctype)
    note: str | None = None
    lname = name.lower()
    if ctype == "application/ms-tnef" or lname == "winmail.dat" or lname.endswith(".tnef"):
        note = "TNEF (winmail.dat): not unpacked"
    elif ctype == "application/vnd.ms-outlook" or lname.endswith(".msg"):
        note = "Outlook .msg: not unpacked"
    size = len(data)
    content: bytes | None = data
    if size > max_bytes:
        content = None
        note = (note + "; " if note else "") + f"dropped: {size} bytes over the limit"
    disposition = (part.get_content_disposition() or "").lower()
    cid = part.get("content-id")
    walk.attachments.append(
        Attachment(
            filename=name,
            content_type=ctype,
            size=size,
            sha256=hashlib.sha256(data).hexdigest(),
            content=content,
            inline=disposition == "inline" or (disposition == "" and cid is not None),
            content_id=clean_text(str(cid)).strip() if cid else None,
            note=note,
        )
    )


def _children(part: Message) -> list[Message]:
    if not part.is_multipart():  # get_payload() would decode a leaf, which can raise
        return []
    return [p for p in part.get_payload() if isinstance(p, Message)]


def _enclosed_message_id(part: Message) -> str | None:
    """The Message-ID of a message/rfc822 or text/rfc822-headers part (a bounce's original)."""
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global"):
        kids = _children(part)
        value = kids[0].get("message-id") if kids else None
    elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
        head = BytesHeaderParser(policy=compat32).parsebytes(_payload_bytes(part))
        value = head.get("message-id")
    else:
        return None
    match = _MSGID.search(str(value)) if value else None
    return match.group(0) if match else None


def _walk(
    part: Message, walk: _Walk, max_bytes: int, depth: int = 0, counter: Iterator[int] | None = None
) -> None:
    """Collect body texts and attachments; one unreadable part costs only that part."""
    counter = counter if counter is not None else itertools.count(1)
    try:
        _walk_part(part, walk, max_bytes, depth, counter)
    except Exception as exc:  # a stdlib/codec corner we did not foresee: skip the part
        walk.defects.append(f"{part.get_content_type()}: unreadable part ({type(exc).__name__})")


def _walk_part(  # noqa: PLR0912 - one branch per MIME shape reads better than indirection
    part: Message, walk: _Walk, max_bytes: int, depth: int, counter: Iterator[int]
) -> None:
    """Collect body texts and attachments; enclosed messages are attachments, not body."""
    index = next(counter)
    ctype = part.get_content_type()
    walk.part_types.add(ctype)
    if depth > _MAX_DEPTH:
        walk.defects.append(f"MIME nesting deeper than {_MAX_DEPTH}; rest skipped")
        return
    enclosed = _enclosed_message_id(part)
    if enclosed:
        walk.enclosed_ids.append(enclosed)
    disposition = (part.get_content_disposition() or "").lower()
    if ctype.startswith("message/"):
        for kid in _children(part):  # only to learn the types inside (delivery-status etc.)
            walk.part_types.add(kid.get_content_type())
        _attachment(part, index, max_bytes, walk)
        return
    if ctype.startswith("multipart/") and not part.is_multipart():
        _walk_broken_multipart(part, walk, max_bytes, depth, counter)
        return
    if part.is_multipart():
        kids = _children(part)
        if ctype == "multipart/alternative" and kids:
            _walk_alternative(kids, walk, max_bytes, depth, counter)
        elif ctype == "multipart/report" and kids:
            # Only the human-readable first part is body; the rest are report parts.
            _walk(kids[0], walk, max_bytes, depth + 1, counter)
            for kid in kids[1:]:
                _walk_as_attachment(kid, walk, max_bytes, depth + 1, counter)
        else:
            for kid in kids:
                _walk(kid, walk, max_bytes, depth + 1, counter)
        return
    is_named = False
    try:
        is_named = bool(part.get_filename())
    except Exception:  # malformed parameters: treat as unnamed
        is_named = False
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not is_named:
        _add_text(_part_text(part, walk), walk, html=ctype == "text/html")
        return
    if ctype == "text/plain" and not _payload_bytes(part) and not is_named:
        return  # an empty body part, not an attachment
    _attachment(part, index, max_bytes, walk)


def _walk_broken_multipart(
    part: Message, walk: _Walk, max_bytes: int, depth: int, counter: Iterator[int]
) -> None:
    """A multipart whose declared boundary never appears: retry with the one the body uses,
    else read the payload as text (HTML converted) rather than losing the message."""
    data = _payload_bytes(part)
    match = _BODY_BOUNDARY.search(data)
    if match and b'"' not in match.group(1):
        head = b'Content-Type: multipart/mixed; boundary="' + match.group(1) + b'"\n\n'
        try:
            inner = message_from_bytes(head + data, policy=compat32)
        except Exception:  # the stdlib choked too: fall through to plain text
            inner = None
        kids = _children(inner) if inner is not None and inner.is_multipart() else []
        if kids:
            walk.defects.append("multipart boundary not found; recovered from the body")
            for kid in kids:
                _walk(kid, walk, max_bytes, depth + 1, counter)
            return
    walk.defects.append("multipart without parts; payload read as text")
    text = _part_text(part, walk)
    _add_text(text, walk, html=bool(_LOOKS_HTML.search(text)))


def _add_text(text: str, walk: _Walk, *, html: bool) -> None:
    """One body text (HTML converted to readable text), remembering where it came from."""
    if html:
        text = html_to_text(text)
    walk.sources.add("html" if html else "plain")
    if text.strip():
        walk.texts.append(text)


def _walk_as_attachment(
    part: Message, walk: _Walk, max_bytes: int, depth: int, counter: Iterator[int]
) -> None:
    walk.part_types.add(part.get_content_type())
    enclosed = _enclosed_message_id(part)
    if enclosed:
        walk.enclosed_ids.append(enclosed)
    if part.is_multipart() and not part.get_content_type().startswith("message/"):
        for kid in _children(part):
            _walk_as_attachment(kid, walk, max_bytes, depth + 1, counter)
        return
    for kid in _children(part):
        walk.part_types.add(kid.get_content_type())
    _attachment(part, next(counter), max_bytes, walk)


def _walk_alternative(
    kids: list[Message], walk: _Walk, max_bytes: int, depth: int, counter: Iterator[int]
) -> None:
    """Prefer the plain alternative; use HTML when the plain one is missing or empty."""
    tries: list[_Walk] = []
    for kid in kids:
        sub = _Walk()
        _walk(kid, sub, max_bytes, depth + 1, counter)
        tries.append(sub)
    chosen = next((t for t in tries if t.texts and "plain" in t.sources), None)
    if chosen is None:
        chosen = next((t for t in reversed(tries) if t.texts), tries[-1])
    for sub in tries:
        walk.part_types |= sub.part_types
        walk.defects.extend(sub.defects)
        walk.attachments.extend(sub.attachments)
        walk.enclosed_ids.extend(sub.enclosed_ids)
    walk.texts.extend(chosen.texts)
    walk.sources |= chosen.sources


def _bounced_id(
    walk: _Walk, data: bytes, own_id: str, in_reply_to: str | None, references: tuple[str, ...]
) -> str | None:
    """The Message-ID a bounce reports on: enclosed original, inline copy, then threading."""
    if walk.enclosed_ids:
        return walk.enclosed_ids[0]
    # A non-MIME bounce (qmail, Exim, broken MIME) quotes the original's headers in its body.
    parts = re.split(rb"\r?\n\r?\n", data[:_BOUNCE_SCAN_BYTES], maxsplit=1)
    body = parts[1] if len(parts) == 2 else b""
    for match in _BODY_MSGID.finditer(body):
        found = match.group(1).decode("ascii", "replace")
        if found != own_id:
            return found
    if in_reply_to:
        return in_reply_to
    return references[-1] if references else None


def _not_rfc822(raw: bytes, sha: str, reason: str) -> InboundMessage:
    return InboundMessage(
        message_id=f"<{sha[:32]}@propdesk.invalid>",
        sha256=sha,
        size=len(raw),
        sender=None,
        reply_to=(),
        to=(),
        cc=(),
        subject="",
        date=None,
        in_reply_to=None,
        references=(),
        body_text="",
        new_text="",
        quoted_text="",
        signature="",
        defects=(reason,),
        not_ticket=NotTicketReason.NOT_RFC822,
        not_ticket_detail=reason,
    )


def _as_bytes(raw: object) -> bytes:
    """bytes from bytes-likes (IMAP libraries hand out bytearray/memoryview) or, leniently, str."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    return b""  # not bytes at all: reported as not RFC 822 ("empty input")


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    own_addresses: Collection[str] = (),
    blocked_senders: Collection[str] = (),
    loop_header: str = "X-Propdesk-Loop",
) -> InboundMessage:
    """Parse raw message bytes; never raises (problems become ``defects``)."""
    raw = _as_bytes(raw)
    sha = hashlib.sha256(raw).hexdigest()
    try:
        return _parse(
            raw,
            sha=sha,
            max_bytes=max_attachment_bytes,
            own_addresses=own_addresses,
            blocked_senders=blocked_senders,
            loop_header=loop_header,
        )
    except Exception as exc:  # the last line of defence: a bug here must not stop the daemon
        defect = f"parse failed: {type(exc).__name__}: {str(exc)[:200]}"
        return InboundMessage(**_asdict_minimal(raw, sha), defects=(defect,))


def _asdict_minimal(raw: bytes, sha: str) -> dict[str, Any]:
    """Fields for a message we failed to parse: the raw text, split as well as we can."""
    text = clean_text(raw[:100_000].decode("utf-8", "replace"))
    try:
        split = split_body(text)
    except Exception:  # the splitter failed too: keep nothing as "new" rather than history
        split = SplitBody(new="", quoted=text, signature="")
    return {
        "message_id": f"<{sha[:32]}@propdesk.invalid>",
        "sha256": sha,
        "size": len(raw),
        "sender": None,
        "reply_to": (),
        "to": (),
        "cc": (),
        "subject": "",
        "date": None,
        "in_reply_to": None,
        "references": (),
        "body_text": text,
        "new_text": split.new,
        "quoted_text": split.quoted,
        "signature": split.signature,
    }


def _parse(
    raw: bytes,
    *,
    sha: str,
    max_bytes: int,
    own_addresses: Collection[str],
    blocked_senders: Collection[str],
    loop_header: str,
) -> InboundMessage:
    reason = _not_rfc822_reason(raw)
    if reason is not None:
        return _not_rfc822(raw, sha, reason)
    defects: list[str] = []
    data = _normalise(raw, defects)
    msg, parser = _parse_tree(data, defects)
    if parser is not None:
        defects.extend(_mp_defects(parser))
    headers = _headers(msg, defects)
    first = _first(headers)

    senders = _addresses(msg, parser, "from", defects)
    if not senders and "sender" in first:
        senders = _addresses(msg, None, "sender", defects)
    sender = senders[0] if senders else None
    if len(senders) > 1:
        defects.append("several From addresses; the first is the sender")
    walk = _Walk()
    _walk(msg, walk, max_bytes)
    defects.extend(walk.defects)
    body = clean_text("\n\n".join(t.strip("\n") for t in walk.texts))
    split = split_body(body)
    in_reply_to_m = _MSGID.search(first.get("in-reply-to", ""))
    in_reply_to = in_reply_to_m.group(0) if in_reply_to_m else None
    references = tuple(_MSGID.findall(first.get("references", "")))
    subject = first.get("subject", "")
    ctype = msg.get_content_type()
    report_type = _param(msg, "report-type")
    facts = MailFacts(
        headers=first,
        sender=sender.address if sender else "",
        subject=subject,
        content_type=ctype,
        report_type=report_type,
        part_types=frozenset(walk.part_types),
        own_addresses=frozenset(a.strip().lower() for a in own_addresses),
        blocked_senders=frozenset(b.strip().lower() for b in blocked_senders if b.strip()),
        loop_header=loop_header.lower(),
    )
    verdict = classify_not_ticket(facts)
    not_ticket, detail = verdict if verdict else (None, None)
    bounced = (
        _bounced_id(walk, data, first.get("message-id", "").strip(), in_reply_to, references)
        if not_ticket is NotTicketReason.BOUNCE
        else None
    )
    extra = {"parser": "mail-parser" if parser is not None else "stdlib"}
    extra["body_source"] = (
        "plain" if "plain" in walk.sources else ("html" if walk.sources else "none")
    )
    if len(defects) > _MAX_DEFECTS:
        defects = [*defects[:_MAX_DEFECTS], f"... {len(defects) - _MAX_DEFECTS} more defects"]
    return InboundMessage(
        message_id=_message_id(first, sha, defects),
        sha256=sha,
        size=len(raw),
        sender=sender,
        reply_to=_addresses(msg, parser, "reply-to", defects),
        to=_addresses(msg, parser, "to", defects),
        cc=_addresses(msg, parser, "cc", defects),
        subject=subject,
        date=_date(msg, parser, defects),
        in_reply_to=in_reply_to,
        references=references,
        body_text=body,
        new_text=split.new,
        quoted_text=split.quoted,
        signature=split.signature,
        attachments=tuple(walk.attachments),
        headers=headers,
        defects=tuple(d[:300] for d in defects),
        not_ticket=not_ticket,
        not_ticket_detail=detail,
        bounced_message_id=bounced,
        extra=extra,
    )
