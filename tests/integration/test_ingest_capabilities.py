"""Servers without MOVE (COPY + \\Deleted + UID EXPUNGE) or without MOVE and UIDPLUS (mail stays,
a UID high-water mark per UIDVALIDITY): real Dovecot instances advertising fewer capabilities."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig
from propdesk.mail.imap import ImapMailbox
from propdesk.store.tables import MailboxStateRow
from tests.integration.ingest_support import analyser, dovecot_with, tenant_mail, ticket_count
from tests.stack import Dovecot

BASE_CAPS = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+ MULTIAPPEND"


@pytest.fixture(scope="module", params=["UIDPLUS", ""], ids=["copy_expunge", "none"])
def limited(request: pytest.FixtureRequest) -> Iterator[tuple[Dovecot, str]]:
    extra = request.param
    caps = f"{BASE_CAPS} {extra}".strip()
    with dovecot_with(f"imap_capability = {caps}\n") as server:
        yield server, "copy_expunge" if extra else "none"


def _run(config: Config) -> dict[str, int]:
    daemon = app.daemon(config, analyse=analyser(config))
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.ok, [p.error for p in report.passes]
    return dict(report.passes[0].counts)


def test_removal_without_move(
    limited: tuple[Dovecot, str], clean_db: Engine, db_config: DatabaseConfig
) -> None:
    server, mode = limited
    user = server.add_user()
    mb = server.mailbox_config(user)
    with ImapMailbox(mb, 10) as imap:
        assert imap.removal_mode == mode
    config = Config(database=db_config, mailboxes=[mb])
    server.multiappend(user, [tenant_mail(n) for n in range(1, 4)])

    assert _run(config) == {"ticketed": 3}
    assert _run(config) == {}
    server.append(user, tenant_mail(4))
    assert _run(config) == {"ticketed": 1}
    assert ticket_count(clean_db) == 4

    inbox = server.messages(user, "INBOX")
    if mode == "copy_expunge":
        assert inbox == []
        assert len(server.messages(user, "Processed")) == 4
    else:
        # Nothing is moved or deleted; the mark says how far we got.
        assert len(inbox) == 4
        assert all("\\Deleted" not in m.flags for m in inbox)
        with Session(clean_db) as s:
            state = s.scalars(select(MailboxStateRow)).one()
            assert state.high_water_uid == max(m.uid for m in inbox)
