"""``propdesk status``: what /metrics and /readyz say, for a person at a terminal."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from propdesk import app

if TYPE_CHECKING:
    from propdesk.store.ops_stats import OpsSnapshot

ORDER = 35


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "status",
        help="the daemon's health and the database's counts (messages, tickets, outbox)",
    )
    parser.set_defaults(func=run)


def _daemon_lines(listen: str) -> tuple[list[str], bool]:
    """/readyz of the running daemon, when ``[metrics] listen`` says where it is."""
    import urllib.error
    import urllib.request

    from propdesk.daemon.health import parse_listen

    if not listen:
        return ["daemon: not checked ([metrics] listen is empty)"], True
    host, port = parse_listen(listen)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        with urllib.request.urlopen(f"http://{where}/readyz", timeout=5) as r:
            body, ok = json.loads(r.read()), True
    except urllib.error.HTTPError as exc:
        body, ok = json.loads(exc.read()), False
    except OSError as exc:
        return [f"daemon: not answering on {where} ({exc})"], False
    lines = [f"daemon: {'ready' if ok else 'NOT READY'} ({where})"]
    lines += [f"  problem: {p}" for p in body.get("problems", [])]
    for name, box in sorted(body.get("mailboxes", {}).items()):
        state = (
            "idling" if box.get("idling") else f"last reached {box.get('last_ok_seconds_ago')}s ago"
        )
        lines.append(
            f"  mailbox {name}: {state}" + (f", error: {box['error']}" if box.get("error") else "")
        )
    return lines, ok


def _counts(label: str, values: dict[Any, int]) -> str:
    parts = [f"{'/'.join(k) if isinstance(k, tuple) else k} {n}" for k, n in sorted(values.items())]
    return f"{label}: {', '.join(parts) or 'none'}"


def _snapshot_lines(snap: OpsSnapshot) -> list[str]:
    return [
        _counts("messages (mailbox/outcome)", snap.messages),
        _counts("tickets (category/urgency)", snap.tickets),
        _counts("tickets by status", snap.ticket_status),
        _counts("notifications", snap.notifications),
        _counts("escalations", snap.escalations),
        _counts("SLA breaches", snap.breaches),
        f"quarantined: {snap.quarantined}",
        f"outbox oldest pending: {round(snap.oldest_pending_seconds)}s",
        *(
            f"mailbox {mb}: newest row {at:%Y-%m-%d %H:%M:%S %Z}"
            for mb, at in sorted(snap.last_recorded.items())
        ),
    ]


def run(args: argparse.Namespace) -> int:
    from propdesk.store.db import reading
    from propdesk.store.ops_stats import snapshot

    config = app.load(args.config, log_format=args.log_format)
    lines, ok = _daemon_lines(config.metrics.listen)
    eng = app.engine(config, pooled=False)
    try:
        with reading(eng) as session:
            lines += _snapshot_lines(snapshot(session, args.clock.now()))
    finally:
        eng.dispose()
    print("\n".join(lines))
    return 0 if ok else 1
