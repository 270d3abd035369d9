"""After-hours paging: an urgency-1 mail after hours reaches the paging hook (a loopback HTTP
webhook, or a command's stdin) as the ticket's JSON, retried through the outbox, exactly once
also across a daemon restart; a daytime or non-urgent ticket is not paged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.config import (
    BusinessHoursConfig,
    Config,
    DatabaseConfig,
    MailboxConfig,
    NotificationsConfig,
    PagingConfig,
)
from propdesk.store.tables_outbox import outbox
from tests.integration.test_notify_daemon import ALWAYS_OPEN
from tests.stack import Dovecot, ImapUser, SmtpPeer

pytestmark = pytest.mark.integration
NEVER_OPEN = BusinessHoursConfig(hours={})
#: Long enough that one delivery pass (a few mails on a loaded machine) cannot retry it itself.
RETRY = 3.0


class Hook:
    """A loopback webhook: records each POSTed body; answers the codes queued in ``answers``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answers: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = hook.answers.pop(0) if hook.answers else 200
                if code == 200:
                    hook.bodies.append(json.loads(body))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/page"


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


def mail(n: int, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Tenant {n} <pt{n}@example.org>"
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = "Help"
    msg["Message-ID"] = f"<page-{n}@example.org>"
    msg.set_content(body)
    return bytes(msg)


def config_for(
    db: DatabaseConfig, mb: MailboxConfig, peer: SmtpPeer, paging: PagingConfig, **kw: Any
) -> Config:
    return Config(
        database=db,
        mailboxes=[mb],
        smtp=peer.smtp_config(message_id_domain="mail.property.com"),
        notifications=NotificationsConfig(retry_base_seconds=RETRY, retry_max_seconds=RETRY),
        paging=paging,
        **kw,
    )


def turn(config: Config) -> None:
    daemon = app.daemon(config)
    try:
        assert daemon.loop.run_once().ok
    finally:
        daemon.close()


def test_after_hours_emergency_is_paged_once_across_a_restart_and_a_failure(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
    hook: Hook,
) -> None:
    config = config_for(
        db_config,
        mailbox_config,
        smtp_peer,
        PagingConfig(webhook_url=hook.url),
        business_hours=NEVER_OPEN,
    )
    dovecot.append(imap_user, mail(1, "I smell gas in the kitchen of unit 4B, please come now."))
    dovecot.append(imap_user, mail(2, "Could you replace the bulb in the hallway of unit 2A?"))
    hook.answers = [503]  # the paging service is down at first
    turn(config)  # ingests both, the page is retried later
    assert hook.bodies == []
    time.sleep(RETRY + 0.2)
    turn(config)  # a restarted daemon: the page goes out now
    time.sleep(RETRY + 0.2)
    turn(config)  # and never again
    assert len(hook.bodies) == 1
    paged = hook.bodies[0]
    assert paged["urgency"] == "1" and paged["requested_for"] == "pt1@example.org"
    assert paged["ticket_id"].startswith("TKT-") and paged["metadata"]["after_hours"] is True
    with clean_db.connect() as conn:
        rows = conn.execute(
            select(outbox.c.status, outbox.c.attempts).where(outbox.c.kind == "page")
        ).all()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2)]


def test_command_gets_the_json_and_daytime_is_not_paged(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
    tmp_path: Path,
) -> None:
    out = tmp_path / "pages.jsonl"
    command = ["sh", "-c", f"cat >> {out}; echo >> {out}"]
    for n, hours in ((3, NEVER_OPEN), (4, ALWAYS_OPEN)):  # after hours, then in the day
        config = config_for(
            db_config,
            mailbox_config,
            smtp_peer,
            PagingConfig(command=command),
            business_hours=hours,
        )
        dovecot.append(
            imap_user, mail(n, f"Water is flooding the floor from a burst pipe, unit {n}A")
        )
        turn(config)
    (line,) = out.read_text().splitlines()  # the daytime flood was not paged
    assert json.loads(line)["requested_for"] == "pt3@example.org"
