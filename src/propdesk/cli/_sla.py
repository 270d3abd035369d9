"""Escalation and SLA views for ``propdesk tickets list`` and ``tickets show``.

Kept out of ``cli/tickets.py`` (the ingest's module) so that module only needs three calls:
``add_list_options(parser)``, ``list_filters(args, now)`` and ``show_lines(conn, pk, now)``.
The leading underscore keeps the command discovery from treating this as a sub-command.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection

from propdesk.escalation_service import escalation_state, sla_filters

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


def list_filters(args: argparse.Namespace, now: datetime) -> list[ColumnElement[bool]]:
    """WHERE clauses on the ``tickets`` table for the options above (empty when none given)."""
    return sla_filters(
        now,
        breached=bool(getattr(args, "breached", False)),
        due_within=getattr(args, "due_within", None),
    )


def show_lines(conn: Connection, ticket_pk: int, now: datetime) -> list[str]:
    """``tickets show``: the SLA deadlines and every escalation sent, one line each."""
    escalations, states = escalation_state(conn, ticket_pk, now)
    lines = ["SLA:"]
    for s in states:
        due = s.due_at.isoformat() if s.due_at else "-"
        lines.append(f"  {s.kind:<10} due {due}  {s.state}")
    lines.append("Escalations:" if escalations else "Escalations: none")
    for e in escalations:
        outbox = f" (outbox #{e['outbox_id']})" if e["outbox_id"] is not None else ""
        lines.append(f"  {e['escalated_at'].isoformat()}  {e['rule']} -> {e['target']}{outbox}")
    return lines
