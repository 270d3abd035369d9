"""The conversation stage: a reply naming a ticket, decided by who wrote it and what it says.

Pure, like every stage: the ticket was looked up and locked by ``store`` (``Lookups.thread``);
the decision tables are the core's (``propdesk.core.conversation``). Who may join a thread:
the requester, a co-tenant of the unit (tenant directory) and staff. Anyone else is a stranger:
their mail becomes a ticket of their own, with the tag and our Message-IDs taken out, so nothing
they get back names the other ticket.
"""

from __future__ import annotations

from dataclasses import replace

from propdesk.core.auth_results import sender_authenticated
from propdesk.core.conversation import (
    Role,
    ThreadTicket,
    plan_staff_reply,
    plan_tenant_reply,
    sender_role,
    strip_tags,
)
from propdesk.core.message import InboundMessage
from propdesk.core.models import TicketStatus
from propdesk.core.pipeline import NO_ACTION_ITEMS
from propdesk.core.reply_intent import detect_intent
from propdesk.core.staff_commands import parse_commands
from propdesk.ingest.chain import CONTINUE, Decision, MessageContext, Verdict
from propdesk.mail.compose import parse_message_id

_RATED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def without_thread(parsed: InboundMessage) -> InboundMessage:
    """The message with every pointer to our tickets removed (tags, our Message-IDs)."""
    refs = tuple(r for r in parsed.references if parse_message_id(r) is None)
    parent = parsed.in_reply_to
    if parent is not None and parse_message_id(parent) is not None:
        parent = None
    return replace(parsed, subject=strip_tags(parsed.subject), references=refs, in_reply_to=parent)


def _new_tickets(ctx: MessageContext, parsed: InboundMessage, why: str) -> Decision | None:
    analysis = ctx.analyse(parsed, ctx.received_at, ctx.now)
    if analysis.ignored_reason is not None or not analysis.tickets:
        return None
    return Decision("ticketed", why, tickets=tuple(analysis.tickets), parsed=parsed)


def thread_reply(ctx: MessageContext) -> Verdict:
    """A reply naming an existing ticket: a comment, a status change, commands, or new tickets."""
    thread = ctx.lookups.thread
    if thread is None:
        return CONTINUE
    tid = thread.ticket.ticket_id
    role = sender_role(ctx.sender, thread, ctx.staff)
    if role is Role.STRANGER:
        clean = without_thread(ctx.parsed)
        made = _new_tickets(ctx, clean, "stranger_reply: not on the named ticket; own ticket")
        return made or Decision("ignored", f"stranger_reply: {NO_ACTION_ITEMS}", parsed=clean)
    policy = ctx.conversation
    if policy is None:  # conversations off: every allowed reply is a plain comment
        return Decision("comment", f"reply to {tid}", ticket_pk=thread.pk)
    if role is Role.STAFF:
        return _staff(ctx, thread)
    text = ctx.parsed.new_text
    intent = detect_intent(text, policy.rules, expect_rating=thread.ticket.status in _RATED)
    plan = plan_tenant_reply(thread.ticket, intent, policy.rules, text)
    if plan.kind == "new_linked":
        made = _new_tickets(
            ctx,
            replace(ctx.parsed, subject=strip_tags(ctx.parsed.subject)),
            f"reply to {tid}: {plan.reason}",
        )
        if made is not None:
            return replace(made, reply=plan, related_ticket_pk=thread.pk)
        closed = thread.ticket.status is TicketStatus.CLOSED
        plan = replace(
            plan,
            kind="comment",
            notify_assignee=not closed,
            reason=f"{plan.reason}; no new action items: comment",
        )
    return Decision("comment", f"reply to {tid}: {plan.reason}", ticket_pk=thread.pk, reply=plan)


def _staff(ctx: MessageContext, thread: ThreadTicket) -> Verdict:
    policy = ctx.conversation
    assert policy is not None and ctx.sender is not None
    sender = ctx.sender.lower()
    commands = parse_commands(ctx.parsed.new_text, policy.rules.command_keys)
    if commands.any:
        if sender not in policy.staff_senders:
            return Decision("ignored", f"staff_command: {sender} may not send commands")
        if policy.require_authentication:
            values = [v for k, v in ctx.parsed.headers if k.lower() == "authentication-results"]
            verdict = sender_authenticated(values, policy.authserv_id, sender)
            if not verdict.passed:
                # Never a reply (the From may be forged) and never a word about the ticket.
                why = f"staff_command_unauthenticated: {verdict.reason}"
                return Decision("ignored", why, ticket_pk=thread.pk)
    plan = plan_staff_reply(thread.ticket, commands, sender, policy.rules.command_keys)
    reason = f"reply to {thread.ticket.ticket_id}: {plan.reason}"
    return Decision("comment", reason, ticket_pk=thread.pk, reply=plan)
