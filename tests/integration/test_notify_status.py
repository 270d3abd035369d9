"""``propdesk tickets set-status / assign`` and ``propdesk outbox`` through the real CLI:
the ticket, its events and the outbox rows change together; the mail arrives at the peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.cli import main
from propdesk.config import DatabaseConfig
from propdesk.store.tables import TicketEventRow, TicketRow
from propdesk.store.tables_outbox import outbox
from tests.integration.notify_support import insert_ticket, ticket, write_config
from tests.stack import SmtpPeer


@pytest.fixture
def config_file(
    tmp_path: Path, smtp_peer: SmtpPeer, db_config: DatabaseConfig, clean_db: Engine
) -> str:
    with clean_db.begin() as conn:
        insert_ticket(conn, ticket(1))
    return str(write_config(tmp_path / "propdesk.toml", smtp_peer, db_config))


def cli(config_file: str, *args: str) -> int:
    return main(["--config", config_file, "--log-format", "json", *args])


def deliver(config_file: str) -> None:
    config = app.load(config_file)
    eng = app.engine(config)
    try:
        delivery = app.outbox_delivery(config, eng)
        delivery.run_once()
        delivery.close()
    finally:
        eng.dispose()


def test_resolve_sends_the_completion_mail(
    config_file: str, clean_db: Engine, smtp_peer: SmtpPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config_file, "tickets", "set-status", "TKT-00000001", "in-progress") == 0
    assert (
        cli(
            config_file,
            "tickets",
            "set-status",
            "TKT-00000001",
            "Resolved",
            "--note",
            "Replaced the flapper",
            "--by",
            "sam",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "TKT-00000001: In Progress -> Resolved (1 notification queued)" in out
    deliver(config_file)
    subjects = [m.message["Subject"] for m in smtp_peer.received]
    assert len(subjects) == 2
    assert subjects[0].startswith("Service Request Update: [TKT-00000001]")
    assert subjects[1].startswith("Service Request Completed: [TKT-00000001]")
    done = smtp_peer.received[1]
    assert done.rcpt_tos == ("john.tenant@example.com",)
    assert "Replaced the flapper" in done.message.get_body(("plain",)).get_content()
    with clean_db.connect() as conn:
        row = conn.execute(
            select(TicketRow.status, TicketRow.resolved_at).where(
                TicketRow.ticket_id == "TKT-00000001"
            )
        ).one()
        kinds = conn.execute(select(TicketEventRow.kind, TicketEventRow.actor)).all()
    assert row.status == "Resolved" and row.resolved_at is not None
    assert ("resolved", "sam") in [tuple(k) for k in kinds]


def test_invalid_move_is_refused_listing_allowed_ones(
    config_file: str, clean_db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config_file, "tickets", "set-status", "TKT-00000001", "Resolved") == 1
    err = capsys.readouterr().err
    assert "cannot move from New to Resolved" in err and "In Progress, Closed" in err
    with clean_db.connect() as conn:
        assert conn.execute(select(outbox.c.id)).all() == []
        assert conn.execute(select(TicketEventRow.id)).all() == []
    assert cli(config_file, "tickets", "set-status", "TKT-99999999", "Closed") == 1
    with pytest.raises(SystemExit) as exit_info:
        cli(config_file, "tickets", "set-status", "TKT-00000001", "Done")
    assert exit_info.value.code == 2


def test_assign_tells_the_new_assignee_and_outbox_cli(
    config_file: str, smtp_peer: SmtpPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config_file, "tickets", "assign", "TKT-00000001", "Electrician@Property.com") == 0
    assert cli(config_file, "tickets", "assign", "TKT-00000001", "a@b, c@d") == 1
    capsys.readouterr()
    assert cli(config_file, "outbox", "--status", "pending", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["recipient"], r["status"]) for r in rows] == [
        ("ticket_assigned", "electrician@property.com", "pending")
    ]
    smtp_peer.fail_next(1, "550 5.1.1 unknown user")
    deliver(config_file)
    assert cli(config_file, "outbox", "--status", "dead") == 0
    assert "550 5.1.1 unknown user" in capsys.readouterr().out
    assert cli(config_file, "outbox", "retry", str(rows[0]["id"])) == 0
    deliver(config_file)
    assert [m.rcpt_tos for m in smtp_peer.received] == [("electrician@property.com",)]
    assert cli(config_file, "outbox", "retry", str(rows[0]["id"])) == 1  # already sent
    assert cli(config_file, "outbox", "retry", "999999") == 1
