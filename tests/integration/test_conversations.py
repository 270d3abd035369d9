"""Conversations by email, end to end: replies in the Dovecot inbox -> the daemon's ingest on
PostgreSQL -> tickets changed under a row lock -> mails at the SMTP peer. Replies are shaped like
real clients' (Re:/AW:/SV:, Gmail and Outlook quoting, HTML-only)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.core.lifecycle import TRANSITIONS
from propdesk.core.models import TicketStatus
from propdesk.core.report_model import ReportWindow
from propdesk.core.tenants import TenantRecord
from propdesk.mail.imap import FetchedMessage
from propdesk.store import tenants
from propdesk.store.tables_conversation import TicketLinkRow, TicketRatingRow
from propdesk.store.tables_outbox import outbox
from tests.integration.conversation_support import AUTHSERV, TENANT, Stack, reply
from tests.stack import Dovecot, ImapUser, SmtpPeer

pytestmark = pytest.mark.integration

STAFF = "plumber@property.com"
DKIM_PASS = f"{AUTHSERV}; dkim=pass header.d=property.com; dmarc=pass header.from=property.com"


@pytest.fixture
def stack(
    clean_db: Engine,
    db_config: object,
    mailbox_config: object,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
) -> Iterator[Stack]:
    yield Stack(clean_db, db_config, mailbox_config, dovecot, imap_user, smtp_peer)  # type: ignore[arg-type]


def staff_of(stack: Stack, tid: str) -> str:
    return str(stack.ticket(tid).assigned_to)


def kinds(stack: Stack, tid: str) -> list[str]:
    return [e.kind for e in stack.events(tid)]


# -- tenants ------------------------------------------------------------------------------------


def test_still_broken_on_a_resolved_ticket_reopens_it_and_mails_the_assignee(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    assert "Ref: " + tid in done.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "rating from 1" in done.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    stack.deliver(reply(done.message, "It's still leaking, any update?\n\nMaria"))
    stack.turn()
    assert stack.ticket(tid).status == "In Progress"
    assert "reopened" in kinds(stack, tid)
    (mail,) = stack.mails_to(staff_of(stack, tid), "Ticket Reopened")
    assert "still leaking" in mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    comment = next(e for e in stack.events(tid) if e.kind == "comment")
    assert comment.data["decision"]["kind"] == "status"
    assert "still_broken" in comment.data["decision"]["reason"]
    assert "wrote:" not in comment.data["text"]  # quoted history stripped


def test_fixed_thanks_in_an_outlook_reply_closes_the_resolved_ticket(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    stack.deliver(
        reply(done.message, "Hallo, it works now, thank you!", style="outlook", prefix="AW:")
    )
    stack.turn()
    row = stack.ticket(tid)
    assert row.status == "Closed"
    closed = next(e for e in stack.events(tid) if e.kind == "closed")
    assert closed.data["notes"] == "tenant confirmed"


def test_ratings_are_kept_latest_wins_and_a_low_one_reopens_and_escalates(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    stack.deliver(reply(done.message, "5/5 great job", style="html", prefix="SV:"))
    stack.turn()
    assert stack.ticket(tid).status == "Closed"  # a good rating confirms the work
    stack.clock.advance(minutes=1)
    stack.deliver(
        reply(done.message, "Actually 2 out of 5, it drips again at night.", prefix="Re: Re:")
    )
    stack.turn()
    with stack.engine.connect() as conn:
        ratings = conn.execute(select(TicketRatingRow.ticket_id, TicketRatingRow.rating)).all()
    assert ratings == [(tid, 2)]
    assert report_of(stack)["tenant_satisfaction"] == 2.0  # the latest rating, not the mean
    assert stack.ticket(tid).status == "Closed"  # Closed is terminal: the supervisor acts
    sup = app.supervisor(stack.config, app.rules(stack.config))
    assert sup and stack.mails_to(sup, "Low Satisfaction Rating")


def test_a_low_rating_of_a_resolved_ticket_reopens_it(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    stack.deliver(reply(done.message, "1", prefix="Re:"))
    stack.turn()
    assert stack.ticket(tid).status == "In Progress"
    assert "reopened" in kinds(stack, tid)
    assert stack.mails_to(staff_of(stack, tid), "Ticket Reopened")
    sup = app.supervisor(stack.config, app.rules(stack.config))
    assert sup and stack.mails_to(sup, "Low Satisfaction Rating")
    figures = report_of(stack)
    assert figures["tenant_satisfaction"] == 1.0 and figures["satisfaction_count"] == 1
    assert figures["reopen_rate"] == 1.0 and figures["reopened_tickets"] == 1


def report_of(stack: Stack) -> dict[str, Any]:
    """``propdesk report``'s performance figures for the day around the stack's clock."""
    now = stack.clock.now
    window = ReportWindow(now - timedelta(days=1), now + timedelta(days=1), "UTC", now)
    figures = app.report(stack.config, stack.engine, window)
    return next(v for v in _dicts(figures) if "tenant_satisfaction" in v)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)


def test_replies_on_an_open_ticket_reach_the_assignee_as_one_digest(stack: Stack) -> None:
    stack.conversations = {"reply_digest_minutes": 5}
    tid, ack = stack.open_ticket()
    stack.deliver(reply(ack.message, "The water is now dripping into the cabinet below."))
    stack.deliver(
        reply(ack.message, "I put a bucket under it. Can someone come today?", style="outlook")
    )
    stack.turn()
    assert not stack.mails_to(staff_of(stack, tid), "Tenant Replied")  # waits for more
    stack.clock.advance(minutes=6)
    stack.turn()
    (digest,) = stack.mails_to(staff_of(stack, tid), "Tenant Replied")
    text = digest.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "dripping into the cabinet" in text and "bucket" in text
    assert stack.ticket(tid).status == "New"


def test_a_new_problem_in_the_thread_becomes_a_linked_ticket(stack: Stack) -> None:
    tid, ack = stack.open_ticket()
    stack.deliver(
        reply(
            ack.message,
            "Thanks. Another problem: the bedroom heater does not turn "
            "on at all and the room is cold.",
        )
    )
    stack.turn()
    rows = stack.tickets()
    assert len(rows) == 2
    new = rows[1]
    assert "heater" in new.description.lower()
    with stack.engine.connect() as conn:
        links = conn.execute(select(TicketLinkRow.ticket_pk, TicketLinkRow.related_ticket_pk)).all()
    assert links == [(new.id, rows[0].id)]
    assert "linked" in kinds(stack, tid)


def test_a_reply_to_a_closed_ticket_becomes_a_new_linked_ticket(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    stack.set_status(tid, TicketStatus.CLOSED)
    stack.deliver(
        reply(
            done.message,
            "The sink under the cabinet is leaking again, water everywhere on the kitchen floor.",
        )
    )
    stack.turn()
    rows = stack.tickets()
    assert len(rows) == 2 and rows[0].status == "Closed"
    with stack.engine.connect() as conn:
        assert conn.execute(select(TicketLinkRow.related_ticket_pk)).scalars().all() == [rows[0].id]


def test_an_unsure_reply_is_a_comment_and_a_mail_never_a_close(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    stack.deliver(reply(done.message, "Ok. Is the cabinet door going to be replaced too?"))
    stack.turn()
    assert stack.ticket(tid).status == "Resolved"
    assert stack.mails_to(staff_of(stack, tid), "Tenant Replied")


def test_the_body_marker_threads_when_the_provider_rewrote_message_ids(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    stack.deliver(reply(done.message, "Still broken.", threaded=False, subject="Re: your mail"))
    stack.turn()
    assert stack.ticket(tid).status == "In Progress"
    assert len(stack.tickets()) == 1


def test_resolved_tickets_nobody_answers_close_after_n_days(stack: Stack) -> None:
    stack.conversations = {"auto_close_days": 3}
    tid, done = stack.resolved_ticket()
    stack.clock.advance(days=2)
    stack.deliver(reply(done.message, "Ok, noted."))  # unsure: the quiet period starts again
    stack.turn()
    stack.clock.advance(days=2)
    stack.turn()
    assert stack.ticket(tid).status == "Resolved"
    stack.clock.advance(days=2)
    stack.turn()
    assert stack.ticket(tid).status == "Closed"
    closed = next(e for e in stack.events(tid) if e.kind == "closed")
    assert "no reply for 3 days" in closed.data["notes"]


def test_a_co_tenant_from_the_directory_may_reopen_the_ticket(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    row = stack.ticket(tid)
    unit = str(row.unit_number).removeprefix("Unit ").strip()
    flatmate = TenantRecord("luis@example.org", "Luis Lopez", unit, property=row.property_id)
    with stack.engine.begin() as conn:
        tenants.upsert(conn, [flatmate], stack.clock.now)
    stack.deliver(
        reply(done.message, "Still dripping, not fixed.", sender="Luis <luis@example.org>")
    )
    stack.turn()
    assert stack.ticket(tid).status == "In Progress"
    assert len(stack.tickets()) == 1
    reopened = next(e for e in stack.events(tid) if e.kind == "reopened")
    assert reopened.actor == "luis@example.org"


# -- refusals -----------------------------------------------------------------------------------


def test_a_stranger_quoting_a_valid_tag_gets_a_ticket_of_their_own_and_learns_nothing(
    stack: Stack,
) -> None:
    tid, ack = stack.open_ticket()
    eve = "eve@example.net"
    stack.deliver(
        reply(
            ack.message,
            "My bathroom ceiling light in Unit 9A flickers and buzzes.",
            sender=f"Eve <{eve}>",
        )
    )
    stack.turn()
    rows = stack.tickets()
    assert len(rows) == 2 and rows[1].requested_for == eve
    assert not [e for e in stack.events(tid) if e.kind == "comment"]
    to_eve = stack.mails_to(eve)
    assert to_eve
    for m in to_eve:
        assert tid.encode() not in m.raw
        assert b"Unit 4C" not in m.raw and b"kitchen sink" not in m.raw.lower()


def test_a_staff_command_with_dkim_pass_changes_the_status_and_tells_the_tenant(
    stack: Stack,
) -> None:
    tid, _ = stack.open_ticket()
    assignment = stack.mails_to(staff_of(stack, tid), "New Ticket Assigned")[0]
    staff = staff_of(stack, tid)
    stack.deliver(
        reply(
            assignment.message,
            "Status: In Progress\nNote: tech on the way\n\nBe there by 3.",
            sender=staff,
            headers={
                "Authentication-Results": DKIM_PASS.replace(
                    "property.com", staff.rpartition("@")[2]
                )
            },
        )
    )
    stack.turn()
    assert stack.ticket(tid).status == "In Progress"
    comment = next(e for e in stack.events(tid) if e.kind == "comment")
    assert comment.data["text"] == "Be there by 3."
    assert "note" in kinds(stack, tid)
    (update,) = stack.mails_to(TENANT, "Service Request Update")
    assert str(update.message["In-Reply-To"]).startswith("<first-")  # threads to the tenant's mail
    assert "Hello Maria Lopez" in update.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    stack.deliver(
        reply(
            assignment.message,
            "Status: Pending — waiting for part",
            sender=staff,
            style="html",  # an HTML-only client (Outlook's "RE:")
            prefix="RE:",
            headers={
                "Authentication-Results": DKIM_PASS.replace(
                    "property.com", staff.rpartition("@")[2]
                )
            },
        )
    )
    stack.turn()
    row = stack.ticket(tid)
    assert (row.status, row.status_notes) == ("Pending", "waiting for part")


@pytest.mark.parametrize(
    "auth",
    [
        f"{AUTHSERV}; dkim=fail header.d=property.com; dmarc=fail header.from=property.com",
        "mx.evil.example; dkim=pass header.d=property.com; dmarc=pass header.from=property.com",
        None,
    ],
    ids=["dkim-fail", "foreign-authserv-id", "no-header"],
)
def test_a_forged_staff_from_changes_nothing_and_is_told_nothing(
    stack: Stack, auth: str | None
) -> None:
    tid, _ = stack.open_ticket()
    staff = staff_of(stack, tid)
    domain = staff.rpartition("@")[2]
    before = len(stack.mails())
    subject = f"Re: [{tid}] anything"
    headers = (
        {} if auth is None else {"Authentication-Results": auth.replace("property.com", domain)}
    )
    raw = reply(
        stack.mails()[0].message,
        "Status: In Progress",
        sender=staff,
        headers=headers,
        subject=subject,
    )
    stack.deliver(raw)
    stack.turn()
    assert stack.ticket(tid).status == "New"
    assert len(stack.mails()) == before  # nobody mailed: the From may be forged
    ((outcome, reason),) = stack.outcomes()[-1:]
    assert outcome == "ignored" and "unauthenticated" in str(reason)
    assert "command_refused" in kinds(stack, tid)


def test_an_unknown_command_key_is_refused_with_the_allowed_list(stack: Stack) -> None:
    tid, _ = stack.open_ticket()
    staff = staff_of(stack, tid)
    assignment = stack.mails_to(staff, "New Ticket Assigned")[0]
    auth = DKIM_PASS.replace("property.com", staff.rpartition("@")[2])
    stack.deliver(
        reply(
            assignment.message,
            "Status: Resolved\nColour: blue",
            sender=staff,
            headers={"Authentication-Results": auth},
        )
    )
    stack.turn()
    assert stack.ticket(tid).status == "New"
    (answer,) = stack.mails_to(staff, "Command Refused")
    text = answer.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Colour: unknown command" in text
    assert "cannot move" in text and "from New to Resolved" in text
    assert "Assign: someone@example.com" in text and "Urgency: 1 | 2 | 3" in text


def test_the_same_reply_delivered_twice_has_one_effect(stack: Stack) -> None:
    tid, done = stack.resolved_ticket()
    raw = reply(done.message, "Still leaking.", message_id="<same-reply@example.org>")
    stack.deliver(raw)
    stack.deliver(raw.replace(b"Still leaking.", b"Still leaking. "))  # another copy, same id
    stack.turn()
    assert kinds(stack, tid).count("reopened") == 1
    assert kinds(stack, tid).count("comment") == 1
    assert [o for o, _ in stack.outcomes()].count("duplicate") == 1


def test_a_staff_command_racing_a_tenant_reply_both_recorded_lifecycle_intact(
    stack: Stack,
) -> None:
    tid, done = stack.resolved_ticket()
    staff = staff_of(stack, tid)
    auth = DKIM_PASS.replace("property.com", staff.rpartition("@")[2])
    service = app.ingest_service(stack.config, stack.engine, clock=stack.clock.clock)
    mails = [
        reply(
            done.message,
            "Status: Closed",
            sender=staff,
            subject=f"Re: [{tid}]",
            headers={"Authentication-Results": auth},
        ),
        reply(done.message, "Still dripping, not fixed."),
    ]
    results: list[object] = []
    gate = threading.Barrier(2)

    def run(uid: int, raw: bytes) -> None:
        gate.wait()
        results.append(
            service.process("race", 1, FetchedMessage(uid, len(raw), stack.clock.now, raw))
        )

    threads = [threading.Thread(target=run, args=(i + 1, m)) for i, m in enumerate(mails)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2
    assert all(r.outcome in ("comment", "ticketed") for r in results), results
    moves = [(e.data["from"], e.data["to"]) for e in stack.events(tid) if e.kind == "status_change"]
    for old, new in moves:
        assert TicketStatus(new) in TRANSITIONS[TicketStatus(old)], moves
    assert [m[1] for m in moves][-1] in ("Closed", "In Progress")
    with stack.engine.connect() as conn:
        assert conn.execute(select(outbox.c.id)).all()
