"""Which conversation events mail whom: pure planning, like ``propdesk.core.notifications``.

- a tenant's reply on an open ticket: ``tenant_replied`` to the assignee, as a digest (one
  pending row per ticket and assignee gathers the replies of a few minutes);
- a reopen (still broken, or a low rating): ``ticket_reopened`` to the assignee;
- a low rating: ``low_rating`` to the supervisor;
- a refused staff command: ``command_refused`` to the staff sender, saying why and what is allowed.
Tenant-facing mails of status changes stay ``plan_status_change``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from propdesk.core.models import Ticket, Urgency
from propdesk.core.notifications import STAFF, Planned, ticket_context
from propdesk.core.policy import SlaTarget

TENANT_REPLIED = "tenant_replied"
TICKET_REOPENED = "ticket_reopened"
LOW_RATING = "low_rating"
COMMAND_REFUSED = "command_refused"

#: Longest reply text a staff mail quotes.
QUOTE_CHARS = 4000


def reply_entry(sender: str, at: datetime, text: str, reason: str) -> dict[str, Any]:
    """One reply as the digest lists it."""
    return {
        "sender": sender,
        "at": at.strftime("%Y-%m-%d %H:%M UTC"),
        "text": text[:QUOTE_CHARS],
        "reason": reason,
    }


def plan_tenant_replied(
    ticket: Ticket, sla: Mapping[Urgency, SlaTarget], entry: Mapping[str, Any]
) -> Planned:
    """The assignee's digest row for one more reply (coalesced by ticket and assignee)."""
    return Planned(
        kind=TENANT_REPLIED,
        audience=STAFF,
        recipient=ticket.assigned_to,
        ticket_ids=(ticket.ticket_id,),
        context={"tickets": [ticket_context(ticket, sla)], "replies": [dict(entry)]},
        coalesce_key=f"{TENANT_REPLIED}:{ticket.ticket_id}:{ticket.assigned_to.lower()}",
    )


def plan_reopened(
    ticket: Ticket, sla: Mapping[Urgency, SlaTarget], entry: Mapping[str, Any]
) -> Planned:
    """The assignee hears at once that a Resolved ticket is open again, and why."""
    return Planned(
        kind=TICKET_REOPENED,
        audience=STAFF,
        recipient=ticket.assigned_to,
        ticket_ids=(ticket.ticket_id,),
        context={"tickets": [ticket_context(ticket, sla)], "replies": [dict(entry)]},
    )


def plan_low_rating(
    ticket: Ticket,
    sla: Mapping[Urgency, SlaTarget],
    supervisor: str,
    rating: int,
    entry: Mapping[str, Any],
) -> Planned:
    """A 1-2 rating goes to the supervisor."""
    return Planned(
        kind=LOW_RATING,
        audience=STAFF,
        recipient=supervisor,
        ticket_ids=(ticket.ticket_id,),
        context={
            "tickets": [ticket_context(ticket, sla)],
            "replies": [dict(entry)],
            "rating": rating,
        },
    )


def plan_command_refused(
    ticket: Ticket,
    sla: Mapping[Urgency, SlaTarget],
    sender: str,
    refusals: Sequence[str],
    allowed: str,
    *,
    in_reply_to: str | None = None,
) -> Planned:
    """The staff sender learns which lines were refused, why, and what is allowed."""
    return Planned(
        kind=COMMAND_REFUSED,
        audience=STAFF,
        recipient=sender,
        ticket_ids=(ticket.ticket_id,),
        context={
            "tickets": [ticket_context(ticket, sla)],
            "refusals": list(refusals),
            "allowed": allowed,
        },
        in_reply_to=in_reply_to,
    )
