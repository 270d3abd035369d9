"""``propdesk run [--once]``: the daemon (or one pass over every mailbox and task)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from propdesk import app
from propdesk.daemon import signals
from propdesk.daemon.metrics import Metrics
from propdesk.errors import StoreError

ORDER = 30


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="poll the mailboxes and turn new mail into tickets (the main job)",
        description=(
            "Poll every configured mailbox at intervals.poll_seconds and run the periodic "
            "tasks. The first SIGTERM/SIGINT finishes the current message and exits 0; a "
            "second exits at once."
        ),
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="one pass over every mailbox and task, then exit (0 ok, 1 a mailbox or task failed)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    stop = signals.StopFlag()
    restore = signals.install(stop)
    metrics = Metrics()
    if config.metrics.listen and not args.once:
        metrics.serve(config.metrics.listen)
    try:
        daemon = app.daemon(config, stop=stop, metrics=metrics)
    except StoreError as exc:
        restore()
        print(f"propdesk: {exc}", file=sys.stderr)
        return 1
    try:
        if not args.once:
            daemon.loop.run_forever()
            return 0
        report = daemon.loop.run_once()
        for p in report.passes:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(p.counts.items())) or "no new mail"
            if p.status == "locked":
                line = "skipped: locked by another propdesk process"
            elif p.status == "error":
                line = f"FAILED: {p.error}"
            else:
                line = counts
            print(f"mailbox {p.mailbox}: {line}", file=sys.stderr if not p.ok else sys.stdout)
        for err in report.task_errors:
            print(f"task {err}", file=sys.stderr)
        return 0 if report.ok else 1
    finally:
        daemon.close()
        restore()
