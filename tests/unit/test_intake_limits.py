"""Hostile mail without a database: bounded header values, safe names, the forward chain, and the
stages that quarantine, hold or let a staff forward through (plain values, no mocks)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from propdesk.core.message import Address, Forwarded, InboundMessage, NotTicketReason
from propdesk.core.pipeline import FORWARD_TOO_DEEP, requester_of
from propdesk.core.tenants import TenantRecord
from propdesk.ingest import Analysis, IngestLimits, MessageContext
from propdesk.ingest.stages import analyse, flood, no_sender, staff_mail, unreadable
from propdesk.mail.header_limits import bound_message_id, find_message_ids, one_line
from propdesk.mail.parse import parse_message
from propdesk.mail.safe_names import safe_filename
from propdesk.notify.hooks import source_of
from propdesk.store.records import FloodCounts, Lookups

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF = frozenset({"plumber@property.com"})
MARIA = Address("maria@tenant.example", "Maria")


def _parsed(**changes: object) -> InboundMessage:
    msg = InboundMessage(
        message_id="<m@x>",
        sha256="a" * 64,
        size=1,
        sender=Address("tenant@example.org"),
        reply_to=(),
        to=(),
        cc=(),
        subject="Leak",
        date=None,
        in_reply_to=None,
        references=(),
        body_text="The tap leaks.",
        new_text="The tap leaks.",
        quoted_text="",
        signature="",
    )
    return replace(msg, **changes)  # type: ignore[arg-type]


def _nothing(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
    return Analysis((), FORWARD_TOO_DEEP)


def _ctx(**changes: object) -> MessageContext:
    ctx = MessageContext(
        mailbox="main",
        sha256="a" * 64,
        sender="tenant@example.org",
        parsed=_parsed(),
        refs=(),
        received_at=T0,
        now=T0,
        lookups=Lookups(),
        staff=STAFF,
        analyse=_nothing,
        limits=IngestLimits(per_sender_per_hour=30, per_mailbox_per_hour=100),
    )
    return replace(ctx, **changes)  # type: ignore[arg-type]


# -- header values ---------------------------------------------------------------------------------


def test_a_long_message_id_is_hashed_stably_and_a_short_one_kept() -> None:
    long_id = "<" + "x" * 10_000 + "@example.org>"
    assert bound_message_id("<a@b>", 250) == "<a@b>"
    hashed = bound_message_id(long_id, 250)
    assert hashed == bound_message_id(long_id, 250) and len(hashed) < 100
    assert hashed.startswith("<sha256.") and hashed.endswith("@propdesk.invalid>")
    assert bound_message_id(long_id[:-14] + "y@example.org>", 250) != hashed
    assert find_message_ids(f"{long_id} <b@c>", 250) == [hashed, "<b@c>"]


def test_text_headers_become_one_bounded_line() -> None:
    assert one_line("a\r\nb\tc\x1b", 100) == "a b c"
    cut = one_line("word " * 1000, 50)
    assert len(cut) == 50 and cut.endswith("…")


def test_the_parser_bounds_every_header_it_keeps() -> None:
    raw = (
        f"From: {'N' * 10_000} <t@tenant.example>\nSubject: {'s' * 10_000}\n"
        f"Message-ID: <{'m' * 10_000}@x>\nIn-Reply-To: <{'r' * 10_000}@x>\n"
        f"References: {' '.join(f'<{i}@x>' for i in range(100))}\n\nThe tap leaks.\n"
    ).encode()
    msg = parse_message(raw)
    assert len(msg.message_id) < 100 and msg.in_reply_to is not None
    assert len(msg.in_reply_to) < 100
    assert len(msg.subject) <= 1000 and msg.sender is not None and len(msg.sender.name) <= 200
    assert msg.references[-1] == "<99@x>" and len(msg.references) == 30


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("CON", "_CON"),
        ("prn.txt", "_prn.txt"),
        ("COM9.log", "_COM9.log"),
        ("a\\b", "a_b"),
        ("x\x00y\x1fz", "x_y_z"),
        ("report.pdf", "report.pdf"),
        ("...", ""),
        ("con.", "_con"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


# -- the forward chain ----------------------------------------------------------------------------


def _mail(sender: str, body: str, attach: EmailMessage | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["Subject"] = "Fwd: radiator"
    msg.set_content(body)
    if attach is not None:
        msg.add_attachment(attach)
    return msg


def test_attached_originals_are_read_outermost_first_and_bounded() -> None:
    inner = _mail("Maria <maria@tenant.example>", "The radiator is cold.")
    for n in range(4):
        inner = _mail(f"relay{n}@example.net", "", inner)
    top = bytes(_mail("kim@tenant.example", "", inner))
    full = parse_message(top, max_forward_depth=10)
    assert [f.sender.address for f in full.forwarded if f.sender] == [
        "relay3@example.net",
        "relay2@example.net",
        "relay1@example.net",
        "relay0@example.net",
        "maria@tenant.example",
    ]
    assert full.forwarded[-1].new_text == "The radiator is cold."
    assert not full.forward_truncated
    cut = parse_message(top, max_forward_depth=3)
    assert len(cut.forwarded) == 3 and cut.forward_truncated


def test_a_base64_encoded_attached_message_is_still_read() -> None:
    inner = _mail("Maria <maria@tenant.example>", "The radiator is cold.")
    outer = _mail("kim@tenant.example", "")
    outer.add_attachment(bytes(inner), maintype="message", subtype="rfc822", filename="o.eml")
    (forwarded,) = parse_message(bytes(outer)).forwarded
    assert forwarded.sender == Address("maria@tenant.example", "Maria")
    assert forwarded.new_text == "The radiator is cold."


def test_outlook_original_message_is_a_forward_only_without_words_above_it() -> None:
    block = "-----Original Message-----\nFrom: Maria [mailto:maria@tenant.example]\n"
    block += "Sent: Monday\nSubject: radiator\n\nThe radiator is cold.\n"
    bare = parse_message(bytes(_mail(f"Plumber <{next(iter(STAFF))}>", block)))
    assert [f.sender for f in bare.forwarded] == [Address("maria@tenant.example", "Maria")]
    reply = parse_message(bytes(_mail("t@tenant.example", "Still cold!\n\n" + block)))
    assert reply.forwarded == ()


# -- the stages -----------------------------------------------------------------------------------


def test_not_mail_and_senderless_mail_are_quarantined() -> None:
    not_mail = _parsed(not_ticket=NotTicketReason.NOT_RFC822, not_ticket_detail="a PDF")
    verdict = unreadable(_ctx(parsed=not_mail))
    assert verdict is not None and (verdict.outcome, verdict.reason) == (
        "quarantined",
        "not_rfc822",
    )
    assert unreadable(_ctx()) is None
    senderless = no_sender(_ctx(sender=None, parsed=_parsed(sender=None)))
    assert senderless is not None and senderless.reason == "no_sender_address"
    assert no_sender(_ctx()) is None


def test_flood_holds_over_the_limit_tells_once_and_release_lets_through() -> None:
    under = _ctx(lookups=Lookups(flood=FloodCounts(sender_recent=29)))
    assert flood(under) is None
    first = flood(_ctx(lookups=Lookups(flood=FloodCounts(sender_recent=30))))
    assert first is not None and (first.outcome, first.reason, first.notify) == (
        "held_flood",
        "flood_sender",
        True,
    )
    told = FloodCounts(sender_recent=31, sender_notified=True)
    later = flood(_ctx(lookups=Lookups(flood=told)))
    assert later is not None and not later.notify
    assert flood(_ctx(lookups=Lookups(flood=told), release=True)) is None
    staff = _ctx(sender="plumber@property.com", lookups=Lookups(flood=told))
    assert flood(staff) is None  # staff are exempt from the per-sender limit
    busy = flood(_ctx(lookups=Lookups(flood=FloodCounts(mailbox_recent=100))))
    assert busy is not None and busy.reason == "flood_mailbox"


def test_staff_forwarding_a_tenants_mail_is_not_staff_mail() -> None:
    fwd = Forwarded(MARIA, "radiator", "The radiator is cold.")
    staff_fwd = _ctx(sender="plumber@property.com", parsed=_parsed(forwarded=(fwd,)))
    assert staff_mail(staff_fwd) is None
    plain = _ctx(sender="plumber@property.com")
    verdict = staff_mail(plain)
    assert verdict is not None and verdict.outcome == "ignored"


def test_requester_is_the_forwarder_unless_staff() -> None:
    fwd = Forwarded(MARIA, "radiator", "The radiator is cold.")
    tenant = _parsed(sender=Address("sam@tenant.example"), forwarded=(fwd,))
    assert requester_of(tenant, STAFF) == "sam@tenant.example"
    staff = _parsed(sender=Address("plumber@property.com"), forwarded=(fwd,))
    assert requester_of(staff, STAFF) == "maria@tenant.example"


def test_a_forward_too_deep_to_read_is_quarantined() -> None:
    verdict = analyse(_ctx())
    assert verdict is not None and (verdict.outcome, verdict.reason) == (
        "quarantined",
        "forward_too_deep",
    )


def test_a_staff_forward_greets_and_calls_the_forwarded_tenant_the_directory_first() -> None:
    fwd = Forwarded(
        Address("Maria@Tenant.example", "Maria"), "Leak", "The tap leaks.", "Maria\n555 111 2222"
    )
    msg = _parsed(
        sender=Address("plumber@property.com", "Pete Plumber"),
        signature="Pete\n555 999 0000",
        forwarded=(fwd,),
    )
    forwarded = source_of(msg, requester="maria@tenant.example")
    assert (forwarded.sender_name, forwarded.phone) == ("Maria", "555 111 2222")
    entry = TenantRecord("maria@tenant.example", "Maria Lopez", "4C", phone="555 333 4444")
    listed = source_of(msg, entry, requester="maria@tenant.example")
    assert (listed.sender_name, listed.phone) == ("Maria Lopez", "555 333 4444")
    own = source_of(msg, requester="plumber@property.com")
    assert (own.sender_name, own.phone) == ("Pete Plumber", "555 999 0000")
