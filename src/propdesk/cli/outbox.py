"""``propdesk outbox``: list notification emails by status; ``outbox retry ID`` re-queues one."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from propdesk import app
from propdesk.store.outbox_statuses import OUTBOX_STATUSES

ORDER = 60


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "outbox", help="list notification emails (pending, sent, dead, suppressed, bounced)"
    )
    parser.add_argument("--status", choices=OUTBOX_STATUSES, help="only rows with this status")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--limit", type=int, default=200, help="newest N rows (default 200)")
    actions = parser.add_subparsers(dest="outbox_action", metavar="ACTION")
    retry = actions.add_parser("retry", help="send a dead/suppressed/bounced row again now")
    retry.add_argument("id", type=int, help="the outbox row id")
    retry.set_defaults(func=run_retry)
    send = actions.add_parser("send", help="deliver due rows now (one pass, as the daemon does)")
    send.add_argument("--limit", type=int, default=None, help="at most N rows")
    send.set_defaults(func=run_send)
    parser.set_defaults(func=run_list)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = (
            value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else value
        )
    return out


def run_list(args: argparse.Namespace) -> int:
    from propdesk.store import outbox as repo
    from propdesk.store.db import reading

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with reading(eng) as session:
            rows = repo.listing(session, args.status, args.limit)
            counts = repo.counts(session)
    finally:
        eng.dispose()
    if args.format == "json":
        json.dump([_json_row(r) for r in rows], sys.stdout, indent=2)
        print()
        return 0
    print(f"{'ID':>6}  {'STATUS':10}  {'KIND':22}  {'TO':32}  {'TICKETS':26}  TRIES  NOTE")
    for r in rows:
        note = r["last_error"] or ""
        if r["status"] == "pending" and r["attempts"]:
            note = f"next {r['next_attempt_at']:%Y-%m-%d %H:%M:%S}Z; {note}"
        print(
            f"{r['id']:>6}  {r['status']:10}  {r['kind']:22}  {r['recipient'][:32]:32}  "
            f"{' '.join(r['ticket_ids'])[:26]:26}  {r['attempts']:>5}  {note[:80]}"
        )
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "empty"
    print(f"-- outbox: {summary}")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from propdesk.store import outbox as repo
    from propdesk.store.db import transaction

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with transaction(eng) as tx:
            before = repo.retry(tx, args.id, args.clock.now())
    finally:
        eng.dispose()
    if before is None:
        print(f"propdesk: no outbox row {args.id}", file=sys.stderr)
        return 1
    if before == "sent":
        print(
            f"propdesk: outbox row {args.id} was already sent; not sending it twice",
            file=sys.stderr,
        )
        return 1
    print(f"outbox row {args.id}: {before} -> pending (due now)")
    return 0


def run_send(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        delivery = app.outbox_delivery(config, eng, clock=args.clock)
        try:
            stats = delivery.run_once(limit=args.limit)
        finally:
            delivery.close()
    finally:
        eng.dispose()
    print(
        f"sent {stats.sent}, retry later {stats.retry}, dead {stats.dead}, "
        f"suppressed {stats.suppressed}"
        + (" (SMTP unreachable: stopped)" if stats.stopped_early else "")
    )
    return 1 if stats.stopped_early else 0
