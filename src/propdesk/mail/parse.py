"""Raw RFC 822 bytes -> ``InboundMessage``: the one adapter both the daemon and ``classify`` use.

mail-parser parses the bytes into the MIME tree and gives us decoded addresses, the Date as UTC
and its defect list. Body text and attachments are taken from that same tree by our own walk,
because mail-parser flattens enclosed messages into the body (a bounce's or forward's original
would read as the tenant's words), gives nameless parts random file names and decodes unknown
charsets into U+FFFD floods. Where mail-parser itself fails we fall back to the stdlib ``email``
package and record a defect. ``parse_message`` never raises: whatever it could not do is listed
in ``defects``.

The stages, each in its module: ``mime_tree`` (bytes -> tree; the only importer of
``mailparser``), ``header_fields`` (headers, addresses, Date, Message-ID), ``mime_walk`` (body
texts and attachments). This module puts them together, splits the body (new text, quote,
signature) and asks ``filters`` whether the message is a ticket at all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from email import message_from_bytes
from email.policy import compat32
from typing import Any

from propdesk.core.message import InboundMessage, NotTicketReason
from propdesk.core.quoting import SplitBody, split_body
from propdesk.mail.charsets import clean_text
from propdesk.mail.filters import MailFacts, classify_not_ticket
from propdesk.mail.forwards import forward_chain
from propdesk.mail.header_fields import (
    addresses,
    decoded_headers,
    first_values,
    header_date,
    message_id_of,
)
from propdesk.mail.header_limits import (
    DEFAULT_LIMITS,
    HeaderLimits,
    bound_message_id,
    find_message_ids,
    one_line,
)
from propdesk.mail.mime_tree import as_bytes, mp_defects, normalise, not_rfc822_reason, parse_tree
from propdesk.mail.mime_walk import Walk, content_param, walk_tree

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DEFAULT_FORWARD_DEPTH = 3
_MAX_DEFECTS = 60
_BODY_MSGID = re.compile(
    rb"^[ \t>]*Message-ID[ \t]*:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE
)
_BOUNCE_SCAN_BYTES = 256 * 1024


def _bounced_id(
    walk: Walk,
    data: bytes,
    own_id: str,
    in_reply_to: str | None,
    references: tuple[str, ...],
    *,
    limit: int,
) -> str | None:
    """The Message-ID a bounce reports on: enclosed original, inline copy, then threading."""
    if walk.enclosed_ids:
        return bound_message_id(walk.enclosed_ids[0], limit)
    # A non-MIME bounce (qmail, Exim, broken MIME) quotes the original's headers in its body.
    parts = re.split(rb"\r?\n\r?\n", data[:_BOUNCE_SCAN_BYTES], maxsplit=1)
    body = parts[1] if len(parts) == 2 else b""
    for match in _BODY_MSGID.finditer(body):
        found = bound_message_id(match.group(1).decode("ascii", "replace"), limit)
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


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    own_addresses: Collection[str] = (),
    blocked_senders: Collection[str] = (),
    loop_header: str = "X-Propdesk-Loop",
    limits: HeaderLimits = DEFAULT_LIMITS,
    max_forward_depth: int = DEFAULT_FORWARD_DEPTH,
) -> InboundMessage:
    """Parse raw message bytes; never raises (problems become ``defects``). Every header value
    the message keeps is bounded by ``limits`` (see ``header_limits``); forwarded originals are
    read ``max_forward_depth`` deep (see ``forwards``)."""
    raw = as_bytes(raw)
    sha = hashlib.sha256(raw).hexdigest()
    try:
        return _parse(
            raw,
            sha=sha,
            max_bytes=max_attachment_bytes,
            own_addresses=own_addresses,
            blocked_senders=blocked_senders,
            loop_header=loop_header,
            limits=limits,
            max_forward_depth=max_forward_depth,
        )
    except Exception as exc:  # the last line of defence: a bug here must not stop the daemon
        defect = f"parse failed: {type(exc).__name__}: {str(exc)[:200]}"
        return InboundMessage(**_asdict_minimal(raw, sha), defects=(defect,))


def header_message_id(header: bytes, limit: int = 250) -> str | None:
    """The Message-ID ``parse_message`` stores, from the header block alone (no MIME tree, no
    mail-parser: cheap); None when the mail has none of its own (the stored id then comes from
    the whole message's hash). Housekeeping matches processed mail to its row with it."""
    defects: list[str] = []
    msg = message_from_bytes(normalise(as_bytes(header), defects), policy=compat32)
    found = message_id_of(first_values(decoded_headers(msg, defects)), "", defects, limit)
    return None if any(d.startswith("no Message-ID") for d in defects) else found


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
    limits: HeaderLimits,
    max_forward_depth: int,
) -> InboundMessage:
    reason = not_rfc822_reason(raw)
    if reason is not None:
        return _not_rfc822(raw, sha, reason)
    defects: list[str] = []
    data = normalise(raw, defects)
    msg, parser = parse_tree(data, defects)
    if parser is not None:
        defects.extend(mp_defects(parser))
    headers = decoded_headers(msg, defects)
    first = first_values(headers)

    senders = addresses(msg, parser, "from", defects, limits)
    if not senders and "sender" in first:
        senders = addresses(msg, None, "sender", defects, limits)
    sender = senders[0] if senders else None
    if len(senders) > 1:
        defects.append("several From addresses; the first is the sender")
    walk = Walk()
    walk_tree(msg, walk, max_bytes)
    defects.extend(walk.defects)
    body = clean_text("\n\n".join(t.strip("\n") for t in walk.texts))
    split = split_body(body)
    forwarded, truncated = forward_chain(
        body, walk.enclosed, max_depth=max_forward_depth, max_bytes=max_bytes, limits=limits
    )
    if truncated:
        defects.append(f"forwarded more than {max_forward_depth} deep; the rest was not read")
    id_limit = limits.max_message_id_chars
    in_reply_to = next(iter(find_message_ids(first.get("in-reply-to", ""), id_limit)), None)
    # The newest references matter for threading; a 10k header keeps its last few.
    references = tuple(find_message_ids(first.get("references", ""), id_limit))
    references = references[-limits.max_references :] if limits.max_references else ()
    subject = one_line(first.get("subject", ""), limits.max_subject_chars)
    ctype = msg.get_content_type()
    report_type = content_param(msg, "report-type")
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
    own_id = message_id_of(first, sha, defects, id_limit)
    not_ticket, detail = verdict if verdict else (None, None)
    bounced = (
        _bounced_id(walk, data, own_id, in_reply_to, references, limit=id_limit)
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
        message_id=own_id,
        sha256=sha,
        size=len(raw),
        sender=sender,
        reply_to=addresses(msg, parser, "reply-to", defects, limits),
        to=addresses(msg, parser, "to", defects, limits),
        cc=addresses(msg, parser, "cc", defects, limits),
        subject=subject,
        date=header_date(msg, parser, defects),
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
        forwarded=forwarded,
        forward_truncated=truncated,
        extra=extra,
    )
