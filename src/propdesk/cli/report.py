"""``propdesk report``: the analytics report over the tickets in the database."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from propdesk import app
from propdesk.clock import Clock
from propdesk.core.analytics import summarise
from propdesk.errors import ConfigError
from propdesk.store.db import reading
from propdesk.store.reporting import escalated_ticket_ids, iter_tickets

ORDER = 70


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report", help="analytics: volumes, categories, assignees, resolution times, SLA"
    )
    parser.add_argument(
        "--since", metavar="DATE", help="tickets received on or after this day (business time)"
    )
    parser.add_argument(
        "--until", metavar="DATE", help="tickets received before this day (business time)"
    )
    parser.add_argument(
        "--now", metavar="ISO", help="evaluate SLA clocks at this moment (default: now)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def _day_start(value: str | None, zone: ZoneInfo, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--{name}: expected a date like 2026-01-31 (got {value!r})") from None
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


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


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    zone = ZoneInfo(config.business_hours.timezone)
    since = _day_start(args.since, zone, "since")
    until = _day_start(args.until, zone, "until")
    now = _now(args.now, args.clock)
    policy = app.rules(config).policy
    eng = app.engine(config)
    try:
        with reading(eng) as session:
            escalated = escalated_ticket_ids(session, since, until)
            report = summarise(
                iter_tickets(session, since, until),
                policy,
                now,
                escalated_ids=escalated,
                tz=zone,
            ).to_dict()
    finally:
        eng.dispose()
    if args.format == "json":
        print(json.dumps(report, sort_keys=False))
    else:
        _print_text(report)
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _hours(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} h"


def _print_text(report: dict[str, Any]) -> None:
    s, perf = report["summary"], report["performance"]
    print(
        f"tickets: {s['total_tickets']} ({s['open_tickets']} open, "
        f"{s['closed_tickets']} resolved or closed, {s['open_breached']} open past an SLA)"
    )
    print(
        f"resolution time: mean {_hours(s['avg_resolution_time'] or None)}, "
        f"median {_hours(s['median_resolution_time'])}, p90 {_hours(s['p90_resolution_time'])}"
    )
    print(
        f"SLA met: resolution {_pct(perf['sla_compliance'])}, "
        f"first response {_pct(perf['response_sla_compliance'])}; "
        f"escalated {_pct(perf['escalation_rate'])}"
    )
    for title, key in (
        ("by category", "by_category"),
        ("by subcategory", "by_subcategory"),
        ("by urgency", "by_urgency"),
        ("by status", "by_status"),
        ("by assignee", "by_assignee"),
    ):
        counts = report[key]
        if counts:
            print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    daily = report["trends"]["daily_creation"]
    if daily:
        print("per day (received, share resolved):")
        for day, n in daily.items():
            print(f"  {day}  {n:5d}  {_pct(report['trends']['resolution_rates'][day])}")
