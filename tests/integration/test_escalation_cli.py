"""``propdesk escalate --once [--now ISO]`` end to end, against the session database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk import app
from propdesk.cli import main
from propdesk.config import Config, DatabaseConfig
from tests.integration.escalation_support import T0, Clock, create, make_ticket


@pytest.fixture
def config_file(tmp_path: Path, db_config: DatabaseConfig) -> Path:
    path = tmp_path / "propdesk.toml"
    path.write_text(
        "[database]\n"
        f'host = "{db_config.host}"\nport = {db_config.port}\nname = "{db_config.name}"\n'
        f'user = "{db_config.user}"\nsslmode = "disable"\n'
        '[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return path


def test_escalate_once_prints_what_it_escalated(
    clean_db: Engine,
    db_config: DatabaseConfig,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = app.escalation_service(Config(database=db_config), clean_db, clock=Clock(T0))
    ticket = make_ticket(T0)
    create(clean_db, service, ticket)

    at = (T0 + timedelta(minutes=29)).isoformat()
    assert main(["--config", str(config_file), "escalate", "--once", "--now", at]) == 0
    out = capsys.readouterr().out
    assert "escalated TKT" not in out
    assert "examined 0, escalated 0" in out

    at = (T0 + timedelta(minutes=31)).isoformat().replace("+00:00", "Z")
    assert main(["--config", str(config_file), "escalate", "--once", "--now", at]) == 0
    out = capsys.readouterr().out
    assert f"escalated {ticket.ticket_id} supervisor -> supervisor@property.com" in out
    assert f"breached  {ticket.ticket_id} response" in out
    assert "examined 1, escalated 1" in out

    assert main(["--config", str(config_file), "escalate", "--once", "--now", at]) == 0
    assert "examined 0, escalated 0" in capsys.readouterr().out


def test_escalate_refuses_a_time_without_zone(config_file: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(config_file), "escalate", "--once", "--now", "2026-03-04T10:31"])
    assert exc.value.code == 2


def test_tickets_list_breached_due_within_and_show(
    clean_db: Engine,
    db_config: DatabaseConfig,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)  # `tickets list` and a pass without --now use the real clock
    service = app.escalation_service(Config(database=db_config), clean_db, clock=lambda: now)
    late = make_ticket(now - timedelta(minutes=40), urgency="1")  # response due 10 min ago
    soon = make_ticket(now - timedelta(minutes=80), urgency="2")  # response due in 40 min
    calm = make_ticket(now, urgency="3")  # response due in 8 h
    create(clean_db, service, late, soon, calm)
    assert main(["--config", str(config_file), "escalate", "--once"]) == 0
    capsys.readouterr()

    def listed(*options: str) -> list[str]:
        argv = ["--config", str(config_file), "tickets", "list", "--format", "json", *options]
        assert main(argv) == 0
        return [json.loads(line)["ticket_id"] for line in capsys.readouterr().out.splitlines()]

    assert listed("--breached") == [late.ticket_id]
    assert listed("--due-within", "1h") == [soon.ticket_id]
    # Within two days: every open deadline still ahead (late's resolution is due in 3 h 20).
    assert sorted(listed("--due-within", "2d")) == sorted(
        [late.ticket_id, soon.ticket_id, calm.ticket_id]
    )
    assert sorted(listed()) == sorted([late.ticket_id, soon.ticket_id, calm.ticket_id])

    assert main(["--config", str(config_file), "tickets", "show", late.ticket_id]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sla"]["response"]["state"] == "breached"
    assert shown["sla"]["resolution"]["state"] == "open"
    assert [e["rule"] for e in shown["escalations"]] == ["supervisor"]
    assert shown["escalations"][0]["target"] == "supervisor@property.com"


def test_due_within_refuses_a_bad_duration(config_file: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(config_file), "tickets", "list", "--due-within", "soon"])
    assert exc.value.code == 2
