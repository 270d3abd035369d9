"""``propdesk migrate``: upgrade the database schema to the newest revision."""

from __future__ import annotations

import argparse
from typing import Any

from propdesk import app

ORDER = 10


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "migrate", help="upgrade the database schema to the newest revision"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    app.migrate(config)
    return 0
