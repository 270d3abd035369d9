"""``propdesk incidents list|show|merge|split`` on PostgreSQL, through ``cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk import app
from propdesk.cli import main
from propdesk.config import Config, DatabaseConfig
from propdesk.mail.imap import FetchedMessage
from tests.integration.notify_support import NOW
from tests.integration.test_escalation_cli import config_file

__all__ = ["config_file"]  # the fixture, shared

pytestmark = pytest.mark.integration


def report(engine: Engine, config: Config, uid: int, building: str, unit: str) -> str:
    raw = (
        f"From: T{uid} <t{uid}@example.org>\r\nTo: m@property.com\r\nSubject: no power\r\n"
        f"Message-ID: <p{uid}@example.org>\r\n\r\nThere is no power in my apartment, the "
        f"power is out. Building {building}, unit {unit}.\r\n"
    ).encode()
    result = app.ingest_service(config, engine).process(
        "INBOX", 1, FetchedMessage(uid, len(raw), NOW, raw)
    )
    (ticket_id,) = result.ticket_ids
    return ticket_id


def test_list_show_split_merge(
    clean_db: Engine,
    db_config: DatabaseConfig,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Config(database=db_config)
    config = config.model_copy(
        update={"notifications": config.notifications.model_copy(update={"enabled": False})}
    )
    east = [report(clean_db, config, n, "E", f"{n}0{n}") for n in (1, 2, 3)]
    west = [report(clean_db, config, n, "W", f"{n}0{n}") for n in (4, 5)]
    base = ["--config", str(config_file), "incidents"]
    capsys.readouterr()  # the ingest's own log lines

    assert main([*base, "list", "--format", "json"]) == 0
    formed = json.loads(capsys.readouterr().out)
    assert [(r["building"], r["system"], r["tickets"]) for r in formed] == [("E", "power", 3)]
    assert main([*base, "list", "--all", "--format", "json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert sorted(r["building"] for r in every) == ["E", "W"]
    east_ref = f"INC-{formed[0]['id']}"
    west_ref = f"INC-{next(r['id'] for r in every if r['building'] == 'W')}"

    assert main([*base, "show", east_ref]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [t["ticket_id"] for t in shown["tickets"]] == east

    assert main([*base, "split", east_ref, east[2]]) == 0
    capsys.readouterr()
    assert main([*base, "show", east_ref]) == 0
    assert [t["ticket_id"] for t in json.loads(capsys.readouterr().out)["tickets"]] == east[:2]

    assert main([*base, "merge", east_ref, west_ref]) == 0
    capsys.readouterr()
    assert main([*base, "show", east_ref]) == 0
    after = json.loads(capsys.readouterr().out)
    assert sorted(t["ticket_id"] for t in after["tickets"]) == sorted(east[:2] + west)

    assert main([*base, "show", "INC-9999"]) == 1
    assert "no incident INC-9999" in capsys.readouterr().err
