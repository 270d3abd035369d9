"""Safety advice end to end: real parser and classifier, outbox rows in the ingest transaction,
delivered to the SMTP peer ahead of the acknowledgement and never held back by the cap."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine

from propdesk import app
from propdesk.config import Config, parse_config
from propdesk.mail.imap import FetchedMessage
from tests.integration.notify_support import NOW, config_data
from tests.stack import SmtpPeer

pytestmark = pytest.mark.integration
_uids = itertools.count(1)


def safety_config(peer: SmtpPeer, **settings: object) -> Config:
    """The notify tests' config, sending from tickets@ so the general assignee is mailable."""
    data = config_data(peer, **settings)
    data["smtp"]["from_address"] = "tickets@property.com"
    data["intake"]["own_addresses"] = ["tickets@property.com"]
    return parse_config(data)


def tenant_mail(engine: Engine, peer: SmtpPeer, body: str, **settings: object) -> None:
    uid = next(_uids)
    raw = (
        f"From: Tina Tenant <tina{uid}@example.com>\r\nTo: maintenance@property.com\r\n"
        f"Subject: Urgent\r\nMessage-ID: <safety-{uid}@example.com>\r\n\r\n{body}\r\n"
    ).encode()
    service = app.ingest_service(safety_config(peer, **settings), engine)
    result = service.process("INBOX", 1, FetchedMessage(uid, len(raw), NOW, raw))
    assert result.outcome == "ticketed", result
    d = app.outbox_delivery(safety_config(peer, **settings), engine)
    d.run_once(limit=1000)
    d.close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("I smell gas in my kitchen, like rotten eggs. Unit 4B.", "GAS OR ROTTEN-EGG SMELL"),
        ("Our carbon monoxide alarm is going off, my son is dizzy. Unit 2A", "CARBON MONOXIDE"),
        ("There is smoke coming from the dryer and I see flames! Apt 3C", "SMOKE OR FIRE"),
        ("The outlet in the bedroom is sparking and the panel is hot. Unit 5D", "SPARKS"),
        ("Water is flooding the bathroom floor from a burst pipe, unit 1A", "FLOODING"),
        ("Water is dripping from the light fixture in my kitchen, unit 6F", "WATER NEAR"),
    ],
)
def test_each_hazard_gets_its_advice_before_the_acknowledgement(
    clean_db: Engine, smtp_peer: SmtpPeer, body: str, words: str
) -> None:
    tenant_mail(clean_db, smtp_peer, body)
    to_tenant = [m for m in smtp_peer.received if m.rcpt_tos[0].startswith("tina")]
    subjects = [m.message["Subject"] for m in to_tenant]
    assert subjects[0].startswith("Safety Advice - Act Now: [TKT-"), subjects
    assert subjects[1].startswith("Service Request Received: [TKT-"), subjects
    assert len(to_tenant) == 2
    text = str(to_tenant[0].message.get_body(("plain",)).get_content())
    assert words in text and "911" in text
    assert to_tenant[0].message["In-Reply-To"].startswith("<safety-")
    staff = [m for m in smtp_peer.received if m.message["Subject"].startswith("New Ticket")]
    assert len(staff) == 1
    staff_text = str(staff[0].message.get_body(("plain",)).get_content())
    assert "SAFETY ADVICE SENT to the tenant at once" in staff_text


def test_a_non_hazard_gets_no_advice(clean_db: Engine, smtp_peer: SmtpPeer) -> None:
    tenant_mail(clean_db, smtp_peer, "The kitchen faucet drips slowly. Unit 3B")
    subjects = [m.message["Subject"] for m in smtp_peer.received]
    assert not any(s.startswith("Safety Advice") for s in subjects), subjects
    staff = next(m for m in smtp_peer.received if m.message["Subject"].startswith("New Ticket"))
    assert "SAFETY ADVICE" not in str(staff.message.get_body(("plain",)).get_content())


def test_the_cap_never_holds_the_advice_back(clean_db: Engine, smtp_peer: SmtpPeer) -> None:
    tenant_mail(
        clean_db,
        smtp_peer,
        "I smell gas in the hallway outside unit 4B.",
        tenant_cap_per_hour=0,
    )
    subjects = [
        m.message["Subject"] for m in smtp_peer.received if m.rcpt_tos[0].startswith("tina")
    ]
    assert len(subjects) == 1 and subjects[0].startswith("Safety Advice"), subjects


def test_per_property_numbers_reach_the_tenant(clean_db: Engine, smtp_peer: SmtpPeer) -> None:
    config = safety_config(smtp_peer)
    data = config.model_dump(mode="json", exclude_none=True)
    data["safety"]["property_numbers"] = {"P04B": {"gas_utility": "+1 800 555 0100"}}
    cfg = parse_config(data)
    raw = (
        b"From: Tina <tina-p@example.com>\r\nTo: maintenance@property.com\r\nSubject: gas\r\n"
        b"Message-ID: <safety-prop@example.com>\r\n\r\nI smell gas in my kitchen. Unit 4B.\r\n"
    )
    service = app.ingest_service(cfg, clean_db)
    assert (
        service.process("INBOX", 1, FetchedMessage(900, len(raw), NOW, raw)).outcome == "ticketed"
    )
    d = app.outbox_delivery(cfg, clean_db)
    d.run_once(limit=100)
    d.close()
    advice = next(m for m in smtp_peer.received if "Safety" in m.message["Subject"])
    assert "+1 800 555 0100" in str(advice.message.get_body(("plain",)).get_content())
