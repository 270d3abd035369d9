"""The ingest CLI as an operator uses it: run --once, tickets list/show/attachment, reprocess,
check-config --connect (real subprocesses, real Dovecot and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk.config import Config, DatabaseConfig, MailboxConfig
from tests.integration.ingest_support import cli, outcomes, tenant_mail, write_config
from tests.stack import Dovecot, ImapUser, create_database, drop_database


@pytest.fixture
def config_file(
    tmp_path: Path, clean_db: Engine, db_config: DatabaseConfig, mailbox_config: MailboxConfig
) -> Path:
    config = Config(database=db_config, mailboxes=[mailbox_config])
    return write_config(config, tmp_path / "propdesk.toml")


def test_run_once_then_tickets_commands(
    tmp_path: Path,
    config_file: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20
    dovecot.append(imap_user, tenant_mail(1, attachment=("tap.jpg", photo)))
    dovecot.append(imap_user, tenant_mail(2, "The toilet keeps running."))
    c = ["--config", str(config_file)]

    done = cli([*c, "run", "--once"], config_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mailbox main: ticketed 2" in done.stdout

    listed = cli([*c, "tickets", "list", "--format", "json"], config_env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    tickets = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(tickets) == 2
    spec_fields = {
        "ticket_id", "short_description", "description", "category", "subcategory",
        "request_type", "urgency", "priority", "property_id", "unit_number", "requested_for",
        "assignment_group", "assigned_to", "status", "created_at", "updated_at", "email_id",
        "metadata",
    }  # fmt: skip
    assert spec_fields <= set(tickets[0])
    assert tickets[0]["created_at"].endswith("Z")

    closed = cli([*c, "tickets", "list", "--status", "Closed", "--format", "json"], config_env)
    assert closed.returncode == 0
    assert closed.stdout == ""

    tid = next(t["ticket_id"] for t in tickets if t["requested_for"] == "tenant1@example.org")
    shown = cli([*c, "tickets", "show", tid], config_env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    detail = json.loads(shown.stdout)
    assert detail["ticket"]["ticket_id"] == tid
    assert [e["kind"] for e in detail["events"]] == ["created"]
    assert detail["messages"][0]["outcome"] == "ticketed"
    assert detail["attachments"][0]["filename"] == "tap.jpg"

    out = tmp_path / "saved.jpg"
    got = cli([*c, "tickets", "attachment", tid, "tap.jpg", "-o", str(out)], config_env)
    assert got.returncode == 0, got.stderr[-2000:]
    assert out.read_bytes() == photo

    missing = cli([*c, "tickets", "show", "TKT-00000000"], config_env)
    assert missing.returncode == 1
    assert "no ticket" in missing.stderr

    nothing = cli([*c, "reprocess"], config_env)
    assert nothing.returncode == 0
    assert "nothing quarantined" in nothing.stdout
    assert outcomes(clean_db) == {"ticketed": 2}


def test_check_config_connect_reports_mailbox_capabilities(
    config_file: Path, config_env: dict[str, str], clean_db: Engine
) -> None:
    done = cli(["--config", str(config_file), "check-config", "--connect"], config_env)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("ok   mailbox main"))
    assert "MOVE yes" in line and "UIDPLUS yes" in line and "IDLE yes" in line


def test_check_config_connect_fails_on_bad_password(
    tmp_path: Path,
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    config_env: dict[str, str],
) -> None:
    mb = dovecot.mailbox_config(imap_user)
    config_file = write_config(Config(database=db_config, mailboxes=[mb]), tmp_path / "c.toml")
    env = dict(config_env)
    env[imap_user.password_env] = "wrong-password"
    done = cli(["--config", str(config_file), "check-config", "--connect"], env)
    assert done.returncode == 1
    assert "FAIL mailbox main" in done.stdout
    assert "wrong-password" not in done.stdout + done.stderr


def test_run_refuses_an_unmigrated_database(
    tmp_path: Path,
    pg_server: tuple[str, int],
    mailbox_config: MailboxConfig,
    config_env: dict[str, str],
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    db = create_database(*pg_server, migrate=False)
    try:
        dovecot.append(imap_user, tenant_mail(1))
        cfg = write_config(Config(database=db, mailboxes=[mailbox_config]), tmp_path / "c.toml")
        done = cli(["--config", str(cfg), "run", "--once"], config_env)
        assert done.returncode == 2
        assert "propdesk migrate" in done.stderr
        assert len(dovecot.messages(imap_user, "INBOX")) == 1  # nothing touched
    finally:
        drop_database(*pg_server, db.name)
