"""What notifications tell people, decided in the core: urgency in words, photos within the
cap, the cap rule, and status mails that thread to the tenant's email."""

from __future__ import annotations

from datetime import UTC, datetime

from propdesk.core.mail_facts import Photo, is_photo, local_time, plan_photos, urgency_reason
from propdesk.core.models import TicketStatus
from propdesk.core.notifications import capped, plan_status_change
from propdesk.core.rules import load_rules
from tests.unit.helpers_core import make_ticket

SLA = load_rules().policy.sla


def test_urgency_reason_says_which_rule_decided_in_words() -> None:
    fired = make_ticket(metadata_matched_rules=("open:x", "urgency:water from above=1"))
    assert urgency_reason(fired) == "emergency: water from above"
    base = make_ticket(metadata_matched_rules=("urgency:base=2",))
    assert urgency_reason(base) == "the usual urgency for this kind of matter"
    request = make_ticket(metadata_matched_rules=("urgency:request without a problem=3",))
    assert urgency_reason(request) == "a request; nothing is broken"


def test_deadlines_are_shown_in_the_business_time_zone() -> None:
    at = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
    assert local_time(at, "America/New_York") == "2026-12-04 12:30 EST"
    assert local_time(None, "UTC") == ""


def test_photos_are_attached_while_they_fit_the_rest_get_a_command() -> None:
    photos = (
        Photo("a.jpg", "image/jpeg", 600, "a" * 64),
        Photo("my photo.jpg", "image/jpeg", 600, "b" * 64),
        Photo("c.png", "image/png", 300, "c" * 64),
        Photo("huge.jpg", "image/jpeg", 50_000_000, "d" * 64, kept=False),
    )
    attached, commands = plan_photos(photos, "TKT-00000001", 1000)
    assert [p["filename"] for p in attached] == ["a.jpg", "c.png"]
    assert commands == [
        "propdesk tickets attachment TKT-00000001 'my photo.jpg' -o 'my photo.jpg'",
        "huge.jpg: not kept (over the intake size limit)",
    ]


def test_the_cap_is_for_acknowledgements_only() -> None:
    assert capped("ticket_created_tenant")
    for kind in ("ticket_status_tenant", "ticket_resolved_tenant", "ticket_reopened_tenant"):
        assert not capped(kind)


def test_status_mails_thread_to_the_tenants_message_and_greet_by_name() -> None:
    ticket = make_ticket(status=TicketStatus.RESOLVED)
    (mail,) = plan_status_change(ticket, SLA, tenant_name="Ana Ruiz")
    assert mail.in_reply_to == "<email_123@example.com>"
    assert mail.references == ("<email_123@example.com>",)
    assert mail.context["tenant_name"] == "Ana Ruiz"
    synthetic = make_ticket(status=TicketStatus.RESOLVED, message_id="<ab12@propdesk.invalid>")
    (mail,) = plan_status_change(synthetic, SLA)
    assert mail.in_reply_to is None and mail.references == ()


def test_inline_images_are_photos_only_when_too_big_for_a_logo() -> None:
    assert is_photo("image/jpeg", 900)
    assert not is_photo("image/png", 4_000, inline=True)  # a signature logo
    assert is_photo("image/jpeg", 2_000_000, inline=True)  # a phone's photo sent inline
    assert not is_photo("application/pdf", 2_000_000)
