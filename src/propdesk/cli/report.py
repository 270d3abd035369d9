"""``propdesk report``: the figures of a window of tickets, as text, JSON, HTML or CSV.

Every figure is aggregated by PostgreSQL (``propdesk.store.report_queries``), laid out by the
core (``propdesk.core.report_model``) and rendered by ``propdesk.reports``; the CSV export is
the window's tickets, one row each.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from propdesk import app
from propdesk.errors import ConfigError

if TYPE_CHECKING:
    from propdesk.clock import Clock

ORDER = 70
FORMATS = ("text", "json", "html", "csv")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="figures of the last 30 days (or --since/--until): volumes, SLA, backlog, ...",
    )
    parser.add_argument(
        "--since", metavar="DATE", help="tickets received on or after this day (business time)"
    )
    parser.add_argument(
        "--until", metavar="DATE", help="tickets received before this day (business time)"
    )
    parser.add_argument("--property", metavar="P", help="only this property id (e.g. P3B0)")
    parser.add_argument("--building", metavar="B", help="only this building (e.g. A)")
    parser.add_argument(
        "--now", metavar="ISO", help="evaluate SLA clocks and ages at this moment (default: now)"
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.set_defaults(func=run)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--{name}: expected a date like 2026-01-31 (got {value!r})") from None


def _now(value: str | None, clock: Clock) -> datetime:
    if value is None:
        return clock.now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--now: expected an ISO time (got {value!r})") from None
    if parsed.tzinfo is None:
        raise ConfigError("--now: give a time zone, e.g. 2026-01-31T09:00:00+00:00")
    return parsed.astimezone(UTC)


def _out(path: str | None) -> AbstractContextManager[TextIO]:
    if path is None:
        return nullcontext(sys.stdout)
    try:
        return Path(path).open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {path}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    # What a format needs loads when it is asked for: matplotlib only for HTML, and neither
    # the daemon nor the triage model for any of them (see ``propdesk.app.reporting``).
    from propdesk.core.report_model import report_window

    config = app.load(args.config, log_format=args.log_format)
    try:
        window = report_window(
            _now(args.now, args.clock),
            config.business_hours.timezone,
            since=_day(args.since, "since"),
            until=_day(args.until, "until"),
            property_id=args.property,
            building=args.building,
        )
    except ValueError as exc:
        raise ConfigError(f"--since/--until: {exc}") from None
    eng = app.engine(config)
    try:
        if args.format == "csv":
            from propdesk.reports.csv_export import write_csv
            from propdesk.store.report_export import CSV_COLUMNS, export_rows

            with _out(args.output) as out:
                write_csv(out, CSV_COLUMNS, export_rows(eng, window))
            return 0
        report = app.report(config, eng, window)
    finally:
        eng.dispose()
    with _out(args.output) as out:
        if args.format == "json":
            out.write(json.dumps(report) + "\n")
        elif args.format == "html":
            from propdesk.reports.html import render_html

            out.write(render_html(report))
        else:
            from propdesk.reports.text import render_text

            out.write(render_text(report))
    return 0
