"""Escalation and SLA views for ``propdesk tickets list`` and ``tickets show``.

Kept out of ``cli/tickets.py`` (the ingest's module) so that module only needs two calls:
``add_list_options(parser)`` and ``show_dict(rules, db, pk, now)``; the filters themselves are
``propdesk.store.escalations.sla_filters``.
The leading underscore keeps the command discovery from treating this as a sub-command.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from propdesk.core.rules import Rules
    from propdesk.store.db import Database

_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?$")


def parse_duration(value: str) -> timedelta:
    """``1h``, ``90m``, ``2d``, ``1h30m``: a positive duration for ``--due-within``."""
    match = _DURATION_RE.match(value.strip().lower())
    if not value.strip() or match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {value!r} (use e.g. 1h, 90m, 2d, 1h30m)")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    if span <= timedelta(0):
        raise argparse.ArgumentTypeError(f"--due-within must be positive, got {value!r}")
    return span


def add_list_options(parser: argparse.ArgumentParser) -> None:
    """``--breached`` and ``--due-within D`` for ``tickets list``."""
    parser.add_argument(
        "--breached",
        action="store_true",
        help="only tickets with a recorded SLA breach (response or resolution)",
    )
    parser.add_argument(
        "--due-within",
        metavar="DURATION",
        type=parse_duration,
        help="only open tickets whose next SLA deadline falls within DURATION (e.g. 1h, 30m)",
    )


def show_dict(rules: Rules, db: Database, ticket_pk: int, now: datetime) -> dict[str, Any]:
    """``tickets show``: each SLA clock with its state at ``now`` (a breach recorded by a pass
    stays breached), and every escalation sent."""
    from propdesk.core.escalation import sla_clocks
    from propdesk.core.models import iso_utc
    from propdesk.store import escalations
    from propdesk.store.db import reading

    with reading(db) as session:
        sent, state = escalations.history(session, ticket_pk)
    states = sla_clocks(state.ticket, rules.policy, now, state.breached)
    return {
        "sla": {s.kind: {"due_at": iso_utc(s.due_at), "state": s.state} for s in states},
        "escalations": [
            {
                "rule": e["rule"],
                "target": e["target"],
                "due_at": iso_utc(e["due_at"]),
                "escalated_at": iso_utc(e["escalated_at"]),
                "outbox_id": e["outbox_id"],
            }
            for e in sent
        ],
    }
