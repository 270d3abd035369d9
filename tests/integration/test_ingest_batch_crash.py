"""Kills inside a batch (issue 16): before its commit, after its commit before its move, and in
the middle of its moves; then a real SIGKILL of a running daemon at a moment it chose. After a
restart: tickets == mails, none twice, every message in its folder.

The daemon runs as ``propdesk`` in a subprocess; the failpoints (``propdesk.ingest.failpoints``)
``os._exit(137)`` like SIGKILL: no cleanup, no rollback handler, no move. Batches of ten by count
(``batch_seconds`` is out of reach), so where each kill falls is known.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk.config import Config, DatabaseConfig, MailboxConfig
from tests.integration.ingest_support import (
    FolderCounts,
    cli,
    outcomes,
    rows_per_message_id,
    spawn,
    tenant_mail,
    ticket_count,
    tickets_per_message_id,
    write_config,
)
from tests.stack import Dovecot, ImapUser

BATCH = 10


@pytest.fixture
def config_file(
    tmp_path: Path, clean_db: Engine, db_config: DatabaseConfig, mailbox_config: MailboxConfig
) -> Path:
    batched = mailbox_config.model_copy(update={"batch_count": BATCH, "batch_seconds": 60.0})
    config = Config(database=db_config, mailboxes=[batched])
    return write_config(config, tmp_path / "propdesk.toml", poll_seconds=0.5)


def _run_once(config_file: Path, env: dict[str, str], failpoint: str | None = None) -> int:
    env = dict(env)
    env.pop("PROPDESK_FAILPOINT", None)
    if failpoint:
        env["PROPDESK_FAILPOINT"] = failpoint
    done = cli(["--config", str(config_file), "run", "--once"], env)
    if failpoint is None:
        assert done.returncode == 0, done.stderr[-3000:]
    return done.returncode


def _assert_tickets_equal_mails(engine: Engine, mails: int) -> None:
    rows = rows_per_message_id(engine)
    assert len(rows) == mails
    assert all(v == ["ticketed"] for v in rows.values()), rows
    per_message = tickets_per_message_id(engine)
    assert sorted(per_message.values()) == [1] * mails  # 0 duplicates
    assert ticket_count(engine) == mails


@pytest.mark.parametrize(
    ("point", "recorded", "moved"),
    [
        ("before_commit:15", 10, 10),  # 2nd batch (11-20) dies before its commit
        ("after_commit:15", 20, 10),  # 2nd batch committed, not moved
        ("before_commit:1", 0, 0),  # the first batch, from its first message on
    ],
)
def test_kill_inside_a_batch_then_restart_is_exactly_once(
    point: str,
    recorded: int,
    moved: int,
    config_file: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    mails = 25
    dovecot.multiappend(imap_user, [tenant_mail(n) for n in range(1, mails + 1)])
    folders = FolderCounts(dovecot, imap_user)

    assert _run_once(config_file, config_env, point) == 137
    assert sum(outcomes(clean_db).values()) == recorded  # whole batches or nothing of one
    assert (folders["INBOX"], folders["Processed"]) == (mails - moved, moved)

    _run_once(config_file, config_env)

    _assert_tickets_equal_mails(clean_db, mails)
    assert (folders["INBOX"], folders["Processed"]) == (0, mails)


def test_kill_between_the_moves_of_a_batch_then_restart_is_exactly_once(
    config_file: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    tenants = [tenant_mail(n) for n in range(1, BATCH)]
    no_address = tenant_mail(99, sender="undisclosed-recipients:;")  # quarantined, kept
    dovecot.multiappend(imap_user, [*tenants[:4], no_address, *tenants[4:]])
    folders = FolderCounts(dovecot, imap_user)

    assert _run_once(config_file, config_env, "mid_move") == 137
    assert outcomes(clean_db) == {"ticketed": BATCH - 1, "quarantined": 1}
    # the processed part of the batch moved, the failed one not yet
    assert (folders["INBOX"], folders["Processed"], folders["Failed"]) == (1, BATCH - 1, 0)

    _run_once(config_file, config_env)

    assert outcomes(clean_db) == {"ticketed": BATCH - 1, "quarantined": 1}
    assert sorted(tickets_per_message_id(clean_db).values()) == [1] * (BATCH - 1)
    assert ticket_count(clean_db) == BATCH - 1
    assert (folders["INBOX"], folders["Processed"], folders["Failed"]) == (0, BATCH - 1, 1)


def test_sigkill_of_a_running_daemon_mid_backlog_loses_and_doubles_nothing(
    config_file: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    mails = 200
    dovecot.multiappend(imap_user, [tenant_mail(n) for n in range(1, mails + 1)])
    env = {k: v for k, v in config_env.items() if k != "PROPDESK_FAILPOINT"}
    proc = spawn(["--config", str(config_file), "run"], env)
    try:
        deadline = time.monotonic() + 120
        while sum(outcomes(clean_db).values()) < 3 * BATCH and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # wherever it is: analysing, writing, moving
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    recorded = sum(outcomes(clean_db).values())
    assert 0 < recorded < mails, "the kill came too late to test anything"

    _run_once(config_file, config_env)

    _assert_tickets_equal_mails(clean_db, mails)
    folders = FolderCounts(dovecot, imap_user)
    assert (folders["INBOX"], folders["Processed"]) == (0, mails)
