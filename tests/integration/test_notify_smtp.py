"""The SMTP adapter against a real aiosmtpd peer: outcomes classified, connection reused."""

from __future__ import annotations

import tempfile
from email.message import EmailMessage
from pathlib import Path

from propdesk import app
from propdesk.config import parse_config
from propdesk.mail.smtp import Outcome, SmtpSender
from tests.integration.notify_support import config_data, notify_config
from tests.stack import SmtpPeer


def message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "maintenance@property.com"
    msg["To"] = "t@example.com"
    msg["Subject"] = f"test {n}"
    msg["Message-ID"] = f"<propdesk.TKT-0000000{n}.{n}@mail.property.com>"
    msg.set_content("hello")
    return msg


def sender(peer: SmtpPeer) -> SmtpSender:
    config = notify_config(peer)
    return SmtpSender(config.smtp, timeout=config.timeouts.smtp_seconds)


def test_sent_retry_dead_and_drop_are_classified(smtp_peer: SmtpPeer) -> None:
    s = sender(smtp_peer)
    try:
        assert s.send(message(1), "maintenance@property.com", "t@example.com").outcome is (
            Outcome.SENT
        )
        smtp_peer.fail_next(1, "451 4.3.0 try later")
        smtp_peer.fail_next(1, "550 5.1.1 no such user")
        smtp_peer.drop_next(1)
        r451 = s.send(message(2), "maintenance@property.com", "t@example.com")
        assert (r451.outcome, r451.code) == (Outcome.RETRY, 451)
        r550 = s.send(message(3), "maintenance@property.com", "t@example.com")
        assert r550.outcome is Outcome.DEAD
        assert r550.answer == "550 5.1.1 no such user"
        dropped = s.send(message(4), "maintenance@property.com", "t@example.com")
        assert dropped.outcome is Outcome.RETRY and not dropped.connection_failed
        again = s.send(message(5), "maintenance@property.com", "t@example.com")
        assert again.outcome is Outcome.SENT
    finally:
        s.close()
    assert [r.message["Subject"] for r in smtp_peer.received] == ["test 1", "test 5"]
    assert smtp_peer.received[0].rcpt_tos == ("t@example.com",)


def test_peer_down_is_a_connection_failure_then_recovers(smtp_peer: SmtpPeer) -> None:
    s = sender(smtp_peer)
    try:
        smtp_peer.stop()
        down = s.send(message(1), "maintenance@property.com", "t@example.com")
        assert down.outcome is Outcome.RETRY and down.connection_failed
        smtp_peer.start()
        assert s.send(message(2), "maintenance@property.com", "t@example.com").outcome is (
            Outcome.SENT
        )
    finally:
        s.close()


def test_probe_reports_the_server(smtp_peer: SmtpPeer) -> None:
    assert "NOOP 250" in sender(smtp_peer).probe()


def test_check_config_probe_lines(smtp_peer: SmtpPeer) -> None:
    config = notify_config(smtp_peer)
    lines = list(app._probe_smtp(config))
    assert [line.ok for line in lines] == [True, False]
    assert "NOOP 250" in lines[0].detail
    # The default rules give Maintenance tickets to maintenance@property.com, our From address.
    assert "maintenance@property.com receive(s) tickets" in lines[1].detail
    data = config_data(smtp_peer)
    data["smtp"]["from_address"] = "tickets@property.com"
    data["intake"]["own_addresses"] = ["tickets@property.com"]
    other = parse_config(data)
    assert [line.ok for line in app._probe_smtp(other)] == [True, True]
    smtp_peer.stop()
    down = next(iter(app._probe_smtp(config)))
    assert not down.ok and "ConnectionRefusedError" in down.detail
    smtp_peer.start()
    # The probe also loads the templates: a broken override is a FAIL line.
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "ticket_assigned.txt").write_text("{% broken")
        broken = next(iter(app._probe_smtp(notify_config(smtp_peer, templates_dir=d))))
    assert not broken.ok and "ticket_assigned.txt" in broken.detail
