"""``propdesk run [--once]``: the daemon (or one pass over every mailbox and task)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from propdesk import app
from propdesk.daemon import signals
from propdesk.daemon.loop import TurnReport
from propdesk.daemon.metrics import Metrics
from propdesk.daemon.startup import wait_for_database
from propdesk.errors import StoreError

ORDER = 30


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="poll the mailboxes and turn new mail into tickets (the main job)",
        description=(
            "Poll every configured mailbox at intervals.poll_seconds and run the periodic "
            "tasks; with IMAP IDLE (where offered) new mail is handled as it arrives. The "
            "first SIGTERM finishes the current message and exits 0 (SIGINT: 130); a second "
            "signal exits at once."
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
    clock = app.clock()
    try:
        supervised = app.supervision(config, metrics, serve=not args.once, clock=clock)
    except BaseException:
        restore()
        raise
    try:
        daemon = wait_for_database(
            lambda: app.daemon(
                config, stop=stop, metrics=metrics, clock=clock, supervised=supervised
            ),
            wait_seconds=0 if args.once else config.startup.database_wait_seconds,
            stop=stop,
            notifier=supervised.notifier,
            clock=clock,
        )
    except StoreError as exc:
        supervised.close()
        restore()
        print(f"propdesk: {exc}", file=sys.stderr)
        return 1
    if daemon is None:  # stopped while waiting for the database
        supervised.close()
        restore()
        return stop.exit_code()
    try:
        if not args.once:
            daemon.warm_up()  # the first mail must not wait for the workers' start
            daemon.loop.run_forever()
            supervised.notifier.stopping("stopped")
            return stop.exit_code()
        return _report_once(daemon.loop.run_once())
    finally:
        daemon.close()
        supervised.close()
        restore()


def _report_once(report: TurnReport) -> int:
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
