"""The ingest service's vocabulary: what it is given (parse, analyse, due dates, hooks) and what
it answers (``Result``). Named once here, so callers and stages agree on one spelling."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from propdesk.core.conversation import ReplyPlan
from propdesk.core.message import InboundMessage
from propdesk.core.models import Ticket
from propdesk.core.tenants import TenantRecord
from propdesk.errors import AnalysisError


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the core pipeline decided: tickets to create, or why none."""

    tickets: Sequence[Ticket] = ()
    ignored_reason: str | None = None


#: raw bytes -> parsed message (``propdesk.mail.parse.parse_message`` with the intake config).
Parse = Callable[[bytes], InboundMessage]
#: (message, received_at, now) -> analysis (the core pipeline, wired in ``propdesk.app``).
Analyse = Callable[[InboundMessage, datetime, datetime], Analysis]
#: (raw, received_at, now, should_stop) -> (parsed, analysis or None when no ticket at all): parse
#: and analysis done ahead, in a worker within a time budget (``propdesk.daemon.analysis``).
#: Raises ``AnalysisError`` (quarantine with its ``reason``) or ``AnalysisStopped``.
Prepare = Callable[
    [bytes, datetime, datetime, Callable[[], bool]], tuple[InboundMessage, Analysis | None]
]
#: One prepared message: (parsed, analysis or None when no ticket at all).
Ahead = tuple[InboundMessage, "Analysis | None"]
#: ([(raw, received_at)], now, should_stop) -> each message's ``Ahead`` or the ``AnalysisError``
#: to quarantine it with, yielded in order; all submitted at once, so the workers overlap the
#: database and IMAP waits. Raises ``AnalysisStopped`` on a stop request.
PrepareAll = Callable[
    [Sequence[tuple[bytes, datetime]], datetime, Callable[[], bool]],
    Iterator["Ahead | AnalysisError"],
]
#: ticket -> (response_due_at, resolution_due_at), from the core's SLA module.
DueDates = Callable[[Ticket], tuple[datetime | None, datetime | None]]
#: A fresh random ticket id (after a clash of the one the core made).
NewTicketId = Callable[[], str]
#: (ticket, the sender's directory entry or None) -> the ticket with what the directory adds
#: (``propdesk.core.tenants.fill_from_directory`` with the rules' policy, wired in ``app``).
DirectoryFill = Callable[[Ticket, TenantRecord | None], Ticket]


def no_fill(ticket: Ticket, tenant: TenantRecord | None) -> Ticket:
    """The default: no directory, the ticket as the text made it."""
    return ticket


@dataclass(frozen=True, slots=True)
class ReplyEffects:
    """What a reply did to its ticket (for the hooks that mail about it).

    ``before``/``after``: the locked ticket and the ticket after the plan was applied (the same
    when nothing changed); ``message_id``: the reply's own, to thread an answer to it.
    """

    before: Ticket
    after: Ticket
    plan: ReplyPlan
    sender: str
    at: datetime
    message_id: str | None = None


class IngestHook:
    """In-transaction hook: override the methods you need (the defaults do nothing).

    Each runs inside the message's transaction with the message row already flushed (it has an
    ``id``). Write rows with ``session``; never commit. Raising rolls the whole message back and
    quarantines it, so a hook cannot half-apply. ``session`` is a
    ``propdesk.store.session.Session``; ``message``, ``ticket(s)`` and ``event`` are rows of
    ``propdesk.store.tables``.
    """

    def tickets_created(
        self, session: Any, message: Any, parsed: InboundMessage, tickets: Sequence[Any]
    ) -> None:
        """New tickets (one per action item) were created from ``message``."""

    def comment_added(
        self, session: Any, message: Any, parsed: InboundMessage, ticket: Any, event: Any
    ) -> None:
        """``message`` was a reply and became a comment event on ``ticket``."""

    def message_held(
        self, session: Any, message: Any, parsed: InboundMessage, *, notify: bool
    ) -> None:
        """``message`` was held by a flood limit (``held_flood``); ``notify``: the first hold of
        its sender (or mailbox) this hour, so staff should be told once."""

    def reply_handled(
        self, session: Any, message: Any, parsed: InboundMessage, effects: ReplyEffects
    ) -> None:
        """A reply's conversation plan was applied to its ticket (after ``comment_added``)."""

    def message_recorded(self, session: Any, message: Any, parsed: InboundMessage) -> None:
        """``message`` was recorded as ``ignored`` (auto-reply, bounce, staff, no action items).

        For a bounce, ``message.bounced_message_id`` names the Message-ID it reports on.
        """


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one message, for the poller (where to move it) and the logs."""

    uid: int
    outcome: str
    reason: str | None = None
    ticket_ids: tuple[str, ...] = ()
    already: bool = False  # recorded by an earlier run: only the move is left to do
    message_pk: int | None = None

    @property
    def destination(self) -> str:
        """``failed`` for quarantined messages, ``held`` for flood-held ones, else ``processed``."""
        if self.outcome == "quarantined":
            return "failed"
        return "held" if self.outcome == "held_flood" else "processed"
