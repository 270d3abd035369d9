"""Applying a reply's plan to its locked ticket, inside the message's transaction.

The ticket row was locked ``FOR UPDATE`` by the thread look-up before the stages decided, so the
plan was made on the state we now change; status moves still go through the core lifecycle
(``propdesk.store.tickets.change_status``, the same function the status-change service uses), so
a bug upstream raises (and quarantines the message) instead of breaking the lifecycle.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from propdesk.core.conversation import ReplyPlan, ThreadTicket
from propdesk.ingest.types import DueDates, ReplyEffects
from propdesk.logging import get_logger
from propdesk.store import conversations, tickets
from propdesk.store.repository import add_event
from propdesk.store.session import Session
from propdesk.store.tables import InboundMessageRow, TicketRow

log = get_logger(__name__)


def apply_plan(
    s: Session,
    row: InboundMessageRow,
    ticket_row: TicketRow,
    thread: ThreadTicket,
    plan: ReplyPlan,
    *,
    at: datetime,
    due_dates: DueDates | None = None,
) -> ReplyEffects:
    """Status, assignee, urgency, notes, rating and refusals of one reply, with their events."""
    sender = (row.sender or "unknown").lower()
    locked = tickets.LockedTicket(thread.pk, thread.ticket)
    after = thread.ticket
    if plan.status is not None:
        after = tickets.change_status(
            s, locked, plan.status, by=sender, at=at, note=plan.status_note or plan.reason
        )
    if plan.assign is not None and plan.assign != after.assigned_to:
        before = after
        after = replace(after, assigned_to=plan.assign, updated_at=at)
        tickets.save_assignee(s, thread.pk, before=before.assigned_to, after=after, by=sender)
    if plan.urgency is not None and plan.urgency is not after.urgency:
        before = after
        after = replace(after, urgency=plan.urgency, updated_at=at)
        due = None if due_dates is None else due_dates(after)
        tickets.save_urgency(s, thread.pk, before=before, after=after, by=sender, due=due)
    if plan.reviewed:  # off the needs-review list; nothing when it was not on it
        tickets.save_reviewed(s, thread.pk, by=sender, at=at, note=plan.reason)
    for note in plan.notes:
        add_event(s, ticket_row, kind="note", actor=sender, at=at, data={"text": note}, message=row)
    if plan.rating is not None:
        conversations.record_rating(
            s, (thread.pk, after.ticket_id), plan.rating, at=at, by=sender, message=row
        )
        add_event(
            s,
            ticket_row,
            kind="rating",
            actor=sender,
            at=at,
            data={"rating": plan.rating, "reason": plan.reason},
            message=row,
        )
    if plan.refusals:
        add_event(
            s,
            ticket_row,
            kind="command_refused",
            actor=sender,
            at=at,
            data={"refusals": list(plan.refusals)},
            message=row,
        )
    s.flush()
    s.expire(ticket_row)  # Core statements changed the row under the ORM object
    log.info(
        "conversation.reply",
        ticket_id=after.ticket_id,
        plan=plan.kind,
        reason=plan.reason,
        status_from=thread.ticket.status.value,
        status_to=after.status.value,
    )
    return ReplyEffects(thread.ticket, after, plan, sender, at, row.message_id)


def refuse_unauthenticated(
    s: Session, row: InboundMessageRow, ticket_row: TicketRow, reason: str, at: datetime
) -> None:
    """A staff command whose sender could not be authenticated: an event, a warning, no mail."""
    sender = row.sender or "unknown"
    add_event(
        s,
        ticket_row,
        kind="command_refused",
        actor=sender,
        at=at,
        data={"reason": reason},
        message=row,
    )
    log.warning(
        "conversation.staff_command_refused",
        sender=sender,
        reason=reason,
        ticket_id=ticket_row.ticket_id,
    )
