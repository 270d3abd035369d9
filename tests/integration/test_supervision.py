"""``propdesk run`` under a real ``$NOTIFY_SOCKET``: READY, WATCHDOG while the loop turns (also
with a frozen IMAP server) and not when the loop hangs, exit codes per signal, /readyz following
PostgreSQL, and start-up that waits for the database instead of exiting."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk.config import (
    Config,
    DatabaseConfig,
    IntervalsConfig,
    MailboxConfig,
    MetricsConfig,
    NotificationsConfig,
    RulesConfig,
    TimeoutsConfig,
)
from tests.integration.idle_support import eventually
from tests.integration.ingest_support import spawn, tenant_mail, ticket_count
from tests.integration.supervision_support import NotifySocket, config_file, env_for, get
from tests.stack import Dovecot, ThrowawayCluster, free_port


def _config(db: DatabaseConfig, mailbox: MailboxConfig, port: int) -> Config:
    return Config(
        database=db,
        mailboxes=[mailbox],
        intervals=IntervalsConfig(poll_seconds=1, outbox_seconds=1, escalation_seconds=5),
        timeouts=TimeoutsConfig(imap_seconds=2, database_seconds=2),
        metrics=MetricsConfig(listen=f"127.0.0.1:{port}"),
        notifications=NotificationsConfig(enabled=False),
    )


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


def _start(
    config: Config,
    tmp_path: Path,
    env: dict[str, str],
    notify: NotifySocket,
    watchdog: float,
    **extra_env: str,
) -> subprocess.Popen[str]:
    path = config_file(config, tmp_path / "propdesk.toml")
    # Users added after the ``config_env`` snapshot have their password variables only here.
    passwords = {k: v for k, v in os.environ.items() if k.startswith("PROPDESK_TEST_IMAP_")}
    proc_env = env_for(env | passwords, notify, watchdog) | extra_env
    return spawn(["--config", str(path), "run"], proc_env)


def _finish(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return proc.returncode, err


def _ready(notify: NotifySocket, proc: subprocess.Popen[str]) -> None:
    def ready() -> bool:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        return bool(notify.times("READY"))

    eventually(ready, what="READY=1")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_ready_watchdog_and_exit_code(
    sig: int,
    code: int,
    tmp_path: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    notify: NotifySocket,
) -> None:
    proc = _start(_config(db_config, mailbox_config, free_port()), tmp_path, config_env, notify, 2)
    try:
        _ready(notify, proc)
        eventually(lambda: len(notify.times("WATCHDOG")) >= 3, what="three WATCHDOG=1")
    finally:
        returncode, err = _finish(proc, sig)
    assert returncode == code, err[-3000:]
    assert "main" in notify.statuses()[0]


def test_frozen_imap_server_is_reported_not_restarted(
    tmp_path: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    db_config: DatabaseConfig,
    private_dovecot: Dovecot,
    notify: NotifySocket,
) -> None:
    user = private_dovecot.add_user()
    port = free_port()
    mailbox = private_dovecot.mailbox_config(user, idle_liveness_seconds=3)
    watchdog = 30.0
    proc = _start(_config(db_config, mailbox, port), tmp_path, config_env, notify, watchdog)
    try:
        _ready(notify, proc)
        eventually(lambda: get(port, "/readyz")[0] == 200, what="ready")
        private_dovecot.freeze()
        frozen_at = time.monotonic()
        try:
            eventually(lambda: get(port, "/readyz")[0] == 503, what="readyz 503 while frozen")
            _status, body = get(port, "/readyz")
            assert any("mailbox main" in p for p in body["problems"]), body  # type: ignore[union-attr]
            eventually(lambda: any("main down" in s for s in notify.statuses()), what="STATUS down")
            time.sleep(max(0.0, 15 - (time.monotonic() - frozen_at)))
            assert get(port, "/healthz")[0] == 200  # the loop still turns
            beats = [t for t in notify.times("WATCHDOG") if t >= frozen_at]
            gaps = [
                b - a for a, b in zip([frozen_at, *beats], [*beats, time.monotonic()], strict=True)
            ]
            assert beats and max(gaps) < watchdog, gaps  # systemd would not have restarted it
            assert proc.poll() is None
        finally:
            private_dovecot.thaw()
        eventually(lambda: get(port, "/readyz")[0] == 200, what="ready again after the thaw")
        private_dovecot.append(user, tenant_mail(1))
        eventually(lambda: private_dovecot.messages(user, "INBOX") == [], what="mail handled")
    finally:
        returncode, err = _finish(proc)
    assert returncode == 0, err[-3000:]


def test_a_hung_loop_stops_the_watchdog(
    tmp_path: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: object,
    mailbox_config: MailboxConfig,
    notify: NotifySocket,
) -> None:
    port = free_port()
    proc = _start(
        _config(db_config, mailbox_config, port),
        tmp_path,
        config_env,
        notify,
        2,
        PROPDESK_FAILPOINT="before_commit:1:hang",
    )
    try:
        _ready(notify, proc)
        eventually(lambda: len(notify.times("WATCHDOG")) >= 2, what="WATCHDOG=1 flowing")
        dovecot.append(imap_user, tenant_mail(1))  # type: ignore[arg-type]

        def silent_for_10s() -> bool:
            beats = notify.times("WATCHDOG")
            return time.monotonic() - beats[-1] > 10

        eventually(silent_for_10s, what="WATCHDOG=1 stops while the loop hangs")
        assert get(port, "/healthz")[0] == 503
        assert proc.poll() is None  # hung, not dead: only the watchdog can tell
    finally:
        proc.kill()
        proc.communicate(timeout=60)


def test_readyz_follows_postgres(
    tmp_path: Path,
    config_env: dict[str, str],
    pg_cluster: ThrowawayCluster,
    mailbox_config: MailboxConfig,
    notify: NotifySocket,
) -> None:
    db = pg_cluster.create_database()
    port = free_port()
    proc = _start(_config(db, mailbox_config, port), tmp_path, config_env, notify, 10)
    try:
        _ready(notify, proc)
        eventually(lambda: get(port, "/readyz")[0] == 200, what="ready")
        pg_cluster.stop()
        eventually(lambda: get(port, "/readyz")[0] == 503, what="503 with PostgreSQL stopped")
        assert any("database" in p for p in get(port, "/readyz")[1]["problems"])  # type: ignore[union-attr]
        assert get(port, "/healthz")[0] == 200
        pg_cluster.start()
        eventually(lambda: get(port, "/readyz")[0] == 200, what="200 after PostgreSQL is back")
    finally:
        returncode, err = _finish(proc)
    assert returncode == 0, err[-3000:]


def test_start_waits_for_the_database(
    tmp_path: Path,
    config_env: dict[str, str],
    pg_cluster: ThrowawayCluster,
    mailbox_config: MailboxConfig,
    notify: NotifySocket,
) -> None:
    db = pg_cluster.create_database()
    pg_cluster.stop()
    proc = _start(_config(db, mailbox_config, free_port()), tmp_path, config_env, notify, 10)
    try:
        eventually(lambda: len(notify.times("EXTEND_TIMEOUT_USEC")) >= 2, what="asks for time")
        assert not notify.times("READY")
        assert proc.poll() is None
        pg_cluster.start()
        _ready(notify, proc)
    finally:
        returncode, err = _finish(proc)
    assert returncode == 0, err[-3000:]
    assert "startup.database_waiting" in err


def test_sighup_reloads_rules_and_keeps_them_when_broken(
    tmp_path: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: object,
    mailbox_config: MailboxConfig,
    notify: NotifySocket,
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("# ops override: nothing replaced\n")
    config = _config(db_config, mailbox_config, free_port()).model_copy(
        update={"rules": RulesConfig(file=rules)}
    )
    proc = _start(config, tmp_path, config_env, notify, 10)
    try:
        _ready(notify, proc)
        rules.write_text("[no_such_table]\nx = 1\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        rules.write_text("# fixed\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        dovecot.append(imap_user, tenant_mail(1))  # type: ignore[arg-type]
        eventually(lambda: ticket_count(clean_db) == 1, what="ticketed after the reloads")
    finally:
        returncode, err = _finish(proc)
    assert returncode == 0, err[-3000:]
    failed = err.index('"daemon.reload_failed"')
    assert "no_such_table" in err[failed - 500 : failed + 500]
    assert err.index('"daemon.reloaded"') > failed
