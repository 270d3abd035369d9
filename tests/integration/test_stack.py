"""The test stack itself works: each fixture reaches a real server and does what it says."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from propdesk.config import DatabaseConfig, MailboxConfig
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine
from tests.stack import (
    Dovecot,
    ImapUser,
    SmtpPeer,
    ThrowawayCluster,
    database_exists,
    truncate_all,
)
from tests.stack._util import pid_alive
from tests.stack.reap import reap_stale

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _mail(n: int, subject: str = "Leaking tap") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Tenant {n} <tenant{n}@example.org>"
    msg["To"] = "maintenance@propdesk.test"
    msg["Subject"] = f"{subject} #{n}"
    msg["Message-ID"] = f"<stack-{n}-{time.time_ns()}@example.org>"
    msg.set_content(f"The kitchen tap in flat {n} has been dripping since Monday.\n")
    return bytes(msg)


# --- PostgreSQL -----------------------------------------------------------------------------
def test_session_database_exists_and_is_migrated(
    pg_server: tuple[str, int], db_config: DatabaseConfig, db_engine: Engine
) -> None:
    assert db_config.name.startswith("propdesk_test_")
    assert database_exists(*pg_server, db_config.name)
    assert migrations.current_revision(db_engine) == migrations.head_revision(db_engine)
    with db_engine.connect() as conn:
        assert conn.execute(text("select current_database()")).scalar_one() == db_config.name


def test_clean_db_empties_tables(clean_db: Engine) -> None:
    with clean_db.begin() as conn:
        conn.execute(text("create table if not exists stack_probe (id serial primary key, v text)"))
        conn.execute(text("insert into stack_probe (v) values ('x')"))
    truncate_all(clean_db)
    with clean_db.begin() as conn:
        assert conn.execute(text("select count(*) from stack_probe")).scalar_one() == 0
        conn.execute(text("drop table stack_probe"))


def test_throwaway_cluster_survives_restart(pg_cluster: ThrowawayCluster) -> None:
    cfg = pg_cluster.create_database("restart_probe")
    engine = make_engine(cfg, pooled=False)
    try:
        with engine.begin() as conn:
            conn.execute(text("create table t (v int)"))
            conn.execute(text("insert into t values (42)"))
        pg_cluster.stop()
        assert not pg_cluster.running()
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("select 1"))
        pg_cluster.start()
        with engine.connect() as conn:
            assert conn.execute(text("select v from t")).scalar_one() == 42
    finally:
        engine.dispose()
    assert pg_cluster.port != 5432


# --- Dovecot --------------------------------------------------------------------------------
def test_dovecot_append_and_read_back(dovecot: Dovecot, imap_user: ImapUser) -> None:
    raw = _mail(1)
    uid = dovecot.append(imap_user, raw, flags=[r"\Flagged"])
    stored = dovecot.messages(imap_user)
    assert [m.uid for m in stored] == [uid]
    assert stored[0].raw.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert r"\Flagged" in stored[0].flags
    assert r"\Seen" not in stored[0].flags  # read back with BODY.PEEK
    assert stored[0].size == len(stored[0].raw)


def test_dovecot_capabilities_and_folders(dovecot: Dovecot, imap_user: ImapUser) -> None:
    with dovecot.client(imap_user) as c:
        caps = set(c.capabilities())
    assert {b"IDLE", b"MOVE", b"UIDPLUS", b"MULTIAPPEND"} <= caps
    assert {"INBOX", "Processed", "Failed"} <= set(dovecot.folders(imap_user))
    dovecot.create_folder(imap_user, "Archive/2026")
    assert "Archive/2026" in dovecot.folders(imap_user)
    dovecot.delete_folder(imap_user, "Archive/2026")
    assert "Archive/2026" not in dovecot.folders(imap_user)


def test_dovecot_multiappend(dovecot: Dovecot, imap_user: ImapUser) -> None:
    uids = dovecot.multiappend(imap_user, (_mail(i) for i in range(450)), folder="Processed")
    assert len(uids) == 450 and len(set(uids)) == 450
    assert len(dovecot.messages(imap_user, "Processed")) == 450
    assert dovecot.messages(imap_user) == []


def test_dovecot_reset_uidvalidity_renumbers(dovecot: Dovecot, imap_user: ImapUser) -> None:
    dovecot.multiappend(imap_user, [_mail(i) for i in range(3)])
    dovecot.append(imap_user, _mail(9))
    before_validity = dovecot.uidvalidity(imap_user)
    before = dovecot.messages(imap_user)
    dovecot.reset_uidvalidity(imap_user)
    after = dovecot.messages(imap_user)
    assert dovecot.uidvalidity(imap_user) != before_validity
    assert sorted(m.raw for m in after) == sorted(m.raw for m in before)  # same mail, new keys


def test_mailbox_config_logs_in(
    dovecot: Dovecot, imap_user: ImapUser, mailbox_config: MailboxConfig
) -> None:
    assert mailbox_config.tls == "none" and mailbox_config.port == dovecot.port
    assert mailbox_config.password is not None
    password = mailbox_config.password.resolve().reveal()
    assert password == imap_user.password
    client = IMAPClient(mailbox_config.host, port=mailbox_config.port, ssl=False, timeout=10)
    try:
        client.login(mailbox_config.username, password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.logout()


# --- SMTP peer ------------------------------------------------------------------------------
def _send(peer: SmtpPeer, n: int) -> None:
    with smtplib.SMTP(peer.host, peer.port, timeout=10) as s:
        s.sendmail("maintenance@propdesk.test", [f"tenant{n}@example.org"], _mail(n))


def test_smtp_peer_records(smtp_peer: SmtpPeer) -> None:
    _send(smtp_peer, 1)
    (got,) = smtp_peer.wait_for(1)
    assert got.mail_from == "maintenance@propdesk.test"
    assert got.rcpt_tos == ("tenant1@example.org",)
    assert got.message["Subject"] == "Leaking tap #1"
    assert b"dripping since Monday" in got.raw


def test_smtp_peer_451_then_250(smtp_peer: SmtpPeer) -> None:
    smtp_peer.fail_next(1, "451 4.3.0 try again later")
    with pytest.raises(smtplib.SMTPDataError) as info:
        _send(smtp_peer, 1)
    assert info.value.smtp_code == 451
    _send(smtp_peer, 2)
    assert [m.rcpt_tos for m in smtp_peer.wait_for(1)] == [("tenant2@example.org",)]


def test_smtp_peer_550_at_rcpt_and_drop(smtp_peer: SmtpPeer) -> None:
    smtp_peer.fail_next(1, "550 5.1.1 no such user", stage="rcpt")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(smtp_peer, 1)
    smtp_peer.drop_next(1)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _send(smtp_peer, 2)
    _send(smtp_peer, 3)
    assert len(smtp_peer.wait_for(1)) == 1


def test_smtp_peer_outage_and_back(smtp_peer: SmtpPeer) -> None:
    port = smtp_peer.port
    smtp_peer.stop()
    with pytest.raises(OSError):
        _send(smtp_peer, 1)
    smtp_peer.start()
    assert smtp_peer.port == port
    _send(smtp_peer, 2)
    assert len(smtp_peer.wait_for(1)) == 1


def test_smtp_config_points_at_peer(smtp_peer: SmtpPeer) -> None:
    cfg = smtp_peer.smtp_config()
    assert (cfg.host, cfg.port, cfg.tls) == (smtp_peer.host, smtp_peer.port, "none")


def test_dovecot_user_added_while_running_can_log_in(dovecot: Dovecot) -> None:
    user = dovecot.add_user("late.user")  # named: not from the pool, written while running
    assert dovecot.messages(user) == []


def test_smtp_peer_with_auth() -> None:
    with SmtpPeer(auth=("notify", "s3cret")) as peer:
        with (
            smtplib.SMTP(peer.host, peer.port, timeout=10) as s,
            pytest.raises(smtplib.SMTPSenderRefused),
        ):
            s.sendmail("maintenance@propdesk.test", ["a@example.org"], _mail(1))
        with smtplib.SMTP(peer.host, peer.port, timeout=10) as s:
            s.login("notify", "s3cret")
            s.sendmail("maintenance@propdesk.test", ["a@example.org"], _mail(2))
        assert len(peer.wait_for(1)) == 1
        cfg = peer.smtp_config()
        assert cfg.username == "notify" and cfg.password is not None


def test_dovecot_pool_refills_when_empty(dovecot: Dovecot) -> None:
    spares, dovecot._spares = dovecot._spares, []  # simulate a session that used them all
    try:
        fresh = [dovecot.add_user() for _ in range(3)]
        assert len({u.name for u in fresh}) == 3
        assert all(dovecot.messages(u) == [] for u in fresh)
    finally:
        dovecot._spares = spares + dovecot._spares


def test_reap_stale_cleans_up_after_a_killed_session(pg_server: tuple[str, int]) -> None:
    """A SIGKILLed session leaves Dovecot, a cluster and a database behind; the reaper ends them."""
    script = (
        "import os, time\n"
        "from tests.stack import Dovecot, ThrowawayCluster, create_database\n"
        "d = Dovecot().start(); c = ThrowawayCluster().start()\n"
        f"db = create_database({pg_server[0]!r}, {pg_server[1]}, migrate=False)\n"
        "print(d.root, d.pid, c.root, db.name, flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}")
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert proc.stdout is not None
    dovecot_root, dovecot_pid, cluster_root, db_name = proc.stdout.readline().split()
    proc.kill()
    proc.wait()
    assert pid_alive(int(dovecot_pid)) and database_exists(*pg_server, db_name)
    reap_stale()
    # Asserted on the outcome: another session starting meanwhile may have reaped some of it.
    assert not Path(dovecot_root).exists()
    assert not pid_alive(int(dovecot_pid)) and not Path(cluster_root).exists()
    assert not database_exists(*pg_server, db_name)


def test_dovecot_client_only_instance_leaves_no_directory(
    dovecot: Dovecot, imap_user: ImapUser
) -> None:
    client_only = Dovecot(port=dovecot.port)
    assert dovecot.folders(imap_user) == client_only.folders(imap_user)
    assert not client_only.root.exists()
