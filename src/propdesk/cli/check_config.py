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
        help="also log in to each mailbox, SMTP and the database (exit 1 when one fails)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """0 all good; 2 a problem in the files or secrets (what ``run`` would exit 2 on, or
    retry for ever); 1 a peer that cannot be reached or used."""
    config = app.load(args.config, log_format=args.log_format)
    print(f"ok: {config.source} is valid ({len(config.mailboxes)} mailbox(es))")
    results = list(app.probe_local(config, secrets=args.connect))
    if args.connect:
        results += list(app.probe(config))
    for result in results:
        print(result.line())
    if any(not r.ok and r.local for r in results):
        return 2
    return 1 if any(not r.ok for r in results) else 0
