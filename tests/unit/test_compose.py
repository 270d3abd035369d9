"""Composing notification emails: headers, parts, threading, sanitising, templates."""

from __future__ import annotations

import email
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from propdesk.config import parse_config
from propdesk.core.models import TicketStatus
from propdesk.core.notifications import Source, describe_span, plan_created, plan_status_change
from propdesk.core.rules import load_rules
from propdesk.errors import ConfigError
from propdesk.mail.compose import (
    Composer,
    Outgoing,
    Templates,
    clean_header_text,
    make_message_id,
    parse_message_id,
    sample_context,
    valid_address,
)
from propdesk.notify.safety import RecipientPolicy
from propdesk.store.outbox import backoff
from tests.unit.notify_factory import NOW, ticket

SLA = load_rules().policy.sla
CONFIG = parse_config(
    {
        "smtp": {
            "from_address": "maintenance@property.com",
            "message_id_domain": "mail.property.com",
        }
    }
)
TEMPLATES = Templates()


def outgoing(planned_index: int = 0, n_tickets: int = 1, **changes: object) -> Outgoing:
    tickets = [ticket(i + 1, **changes) for i in range(n_tickets)]  # type: ignore[arg-type]
    planned = plan_created(tickets, Source("<abc123@mail.example.com>", ("<x@y>",), "John"), SLA)
    p = planned[planned_index]
    return Outgoing(
        kind=p.kind,
        recipient=p.recipient,
        ticket_ids=p.ticket_ids,
        message_id=make_message_id(p.ticket_ids[0], 7, "mail.property.com"),
        context=p.context,
        in_reply_to=p.in_reply_to,
        references=p.references,
    )


def roundtrip(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_assignee_mail_has_every_header_and_both_parts() -> None:
    msg = roundtrip(Composer(CONFIG, TEMPLATES).compose(outgoing(0), NOW))
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "plumber@property.com"
    assert msg["Subject"].startswith("New Ticket Assigned: [TKT-00000001]")
    assert msg["Message-ID"] == "<propdesk.TKT-00000001.7@mail.property.com>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Propdesk-Loop"] == "maintenance@property.com"
    assert msg["Reply-To"] == "maintenance@property.com"
    assert msg["In-Reply-To"] is None
    text, html = bodies(msg)
    assert "Unit 3B" in text and "Medium" in text
    assert "<b>Please</b> help & hurry" in text  # the text part is not HTML-escaped
    assert "&lt;b&gt;Please&lt;/b&gt; help &amp; hurry" in html  # the HTML part is


def test_acknowledgement_threads_to_the_tenant_message_and_states_sla() -> None:
    msg = roundtrip(Composer(CONFIG, TEMPLATES).compose(outgoing(1), NOW))
    assert msg["To"] == "john.tenant@example.com"
    assert msg["Subject"].startswith("Service Request Received: [TKT-00000001]")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<abc123@mail.example.com>"
    assert msg["References"] == "<x@y> <abc123@mail.example.com>"
    assert msg["Precedence"] == "bulk"
    text, _ = bodies(msg)
    assert "within 2 hours" in text and "within 24 hours" in text
    assert "What happens next" in text


def test_one_acknowledgement_lists_every_ticket_of_one_email() -> None:
    tickets = [ticket(1), ticket(2, assigned_to="hvac@property.com")]
    planned = plan_created(tickets, Source("<m@x>"), SLA)
    kinds = sorted((p.kind, p.recipient) for p in planned)
    assert kinds == [
        ("ticket_assigned", "hvac@property.com"),
        ("ticket_assigned", "plumber@property.com"),
        ("ticket_created_tenant", "john.tenant@example.com"),
    ]
    ack = outgoing(2, n_tickets=2)
    msg = roundtrip(Composer(CONFIG, TEMPLATES).compose(ack, NOW))
    assert msg["Subject"] == "Service Request Received: [TKT-00000001] [TKT-00000002]"
    text, _ = bodies(msg)
    assert "TKT-00000001" in text and "TKT-00000002" in text


def test_injected_subject_cannot_add_a_header() -> None:
    evil = "Leak\r\nBcc: victim@evil.example\r\n\x00X-Evil: 1"
    item = outgoing(1, short_description=evil)
    msg = roundtrip(Composer(CONFIG, TEMPLATES).compose(item, NOW))
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "\n" not in msg["Subject"] and "\x00" not in msg["Subject"]
    assert "Leak Bcc: victim@evil.example X-Evil: 1" in msg["Subject"]


def test_bad_foreign_message_id_is_not_echoed() -> None:
    item = outgoing(1)
    bad = Outgoing(**{**item.__dict__, "in_reply_to": "<a@b>\r\nBcc: x@y", "references": ()})
    msg = roundtrip(Composer(CONFIG, TEMPLATES).compose(bad, NOW))
    assert msg["In-Reply-To"] is None and msg["Bcc"] is None


def test_recipient_with_a_second_address_is_refused() -> None:
    item = outgoing(1)
    bad = Outgoing(**{**item.__dict__, "recipient": "a@b.example, c@d.example"})
    with pytest.raises(ValueError, match="refusing"):
        Composer(CONFIG, TEMPLATES).compose(bad, NOW)


def test_message_id_shape_round_trips() -> None:
    mid = make_message_id("TKT-0A1B2C3D", 42, "property.com")
    assert mid == "<propdesk.TKT-0A1B2C3D.42@property.com>"
    assert parse_message_id(mid) == ("TKT-0A1B2C3D", "42")
    assert parse_message_id("<other@x>") is None
    with pytest.raises(ValueError):
        make_message_id("TKT-bad", 1, "x")


def test_status_change_plans() -> None:
    resolved = plan_status_change(
        ticket(1, status=TicketStatus.RESOLVED), SLA, note="Fixed the flapper"
    )
    assert [(p.kind, p.recipient) for p in resolved] == [
        ("ticket_resolved_tenant", "john.tenant@example.com")
    ]
    msg = roundtrip(
        Composer(CONFIG, TEMPLATES).compose(
            Outgoing(
                kind=resolved[0].kind,
                recipient=resolved[0].recipient,
                ticket_ids=resolved[0].ticket_ids,
                message_id=make_message_id("TKT-00000001", 9, "x.example"),
                context=resolved[0].context,
            ),
            NOW,
        )
    )
    assert msg["Subject"].startswith("Service Request Completed: [TKT-00000001]")
    assert "Fixed the flapper" in bodies(msg)[0]
    assert (
        plan_status_change(ticket(1, status=TicketStatus.PENDING), SLA, tenant_status_updates=False)
        == []
    )
    assert len(plan_status_change(ticket(1, status=TicketStatus.IN_PROGRESS), SLA)) == 1
    assert plan_status_change(ticket(1, status=TicketStatus.CLOSED), SLA) == []


def test_templates_override_and_broken_override(tmp_path: Path) -> None:
    (tmp_path / "ticket_resolved_tenant.txt").write_text("Done: {{ tickets[0].ticket_id }}\n")
    templates = Templates(tmp_path)
    text, html = templates.render("ticket_resolved_tenant", sample_context())
    assert text == "Done: TKT-00000000\n"
    assert "has been completed" in html  # the packaged HTML part is still used
    (tmp_path / "ticket_assigned.html").write_text("{% if %}broken")
    with pytest.raises(ConfigError, match=r"ticket_assigned\.html"):
        Templates(tmp_path)
    (tmp_path / "ticket_assigned.html").write_text("{{ no_such_variable }}")
    with pytest.raises(ConfigError, match="no_such_variable"):
        Templates(tmp_path)
    with pytest.raises(ConfigError, match="not a directory"):
        Templates(tmp_path / "missing")


def test_helpers() -> None:
    assert clean_header_text("a\r\nb\x00c\t d") == "a b c d"
    assert valid_address("x.y+z@example.com")
    assert not valid_address("x@y.com>")
    assert not valid_address("a@b, c@d")
    assert not valid_address("<a@b.com>")
    assert describe_span(timedelta(minutes=30)) == "within 30 minutes"
    assert describe_span(timedelta(minutes=240)) == "within 4 hours"
    assert describe_span(timedelta(minutes=4320)) == "within 3 days"


@pytest.mark.parametrize(
    "address",
    [
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.com",
        "abuse@example.com",
        "noreply@example.com",
        "no-reply@example.com",
        "do-not-reply@example.com",
        "maintenance@property.com",
        "bounces+123@lists.example",
    ],
)
def test_robots_and_own_addresses_are_refused(address: str) -> None:
    policy = RecipientPolicy(["maintenance@property.com"])
    assert policy.refusal(address) is not None
    assert policy.refusal("john.tenant@example.com") is None


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 60, 3600).total_seconds() for n in (1, 2, 3, 6, 7, 30)] == [
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]
