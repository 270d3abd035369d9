"""SIGKILL between the server's 250 and marking the row sent: after a restart the mail goes out
again at most once, with the same Message-ID, and nothing else is duplicated or lost.

How the kill lands exactly there, without instrumenting our code: the test holds a SHARE lock on
the outbox table. The delivery process can still claim a row (FOR UPDATE takes ROW SHARE) and send
it, but its UPDATE (ROW EXCLUSIVE) waits for the lock, i.e. right after the 250.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, select, text

from propdesk.config import DatabaseConfig
from propdesk.core.notifications import Source, plan_created
from propdesk.core.rules import load_rules
from propdesk.store import outbox as repo
from propdesk.store.tables_outbox import outbox
from tests.integration.notify_support import NOW, ticket, write_config
from tests.stack import SmtpPeer


def test_sigkill_after_250_gives_at_most_one_duplicate(
    tmp_path: Path,
    smtp_peer: SmtpPeer,
    db_config: DatabaseConfig,
    clean_db: Engine,
    config_env: dict[str, str],
) -> None:
    sla = load_rules().policy.sla
    with clean_db.begin() as conn:
        for n in range(1, 4):
            planned = plan_created([ticket(n)], Source(f"<m{n}@example.com>"), sla)
            repo.add(conn, planned, NOW, "mail.property.com")
    config = write_config(tmp_path / "propdesk.toml", smtp_peer, db_config)
    command = [sys.executable, "-m", "propdesk", "--config", str(config), "outbox", "send"]

    blocker = clean_db.connect()
    blocker.begin()
    blocker.execute(text("LOCK TABLE outbox IN SHARE MODE"))
    proc = subprocess.Popen(
        command, env=config_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        smtp_peer.wait_for(1, timeout=30)
        time.sleep(0.3)  # the UPDATE is now waiting on our lock
        assert len(smtp_peer.received) == 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        blocker.rollback()
        blocker.close()
        if proc.poll() is None:
            proc.kill()
    with clean_db.connect() as conn:
        assert conn.execute(select(outbox.c.status)).scalars().all() == ["pending"] * 6

    done = subprocess.run(
        command, env=config_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    ids = collections.Counter(m.message["Message-ID"] for m in smtp_peer.received)
    assert len(ids) == 6  # every notification arrived
    assert sorted(ids.values()) == [1, 1, 1, 1, 1, 2]  # exactly one re-sent, same Message-ID
    with clean_db.connect() as conn:
        assert conn.execute(select(outbox.c.status)).scalars().all() == ["sent"] * 6
