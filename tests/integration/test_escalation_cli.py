"""``propdesk escalate --once [--now ISO]`` and the SLA views of ``propdesk tickets``, run as
subprocesses (as an operator would) against the session database."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk import app
from propdesk.cli import main
from propdesk.clock import Clock as SystemClock
from propdesk.config import Config, DatabaseConfig
from tests.integration.escalation_support import T0, Clock, create, make_ticket
from tests.integration.ingest_support import cli


@pytest.fixture
def run_cli(
    config_file: Path, config_env: dict[str, str]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``propdesk --config FILE ARGS...`` in a subprocess."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(["--config", str(config_file), *args], config_env)

    return run


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
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    service = app.escalation_service(Config(database=db_config), clean_db, clock=Clock(T0).clock)
    ticket = make_ticket(T0)
    create(clean_db, service, ticket)

    at = (T0 + timedelta(minutes=29)).isoformat()
    done = run_cli("escalate", "--once", "--now", at)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "escalated TKT" not in out
    assert "examined 0, escalated 0" in out

    at = (T0 + timedelta(minutes=31)).isoformat().replace("+00:00", "Z")
    done = run_cli("escalate", "--once", "--now", at)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"escalated {ticket.ticket_id} supervisor -> supervisor@property.com" in out
    assert f"breached  {ticket.ticket_id} response" in out
    assert "examined 1, escalated 1" in out

    assert "examined 0, escalated 0" in run_cli("escalate", "--once", "--now", at).stdout


def test_escalate_refuses_a_time_without_zone(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    done = run_cli("escalate", "--once", "--now", "2026-03-04T10:31")
    assert done.returncode == 2
    assert "give a time zone" in done.stderr


def test_tickets_list_breached_due_within_and_show(
    clean_db: Engine,
    db_config: DatabaseConfig,
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    now = datetime.now(UTC)  # `tickets list` and a pass without --now use the real clock
    service = app.escalation_service(
        Config(database=db_config), clean_db, clock=SystemClock(now=lambda: now)
    )
    late = make_ticket(now - timedelta(minutes=40), urgency="1")  # response due 10 min ago
    soon = make_ticket(now - timedelta(minutes=80), urgency="2")  # response due in 40 min
    calm = make_ticket(now, urgency="3")  # response due in 8 h
    create(clean_db, service, late, soon, calm)
    assert run_cli("escalate", "--once").returncode == 0

    def listed(*options: str) -> list[str]:
        done = run_cli("tickets", "list", "--format", "json", *options)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["ticket_id"] for line in done.stdout.splitlines()]

    assert listed("--breached") == [late.ticket_id]
    assert listed("--due-within", "1h") == [soon.ticket_id]
    # Within two days: every open deadline still ahead (late's resolution is due in 3 h 20).
    assert sorted(listed("--due-within", "2d")) == sorted(
        [late.ticket_id, soon.ticket_id, calm.ticket_id]
    )
    assert sorted(listed()) == sorted([late.ticket_id, soon.ticket_id, calm.ticket_id])

    done = run_cli("tickets", "show", late.ticket_id)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["sla"]["response"]["state"] == "breached"
    assert shown["sla"]["resolution"]["state"] == "ok"  # 40 min of a 4 h target
    assert [e["rule"] for e in shown["escalations"]] == ["supervisor"]
    assert shown["escalations"][0]["target"] == "supervisor@property.com"


def test_due_within_refuses_a_bad_duration(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    done = run_cli("tickets", "list", "--due-within", "soon")
    assert done.returncode == 2
    assert "not a duration" in done.stderr


def test_cli_commands_read_the_clock_main_is_given(
    clean_db: Engine,
    db_config: DatabaseConfig,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No --now: ``escalate`` and ``tickets list --due-within`` read ``main``'s clock, not the
    machine's, so a test sets the hour instead of depending on it."""
    service = app.escalation_service(Config(database=db_config), clean_db, clock=Clock(T0).clock)
    ticket = make_ticket(T0, urgency="1")  # response due at T0 + 30 min
    create(clean_db, service, ticket)
    late = SystemClock(now=lambda: T0 + timedelta(minutes=31))

    assert main(["--config", str(config_file), "tickets", "list", "--due-within", "1h"]) == 0
    assert ticket.ticket_id not in capsys.readouterr().out  # at the real time: long past due

    early = SystemClock(now=lambda: T0 + timedelta(minutes=10))
    args = ["--config", str(config_file), "tickets", "list", "--due-within", "30m"]
    assert main(args, clock=early) == 0
    assert ticket.ticket_id in capsys.readouterr().out

    assert main(["--config", str(config_file), "escalate", "--once"], clock=late) == 0
    out = capsys.readouterr().out
    assert f"escalated {ticket.ticket_id} supervisor -> supervisor@property.com" in out
    assert f"pass at {(T0 + timedelta(minutes=31)).isoformat()}" in out
