"""IMAP IDLE against a real Dovecot: new mail is ticketed without waiting for the poll interval,
IDLE is renewed, and a kicked or restarted server costs a reconnect, never a message."""

from __future__ import annotations

from sqlalchemy import Engine
from structlog.testing import capture_logs

from propdesk.config import Config, DatabaseConfig, IntervalsConfig, TimeoutsConfig
from tests.integration.idle_support import eventually, running_daemon
from tests.integration.ingest_support import tenant_mail, ticket_count
from tests.stack import Dovecot, ImapUser

#: Far beyond every wait below: a ticket made in time can only have come through IDLE.
NO_POLL = 3600.0


def _config(db: DatabaseConfig, dovecot: Dovecot, user: ImapUser, **mailbox: float) -> Config:
    return Config(
        database=db,
        mailboxes=[dovecot.mailbox_config(user, **mailbox)],
        intervals=IntervalsConfig(
            poll_seconds=NO_POLL, outbox_seconds=NO_POLL, escalation_seconds=NO_POLL
        ),
        timeouts=TimeoutsConfig(imap_seconds=5),
    )


def test_new_mail_is_ticketed_while_idling(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    with running_daemon(_config(db_config, dovecot, imap_user)) as run:
        eventually(run.idling, what="the watcher idles")
        for n in (1, 2, 3):
            dovecot.append(imap_user, tenant_mail(n))
            eventually(lambda n=n: ticket_count(clean_db) == n, what=f"mail {n} ticketed")
    assert dovecot.messages(imap_user, "INBOX") == []
    assert len(dovecot.messages(imap_user, "Processed")) == 3


def test_idle_is_renewed_at_its_setting(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    config = _config(db_config, dovecot, imap_user, idle_renew_seconds=2)
    with capture_logs() as events, running_daemon(config) as run:
        eventually(run.idling, what="the watcher idles")
        eventually(
            lambda: sum(e["event"] == "imap.idle_renewed" for e in events) >= 3,
            what="three renewals",
        )
        dovecot.append(imap_user, tenant_mail(1))
        eventually(lambda: ticket_count(clean_db) == 1, what="mail ticketed after renewals")
    assert not [e for e in events if e["event"] == "imap.idle_lost"]


def test_kick_during_idle_reconnects_and_loses_nothing(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    with capture_logs() as events, running_daemon(_config(db_config, dovecot, imap_user)) as run:
        eventually(run.idling, what="the watcher idles")
        dovecot.kick(imap_user)
        dovecot.append(imap_user, tenant_mail(1))  # arrives while the watcher is away
        eventually(lambda: ticket_count(clean_db) == 1, what="mail from the gap ticketed")
        eventually(run.idling, what="idling again")
        dovecot.append(imap_user, tenant_mail(2))
        eventually(lambda: ticket_count(clean_db) == 2, what="mail after the kick ticketed")
    assert [e for e in events if e["event"] == "imap.idle_lost"]


def test_dovecot_restart_during_idle(
    clean_db: Engine, db_config: DatabaseConfig, private_dovecot: Dovecot
) -> None:
    user = private_dovecot.add_user()
    with capture_logs() as events, running_daemon(_config(db_config, private_dovecot, user)) as run:
        eventually(run.idling, what="the watcher idles")
        private_dovecot.restart()
        private_dovecot.append(user, tenant_mail(1))
        eventually(lambda: ticket_count(clean_db) == 1, what="mail after the restart ticketed")
        eventually(run.idling, what="idling again")
        private_dovecot.append(user, tenant_mail(2))
        eventually(lambda: ticket_count(clean_db) == 2, what="second mail ticketed")
    lost = [e for e in events if e["event"] == "imap.idle_lost"]
    assert lost and all(e["retry_in_seconds"] <= 120 for e in lost)
    assert private_dovecot.messages(user, "INBOX") == []
