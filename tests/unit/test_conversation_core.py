"""The pure core of conversations: intents, staff commands, Authentication-Results, the plans."""

from __future__ import annotations

import pytest

from propdesk.core.auth_results import sender_authenticated
from propdesk.core.conversation import (
    Role,
    ThreadTicket,
    plan_staff_reply,
    plan_tenant_reply,
    sender_role,
    strip_tags,
)
from propdesk.core.models import TicketStatus
from propdesk.core.reply_intent import Intent, detect_intent
from propdesk.core.rules import rules_from_text
from propdesk.core.staff_commands import parse_commands
from propdesk.errors import RulesError
from tests.unit.helpers_core import make_ticket

RULES = rules_from_text().conversation
KEYS = RULES.command_keys
S = TicketStatus


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("It's still leaking, any update?", Intent.STILL_BROKEN),
        ("Thanks for coming, but it is not fixed.", Intent.STILL_BROKEN),
        ("It works now, thank you!", Intent.FIXED_THANKS),
        ("All good, you can close it.", Intent.CLOSE_IT),
        ("Another problem: the heater is dead.", Intent.NEW_PROBLEM),
        ("4/5", Intent.RATING),
        ("Rating: 2", Intent.RATING),
        ("5", Intent.RATING),
        ("Ok. Will you call first?", Intent.UNSURE),
    ],
)
def test_intent_of_the_new_text(text: str, intent: Intent) -> None:
    assert detect_intent(text, RULES).intent is intent


def test_no_rating_unless_one_was_asked_for() -> None:
    assert detect_intent("2 of 5 burners are dead", RULES, expect_rating=False).intent is not (
        Intent.RATING
    )


def test_staff_commands_are_read_on_top_and_removed_from_the_comment() -> None:
    got = parse_commands("Status: Pending — waiting for part\nNote: ordered\n\nTuesday.", KEYS)
    assert [c.key for c in got.commands] == ["status", "note"]
    assert got.commands[0].status is S.PENDING and got.commands[0].note == "waiting for part"
    assert got.text == "Tuesday." and not got.refused
    assert parse_commands("Hi,\nStatus: Resolved", KEYS).any is False  # not on top
    assert parse_commands("Colour: blue", KEYS).refused == ("Colour: unknown command",)
    assert "not a plain email" in parse_commands("Assign: bob", KEYS).refused[0]
    assert "expected 1, 2 or 3" in parse_commands("Urgency: 9", KEYS).refused[0]


def test_only_our_authserv_id_and_the_senders_domain_count() -> None:
    ours = "mx.property.com; dkim=pass header.d=property.com"
    assert sender_authenticated([ours], "mx.property.com", "a@property.com").passed
    assert sender_authenticated(
        ["mx.property.com; dmarc=pass (p=reject) header.from=property.com"],
        "mx.property.com",
        "a@property.com",
    ).passed
    assert not sender_authenticated([ours], "mx.other.com", "a@property.com").passed
    assert not sender_authenticated([ours], "mx.property.com", "a@evil.example").passed
    fail = "mx.property.com; dkim=fail header.d=property.com"
    assert not sender_authenticated([fail], "mx.property.com", "a@property.com").passed
    # an unconfigured id never matches a header with an empty one
    assert not sender_authenticated(
        ["; dkim=pass header.d=property.com"], "", "a@property.com"
    ).passed
    # a forged header with our id BELOW the server's own is never read
    assert not sender_authenticated([fail, ours], "mx.property.com", "a@property.com").passed


def test_who_may_join_a_thread() -> None:
    t = ThreadTicket(1, make_ticket(requested_for="Ana@Example.org"))
    staff = frozenset({"plumber@property.com"})
    assert sender_role("ana@example.org", t, staff) is Role.REQUESTER
    assert sender_role("plumber@property.com", t, staff) is Role.STAFF
    assert sender_role("eve@example.net", t, staff) is Role.STRANGER
    co = ThreadTicket(1, t.ticket, co_tenant=True)
    assert sender_role("flatmate@example.org", co, staff) is Role.CO_TENANT
    assert strip_tags("Re: [TKT-A1B2C3D4] Completed") == "Re: Completed"


def _plan(status: TicketStatus, text: str) -> tuple[str, TicketStatus | None, bool]:
    ticket = make_ticket(status=status)
    intent = detect_intent(text, RULES, expect_rating=status in (S.RESOLVED, S.CLOSED))
    plan = plan_tenant_reply(ticket, intent, RULES, text)
    return plan.kind, plan.status, plan.notify_assignee


def test_the_tenant_reply_table() -> None:
    assert _plan(S.RESOLVED, "still broken") == ("status", S.IN_PROGRESS, True)
    assert _plan(S.RESOLVED, "fixed, thanks") == ("status", S.CLOSED, False)
    assert _plan(S.IN_PROGRESS, "fixed, thanks") == ("comment", None, True)  # never a guess
    assert _plan(S.RESOLVED, "hmm") == ("comment", None, True)
    assert _plan(S.CLOSED, "the tap leaks") == ("new_linked", None, False)
    assert _plan(S.RESOLVED, "1") == ("status", S.IN_PROGRESS, True)
    assert _plan(S.RESOLVED, "5") == ("status", S.CLOSED, False)  # a good rating confirms
    assert _plan(S.CLOSED, "4/5") == ("comment", None, False)


def test_staff_moves_are_checked_against_the_lifecycle() -> None:
    ticket = make_ticket(status=S.NEW)
    refused = plan_staff_reply(ticket, parse_commands("Status: Resolved", KEYS), "p@x.com", KEYS)
    assert (
        refused.kind == "refused"
        and "allowed from New: In Progress, Closed" in (refused.refusals[0])
    )
    ok = plan_staff_reply(ticket, parse_commands("Status: In Progress", KEYS), "p@x.com", KEYS)
    assert (ok.kind, ok.status) == ("commands", S.IN_PROGRESS)


def test_an_override_with_an_unknown_command_key_is_refused_at_start() -> None:
    with pytest.raises(RulesError, match=r"\[staff_commands\] keys\[0\]: unknown command"):
        rules_from_text('[staff_commands]\nkeys = ["delete"]\n')
