"""``propdesk report`` over tickets the daemon really created and staff really moved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk.config import Config, DatabaseConfig, MailboxConfig
from tests.integration.ingest_support import cli, tenant_mail, write_config
from tests.stack import Dovecot, ImapUser


@pytest.fixture
def config_file(
    tmp_path: Path, clean_db: Engine, db_config: DatabaseConfig, mailbox_config: MailboxConfig
) -> Path:
    return write_config(Config(database=db_config, mailboxes=[mailbox_config]), tmp_path / "p.toml")


def test_report_counts_what_happened(
    config_file: Path, config_env: dict[str, str], dovecot: Dovecot, imap_user: ImapUser
) -> None:
    c = ["--config", str(config_file)]
    dovecot.append(imap_user, tenant_mail(1))
    dovecot.append(imap_user, tenant_mail(2, "The toilet keeps running."))
    assert cli([*c, "run", "--once"], config_env).returncode == 0
    listed = cli([*c, "tickets", "list", "--format", "json"], config_env)
    tickets = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(tickets) == 2
    first = tickets[0]["ticket_id"]
    for status in ("In Progress", "Resolved"):
        moved = cli([*c, "tickets", "set-status", first, status, "--by", "ops"], config_env)
        assert moved.returncode == 0, moved.stderr[-2000:]

    later = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    out = cli([*c, "report", "--format", "json", "--now", later], config_env)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    summary = report["summary"]
    assert (summary["total_tickets"], summary["open_tickets"], summary["closed_tickets"]) == (
        2,
        1,
        1,
    )
    assert summary["median_resolution_time"] is not None
    assert summary["open_breached"] == 1  # the other one is still New ten days later
    assert report["by_category"] == {"Maintenance": 2}
    assert report["by_status"] == {"New": 1, "Resolved": 1}
    assert report["performance"]["sla_compliance"] == 0.5  # one met, one breached
    assert sum(report["trends"]["daily_creation"].values()) == 2

    text = cli([*c, "report", "--now", later], config_env)
    assert text.returncode == 0
    assert text.stdout.splitlines()[1].startswith("tickets: 2 (1 open, 1 resolved or closed")

    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    empty = cli([*c, "report", "--format", "json", "--since", tomorrow], config_env)
    assert json.loads(empty.stdout)["summary"]["total_tickets"] == 0


def test_report_refuses_a_bad_date(config_file: Path, config_env: dict[str, str]) -> None:
    bad = cli(["--config", str(config_file), "report", "--since", "last tuesday"], config_env)
    assert bad.returncode == 2
    assert "--since: expected a date" in bad.stderr
