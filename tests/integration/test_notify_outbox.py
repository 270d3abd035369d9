"""Outbox delivery against real PostgreSQL and a real aiosmtpd peer: retries, dead letters,
outages, loop and flood safety, bounces, and no double claims."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.clock import Clock as SystemClock
from propdesk.core.models import Ticket
from propdesk.core.notifications import Source, plan_created
from propdesk.core.rules import load_rules
from propdesk.notify.delivery import OutboxDelivery
from propdesk.store import outbox as repo
from propdesk.store.tables_outbox import outbox
from tests.integration.notify_support import NOW, Clock, notify_config, ticket
from tests.stack import SmtpPeer

SLA = load_rules().policy.sla


@pytest.fixture
def engine(clean_db: Engine) -> Engine:
    return clean_db


def enqueue(engine: Engine, *tickets: Ticket, sender: str = "john.tenant@example.com") -> None:
    """Store the created-notifications of one email from ``sender``."""
    made = [replace(t, requested_for=sender) for t in (tickets or (ticket(1),))]
    with engine.begin() as conn:
        planned = plan_created(made, Source("<m1@example.com>"), SLA)
        repo.add(conn, planned, NOW, "mail.property.com")


def to(peer: SmtpPeer, address: str) -> list[object]:
    return [r for r in peer.received if address in r.rcpt_tos]


def delivery(peer: SmtpPeer, engine: Engine, clock: Clock, **settings: object) -> OutboxDelivery:
    return app.outbox_delivery(notify_config(peer, **settings), engine, clock=clock.clock)


def statuses(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.kind, outbox.c.status, outbox.c.last_error).order_by(outbox.c.id)
        ).all()
    return [(r.kind, r.status, r.last_error) for r in rows]


def test_451_then_250_is_delivered_once_later(smtp_peer: SmtpPeer, engine: Engine) -> None:
    clock = Clock()
    enqueue(engine)
    smtp_peer.fail_next(1, "451 4.7.1 greylisted")
    d = delivery(smtp_peer, engine, clock)
    first = d.run_once()
    assert (first.sent, first.retry) == (1, 1)
    assert len(smtp_peer.received) == 1
    assert d.run_once().handled == 0  # not due yet: the loop did not wait
    clock.advance(seconds=61)
    assert d.run_once().sent == 1
    d.close()
    assert [s for _, s, _ in statuses(engine)] == ["sent", "sent"]
    ids = [r.message["Message-ID"] for r in smtp_peer.received]
    assert len(ids) == len(set(ids)) == 2


def test_550_is_dead_with_the_answer(smtp_peer: SmtpPeer, engine: Engine) -> None:
    enqueue(engine)
    smtp_peer.fail_next(1, "550 5.1.1 <plumber@property.com>: no such user")
    d = delivery(smtp_peer, engine, Clock())
    d.run_once()
    d.close()
    assert statuses(engine)[0] == (
        "ticket_assigned",
        "dead",
        "550 5.1.1 <plumber@property.com>: no such user",
    )
    assert statuses(engine)[1][1] == "sent"


def test_peer_down_for_a_while_loses_nothing(smtp_peer: SmtpPeer, engine: Engine) -> None:
    clock = Clock()
    smtp_peer.stop()
    enqueue(engine, ticket(1), ticket(2))
    d = delivery(smtp_peer, engine, clock)
    for _ in range(5):
        stats = d.run_once()
        assert stats.sent == 0 and stats.stopped_early is (stats.retry == 1)
        clock.advance(minutes=10)
    enqueue(engine, ticket(3))  # ingestion goes on during the outage
    smtp_peer.start()
    clock.advance(hours=2)
    d.run_once()
    d.close()
    assert [s for _, s, _ in statuses(engine)] == ["sent"] * 5
    ids = sorted(r.message["Message-ID"] for r in smtp_peer.received)
    assert len(ids) == len(set(ids)) == 5


def test_max_attempts_makes_a_row_dead(smtp_peer: SmtpPeer, engine: Engine) -> None:
    clock = Clock()
    enqueue(engine)
    smtp_peer.fail_next(4, "451 busy")
    d = delivery(smtp_peer, engine, clock, max_attempts=2)
    assert d.run_once().retry == 2
    clock.advance(hours=1)
    assert d.run_once().dead == 2
    d.close()
    for _, status, error in statuses(engine):
        assert status == "dead" and error == "gave up after 2 attempts; last answer: 451 busy"


def test_never_mails_robots_or_ourselves(smtp_peer: SmtpPeer, engine: Engine) -> None:
    enqueue(engine, ticket(1), sender="mailer-daemon@mx.example.com")
    enqueue(engine, ticket(2, assigned_to="noreply@property.com"), sender="tickets@property.com")
    d = delivery(smtp_peer, engine, Clock())
    d.run_once()
    d.close()
    got = statuses(engine)
    assert [s for _, s, _ in got] == ["sent", "suppressed", "suppressed", "suppressed"]
    assert all(r.rcpt_tos == ("plumber@property.com",) for r in smtp_peer.received)


def test_tenant_flood_cap_spares_staff_mail(smtp_peer: SmtpPeer, engine: Engine) -> None:
    clock = Clock()
    for n in range(8):
        enqueue(engine, ticket(n + 1))
    d = delivery(smtp_peer, engine, clock, tenant_cap_per_hour=3)
    d.run_once()
    assert len(to(smtp_peer, "john.tenant@example.com")) == 3
    assert len(to(smtp_peer, "plumber@property.com")) == 8
    with engine.connect() as conn:
        assert repo.counts(conn) == {"sent": 11, "suppressed": 5}
    clock.advance(hours=1, seconds=1)
    enqueue(engine, ticket(9))
    d.run_once()
    d.close()
    assert len(to(smtp_peer, "john.tenant@example.com")) == 4  # the cap window moved on


def test_bounce_marks_the_notification_and_retry_requeues(
    smtp_peer: SmtpPeer, engine: Engine
) -> None:
    enqueue(engine)
    d = delivery(smtp_peer, engine, Clock())
    d.run_once()
    mid = smtp_peer.received[0].message["Message-ID"]
    with engine.begin() as conn:
        row_id = repo.mark_bounced(conn, mid, NOW, "550 mailbox full")
        assert row_id is not None
        assert repo.mark_bounced(conn, "<propdesk.TKT-FFFFFFFF.99@x>", NOW, "x") is None
        assert repo.retry(conn, row_id, NOW) == "bounced"
    assert d.run_once().sent == 1
    d.close()
    assert [r.message["Message-ID"] for r in smtp_peer.received].count(mid) == 2


def test_two_workers_never_send_a_row_twice(smtp_peer: SmtpPeer, engine: Engine) -> None:
    for n in range(30):
        enqueue(engine, ticket(n + 1), sender=f"t{n}@example.com")
    workers = [delivery(smtp_peer, engine, Clock()) for _ in range(2)]
    threads = [threading.Thread(target=w.run_once, kwargs={"limit": 1000}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.close()
    ids = [r.message["Message-ID"] for r in smtp_peer.received]
    assert len(ids) == len(set(ids)) == 60


def test_a_pass_stops_at_its_time_budget(smtp_peer: SmtpPeer, engine: Engine) -> None:
    enqueue(engine, ticket(1), ticket(2), ticket(3))
    ticks = iter(range(0, 1000, 10))  # every look at the timer is 10 s later: load-proof
    d = app.outbox_delivery(
        notify_config(smtp_peer, max_pass_seconds=15),
        engine,
        clock=SystemClock(now=Clock(), monotonic=lambda: float(next(ticks))),
    )
    assert d.run_once().handled == 1  # the rest waits for the next pass, after a mailbox poll
    assert d.run_once(limit=1).handled == 1
    d.close()
