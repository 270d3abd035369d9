"""The report's pure parts: its window, the digest's schedule, empty figures, cell safety."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from propdesk.core.report_model import (
    BACKLOG_BUCKETS,
    ReportData,
    build_report,
    digest_key,
    digest_moment,
    report_window,
    restore_order,
)
from propdesk.reports.csv_export import safe_cell
from propdesk.reports.text import render_text

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday


def test_default_window_is_30_days_up_to_today_in_the_business_zone() -> None:
    w = report_window(NOW, "America/New_York")
    days = w.days()
    assert len(days) == 30 and days[-1] == date(2026, 3, 20)
    assert w.since == datetime(2026, 2, 19, 5, 0, tzinfo=UTC)  # midnight EST
    assert w.until == datetime(2026, 3, 21, 4, 0, tzinfo=UTC)  # midnight EDT (DST on 03-08)


def test_window_refuses_to_be_empty_but_a_future_since_is_one_empty_day() -> None:
    with pytest.raises(ValueError, match="empty window"):
        report_window(NOW, "UTC", since=date(2026, 3, 5), until=date(2026, 3, 5))
    assert report_window(NOW, "UTC", since=date(2026, 4, 1)).days() == [date(2026, 4, 1)]


def test_empty_report_invents_no_figures() -> None:
    r = build_report(ReportData(report_window(NOW, "UTC", since=date(2026, 3, 20))))
    assert r["summary"]["total_tickets"] == 0
    assert r["summary"]["p90_resolution_time"] is None
    assert r["performance"]["sla_compliance"] is None
    assert r["performance"]["reopen_rate"] is None
    assert r["performance"]["tenant_satisfaction"] is None
    assert r["performance"]["satisfaction_count"] == 0
    assert list(r["backlog"]) == [label for label, _ in BACKLOG_BUCKETS]
    assert r["trends"]["daily_creation"] == {"2026-03-20": 0}
    assert "tenant satisfaction: n/a (no ratings yet) (0 rated)" in render_text(r)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 23, 7, 59, tzinfo=UTC), datetime(2026, 3, 16, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 23, 8, 0, tzinfo=UTC), datetime(2026, 3, 23, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 26, 20, 0, tzinfo=UTC), datetime(2026, 3, 23, 8, 0, tzinfo=UTC)),
    ],
)
def test_digest_period_is_the_latest_slot(now: datetime, expected: datetime) -> None:
    assert digest_moment(now, "UTC", "mon", 8) == expected


def test_digest_slot_is_local_time_across_dst() -> None:
    # Berlin: 08:00 is 07:00 UTC in winter and 06:00 UTC in summer (DST from 2026-03-29).
    assert digest_moment(datetime(2026, 3, 24, tzinfo=UTC), "Europe/Berlin", "mon", 8) == (
        datetime(2026, 3, 23, 7, 0, tzinfo=UTC)
    )
    assert digest_moment(datetime(2026, 3, 31, tzinfo=UTC), "Europe/Berlin", "mon", 8) == (
        datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    )
    moment = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert digest_key(moment, "Europe/Berlin", " Boss@X.org ") == "digest:2026-03-30:boss@x.org"


def test_restore_order_undoes_a_store_that_sorts_keys() -> None:
    r = build_report(ReportData(report_window(NOW, "UTC", since=date(2026, 3, 19))))
    r["by_category"] = {"Lease": 1, "Payment": 1, "Maintenance": 6}
    r["backlog"] = dict(sorted(r["backlog"].items()))
    again = restore_order(r)
    assert list(again["by_category"]) == ["Maintenance", "Lease", "Payment"]
    assert list(again["backlog"]) == [label for label, _ in BACKLOG_BUCKETS]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1 555", "'+1 555"),
        ("-5 EUR", "'-5 EUR"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Leak in 3B", "Leak in 3B"),
        (None, ""),
        (True, "true"),
    ],
)
def test_csv_cells_never_run_as_formulas(value: object, cell: str) -> None:
    assert safe_cell(value) == cell
