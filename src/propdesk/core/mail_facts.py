"""What people need in a notification to act on it, worked out from a ticket: why its urgency,
its deadlines in the business time zone, and which of the tenant's photos travel with the mail.

Pure: the ingest hook and the status service pass plain values in; the templates show the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from propdesk.core.models import Ticket

#: What a built-in urgency verdict means, in words (named urgency rules speak for themselves).
_URGENCY_WORDS = {
    "base": "the usual urgency for this kind of matter",
    "problem evidence": "something is broken or not working",
    "request without a problem": "a request; nothing is broken",
}


def urgency_reason(ticket: Ticket) -> str:
    """Why the ticket has its urgency, from the rules that decided it: "emergency: water from
    above" / "the usual urgency for this kind of matter"."""
    reasons: list[str] = []
    for rule in ticket.metadata.matched_rules:
        if not rule.startswith("urgency:"):
            continue
        name, _, level = rule.removeprefix("urgency:").rpartition("=")
        if name in _URGENCY_WORDS:
            reasons.append(_URGENCY_WORDS[name])
        else:
            reasons.append(f"{'emergency' if level == '1' else 'rule'}: {name}")
    return "; ".join(dict.fromkeys(reasons)) or "the usual urgency for this kind of matter"


def local_time(value: datetime | None, timezone: str) -> str:
    """``2026-12-04 17:30 GMT`` in the business time zone; "" for no deadline."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True, slots=True)
class Photo:
    """An image the tenant sent, as stored (``attachments`` / ``attachment_blobs``)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    kept: bool = True  # False: over the intake limit, the bytes were never stored


#: Inline images smaller than this are signature logos, icons and tracking pixels; a phone's
#: photo sent inline (Apple Mail, Outlook) is far larger.
INLINE_PHOTO_MIN_BYTES = 16 * 1024


def is_photo(content_type: str, size: int = 0, *, inline: bool = False) -> bool:
    """An image the tenant means to show: attached, or inline and too big to be a logo."""
    if not content_type.lower().startswith("image/"):
        return False
    return not inline or size >= INLINE_PHOTO_MIN_BYTES


def plan_photos(
    photos: Sequence[Photo], ticket_id: str, max_bytes: int
) -> tuple[list[dict[str, object]], list[str]]:
    """(photos to attach, command lines for the rest): attach in order while the total stays
    within ``max_bytes``; every photo that does not fit (or was not kept) gets the command that
    saves it, so the assignee can still fetch it."""
    attached: list[dict[str, object]] = []
    commands: list[str] = []
    total = 0
    for photo in photos:
        if photo.kept and total + photo.size <= max_bytes:
            total += photo.size
            attached.append(
                {
                    "filename": photo.filename,
                    "content_type": photo.content_type,
                    "size": photo.size,
                    "sha256": photo.sha256,
                }
            )
        elif photo.kept:
            name = _quoted(photo.filename)
            commands.append(f"propdesk tickets attachment {ticket_id} {name} -o {name}")
        else:
            commands.append(f"{photo.filename}: not kept (over the intake size limit)")
    return attached, commands


def _quoted(name: str) -> str:
    """A file name as one shell word (single quotes, ' escaped)."""
    if name and all(c.isalnum() or c in "._-+" for c in name):
        return name
    return "'" + name.replace("'", "'\\''") + "'"
