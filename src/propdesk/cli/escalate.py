"""``propdesk escalate --once [--now ISO]``: run one escalation pass and print what it did."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from propdesk import app

ORDER = 45


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "escalate",
        help="run the escalation and SLA pass once (the daemon runs it periodically)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="run one pass and exit (the only mode; the daemon loop runs it periodically)",
    )
    parser.add_argument(
        "--now",
        metavar="ISO",
        type=_aware,
        help="pretend it is this time, e.g. 2026-11-27T14:00:00Z (default: the real clock)",
    )
    parser.set_defaults(func=run)


def _aware(value: str) -> datetime:
    """An ISO 8601 time with an offset; a naive time is refused rather than guessed."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {value}Z or {value}+01:00")
    return parsed.astimezone(UTC)


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        report = app.escalation_service(config, eng, clock=args.clock).run_pass(args.now)
    finally:
        eng.dispose()
    for e in report.escalated:
        print(f"escalated {e.ticket_id} {e.rule} -> {e.target}")
    for w in report.warned:
        print(f"warned    {w.ticket_id} {w.rule} -> {w.target}")
    for b in report.breached:
        print(f"breached  {b.ticket_id} {b.kind} (deadline {b.breached_at.isoformat()})")
    print(f"pass at {report.now.isoformat()}: {report.summary()}")
    return 0
