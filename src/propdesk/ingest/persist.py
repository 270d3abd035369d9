"""The last stage: write what the chain decided, for a batch of messages in one transaction.

Each decided message becomes its final row plus what the outcome causes (a comment event, or
tickets with their links and events), then the in-transaction hooks run (outbox rows, escalation
clocks). All SQL is in ``propdesk.store.ingest_repo``. The service calls it per message inside
its batch's ONE transaction (the next message's look-ups must see this one's rows); the list shape
leaves room for writing a batch's rows in one round of statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from propdesk.core.conversation import ThreadTicket
from propdesk.core.message import InboundMessage
from propdesk.core.models import Ticket
from propdesk.errors import StoreError
from propdesk.ingest import reply_persist
from propdesk.ingest.chain import KEEP_RAW, Decision
from propdesk.ingest.types import DueDates, IngestHook, NewTicketId, Result
from propdesk.logging import get_logger
from propdesk.store import conversations, ingest_repo
from propdesk.store.session import Session
from propdesk.store.tables import InboundMessageRow, TicketRow

log = get_logger(__name__)

_TICKET_ID_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Decided:
    """One message ready to persist: its row (described, not yet final) and the decision."""

    row: InboundMessageRow
    parsed: InboundMessage
    decision: Decision
    now: datetime
    raw: bytes = b""  # kept on the row for the outcomes in ``KEEP_RAW``
    thread: ThreadTicket | None = None  # the locked ticket a reply names (conversations)


class Persist:
    """Writes decided messages and runs the hooks; never commits (the caller owns the txn)."""

    name = "persist"
    description = "the outcome, what it causes and the hooks, in the message's transaction"

    def __init__(
        self,
        *,
        hooks: Sequence[IngestHook],
        new_ticket_id: NewTicketId,
        due_dates: DueDates | None = None,
    ) -> None:
        self._hooks = tuple(hooks)
        self._new_ticket_id = new_ticket_id
        self._due_dates = due_dates

    def __call__(self, session: Session, batch: Sequence[Decided]) -> list[Result]:
        log.debug("ingest.stage", stage=self.name, messages=len(batch))
        return [self._one(session, item) for item in batch]

    def _one(self, s: Session, item: Decided) -> Result:
        row, d = item.row, item.decision
        parsed = d.parsed if d.parsed is not None else item.parsed
        raw = item.raw if d.outcome in KEEP_RAW else None
        ingest_repo.record(
            s, row, d.outcome, d.reason, duplicate_of=d.duplicate_of, error=d.detail, raw=raw
        )
        result = Result(row.uid, d.outcome, d.reason, message_pk=row.id)
        if d.outcome == "held_flood":
            for hook in self._hooks:
                hook.message_held(s, row, parsed, notify=d.notify)
        elif d.outcome == "ignored":
            if d.ticket_pk is not None:  # an unauthenticated staff command: noted, never told
                trow = ingest_repo.ticket_row(s, d.ticket_pk)
                reply_persist.refuse_unauthenticated(s, row, trow, d.reason or "", item.now)
            for hook in self._hooks:
                hook.message_recorded(s, row, parsed)
        elif d.outcome == "comment":
            assert d.ticket_pk is not None
            plan = d.reply
            decided = None if plan is None else {"kind": plan.kind, "reason": plan.reason}
            ticket, event = ingest_repo.add_comment(
                s,
                row,
                parsed,
                d.ticket_pk,
                item.now,
                text=None if plan is None else plan.comment,
                decision=decided,
            )
            for hook in self._hooks:
                hook.comment_added(s, row, parsed, ticket, event)
            if plan is not None and item.thread is not None:
                effects = reply_persist.apply_plan(
                    s, row, ticket, item.thread, plan, at=item.now, due_dates=self._due_dates
                )
                for hook in self._hooks:
                    hook.reply_handled(s, row, parsed, effects)
            result = replace(result, ticket_ids=(ticket.ticket_id,))
        elif d.outcome == "ticketed":
            rows = self._tickets(s, row, parsed, d.tickets)
            if d.related_ticket_pk is not None:
                for trow in rows:
                    conversations.link(s, trow.id, d.related_ticket_pk, d.reason or "", item.now)
            result = replace(result, ticket_ids=tuple(r.ticket_id for r in rows))
        return result

    def _tickets(
        self, s: Session, row: InboundMessageRow, parsed: InboundMessage, tickets: Sequence[Ticket]
    ) -> list[TicketRow]:
        ingest_repo.store_attachments(s, row, parsed.attachments)
        rows: list[TicketRow] = []
        for index, ticket in enumerate(tickets):
            trow = self._insert_ticket(s, ticket)
            rows.append(trow)
            ingest_repo.link_created(s, row, trow, index)
        s.flush()
        for hook in self._hooks:
            hook.tickets_created(s, row, parsed, rows)
        return rows

    def _insert_ticket(self, s: Session, ticket: Ticket) -> TicketRow:
        """A clash of the random ticket id is retried with a fresh id."""
        due = self._due_dates(ticket) if self._due_dates is not None else (None, None)
        for _ in range(_TICKET_ID_ATTEMPTS):
            trow = ingest_repo.insert_ticket(s, ticket, due)
            if trow is not None:
                return trow
            log.warning("ingest.ticket_id_clash", ticket_id=ticket.ticket_id)
            ticket = replace(ticket, ticket_id=self._new_ticket_id())
        raise StoreError(f"no free ticket id after {_TICKET_ID_ATTEMPTS} attempts")
