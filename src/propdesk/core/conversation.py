"""Conversations by email, decided: who may join a ticket's thread, and what a reply does.

Pure: the ingest stages hand in the ticket as the store locked it, the sender, the reply's intent
(``propdesk.core.reply_intent``) or commands (``propdesk.core.staff_commands``), and get back a
``ReplyPlan`` naming the change, the mails and the reason recorded as an event. Moves are checked
against the lifecycle's table (``propdesk.core.lifecycle.allowed_moves``) here, on the locked
state, so what persist applies never violates it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from propdesk.core.conversation_rules import ConversationRules
from propdesk.core.lifecycle import allowed_moves
from propdesk.core.models import Ticket, TicketStatus, Urgency
from propdesk.core.reply_intent import Intent, ReplyIntent
from propdesk.core.staff_commands import Commands, allowed_help

S = TicketStatus

#: ``[TKT-1A2B3C4D]`` in a subject.
SUBJECT_TAG = re.compile(r"\[(TKT-[0-9A-F]{8})\]", re.IGNORECASE)
#: The footer line our templates write (``Ref: TKT-1A2B3C4D``); it survives Message-ID rewriting
#: by providers and is quoted back in replies.
BODY_MARKER = re.compile(r"\bRef:\s*(TKT-[0-9A-F]{8})\b", re.IGNORECASE)


class Directory(Protocol):
    """The tenant directory as conversations need it (``store/tenants.py`` implements it)."""

    def co_tenant(self, sender: str, ticket: Ticket) -> bool:
        """True when ``sender`` lives in the unit of ``ticket`` (and is not its requester)."""
        ...


class NoDirectory:
    """No tenant directory: nobody is a co-tenant."""

    def co_tenant(self, sender: str, ticket: Ticket) -> bool:
        return False


NO_DIRECTORY: Directory = NoDirectory()


class Role(StrEnum):
    """Who wrote a reply, relative to the ticket it names."""

    REQUESTER = "requester"
    CO_TENANT = "co_tenant"
    STAFF = "staff"
    STRANGER = "stranger"


@dataclass(frozen=True, slots=True)
class ThreadTicket:
    """The ticket a reply names, read ``FOR UPDATE``, and whether the sender is a co-tenant."""

    pk: int
    ticket: Ticket
    co_tenant: bool = False
    matched_by: str = "subject"  # subject | header | body


@dataclass(frozen=True)
class ConversationPolicy:
    """What ingest decides replies by: the rules' cues, staff senders and the auth switch."""

    rules: ConversationRules
    staff_senders: frozenset[str]  # who may send commands (lower case)
    authserv_id: str = ""  # our receiving server's authserv-id in Authentication-Results
    require_authentication: bool = True  # false for servers that add no such header


def ticket_ids_in(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Ticket ids ``pattern`` finds in ``text``, upper case, first occurrence order."""
    return list(dict.fromkeys(m.upper() for m in pattern.findall(text or "")))


def strip_tags(subject: str) -> str:
    """The subject without ``[TKT-…]`` tags (a stranger's new ticket must not name another)."""
    return " ".join(SUBJECT_TAG.sub(" ", subject).split())


def order_refs(*groups: Sequence[str]) -> tuple[str, ...]:
    """Candidate ticket ids, most exact source first (subject, headers, body), deduplicated."""
    return tuple(dict.fromkeys(t for group in groups for t in group))


def sender_role(sender: str | None, thread: ThreadTicket, staff: frozenset[str]) -> Role:
    """Requester, co-tenant (directory), staff (configured addresses) or a stranger."""
    who = (sender or "").strip().lower()
    if not who:
        return Role.STRANGER
    if who == thread.ticket.requested_for.strip().lower():
        return Role.REQUESTER
    if who in staff:
        return Role.STAFF
    if thread.co_tenant:
        return Role.CO_TENANT
    return Role.STRANGER


PlanKind = Literal["comment", "status", "new_linked", "commands", "refused"]


@dataclass(frozen=True)
class ReplyPlan:
    """What one reply does to its (locked) ticket, and why.

    ``status``/``status_note``: a lifecycle move; ``assign``/``urgency``: staff changes;
    ``reviewed``: staff checked what triage was unsure of (``needs_review`` off);
    ``rating``: recorded (latest wins); ``notify_assignee``: a ``tenant_replied`` digest mail;
    ``escalate``: mail the supervisor (low rating); ``refusals``: the staff reply's refused lines
    (nothing applied; the sender gets them with ``help``).
    """

    kind: PlanKind
    reason: str
    comment: str = ""
    status: TicketStatus | None = None
    status_note: str | None = None
    assign: str | None = None
    urgency: Urgency | None = None
    notes: tuple[str, ...] = ()
    reviewed: bool = False
    rating: int | None = None
    notify_assignee: bool = False
    escalate: bool = False
    refusals: tuple[str, ...] = field(default_factory=tuple)
    help: str = ""


def plan_tenant_reply(
    ticket: Ticket, intent: ReplyIntent, rules: ConversationRules, text: str
) -> ReplyPlan:
    """The spec's conversation table for a requester's or co-tenant's reply."""
    status = ticket.status
    why = f"tenant reply: {intent.intent.value} ({intent.reason})"
    if intent.intent is Intent.RATING and intent.rating is not None:
        # A low rating reopens; any other rating of a Resolved ticket confirms it (Closed).
        low = intent.rating <= rules.low_rating
        move = (S.IN_PROGRESS if low else S.CLOSED) if status is S.RESOLVED else None
        return ReplyPlan(
            "comment" if move is None else "status",
            f"{why}; low rating" if low else why,
            comment=text,
            status=move,
            status_note=None if move is None else f"tenant rated {intent.rating}/5",
            rating=intent.rating,
            notify_assignee=low,
            escalate=low,
        )
    if status is S.CLOSED:
        return ReplyPlan("new_linked", f"{why}; the ticket is Closed", comment=text)
    if intent.intent is Intent.NEW_PROBLEM:
        return ReplyPlan("new_linked", why, comment=text)
    if intent.intent is Intent.STILL_BROKEN and status is S.RESOLVED:
        return ReplyPlan(
            "status",
            why,
            comment=text,
            status=S.IN_PROGRESS,
            status_note="tenant: not fixed",
            notify_assignee=True,
        )
    if intent.intent in (Intent.FIXED_THANKS, Intent.CLOSE_IT) and status is S.RESOLVED:
        return ReplyPlan(
            "status",
            f"{why}; tenant confirmed",
            comment=text,
            status=S.CLOSED,
            status_note="tenant confirmed",
        )
    # Open ticket, or an unsure reply: the assignee reads it; nothing closes on a guess.
    return ReplyPlan("comment", why, comment=text, notify_assignee=True)


def plan_staff_reply(
    ticket: Ticket, commands: Commands, sender: str, keys: Collection[str]
) -> ReplyPlan:
    """Staff commands on the locked ticket: all applied, or none (with the reasons)."""
    if not commands.any:
        return ReplyPlan("comment", f"staff reply from {sender}", comment=commands.text)
    refusals = list(commands.refused)
    statuses = [c for c in commands.commands if c.key == "status"]
    if len(statuses) > 1:
        refusals.append("Status: only one status change per reply")
    elif statuses and statuses[0].status is not None:
        wanted, allowed = statuses[0].status, allowed_moves(ticket.status)
        if wanted not in allowed:
            moves = ", ".join(s.value for s in allowed) or "none (it is terminal)"
            refusals.append(
                f"Status: cannot move {ticket.ticket_id} from {ticket.status.value} to "
                f"{wanted.value}; allowed from {ticket.status.value}: {moves}"
            )
    if refusals:
        return ReplyPlan(
            "refused",
            f"staff command refused: {'; '.join(refusals)}",
            comment=commands.text,
            refusals=tuple(refusals),
            help=allowed_help(keys),
        )
    by_key = {c.key: c for c in commands.commands}
    status_cmd = by_key.get("status")
    assign_cmd = by_key.get("assign")
    urgency_cmd = by_key.get("urgency")
    applied = ", ".join(f"{c.key}={c.value}" for c in commands.commands)
    return ReplyPlan(
        "commands",
        f"staff commands from {sender}: {applied}",
        comment=commands.text,
        status=None if status_cmd is None else status_cmd.status,
        status_note=None if status_cmd is None else status_cmd.note,
        assign=None if assign_cmd is None else assign_cmd.value,
        urgency=None if urgency_cmd is None else urgency_cmd.urgency,
        notes=tuple(c.value for c in commands.commands if c.key == "note"),
        reviewed="reviewed" in by_key,
    )
