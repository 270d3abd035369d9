"""``propdesk report`` over a seeded database gives exactly the hand-computed figures, in every
format (text, JSON, CSV here; HTML and its charts in test_report_html)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from propdesk.cli import main
from propdesk.clock import Clock
from propdesk.config import Config, DatabaseConfig
from propdesk.store.report_export import CSV_COLUMNS
from tests.integration import report_support as seeded
from tests.integration.ingest_support import write_config
from tests.integration.report_support import NOW, SINCE, UNTIL


@pytest.fixture
def config_file(tmp_path: Path, clean_db: Engine, db_config: DatabaseConfig) -> Path:
    seeded.seed(clean_db)
    return write_config(Config(database=db_config), tmp_path / "p.toml")


def report(config_file: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in-process with the seeded clock; (exit code, stdout)."""
    code = main(["--config", str(config_file), "report", *args], clock=Clock(now=lambda: NOW))
    return code, capsys.readouterr().out


def window_json(
    config_file: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    code, out = report(
        config_file, capsys, "--since", SINCE, "--until", UNTIL, "--format", "json", *extra
    )
    assert code == 0
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def test_json_figures_are_the_hand_computed_ones(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = window_json(config_file, capsys)
    assert r["window"]["since"] == "2026-03-14" and r["window"]["until"] == "2026-03-20"
    assert r["summary"] == seeded.EXPECTED_SUMMARY
    assert r["summary"]["p90_resolution_time"] <= r["summary"]["max_resolution_time"]
    assert r["sla"] == seeded.EXPECTED_SLA
    assert r["performance"] == seeded.EXPECTED_PERFORMANCE
    assert r["by_category"] == seeded.EXPECTED_CATEGORY
    assert list(r["by_category"]) == ["Maintenance", "Lease", "Payment"]
    assert r["by_subcategory"] == {"plumbing": 4, "electrical": 1, "hvac": 1}
    assert r["by_urgency"] == {"1": 3, "2": 3, "3": 2}
    assert r["by_status"] == {"Resolved": 4, "New": 2, "Closed": 1, "In Progress": 1}
    assert list(r["trends"]["daily_creation"].values()) == seeded.EXPECTED_DAILY_CREATED
    assert list(r["trends"]["daily_resolved"].values()) == seeded.EXPECTED_DAILY_RESOLVED
    assert r["trends"]["resolution_rates"]["2026-03-17"] == 0.0  # T5 still open
    assert r["trends"]["resolution_rates"]["2026-03-14"] == 1.0
    assert r["backlog"] == seeded.EXPECTED_BACKLOG
    got = [
        (a["assignee"], a["tickets"], a["open_load"], a["resolved"], a["median_resolution_time"])
        for a in r["assignees"]
    ]
    assert got == seeded.EXPECTED_ASSIGNEES
    assert r["recurring_units"] == seeded.EXPECTED_RECURRING


def test_property_and_building_filters_and_absent_ratings(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = window_json(config_file, capsys, "--building", "a")  # case does not matter
    assert a["window"]["building"] == "A"
    assert a["summary"]["total_tickets"] == 4  # T1, T2, T3, T6
    assert a["performance"]["satisfaction_count"] == 2
    b = window_json(config_file, capsys, "--property", "PB01")
    assert b["summary"]["total_tickets"] == 2  # T4, T7
    assert b["performance"]["tenant_satisfaction"] is None  # no ratings: null, not 0
    assert b["performance"]["satisfaction_count"] == 0
    assert b["performance"]["reopen_rate"] == 0.0 and b["recurring_units"] == []


def test_a_ticket_ratings_table_is_read_when_it_exists(
    config_file: Path, capsys: pytest.CaptureFixture[str], clean_db: Engine
) -> None:
    """The conversation feature keeps ratings in ``ticket_ratings`` (migration 0006): read too."""
    with clean_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ticket_ratings (ticket_pk, ticket_id, rating, rated_at, rated_by) "
                "SELECT id, ticket_id, 2, now(), requested_for "
                "FROM tickets WHERE ticket_id IN ('TKT-00000004', 'TKT-00000001')"
            )
        )
    try:
        r = window_json(config_file, capsys)
        # T1: the table's 2 wins over its events; T3 (event 4); T4 (table 2)
        assert r["performance"]["satisfaction_count"] == 3
        assert r["performance"]["tenant_satisfaction"] == round((2 + 4 + 2) / 3, 2)
    finally:
        with clean_db.begin() as conn:
            conn.execute(text("DELETE FROM ticket_ratings"))


def test_text_shows_the_same_figures(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = report(config_file, capsys, "--since", SINCE, "--until", UNTIL)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "report 2026-03-14 .. 2026-03-20 (UTC)"
    assert lines[1] == "tickets: 8 (3 open, 5 resolved or closed, 3 open past an SLA)"
    assert lines[2] == (
        "resolution time (5 resolved): mean 10.4 h, median 6.0 h, p90 22.0 h, max 30.0 h"
    )
    assert lines[3] == "SLA met: resolution 42.9%, first response 50.0%"
    assert lines[4] == "escalated 12.5% (1), reopened 20.0% (1)"
    assert lines[5] == "tenant satisfaction: 4.50 of 5 (2 rated)"
    assert "  urgency 2: response 66.7% of 3, resolution 33.3% of 3" in lines
    assert (
        "backlog (open now, by age): < 1 day 1, 1-3 days 1, 3-7 days 1, 7-30 days 1, > 30 days 0"
        in lines
    )
    assert "  Unit 3B (PA01 building A): 3 repeat(s) in 3 ticket(s)" in lines
    assert "  plumber@property.com  4  3  2  4.0 h" in lines
    assert "  2026-03-14      2      2  100.0%" in lines


def test_default_window_is_the_last_30_days(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = report(config_file, capsys, "--format", "json")
    assert code == 0
    r = json.loads(out)
    assert (r["window"]["since"], r["window"]["until"]) == ("2026-02-19", "2026-03-20")
    assert r["summary"]["total_tickets"] == 9  # T0 too
    assert len(r["trends"]["daily_creation"]) == 30


def test_csv_has_one_row_per_ticket_and_no_formulas(
    config_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "tickets.csv"
    code, _ = report(
        config_file, capsys, "--since", SINCE, "--until", UNTIL, "--format", "csv",
        "--output", str(out_file),
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert len(rows) == 8
    assert list(rows[0]) == list(CSV_COLUMNS)
    by_id = {r["ticket_id"]: r for r in rows}
    assert by_id["TKT-00000002"]["short_description"].startswith("'=HYPERLINK(")
    assert by_id["TKT-00000005"]["short_description"] == "'-5 EUR charged twice"
    assert by_id["TKT-00000006"]["short_description"] == "'+ the sink leaks again"
    assert by_id["TKT-00000007"]["short_description"] == "'@ceiling water coming through"
    assert by_id["TKT-00000001"]["resolved_at"] == "2026-03-14T11:00:00Z"
    assert by_id["TKT-00000001"]["building"] == "A"
    assert by_id["TKT-00000001"]["email_id"] == "<email_123@example.com>"
    assert sum(r["status"] == "Resolved" for r in rows) == 4


def test_bad_window_is_a_usage_error(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--config", str(config_file), "report", "--since", "2026-03-10", "--until", "2026-03-10"],
        clock=Clock(now=lambda: NOW),
    )
    assert code == 2
    assert "empty window" in capsys.readouterr().err
