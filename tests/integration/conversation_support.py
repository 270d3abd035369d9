"""Test support for conversations: a stack (Dovecot, PostgreSQL, SMTP peer) driven by daemon
turns on a settable clock, and replies shaped like real mail clients' (Gmail, Outlook, Apple
Mail, HTML-only), built from the mails the peer actually received."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import Engine, select

from propdesk import app
from propdesk.clock import SYSTEM_CLOCK
from propdesk.config import (
    BusinessHoursConfig,
    Config,
    ConversationsConfig,
    DatabaseConfig,
    MailboxConfig,
    NotificationsConfig,
)
from propdesk.core.models import TicketStatus
from propdesk.ingest.service import DirectoryFor
from propdesk.store.conversations import TenantDirectory
from propdesk.store.tables import InboundMessageRow, TicketEventRow, TicketRow
from tests.integration.notify_support import Clock
from tests.stack import Dovecot, ImapUser, SmtpPeer
from tests.stack.smtp_peer import ReceivedMail

ALWAYS_OPEN = BusinessHoursConfig(
    hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
)
AUTHSERV = "mx.property.com"
TENANT = "maria.lopez@example.org"
_n = itertools.count(1)


@dataclass
class Stack:
    """One test's servers, config and clock; ``turn()`` is one daemon turn."""

    engine: Engine
    db: DatabaseConfig
    mailbox: MailboxConfig
    dovecot: Dovecot
    user: ImapUser
    peer: SmtpPeer
    clock: Clock = field(default_factory=lambda: Clock(SYSTEM_CLOCK.now()))
    conversations: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return Config(
            database=self.db,
            mailboxes=[self.mailbox],
            smtp=self.peer.smtp_config(message_id_domain="mail.property.com"),
            business_hours=ALWAYS_OPEN,
            notifications=NotificationsConfig(tenant_cap_per_hour=100),
            conversations=ConversationsConfig(
                **{"authserv_id": AUTHSERV, "reply_digest_minutes": 0, **self.conversations}
            ),
        )

    def deliver(self, raw: bytes) -> None:
        self.dovecot.append(self.user, raw)

    def turn(self, directory: DirectoryFor = TenantDirectory) -> None:
        daemon = app.daemon(self.config, clock=self.clock.clock, directory=directory)
        try:
            report = daemon.loop.run_once()
        finally:
            daemon.close()
        assert report.ok, report

    def mails(self) -> list[ReceivedMail]:
        return list(self.peer.received)

    def mails_to(self, address: str, subject_start: str = "") -> list[ReceivedMail]:
        return [
            m
            for m in self.peer.received
            if m.rcpt_tos == (address,) and str(m.message["Subject"]).startswith(subject_start)
        ]

    def ticket(self, ticket_id: str) -> TicketRow:
        with self.engine.connect() as conn:
            row = conn.execute(select(TicketRow).where(TicketRow.ticket_id == ticket_id)).first()
        assert row is not None
        return row  # type: ignore[return-value]

    def tickets(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(TicketRow).order_by(TicketRow.id)).all())

    def events(self, ticket_id: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(TicketEventRow)
                    .join(TicketRow, TicketRow.id == TicketEventRow.ticket_pk)
                    .where(TicketRow.ticket_id == ticket_id)
                    .order_by(TicketEventRow.at, TicketEventRow.id)
                ).all()
            )

    def outcomes(self) -> list[tuple[str, str | None]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(InboundMessageRow.outcome, InboundMessageRow.reason).order_by(
                    InboundMessageRow.id
                )
            ).all()
        return [(r[0], r[1]) for r in rows]

    def set_status(self, ticket_id: str, status: TicketStatus, note: str | None = None) -> None:
        service = app.status_change_service(self.config, self.engine, clock=self.clock.clock)
        service.set_status(ticket_id, status, by="plumber@property.com", note=note)

    def open_ticket(self, body: str = "") -> tuple[str, ReceivedMail]:
        """A tenant's first mail through the whole stack: the ticket id and the ack mail."""
        self.deliver(
            first_mail(
                body
                or "Hello,\n\nThe kitchen sink in Unit 4C is leaking under the cabinet, there is "
                "water on the floor.\n\nThanks,\nMaria\n"
            )
        )
        self.turn()
        (row,) = self.tickets()
        (ack,) = self.mails_to(TENANT, "Service Request Received")
        return row.ticket_id, ack

    def resolved_ticket(self) -> tuple[str, ReceivedMail]:
        """A ticket moved to Resolved by staff: its id and the completion mail the tenant got."""
        tid, _ = self.open_ticket()
        self.set_status(tid, TicketStatus.IN_PROGRESS)
        self.set_status(tid, TicketStatus.RESOLVED, note="replaced the trap seal")
        self.turn()
        (done,) = self.mails_to(TENANT, "Service Request Completed")
        return tid, done


def first_mail(body: str, sender: str = f"Maria Lopez <{TENANT}>") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = "Unit 4C: kitchen sink leaking"
    msg["Message-ID"] = f"<first-{next(_n)}@example.org>"
    msg.set_content(body)
    return bytes(msg)


def _text_of(original: EmailMessage) -> str:
    part = original.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def reply(
    original: EmailMessage,
    text: str,
    *,
    sender: str = f"Maria Lopez <{TENANT}>",
    style: str = "gmail",
    prefix: str = "Re:",
    headers: dict[str, str] | None = None,
    threaded: bool = True,
    subject: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A reply to ``original`` as a mail client writes it, quoting its text below the new text.

    ``gmail``: "On <date>, X wrote:" and ``>`` lines; ``outlook``: a ``-----Original
    Message-----`` block with From/Sent/To/Subject; ``html``: HTML only, Gmail's blockquote.
    ``threaded=False`` drops In-Reply-To/References (a provider that rewrote Message-IDs).
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = subject if subject is not None else f"{prefix} {original['Subject']}"
    msg["Message-ID"] = message_id or make_msgid(domain="example.org")
    if threaded:
        msg["In-Reply-To"] = original["Message-ID"]
        msg["References"] = original["Message-ID"]
    for name, value in (headers or {}).items():
        msg[name] = value
    quoted = _text_of(original)
    if style == "outlook":
        body = (
            f"{text}\n\n-----Original Message-----\nFrom: Property Maintenance "
            f"<maintenance@property.com>\nSent: Friday, December 4, 2026 9:12 AM\nTo: "
            f"{original['To']}\nSubject: {original['Subject']}\n\n{quoted}"
        )
        msg.set_content(body)
    elif style == "html":
        html_quote = "<br>".join(quoted.splitlines())
        msg.set_content(
            f'<html><body><div dir="ltr">{"<br>".join(text.splitlines())}</div><br>'
            f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Fri, Dec 4, 2026 '
            f"at 9:12 AM Property Maintenance &lt;maintenance@property.com&gt; wrote:<br></div>"
            f'<blockquote class="gmail_quote">{html_quote}</blockquote></div></body></html>',
            subtype="html",
        )
    else:
        lines = "\n".join(f"> {line}" if line else ">" for line in quoted.splitlines())
        msg.set_content(
            f"{text}\n\nOn Fri, Dec 4, 2026 at 9:12 AM Property Maintenance "
            f"<maintenance@property.com> wrote:\n{lines}\n"
        )
    return bytes(msg)


def later(stack: Stack, **kw: float) -> None:
    stack.clock.advance(**kw) if kw else stack.clock.advance(seconds=1)


__all__ = ["AUTHSERV", "TENANT", "Stack", "first_mail", "later", "reply", "timedelta"]
