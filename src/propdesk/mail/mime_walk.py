"""The walk over a MIME tree: body texts and attachments; a broken part costs only itself.

Our own walk (not mail-parser's flattening) because an enclosed message (a bounce's or a
forward's original) is an attachment, not the tenant's words; alternatives prefer plain text;
nameless parts get stable names; TNEF and Outlook .msg files are kept whole with a note.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import mimetypes
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from propdesk.core.message import Attachment
from propdesk.mail.charsets import clean_text, decode_bytes, decode_header_value
from propdesk.mail.flowed import unflow
from propdesk.mail.header_fields import ANY_MSGID_RE
from propdesk.mail.html_text import html_to_text
from propdesk.mail.safe_names import display_filename, safe_filename

_MAX_DEPTH = 40  # MIME nesting we walk; deeper is a defect, not a RecursionError
_BODY_BOUNDARY = re.compile(rb"(?m)^--([^\r\n]{1,200}?)(?:--)?[ \t]*\r?$")
_LOOKS_HTML = re.compile(r"<(?:html|body|div|p|br|table|span|font)\b", re.IGNORECASE)


@dataclass
class Walk:
    """What the walk over the MIME tree collected."""

    texts: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    attachments: list[Attachment] = field(default_factory=list)
    part_types: set[str] = field(default_factory=set)
    defects: list[str] = field(default_factory=list)
    enclosed_ids: list[str] = field(default_factory=list)  # Message-IDs of enclosed originals
    # Attached messages (message/rfc822) outside reports: forwarded originals, in order.
    enclosed: list[Message] = field(default_factory=list)


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


def _part_text(part: Message, walk: Walk) -> str:
    data = _payload_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:  # a malformed parameter list
        charset = None
    text, text_defects = decode_bytes(data, charset)
    walk.defects.extend(f"{part.get_content_type()}: {d}" for d in text_defects)
    if part.get_content_type() == "text/plain" and content_param(part, "format") == "flowed":
        text = unflow(text, delsp=content_param(part, "delsp") == "yes")
    return text


def content_param(part: Message, name: str) -> str:
    """A Content-Type parameter, lower-cased; "" when absent or unparsable."""
    try:
        value = part.get_param(name)
    except Exception:  # a malformed parameter list
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


def _filename(part: Message, index: int, ctype: str) -> tuple[str, str]:
    """(stored name, name as sent): the stored one is safe (``safe_names``), never a path."""
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # a malformed parameter list
        name = ""
    if isinstance(name, tuple):  # RFC 2231 value the stdlib did not collapse
        name = name[2] if len(name) == 3 else ""
    sent = decode_header_value(str(name))[0]
    safe = safe_filename(sent)
    if safe:
        return safe, display_filename(sent)
    ext = mimetypes.guess_extension(ctype) or ".bin"
    if ctype.startswith("message/"):
        ext = ".eml"
    return f"part-{index}{ext}", display_filename(sent)


def _flatten(part: Message, walk: Walk) -> bytes:
    """A part back as bytes; the generator refuses some broken headers, so rebuild by hand."""
    try:
        return part.as_bytes(policy=compat32)
    except Exception:  # HeaderParseError, unencodable charsets, ...
        walk.defects.append(f"{part.get_content_type()}: rebuilt from raw headers")
    head = "".join(f"{k}: {v}\n" for k, v in part.raw_items()).encode("utf-8", "surrogateescape")
    kids = b"\n".join(_flatten(kid, walk) for kid in _children(part))
    return head + b"\n" + (kids or _payload_bytes(part))


def _attachment(part: Message, index: int, max_bytes: int, walk: Walk) -> None:
    ctype = part.get_content_type()
    if part.is_multipart():  # message/rfc822 and friends: keep the enclosed message whole
        data = _flatten(part, walk)
        body = data.split(b"\n\n", 1)
        data = body[1] if len(body) == 2 and ctype.startswith("message/") else data
    else:
        data = _payload_bytes(part)
    name, display = _filename(part, index, ctype)
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
            display_name=display,
            content_type=ctype,
            size=size,
            sha256=hashlib.sha256(data).hexdigest(),
            content=content,
            inline=disposition == "inline" or (disposition == "" and cid is not None),
            content_id=clean_text(str(cid)).strip() if cid else None,
            note=note,
        )
    )


def _enclosed_message(part: Message, kid: Message, walk: Walk) -> Message:
    """The attached message itself. RFC 2046 forbids base64/quoted-printable on message/rfc822,
    but some clients send it: the stdlib then parses the encoded text as the message, so decode
    it and parse again."""
    cte = str(part.get("content-transfer-encoding") or "").strip().lower()
    if cte not in ("base64", "quoted-printable") or kid.keys():
        return kid
    encoded = kid.as_string().encode("ascii", "replace")
    try:
        decoded = base64.b64decode(encoded) if cte == "base64" else quopri.decodestring(encoded)
        inner = message_from_bytes(decoded, policy=compat32)
    except Exception:  # binascii.Error and friends: keep what the stdlib made of it
        return kid
    walk.defects.append(f"{part.get_content_type()}: {cte}-encoded, decoded to read it")
    return inner


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
    match = ANY_MSGID_RE.search(str(value)) if value else None
    return match.group(0) if match else None


def walk_tree(
    part: Message, walk: Walk, max_bytes: int, depth: int = 0, counter: Iterator[int] | None = None
) -> None:
    """Collect body texts and attachments; one unreadable part costs only that part."""
    counter = counter if counter is not None else itertools.count(1)
    try:
        _walk_part(part, walk, max_bytes, depth, counter)
    except Exception as exc:  # a stdlib/codec corner we did not foresee: skip the part
        walk.defects.append(f"{part.get_content_type()}: unreadable part ({type(exc).__name__})")


def _walk_part(  # noqa: PLR0912 - one branch per MIME shape reads better than indirection
    part: Message, walk: Walk, max_bytes: int, depth: int, counter: Iterator[int]
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
        kids = _children(part)
        for kid in kids:  # only to learn the types inside (delivery-status etc.)
            walk.part_types.add(kid.get_content_type())
        if ctype in ("message/rfc822", "message/global") and kids:
            walk.enclosed.append(_enclosed_message(part, kids[0], walk))
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
            walk_tree(kids[0], walk, max_bytes, depth + 1, counter)
            for kid in kids[1:]:
                _walk_as_attachment(kid, walk, max_bytes, depth + 1, counter)
        else:
            for kid in kids:
                walk_tree(kid, walk, max_bytes, depth + 1, counter)
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
    part: Message, walk: Walk, max_bytes: int, depth: int, counter: Iterator[int]
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
                walk_tree(kid, walk, max_bytes, depth + 1, counter)
            return
    walk.defects.append("multipart without parts; payload read as text")
    text = _part_text(part, walk)
    _add_text(text, walk, html=bool(_LOOKS_HTML.search(text)))


def _add_text(text: str, walk: Walk, *, html: bool) -> None:
    """One body text (HTML converted to readable text), remembering where it came from."""
    if html:
        text = html_to_text(text)
    walk.sources.add("html" if html else "plain")
    if text.strip():
        walk.texts.append(text)


def _walk_as_attachment(
    part: Message, walk: Walk, max_bytes: int, depth: int, counter: Iterator[int]
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
    kids: list[Message], walk: Walk, max_bytes: int, depth: int, counter: Iterator[int]
) -> None:
    """Prefer the plain alternative; use HTML when the plain one is missing or empty."""
    tries: list[Walk] = []
    for kid in kids:
        sub = Walk()
        walk_tree(kid, sub, max_bytes, depth + 1, counter)
        tries.append(sub)
    chosen = next((t for t in tries if t.texts and "plain" in t.sources), None)
    if chosen is None:
        chosen = next((t for t in reversed(tries) if t.texts), tries[-1])
    for sub in tries:
        walk.part_types |= sub.part_types
        walk.defects.extend(sub.defects)
        walk.attachments.extend(sub.attachments)
        walk.enclosed_ids.extend(sub.enclosed_ids)
        walk.enclosed.extend(sub.enclosed)
    walk.texts.extend(chosen.texts)
    walk.sources |= chosen.sources
