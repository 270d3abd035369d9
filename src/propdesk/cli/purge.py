"""``propdesk purge [--dry-run]``: retention for tenants' privacy (see ``store.purge``)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from propdesk import app
from propdesk.errors import ConfigError

ORDER = 75


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "purge",
        help="clear raw mail, attachments and phone numbers of tickets closed long ago",
    )
    parser.add_argument(
        "--closed-days",
        type=int,
        metavar="N",
        help="tickets closed more than N days ago (default: [retention] closed_days)",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from propdesk.core.notes import redact_phones
    from propdesk.store.db import transaction
    from propdesk.store.purge import purge

    config = app.load(args.config, log_format=args.log_format)
    days = args.closed_days if args.closed_days is not None else config.retention.closed_days
    if days is None:
        raise ConfigError("purge: set [retention] closed_days or pass --closed-days N")
    cutoff = args.clock.now() - timedelta(days=days)
    eng = app.engine(config, pooled=False)
    try:
        with transaction(eng) as session:
            report = purge(session, cutoff, redact_phones, dry_run=args.dry_run)
    finally:
        eng.dispose()
    head = "would purge" if args.dry_run else "purged"
    print(f"{head} (tickets closed before {cutoff:%Y-%m-%d %H:%M %Z}):")
    for line in report.lines():
        print(f"  {line}")
    return 0
