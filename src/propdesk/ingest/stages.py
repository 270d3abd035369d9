"""The built-in ingest stages, in order. A new stage (conversations, incidents) is one entry of
``STAGES``; what it needs to know goes into ``MessageContext`` (looked up by ``store/``).

Each stage is pure: it reads the context and returns ``CONTINUE`` or a ``Decision``. Persisting a
decision (rows, events, hooks) happens after the chain, in ``propdesk.ingest.persist``.
"""

from __future__ import annotations

import re

from propdesk.core.message import InboundMessage
from propdesk.core.pipeline import NO_ACTION_ITEMS, not_ticket_reason
from propdesk.ingest.chain import CONTINUE, Decision, MessageContext, Stage, Verdict
from propdesk.ingest.conversation import thread_reply

#: ``[TKT-1A2B3C4D]`` in a subject.
SUBJECT_REF = re.compile(r"\[(TKT-[0-9A-F]{8})\]", re.IGNORECASE)
#: Our own Message-IDs: ``<propdesk.TKT-XXXXXXXX.<anything>@<domain>>`` (notifications make them).
OUR_MESSAGE_ID = re.compile(r"<propdesk\.(TKT-[0-9A-F]{8})\.[^<>@\s]*@[^<>\s]+>", re.IGNORECASE)


def ticket_refs(parsed: InboundMessage) -> list[str]:
    """Ticket ids this message names without asking the store: ``[TKT-…]`` in the subject
    first, then our Message-IDs in In-Reply-To/References (the store adds the Message-IDs we
    received and the body marker, ``propdesk.ingest.service``)."""
    refs = [m.upper() for m in SUBJECT_REF.findall(parsed.subject or "")]
    for header in (parsed.in_reply_to or "", *reversed(parsed.references)):
        refs += [m.upper() for m in OUR_MESSAGE_ID.findall(header)]
    return list(dict.fromkeys(refs))


def recognise_duplicate(ctx: MessageContext) -> Verdict:
    """Same bytes in this mailbox, or same Message-ID and sender anywhere: a duplicate."""
    earlier = ctx.lookups.earlier
    if earlier is None:
        return CONTINUE
    if earlier.mailbox == ctx.mailbox and earlier.sha256 == ctx.sha256:
        why = "same bytes (UIDVALIDITY change or re-delivery)"
    else:
        why = f"same Message-ID and sender, mailbox {earlier.mailbox}"
    return Decision("duplicate", f"{why} as message #{earlier.id}", duplicate_of=earlier.id)


def not_a_ticket(ctx: MessageContext) -> Verdict:
    """Auto-replies, bounces, loops, lists, blocked senders: recorded ignored, never threaded."""
    reason = not_ticket_reason(ctx.parsed)
    return CONTINUE if reason is None else Decision("ignored", reason)


def staff_mail(ctx: MessageContext) -> Verdict:
    """Mail from staff or from us that is not a reply is no tenant request."""
    if ctx.sender and ctx.sender.lower() in ctx.staff:
        return Decision("ignored", "staff_address: sender is a rule address")
    return CONTINUE


def analyse(ctx: MessageContext) -> Verdict:
    """The core pipeline: one ticket per action item, or why there are none. Always decides.

    A known sender's directory entry fills each ticket whose text names no unit (the text wins
    when it names another unit, and the ticket's matched rules say so)."""
    analysis = ctx.analyse(ctx.parsed, ctx.received_at, ctx.now)
    if analysis.ignored_reason is not None or not analysis.tickets:
        return Decision("ignored", analysis.ignored_reason or NO_ACTION_ITEMS)
    tenant = ctx.lookups.tenant
    return Decision("ticketed", tickets=tuple(ctx.fill(t, tenant) for t in analysis.tickets))


#: The chain, in order. The first stage that decides wins; ``analyse`` always decides.
STAGES: tuple[Stage, ...] = (
    Stage("duplicate", "the same delivery was recorded before", recognise_duplicate),
    Stage("not_a_ticket", "auto-reply, bounce, loop, list or blocked sender", not_a_ticket),
    Stage("thread", "a reply to a ticket: checked sender, then what it says", thread_reply),
    Stage("staff_mail", "mail from staff or from us is no tenant request", staff_mail),
    Stage("analyse", "action items become tickets (or none, and why)", analyse),
)
