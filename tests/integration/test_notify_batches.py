"""Delivery in batches: a SIGKILL inside a batch re-sends at most that batch (same Message-IDs),
a daemon turn drains a backlog of many batches, several workers never send a row twice, and
PIPELINING (where the server offers it) delivers and classifies answers as the plain path does.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.config import Config, DatabaseConfig, NotificationsConfig
from propdesk.core.notifications import Source, plan_created
from propdesk.core.rules import load_rules
from propdesk.ingest.failpoints import FAILPOINT_ENV
from propdesk.store import outbox as repo
from propdesk.store.tables_outbox import outbox
from tests.integration.notify_support import NOW, Clock, notify_config, ticket, write_config
from tests.stack import SmtpPeer

SLA = load_rules().policy.sla


def enqueue(engine: Engine, tickets: int) -> int:
    """Two rows (assignee + acknowledgement) per ticket, each ticket from its own tenant."""
    with engine.begin() as conn:
        for n in range(1, tickets + 1):
            made = replace(ticket(n), requested_for=f"tenant{n}@example.com")
            repo.add(conn, plan_created([made], Source(f"<m{n}@example.com>"), SLA), NOW, "x")
    return 2 * tickets


def statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox.c.status).order_by(outbox.c.id)).scalars())


@pytest.fixture
def pipelining_peer() -> Iterator[SmtpPeer]:
    with SmtpPeer(pipelining=True) as peer:
        yield peer


def test_sigkill_mid_batch_resends_at_most_that_batch_with_the_same_ids(
    tmp_path: Path,
    smtp_peer: SmtpPeer,
    db_config: DatabaseConfig,
    clean_db: Engine,
    config_env: dict[str, str],
) -> None:
    rows = enqueue(clean_db, 5)  # 10 rows; batches of 4: [1-4] [5-8] [9-10]
    config = write_config(tmp_path / "propdesk.toml", smtp_peer, db_config, delivery_batch=4)
    command = [sys.executable, "-m", "propdesk", "--config", str(config), "outbox", "send"]
    # dies right after the server's 250 for the 6th mail: the 2nd batch's 2nd, not committed
    env = {**config_env, FAILPOINT_ENV: "delivery_sent:6"}
    killed = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    assert killed.returncode == 137
    assert len(smtp_peer.received) == 6
    assert statuses(clean_db) == ["sent"] * 4 + ["pending"] * 6  # the first batch committed

    done = subprocess.run(
        command, env=config_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    ids = collections.Counter(m.message["Message-ID"] for m in smtp_peer.received)
    assert len(ids) == rows  # every notification arrived
    resent = [mid for mid, n in ids.items() if n > 1]
    assert len(resent) == 2 <= 4  # the killed batch's two sent mails, within one batch
    assert max(ids.values()) == 2  # each at most twice, with its one Message-ID
    assert statuses(clean_db) == ["sent"] * rows


def test_a_daemon_turn_drains_a_backlog_of_many_batches(
    smtp_peer: SmtpPeer, db_config: DatabaseConfig, clean_db: Engine
) -> None:
    rows = enqueue(clean_db, 20)
    config = Config(
        database=db_config,
        smtp=smtp_peer.smtp_config(message_id_domain="mail.property.com"),
        notifications=NotificationsConfig(delivery_batch=3, tenant_cap_per_hour=100),
    )
    daemon = app.daemon(config)
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.ok
    assert statuses(clean_db) == ["sent"] * rows  # 14 slices of 3, one turn
    assert len({m.message["Message-ID"] for m in smtp_peer.received}) == rows


def test_several_workers_send_every_row_once(smtp_peer: SmtpPeer, clean_db: Engine) -> None:
    rows = enqueue(clean_db, 25)
    d = app.outbox_delivery(
        notify_config(smtp_peer, delivery_workers=3, delivery_batch=4),
        clean_db,
        clock=Clock().clock,
    )
    stats = d.run_once()
    d.close()
    assert stats.sent == rows
    ids = [m.message["Message-ID"] for m in smtp_peer.received]
    assert len(ids) == len(set(ids)) == rows
    assert statuses(clean_db) == ["sent"] * rows


def test_pipelining_delivers_and_classifies_like_the_plain_path(
    pipelining_peer: SmtpPeer, clean_db: Engine
) -> None:
    peer = pipelining_peer
    enqueue(clean_db, 3)
    peer.fail_next(1, "451 4.7.1 greylisted", stage="rcpt")
    d = app.outbox_delivery(notify_config(peer), clean_db, clock=Clock().clock)
    probe = app.smtp_sender(notify_config(peer)).probe()
    assert "pipelining" in probe
    first = d.run_once()
    assert (first.sent, first.retry) == (5, 1)
    peer.fail_next(1, "550 5.1.1 no such user", stage="mail")
    clock_later = Clock()
    clock_later.advance(minutes=5)
    later = app.outbox_delivery(notify_config(peer), clean_db, clock=clock_later.clock)
    assert later.run_once().dead == 1
    later.close()
    d.close()
    assert sorted(statuses(clean_db)) == ["dead"] + ["sent"] * 5
    received = peer.received
    assert len(received) == 5
    for m in received:  # the content went through DATA whole: both parts, ids in the subject
        assert m.message.get_body(("plain",)) is not None
        assert m.message.get_body(("html",)) is not None
        assert "[TKT-0000000" in m.message["Subject"]
