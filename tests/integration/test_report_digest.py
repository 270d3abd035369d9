"""The weekly digest: queued through the outbox once per period, also with two daemons, and
delivered to the real SMTP peer with a text part, an HTML part and its charts as cid: PNGs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from propdesk import app
from propdesk.cli import main
from propdesk.clock import Clock
from propdesk.config import DatabaseConfig, parse_config
from propdesk.reports.digest import content_id
from tests.integration import report_support as seeded
from tests.integration.ingest_support import cli
from tests.integration.notify_support import config_data
from tests.stack import SmtpPeer

MANAGERS = ["manager@property.com", "owner@property.com"]
#: Saturday 2026-03-21 09:00 UTC: an hour after the digest's Saturday 08:00 slot.
SATURDAY = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
CHARTS = ("daily", "sla", "category", "assignee", "backlog")


def digest_data(peer: SmtpPeer, db: DatabaseConfig, **report: Any) -> dict[str, Any]:
    data = config_data(peer, db)
    data["report"] = {
        "digest_enabled": True,
        "digest_recipients": MANAGERS,
        "digest_weekday": "sat",
        "digest_hour": 8,
        **report,
    }
    return data


def toml(data: dict[str, Any], path: Path) -> Path:
    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            else:  # numbers, strings and lists of strings are the same in JSON and TOML
                lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def digests(peer: SmtpPeer) -> list[EmailMessage]:
    return [m.message for m in peer.received if "Weekly" in str(m.message["Subject"])]


def outbox_digest_rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT dedupe_key, status FROM outbox WHERE kind = 'report_digest' "
                "ORDER BY dedupe_key"
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_digest_carries_the_seeded_figures_as_text_html_and_png(
    clean_db: Engine,
    db_config: DatabaseConfig,
    smtp_peer: SmtpPeer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeded.seed(clean_db)
    data = digest_data(smtp_peer, db_config, digest_recipients=MANAGERS[:1])
    config = parse_config(data)
    clock = Clock(now=lambda: SATURDAY)
    service = app.digest_service(config, clean_db, clock=clock)
    first = service.run_once()
    assert (first.period, len(first.queued)) == ("2026-03-21", 1)
    assert service.run_once().queued == []  # once per period
    sent = app.outbox_delivery(config, clean_db, clock=clock).run_once()
    assert sent.sent == 1
    (mail,) = digests(smtp_peer)
    assert mail["Subject"] == "Weekly maintenance report 2026-03-14 to 2026-03-20"
    assert mail["To"] == MANAGERS[0]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].startswith("<propdesk.digest.2026-03-21.")

    # The text part is the text report of the same window, read at the digest's 08:00.
    capsys.readouterr()  # the log lines so far
    code = main(
        [
            "--config", str(toml(data, tmp_path / "p.toml")), "report",
            "--since", seeded.SINCE, "--until", seeded.UNTIL,
            "--now", "2026-03-21T08:00:00+00:00",
        ],
        clock=clock,
    )  # fmt: skip
    assert code == 0
    expected_text = capsys.readouterr().out
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n") == expected_text
    assert "tickets: 8 (3 open, 5 resolved or closed" in expected_text
    assert "p90 22.0 h, max 30.0 h" in expected_text

    html = mail.get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert "<svg" not in body and "<script" not in body
    related = mail.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in related.iter_parts()
        if part.get_content_type() == "image/png"
    }
    assert set(images) == {content_id(c) for c in CHARTS}
    for cid, png in images.items():
        assert f'src="cid:{cid}"' in body
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    assert ">8<" in body.replace("<b>", ">").replace("</b>", "<")  # tickets received


def test_two_daemons_send_the_digest_once_per_period(
    clean_db: Engine,
    db_config: DatabaseConfig,
    smtp_peer: SmtpPeer,
    tmp_path: Path,
    config_env: dict[str, str],
) -> None:
    """Two ``propdesk run --once`` processes at the same time, then both again: each manager
    gets this period's digest exactly once (the wall clock: a period always exists)."""
    path = toml(digest_data(smtp_peer, db_config), tmp_path / "p.toml")
    c = ["--config", str(path), "run", "--once"]
    for _ in range(2):
        procs = [
            subprocess.Popen(
                [*cli_argv(c)], env=config_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        for p in procs:
            _out, err = p.communicate(timeout=180)
            assert p.returncode == 0, err.decode()[-3000:]
    rows = outbox_digest_rows(clean_db)
    assert [k.rsplit(":", 1)[1] for k, _ in rows] == sorted(MANAGERS)
    assert {s for _, s in rows} == {"sent"}
    mails = digests(smtp_peer)
    assert sorted(str(m["To"]) for m in mails) == sorted(MANAGERS)
    # One more run: nothing new.
    assert cli(c, config_env).returncode == 0
    assert len(digests(smtp_peer)) == 2


def cli_argv(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "propdesk", *args]


def test_digest_is_off_by_default(clean_db: Engine, db_config: DatabaseConfig) -> None:
    config = parse_config({"database": db_config.model_dump(mode="json", exclude_none=True)})
    assert app.digest_service(config, clean_db).run_once().idle
    assert outbox_digest_rows(clean_db) == []
    daemon = app.daemon(config)
    try:
        assert "digest" in [t.name for t in daemon.loop.tasks]
    finally:
        daemon.close()
