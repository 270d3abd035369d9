"""Outages are not the message's fault: a database or IMAP failure aborts the pass without
moving or quarantining anything, the mailbox backs off, and the next pass finishes the job."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.clock import Clock
from propdesk.config import Config, DatabaseConfig, MailboxConfig, SecretRef
from propdesk.core.message import InboundMessage
from propdesk.daemon.poll import MailboxPoller
from propdesk.errors import MailboxError
from propdesk.ingest import IngestHook
from propdesk.mail.imap import ImapMailbox
from propdesk.store.engine import make_engine
from propdesk.store.tables import InboundMessageRow, TicketRow
from tests.integration.ingest_support import analyser, outcomes, tenant_mail, ticket_count
from tests.stack import Dovecot, ImapUser, ThrowawayCluster
from tests.stack._util import port_open


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _poller(
    config: Config, eng: Engine, clock: _Clock, hooks: Sequence[IngestHook] = ()
) -> MailboxPoller:
    service = app.ingest_service(config, eng, analyse=analyser(config), extra_hooks=hooks)
    return MailboxPoller(
        config.mailboxes[0],
        ingest=service,
        sessions=app.sessions(eng),
        lock_engine=make_engine(config.database, pooled=False),
        timeout_seconds=5,
        clock=Clock(monotonic=clock),
    )


class _StopDatabaseAt(IngestHook):
    """Stops PostgreSQL while the third message's transaction is open."""

    def __init__(self, cluster: ThrowawayCluster) -> None:
        self.cluster = cluster
        self.seen = 0

    def tickets_created(
        self,
        session: Session,
        message: InboundMessageRow,
        parsed: InboundMessage,
        tickets: Sequence[TicketRow],
    ) -> None:
        self.seen += 1
        if self.seen == 3:
            self.cluster.stop("immediate")


def test_database_outage_mid_pass(
    pg_cluster: ThrowawayCluster, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    db: DatabaseConfig = pg_cluster.create_database()
    config = Config(database=db, mailboxes=[dovecot.mailbox_config(imap_user)])
    dovecot.multiappend(imap_user, [tenant_mail(n) for n in range(1, 6)])
    eng = make_engine(db, pooled=True)
    clock = _Clock()
    try:
        poller = _poller(config, eng, clock, [_StopDatabaseAt(pg_cluster)])
        report = poller.poll()
        assert report.status == "error"
        assert "database" in (report.error or "")
        assert poller.next_attempt > clock.now
        # Nothing was moved: the pass died before its first move, nothing is quarantined.
        assert len(dovecot.messages(imap_user, "INBOX")) == 5
        assert dovecot.messages(imap_user, "Failed") == []

        pg_cluster.start()
        eng.dispose()
        poller = _poller(config, eng, clock)
        clock.now += 1000
        report = poller.poll()
        assert report.status == "ok", report.error
        assert outcomes(eng) == {"ticketed": 5}
        assert ticket_count(eng) == 5
        assert len(dovecot.messages(imap_user, "Processed")) == 5
    finally:
        eng.dispose()


def test_imap_outage_backs_off_then_recovers(
    private_dovecot: Dovecot, clean_db: Engine, db_config: DatabaseConfig
) -> None:
    server = private_dovecot
    user = server.add_user()
    config = Config(database=db_config, mailboxes=[server.mailbox_config(user)])
    server.append(user, tenant_mail(1))
    clock = _Clock()
    poller = _poller(config, clean_db, clock)

    server.stop()
    first = poller.poll()
    assert first.status == "error"
    assert "connect" in (first.error or "")
    assert poller.poll().status == "waiting"  # no hammering: the loop goes on with other work
    clock.now = poller.next_attempt + 1
    assert poller.poll().status == "error"
    assert poller.failures == 2

    deadline = time.monotonic() + 20
    while port_open(server.host, server.port) and time.monotonic() < deadline:
        time.sleep(0.2)  # imap-login children outlive the master briefly
    server.start()
    clock.now = poller.next_attempt + 1
    report = poller.poll()
    assert report.status == "ok", report.error
    assert report.counts == {"ticketed": 1}
    assert poller.failures == 0


def test_silent_server_times_out_instead_of_hanging() -> None:
    """A peer that accepts the connection and never greets: the socket timeout fires."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        mb = MailboxConfig(
            name="silent",
            host="127.0.0.1",
            port=listener.getsockname()[1],
            tls="none",
            username="nobody",
            password=SecretRef(env="PROPDESK_TEST_UNUSED"),
        )
        started = time.monotonic()
        with pytest.raises(MailboxError, match="connect"):
            ImapMailbox(mb, 1.0, connect_attempts=1).connect()
        assert time.monotonic() - started < 10
    finally:
        listener.close()
