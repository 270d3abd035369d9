"""The core's view of one inbound email, produced by the parse adapter (``propdesk.mail.parse``).

Both the daemon and ``propdesk classify`` build this from raw bytes with the same parser, so both
see the same text. Everything here is plain data: no library types leak into the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class NotTicketReason(StrEnum):
    """Why a message must never become a ticket (decided before the pipeline runs)."""

    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    MAILING_LIST = "mailing_list"
    SPAM = "spam"
    OWN_ADDRESS = "own_address"
    LOOP = "loop"
    BLOCKED_SENDER = "blocked_sender"
    NOT_RFC822 = "not_rfc822"


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox address; ``address`` is lower-cased, ``name`` is the decoded display name."""

    address: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment or inline part. ``content`` is None when it was over the size limit."""

    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes | None
    inline: bool = False
    content_id: str | None = None
    note: str | None = None  # e.g. "TNEF (winmail.dat): not unpacked", "dropped: over 10 MB"
    display_name: str = ""  # the name as sent, for display only (``filename`` is the safe one)


@dataclass(frozen=True, slots=True)
class Forwarded:
    """One forwarded original inside a message (attached message/rfc822 or an inline block).

    ``new_text`` is what that original's sender wrote (its own history and signature split off).
    """

    sender: Address | None
    subject: str
    new_text: str
    signature: str = ""
    via: str = "attached"  # attached | inline


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A parsed email. ``new_text`` is what the sender wrote now; quoted history is kept apart."""

    message_id: str
    sha256: str
    size: int
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: datetime | None  # the Date header (tz-aware UTC); never used for SLA or after-hours
    in_reply_to: str | None
    references: tuple[str, ...]
    body_text: str  # the whole readable body (plain part, or HTML converted to text)
    new_text: str  # body_text without quoted history and signature
    quoted_text: str  # the quoted history that was separated out
    signature: str  # the signature block that was separated out
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # (name, decoded value) in order; names as sent
    defects: tuple[str, ...] = ()  # what the parser had to repair or guess
    not_ticket: NotTicketReason | None = None
    not_ticket_detail: str | None = None  # e.g. which header decided it
    bounced_message_id: str | None = None  # for a bounce/DSN: the Message-ID it reports on
    # Forwarded originals, outermost first (each one forwarded inside the one before it); read
    # when the outer mail has no request of its own. ``forward_truncated``: nested deeper than
    # the parser's limit (the rest was not read).
    forwarded: tuple[Forwarded, ...] = ()
    forward_truncated: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively, or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None
