"""Stopping and outages on the real stack (issue 14 item 7): the send pass stops between mails on a
stop request; an SMTP or database outage is one event in the log; a full connection pool is an
outage (retried, never a quarantine); mail resumes as soon as the database is back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from structlog.testing import capture_logs

from propdesk import app
from propdesk.clock import Clock as ProjectClock
from propdesk.config import Config, DatabaseConfig
from propdesk.daemon.loop import DaemonLoop, PeriodicTask
from propdesk.daemon.poll import MailboxPoller
from propdesk.daemon.signals import StopFlag
from propdesk.outages import Outages
from propdesk.store.engine import make_engine
from tests.integration.ingest_support import analyser, outcomes, tenant_mail
from tests.integration.notify_support import Clock, notify_config, ticket
from tests.integration.test_notify_outbox import enqueue, statuses
from tests.stack import Dovecot, ImapUser, SmtpPeer, ThrowawayCluster


class _Timer:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _outage_events(logs: list[dict[str, object]], peer: str) -> list[str]:
    return [str(e["event"]) for e in logs if e.get("peer") == peer]


def test_the_send_pass_stops_between_mails_on_a_stop_request(
    smtp_peer: SmtpPeer, clean_db: Engine
) -> None:
    enqueue(clean_db, ticket(1), ticket(2), ticket(3))
    due = len(statuses(clean_db))
    assert due > 2

    class StopAfterOneMail(StopFlag):
        @property
        def requested(self) -> bool:
            return len(smtp_peer.received) >= 1

    clock = Clock()
    shared = app.Shared(StopAfterOneMail(), Outages())
    config = notify_config(smtp_peer)
    stopping = app.outbox_delivery(config, clean_db, clock=clock.clock, shared=shared)
    stats = stopping.run_once()
    stopping.close()
    assert (stats.sent, stats.stop_requested) == (1, True)
    assert "stop requested" in stats.summary()
    assert [s for _, s, _ in statuses(clean_db)].count("pending") == due - 1

    rest = app.outbox_delivery(config, clean_db, clock=clock.clock)
    assert rest.run_once().sent == due - 1
    rest.close()


def test_an_smtp_outage_is_one_event_in_the_log(smtp_peer: SmtpPeer, clean_db: Engine) -> None:
    clock = Clock()
    timer = _Timer()
    outages = Outages(ProjectClock(now=clock, monotonic=timer))
    shared = app.Shared(StopFlag(), outages)
    smtp_peer.stop()
    enqueue(clean_db, ticket(1), ticket(2))
    d = app.outbox_delivery(notify_config(smtp_peer), clean_db, clock=clock.clock, shared=shared)
    with capture_logs() as logs:
        for _ in range(20):  # a pass every 5 s for 100 s, each one finds the server down
            d.run_once()
            clock.advance(hours=1)  # every row is due again at each pass
            timer.now += 5
        assert outages["smtp"].down
        smtp_peer.start()
        d.run_once()
    d.close()
    assert _outage_events(logs, "smtp") == ["outage.started", "outage.ongoing", "outage.ended"]
    retries = [e for e in logs if e["event"] == "outbox.retry_later"]
    assert retries and {e["log_level"] for e in retries} == {"debug"}
    assert {s for _, s, _ in statuses(clean_db)} == {"sent"}  # nothing lost in the outage


def test_a_full_connection_pool_is_an_outage_not_a_quarantine(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    small = db_config.model_copy(update={"pool_size": 1})  # one connection plus one overflow
    config = Config(database=small, mailboxes=[dovecot.mailbox_config(imap_user)])
    dovecot.append(imap_user, tenant_mail(1))
    eng = make_engine(small, timeout_seconds=1.0)  # pool_timeout: 1 s
    timer = _Timer()
    poller = MailboxPoller(
        config.mailboxes[0],
        ingest=app.ingest_service(config, eng, analyse=analyser(config)),
        sessions=app.sessions(eng),
        lock_engine=make_engine(small, pooled=False),
        timeout_seconds=5,
        clock=ProjectClock(monotonic=timer),
    )
    try:
        held = [eng.connect(), eng.connect()]  # every connection the pool may hand out
        report = poller.poll()
        assert report.status == "error" and "TimeoutError" in (report.error or ""), report.error
        assert outcomes(clean_db) == {}  # nothing recorded, nothing quarantined
        assert len(dovecot.messages(imap_user, "INBOX")) == 1
        assert dovecot.messages(imap_user, "Failed") == []
        for conn in held:
            conn.close()
        timer.now = poller.next_attempt + 1
        assert poller.poll().counts == {"ticketed": 1}
    finally:
        eng.dispose()


def test_mail_resumes_as_soon_as_the_database_is_back(
    pg_cluster: ThrowawayCluster, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    db = pg_cluster.create_database()
    config = Config(database=db, mailboxes=[dovecot.mailbox_config(imap_user)])
    dovecot.append(imap_user, tenant_mail(1))
    eng = make_engine(db, timeout_seconds=2.0)
    timer = _Timer()  # never advanced: no backoff ever runs out in this test
    clock = ProjectClock(now=lambda: datetime.now(UTC), monotonic=timer)
    outages = Outages(clock)
    poller = MailboxPoller(
        config.mailboxes[0],
        ingest=app.ingest_service(config, eng, analyse=analyser(config)),
        sessions=app.sessions(eng),
        lock_engine=make_engine(db, pooled=False, timeout_seconds=2.0),
        timeout_seconds=5,
        clock=clock,
        outages=outages,
    )

    def ping() -> str:  # another part of the daemon that uses the database
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"

    loop = DaemonLoop(
        [poller],
        poll_seconds=1,
        tasks=[PeriodicTask("ping", 1, ping)],
        clock=clock,
        outages=outages,
    )
    try:
        with capture_logs() as logs:
            pg_cluster.stop("immediate")
            first = loop.run_once()
            assert [p.status for p in first.passes] == ["error"] and first.task_errors
            assert [p.status for p in loop.run_once().passes] == ["waiting"]
            pg_cluster.start()
            eng.dispose()
            assert [p.status for p in loop.run_once().passes] == ["waiting"]  # ping: back
            resumed = loop.run_once()  # the backoff is over because the outage is
        assert [(p.status, dict(p.counts)) for p in resumed.passes] == [("ok", {"ticketed": 1})]
        assert _outage_events(logs, "database") == ["outage.started", "outage.ended"]
        assert not [e for e in logs if e.get("exc_info")]
    finally:
        eng.dispose()
