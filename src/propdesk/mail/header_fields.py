"""The header fields of a parsed message: decoded headers, addresses, the Date, the Message-ID.

mail-parser's decoded values first (it handles more broken encodings), the stdlib's otherwise;
every problem is a defect, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from propdesk.core.message import Address
from propdesk.mail.charsets import clean_text, decode_header_value, raw_header_text
from propdesk.mail.header_limits import (
    ANY_MSGID_RE as ANY_MSGID_RE,  # noqa: PLC0414 - re-exported for the MIME walk
)
from propdesk.mail.header_limits import (
    DEFAULT_LIMITS,
    SYNTHETIC_DOMAIN,
    HeaderLimits,
    bound_message_id,
    one_line,
    usable_address,
)

_ADDRESS_WORD = re.compile(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+")
_ESCAPED_BYTES = re.compile(r"\\(?:u[dD][89a-fA-F]|x[89a-fA-F])[0-9a-fA-F]")

_MP_ATTR = {"from": "from_", "to": "to", "cc": "cc", "reply-to": "reply_to"}


def decoded_headers(msg: Message, defects: list[str]) -> tuple[tuple[str, str], ...]:
    """Every header, in order, decoded (RFC 2047, 8-bit) to clean text."""
    out: list[tuple[str, str]] = []
    for name, value in msg.raw_items():
        text, hdr_defects = decode_header_value(str(value))
        defects.extend(f"{name}: {d}" for d in hdr_defects)
        out.append((clean_text(str(name)).strip(), text))
    return tuple(out)


def first_values(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The first value of each header, by lower-cased name (a repeated header keeps its first)."""
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    return first


def _norm_address(addr: str) -> str:
    return clean_text(addr).strip().strip("<>").lower()


def addresses(
    msg: Message,
    parser: Any,
    name: str,
    defects: list[str],
    limits: HeaderLimits = DEFAULT_LIMITS,
) -> tuple[Address, ...]:
    """Addresses of one header: mail-parser's decoded pairs, or stdlib getaddresses. An address
    we could not answer (no ``@``, spaces, over 254 characters) is left out with a defect; display
    names are one line of at most ``limits.max_name_chars``."""
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
        if not usable_address(address):
            defects.append(f"{name}: unusable address left out ({len(address)} characters)")
            continue
        display_name = one_line(clean_text(display), limits.max_name_chars).strip('"')
        out.append(Address(address=address, name=display_name))
    return tuple(out) if out else _salvaged(msg, name, defects)


def _salvaged(msg: Message, name: str, defects: list[str]) -> tuple[Address, ...]:
    """A header no parser read ("Big Bug bb@bug.com", "a@x b@y"): its first address-shaped
    word, so a sloppy script's mail still has a sender to answer."""
    for key, value in msg.raw_items():
        if key.lower() != name:
            continue
        text = raw_header_text(str(value))[0]
        for word in _ADDRESS_WORD.findall(text):
            address = _norm_address(word)
            if usable_address(address):
                defects.append(f"{name}: address taken from a malformed value")
                return (Address(address=address),)
        break
    return ()


def header_date(msg: Message, parser: Any, defects: list[str]) -> datetime | None:
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


def message_id_of(headers: dict[str, str], sha: str, defects: list[str], limit: int = 250) -> str:
    """The Message-ID in angle brackets (an over-long one hashed, see ``header_limits``);
    without one, a synthetic id from the content hash."""
    raw = headers.get("message-id", "")
    match = ANY_MSGID_RE.search(raw)
    if match:
        found = match.group(0)
    elif raw.strip() and " " not in raw.strip():
        defects.append("Message-ID without angle brackets")
        found = f"<{raw.strip()}>"
    else:
        defects.append("no Message-ID; synthetic id from the content hash")
        return f"<{sha[:32]}@{SYNTHETIC_DOMAIN}>"
    if len(found) > limit:
        defects.append(f"Message-ID of {len(found)} characters replaced by its hash")
    return bound_message_id(found, limit)
