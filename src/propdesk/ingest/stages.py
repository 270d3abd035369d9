"""The built-in ingest stages, in order. A new stage (conversations, incidents) is one entry of
``STAGES``; what it needs to know goes into ``MessageContext`` (looked up by ``store/``).

Each stage is pure: it reads the context and returns ``CONTINUE`` or a ``Decision``. Persisting a
decision (rows, events, hooks) happens after the chain, in ``propdesk.ingest.persist``.
"""

from __future__ import annotations

import re

from propdesk.core.message import InboundMessage, NotTicketReason
from propdesk.core.pipeline import FORWARD_TOO_DEEP, NO_ACTION_ITEMS, not_ticket_reason
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


#: Quarantine reasons the stages decide (the service adds ``processing_error``; the core's
#: ``FORWARD_TOO_DEEP`` is one too).
NOT_RFC822 = "not_rfc822"
NO_SENDER_ADDRESS = "no_sender_address"
FLOOD_SENDER = "flood_sender"
FLOOD_MAILBOX = "flood_mailbox"


def unreadable(ctx: MessageContext) -> Verdict:
    """Bytes that are not mail at all are kept for a human, never dropped."""
    if ctx.parsed.not_ticket is NotTicketReason.NOT_RFC822:
        return Decision("quarantined", NOT_RFC822, detail=ctx.parsed.not_ticket_detail)
    return CONTINUE


def no_sender(ctx: MessageContext) -> Verdict:
    """No usable sender address: nobody could be answered, so no ticket; kept for a human."""
    if not ctx.sender:
        found = [d for d in ctx.parsed.defects if d.startswith(("from:", "sender:"))]
        return Decision("quarantined", NO_SENDER_ADDRESS, detail="; ".join(found)[:500] or None)
    return CONTINUE


def flood(ctx: MessageContext) -> Verdict:
    """Over the per-sender or per-mailbox hourly limit: recorded and held, staff told once."""
    if ctx.release:
        return CONTINUE
    limits, counts = ctx.limits, ctx.lookups.flood
    sender_limit, mailbox_limit = limits.per_sender_per_hour, limits.per_mailbox_per_hour
    is_staff = bool(ctx.sender) and (ctx.sender or "").lower() in ctx.staff
    if sender_limit and not is_staff and counts.sender_recent >= sender_limit:
        why = f"{counts.sender_recent} mails from this sender in the hour (limit {sender_limit})"
        return Decision("held_flood", FLOOD_SENDER, detail=why, notify=not counts.sender_notified)
    if mailbox_limit and counts.mailbox_recent >= mailbox_limit:
        why = (
            f"{counts.mailbox_recent} mails into {ctx.mailbox} in the hour (limit {mailbox_limit})"
        )
        return Decision("held_flood", FLOOD_MAILBOX, detail=why, notify=not counts.mailbox_notified)
    return CONTINUE


def not_a_ticket(ctx: MessageContext) -> Verdict:
    """Auto-replies, bounces, loops, lists, blocked senders: recorded ignored, never threaded."""
    reason = not_ticket_reason(ctx.parsed)
    return CONTINUE if reason is None else Decision("ignored", reason)


def staff_mail(ctx: MessageContext) -> Verdict:
    """Mail from staff or from us that is not a reply is no tenant request, unless it forwards
    a tenant's mail (the tenant is then the requester, see ``core.pipeline.requester_of``)."""
    if ctx.sender and ctx.sender.lower() in ctx.staff:
        for forwarded in ctx.parsed.forwarded:
            if forwarded.sender and forwarded.sender.address.lower() not in ctx.staff:
                return CONTINUE
        return Decision("ignored", "staff_address: sender is a rule address")
    return CONTINUE


def analyse(ctx: MessageContext) -> Verdict:
    """The core pipeline: one ticket per action item, or why there are none. Always decides.

    A known sender's directory entry fills each ticket whose text names no unit (the text wins
    when it names another unit, and the ticket's matched rules say so)."""
    analysis = ctx.analyse(ctx.parsed, ctx.received_at, ctx.now)
    if analysis.ignored_reason == FORWARD_TOO_DEEP:
        why = f"no request in the first {ctx.limits.max_forward_depth} forwards; more are nested"
        return Decision("quarantined", FORWARD_TOO_DEEP, detail=why)
    if analysis.ignored_reason is not None or not analysis.tickets:
        return Decision("ignored", analysis.ignored_reason or NO_ACTION_ITEMS)
    tenant = ctx.lookups.tenant
    return Decision("ticketed", tickets=tuple(ctx.fill(t, tenant) for t in analysis.tickets))


#: The chain, in order. The first stage that decides wins; ``analyse`` always decides.
STAGES: tuple[Stage, ...] = (
    Stage("duplicate", "the same delivery was recorded before", recognise_duplicate),
    Stage("unreadable", "bytes that are not mail are quarantined with their bytes", unreadable),
    Stage("not_a_ticket", "auto-reply, bounce, loop, list or blocked sender", not_a_ticket),
    Stage("no_sender", "no usable sender address: quarantined, never a ticket", no_sender),
    Stage("flood", "over the hourly limit per sender or mailbox: held", flood),
    Stage("thread", "a reply to a ticket: checked sender, then what it says", thread_reply),
    Stage("staff_mail", "mail from staff or from us is no tenant request", staff_mail),
    Stage("analyse", "action items become tickets (or none, and why)", analyse),
)
