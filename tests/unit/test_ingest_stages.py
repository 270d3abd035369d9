"""The ingest chain without a database: the interpreter, and each built-in stage alone.

Stages are pure functions of one message context, so each is tested with plain values: the
lookups the store would make are written out here.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import structlog
from structlog.testing import capture_logs

from propdesk.core.conversation import ThreadTicket
from propdesk.core.message import Address, InboundMessage, NotTicketReason
from propdesk.core.pipeline import not_ticket_reason
from propdesk.ingest import (
    CONTINUE,
    STAGES,
    Analysis,
    Decision,
    MessageContext,
    Stage,
    UndecidedError,
    Verdict,
    decide,
)
from propdesk.ingest.conversation import thread_reply
from propdesk.ingest.stages import (
    analyse,
    not_a_ticket,
    recognise_duplicate,
    staff_mail,
)
from propdesk.store.records import EarlierMessage, Lookups
from tests.unit.helpers_core import make_ticket

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHA = "a" * 64


def _parsed(**changes: object) -> InboundMessage:
    msg = InboundMessage(
        message_id="<m@x>",
        sha256=SHA,
        size=1,
        sender=Address("tenant@example.org", "Tenant"),
        reply_to=(),
        to=(),
        cc=(),
        subject="Leaking tap",
        date=None,
        in_reply_to=None,
        references=(),
        body_text="The tap leaks.",
        new_text="The tap leaks.",
        quoted_text="",
        signature="",
    )
    return replace(msg, **changes)  # type: ignore[arg-type]


def _no_analysis(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
    raise AssertionError("analyse must not run for this message")


def _ctx(**changes: object) -> MessageContext:
    ctx = MessageContext(
        mailbox="main",
        sha256=SHA,
        sender="tenant@example.org",
        parsed=_parsed(),
        refs=(),
        received_at=T0,
        now=T0,
        lookups=Lookups(),
        staff=frozenset({"plumber@property.com"}),
        analyse=_no_analysis,
    )
    return replace(ctx, **changes)  # type: ignore[arg-type]


# -- the interpreter ------------------------------------------------------------------------------


def _stage(name: str, verdict: Verdict, ran: list[str]) -> Stage:
    def check(ctx: MessageContext) -> Verdict:
        ran.append(name)
        return verdict

    return Stage(name, f"test stage {name}", check)


def test_first_deciding_stage_wins_and_later_stages_do_not_run() -> None:
    ran: list[str] = []
    stages = [
        _stage("a", CONTINUE, ran),
        _stage("b", Decision("ignored", "b said so"), ran),
        _stage("c", Decision("ticketed"), ran),
    ]
    decision = decide(stages, _ctx())
    assert ran == ["a", "b"]
    assert (decision.outcome, decision.reason, decision.stage) == ("ignored", "b said so", "b")


def test_each_stage_name_is_logged_at_debug_as_it_runs() -> None:
    ran: list[str] = []
    stages = [_stage("a", CONTINUE, ran), _stage("b", Decision("duplicate"), ran)]
    saved = structlog.get_config()
    # Whatever level an earlier test configured: debug events must reach the capture here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as events:
            decide(stages, _ctx())
    finally:
        structlog.configure(**saved)
    logged = [(e["event"], e["log_level"], e["stage"]) for e in events]
    assert logged == [("ingest.stage", "debug", "a"), ("ingest.stage", "debug", "b")]


def test_a_chain_where_nobody_decides_is_an_error_naming_the_stages() -> None:
    ran: list[str] = []
    with pytest.raises(UndecidedError, match=r"\(a, b\)"):
        decide([_stage("a", CONTINUE, ran), _stage("b", CONTINUE, ran)], _ctx())


def test_builtin_chain_order_and_every_stage_is_described() -> None:
    assert [s.name for s in STAGES] == [
        "duplicate",
        "unreadable",
        "not_a_ticket",
        "no_sender",
        "flood",
        "thread",
        "staff_mail",
        "analyse",
    ]
    assert all(s.description and "\n" not in s.description for s in STAGES)
    assert len({s.name for s in STAGES}) == len(STAGES)


def test_a_new_stage_is_one_entry_in_the_list() -> None:
    def incident(ctx: MessageContext) -> Verdict:
        return Decision("ignored", "incident: joined") if "outage" in ctx.parsed.subject else None

    stages = (*STAGES[:4], Stage("incident", "joins an open incident", incident), STAGES[4])
    ctx = _ctx(parsed=_parsed(subject="Power outage in block B"))
    assert decide(stages, ctx).stage == "incident"


# -- each built-in stage alone --------------------------------------------------------------------


def test_duplicate_same_bytes_in_this_mailbox() -> None:
    ctx = _ctx(lookups=Lookups(EarlierMessage(7, "main", SHA)))
    verdict = recognise_duplicate(ctx)
    assert verdict == Decision(
        "duplicate", "same bytes (UIDVALIDITY change or re-delivery) as message #7", duplicate_of=7
    )


def test_duplicate_same_message_id_from_another_mailbox() -> None:
    ctx = _ctx(lookups=Lookups(EarlierMessage(9, "second", "b" * 64)))
    verdict = recognise_duplicate(ctx)
    assert verdict is not None
    assert verdict.reason == "same Message-ID and sender, mailbox second as message #9"
    assert verdict.duplicate_of == 9


def test_no_earlier_copy_continues() -> None:
    assert recognise_duplicate(_ctx()) is CONTINUE


def test_not_a_ticket_records_the_reason_with_what_decided_it() -> None:
    parsed = _parsed(not_ticket=NotTicketReason.AUTO_REPLY, not_ticket_detail="header x")
    assert not_a_ticket(_ctx(parsed=parsed)) == Decision("ignored", "auto_reply: header x")
    bare = _parsed(not_ticket=NotTicketReason.BOUNCE)
    assert not_a_ticket(_ctx(parsed=bare)) == Decision("ignored", "bounce")
    assert not_a_ticket(_ctx()) is CONTINUE


def test_not_ticket_reason_is_the_one_owner_and_the_cli_keeps_the_short_form() -> None:
    parsed = _parsed(not_ticket=NotTicketReason.LOOP, not_ticket_detail="header x-loop")
    assert not_ticket_reason(parsed) == "loop: header x-loop"
    assert not_ticket_reason(parsed, detail=False) == "loop"
    assert not_ticket_reason(_parsed()) is None


def _thread(pk: int, requester: str = "tenant@example.com") -> ThreadTicket:
    return ThreadTicket(pk, make_ticket(ticket_id=f"TKT-0000000{pk}", requested_for=requester))


def test_thread_comments_on_the_ticket_the_store_locked_for_its_requester() -> None:
    ctx = _ctx(sender="tenant@example.com", lookups=Lookups(thread=_thread(2)))
    assert thread_reply(ctx) == Decision("comment", "reply to TKT-00000002", ticket_pk=2)


def test_thread_continues_when_no_referenced_ticket_exists() -> None:
    assert thread_reply(_ctx(refs=("TKT-00000001",))) is CONTINUE
    assert thread_reply(_ctx()) is CONTINUE


def test_a_stranger_naming_a_ticket_gets_no_comment_on_it() -> None:
    ctx = _ctx(
        sender="eve@example.net",
        lookups=Lookups(thread=_thread(2)),
        analyse=lambda msg, received_at, now: Analysis(),
    )
    decision = thread_reply(ctx)
    assert decision is not None and decision.outcome == "ignored" and decision.ticket_pk is None


def test_staff_mail_matches_the_sender_case_insensitively() -> None:
    verdict = staff_mail(_ctx(sender="Plumber@Property.com"))
    assert verdict == Decision("ignored", "staff_address: sender is a rule address")
    assert staff_mail(_ctx()) is CONTINUE
    assert staff_mail(_ctx(sender=None)) is CONTINUE


def test_analyse_makes_tickets_with_the_message_times() -> None:
    seen: list[tuple[datetime, datetime]] = []
    ticket = make_ticket()

    def one_ticket(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        seen.append((received_at, now))
        return Analysis((ticket,))

    later = T0.replace(hour=11)
    verdict = analyse(_ctx(analyse=one_ticket, now=later))
    assert verdict == Decision("ticketed", tickets=(ticket,))
    assert seen == [(T0, later)]


def test_analyse_without_tickets_is_ignored_with_the_reason() -> None:
    def none(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        return Analysis((), "question_only")

    def empty(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        return Analysis(())

    assert analyse(_ctx(analyse=none)) == Decision("ignored", "question_only")
    assert analyse(_ctx(analyse=empty)) == Decision("ignored", "no_action_items")


def test_builtin_chain_a_bounce_replying_to_a_ticket_is_not_a_comment() -> None:
    """Order matters: not-a-ticket comes before threading (no comment loops with robots)."""
    parsed = _parsed(not_ticket=NotTicketReason.BOUNCE)
    ctx = _ctx(parsed=parsed, refs=("TKT-00000001",), lookups=Lookups(tickets={"TKT-00000001": 1}))
    decision = decide(STAGES, ctx)
    assert (decision.outcome, decision.stage) == ("ignored", "not_a_ticket")


def test_builtin_chain_staff_reply_to_a_ticket_is_a_comment() -> None:
    ctx = _ctx(
        sender="plumber@property.com",
        refs=("TKT-00000001",),
        lookups=Lookups(tickets={"TKT-00000001": 1}, thread=_thread(1)),
    )
    decision = decide(STAGES, ctx)
    assert (decision.outcome, decision.stage, decision.ticket_pk) == ("comment", "thread", 1)
