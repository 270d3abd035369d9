"""The processed folder does not grow without bound, against a real Dovecot: mail older than
``processed_keep_days`` (INTERNALDATE against the injected clock) is expunged or moved to a dated
archive folder, but only when a committed row says it was processed; the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

from sqlalchemy import Engine
from structlog.testing import capture_logs

from propdesk import app
from propdesk.app.housekeeping import keepers
from propdesk.clock import Clock
from propdesk.config import Config, DatabaseConfig, HousekeepingConfig, NotificationsConfig
from propdesk.daemon.metrics import Metrics
from tests.integration.ingest_support import analyser, outcomes, tenant_mail
from tests.stack import Dovecot, ImapUser

#: The tests' now: INTERNALDATEs below are set relative to it, so folder names are fixed.
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CLOCK = Clock(now=lambda: NOW)


def _config(
    db: DatabaseConfig, dovecot: Dovecot, user: ImapUser, per_pass: int = 500, **mailbox: Any
) -> Config:
    return Config(
        database=db,
        mailboxes=[dovecot.mailbox_config(user, processed_keep_days=30, **mailbox)],
        notifications=NotificationsConfig(enabled=False),
        housekeeping=HousekeepingConfig(max_messages_per_pass=per_pass),
    )


def _run_once(config: Config, metrics: Metrics | None = None) -> None:
    """One pass of the daemon: the mailbox (ingest and move), then every task, housekeeping too."""
    daemon = app.daemon(config, analyse=analyser(config), clock=CLOCK, metrics=metrics)
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.ok, ([p.error for p in report.passes], report.task_errors)


def _ids(dovecot: Dovecot, user: ImapUser, folder: str) -> set[str]:
    return {str(message_from_bytes(m.raw)["Message-ID"]) for m in dovecot.messages(user, folder)}


def _mail(dovecot: Dovecot, user: ImapUser, n: int, days_ago: int, folder: str = "INBOX") -> str:
    raw = tenant_mail(n)
    dovecot.append(user, raw, folder=folder, msg_time=NOW - timedelta(days=days_ago))
    return str(message_from_bytes(raw)["Message-ID"])


def _counted(metrics: Metrics, action: str) -> float:
    value = metrics.registry.get_sample_value(
        "propdesk_processed_housekeeping_total", {"mailbox": "main", "action": action}
    )
    return value or 0.0


def test_old_processed_mail_is_expunged_and_unknown_mail_stays(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    since = (NOW - timedelta(days=45)).date()
    config = _config(db_config, dovecot, imap_user, processed_retention="expunge", since=since)
    skipped = _mail(dovecot, imap_user, 1, days_ago=50)  # before `since`: recorded, never read
    old = {_mail(dovecot, imap_user, n, days_ago=40) for n in (2, 3)}
    recent = _mail(dovecot, imap_user, 4, days_ago=1)
    # Old mail in the processed folder that no committed row knows: it must stay.
    stranger = _mail(dovecot, imap_user, 5, days_ago=40, folder="Processed")
    # Same Message-ID as a processed one, other bytes: the content decides, not the header.
    twin = tenant_mail(6).replace(b"Message-ID: <", b"X-Old-ID: <", 1)
    twin = f"Message-ID: {sorted(old)[0]}\n".encode() + twin
    dovecot.append(imap_user, twin, folder="Processed", msg_time=NOW - timedelta(days=40))
    metrics = Metrics()

    with capture_logs() as events:
        _run_once(config, metrics)

    assert outcomes(clean_db) == {"ticketed": 3, "skipped": 1}  # rows are never touched
    assert dovecot.messages(imap_user, "INBOX") == []
    left = dovecot.messages(imap_user, "Processed")
    assert _ids(dovecot, imap_user, "Processed") == {recent, stranger, sorted(old)[0]}
    assert any(m.raw.startswith(b"Message-ID: ") and b"X-Old-ID" in m.raw for m in left)
    assert skipped not in _ids(dovecot, imap_user, "Processed")
    assert _counted(metrics, "expunged") == 3
    assert _counted(metrics, "kept_unknown") == 2
    passes = [e for e in events if e["event"] == "housekeeping.pass"]
    assert [(e["log_level"], e["expunged"], e["kept_unknown"]) for e in passes] == [("info", 3, 2)]


def test_archive_mode_moves_old_mail_to_dated_folders(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    config = _config(db_config, dovecot, imap_user)  # "archive" is the default
    october = _mail(dovecot, imap_user, 1, days_ago=40)  # 2026-10-28
    september = _mail(dovecot, imap_user, 2, days_ago=70)  # 2026-09-28
    recent = _mail(dovecot, imap_user, 3, days_ago=29)
    processed_before = {m.raw for m in dovecot.messages(imap_user, "INBOX")}

    _run_once(config)

    assert _ids(dovecot, imap_user, "Processed") == {recent}
    assert _ids(dovecot, imap_user, "Archive-2026-10") == {october}
    assert _ids(dovecot, imap_user, "Archive-2026-09") == {september}
    folders = ("Archive-2026-10", "Archive-2026-09")
    archived = [m.raw for f in folders for m in dovecot.messages(imap_user, f)]
    assert set(archived) <= processed_before  # moved byte for byte
    assert outcomes(clean_db) == {"ticketed": 3}


def test_a_pass_is_bounded_and_moves_on_past_mail_that_stays(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    config = _config(db_config, dovecot, imap_user, per_pass=1, processed_retention="expunge")
    stranger = _mail(dovecot, imap_user, 1, days_ago=40, folder="Processed")  # lowest UID
    for n in (2, 3):
        _mail(dovecot, imap_user, n, days_ago=40)
    _run_once(config)  # ingests 2 and 3; its one bounded pass examines the stranger only
    assert len(dovecot.messages(imap_user, "Processed")) == 3
    engine = app.engine(config)
    (keeper,) = keepers(config, app.sessions(engine), CLOCK)
    seen = [keeper.run_pass().counts for _ in range(4)]
    assert [dict(c) for c in seen] == [
        {"kept_unknown": 1},  # the stranger again: a new keeper starts at the folder's start
        {"expunged": 1},
        {"expunged": 1},
        {"kept_unknown": 1},  # wrapped around; nothing old but the stranger is left
    ]
    engine.dispose()
    assert _ids(dovecot, imap_user, "Processed") == {stranger}


def test_housekeeping_is_off_without_keep_days(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    config = _config(db_config, dovecot, imap_user).model_copy(deep=True)
    config.mailboxes[0] = config.mailboxes[0].model_copy(update={"processed_keep_days": 0})
    old = _mail(dovecot, imap_user, 1, days_ago=400)
    _run_once(config)
    assert _ids(dovecot, imap_user, "Processed") == {old}
