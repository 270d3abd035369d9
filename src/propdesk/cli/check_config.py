"""``propdesk check-config``: validate the file; with --connect, try every peer."""

from __future__ import annotations

import argparse
from typing import Any

from propdesk import app

ORDER = 20


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "check-config",
        help="validate the configuration (and with --connect, reach every server)",
    )
    parser.add_argument(
        "--connect",
        action="store_true",
        help="log in to each mailbox, SMTP and the database and report each line by line",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    print(f"ok: {config.source} is valid ({len(config.mailboxes)} mailbox(es))")
    if not args.connect:
        return 0
    failed = False
    for result in app.probe(config):
        print(result.line())
        failed = failed or not result.ok
    return 1 if failed else 0
