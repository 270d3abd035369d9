"""``propdesk tickets list|show|attachment``: read tickets straight from the database."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from propdesk import app
from propdesk.cli import _sla
from propdesk.core.models import TicketStatus, iso_utc
from propdesk.notify.delivery import utc_now
from propdesk.store import repository as repo
from propdesk.store.tables import TicketRow

ORDER = 50


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("tickets", help="list and inspect tickets")
    tsub = parser.add_subparsers(dest="tickets_command", metavar="ACTION", required=True)

    ls = tsub.add_parser("list", help="tickets, oldest first")
    ls.add_argument("--status", choices=[s.value for s in TicketStatus], help="only this status")
    ls.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="json: one object per line with the spec's ticket fields",
    )
    _sla.add_list_options(ls)
    ls.set_defaults(func=run_list)

    show = tsub.add_parser("show", help="one ticket with its message, events and attachments")
    show.add_argument("ticket_id", metavar="TKT-XXXXXXXX")
    show.set_defaults(func=run_show)

    att = tsub.add_parser("attachment", help="save one attachment of a ticket to a file")
    att.add_argument("ticket_id", metavar="TKT-XXXXXXXX")
    att.add_argument("name", metavar="NAME", help="the attachment's file name")
    att.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it")
    att.set_defaults(func=run_attachment)


def ticket_dict(t: TicketRow) -> dict[str, Any]:
    """The spec's ticket JSON shape (plus SLA deadlines and lifecycle timestamps)."""
    return {
        "ticket_id": t.ticket_id,
        "short_description": t.short_description,
        "description": t.description,
        "category": t.category,
        "subcategory": t.subcategory,
        "request_type": t.request_type,
        "urgency": t.urgency,
        "priority": t.priority,
        "property_id": t.property_id,
        "unit_number": t.unit_number,
        "requested_for": t.requested_for,
        "assignment_group": t.assignment_group,
        "assigned_to": t.assigned_to,
        "status": t.status,
        "created_at": iso_utc(t.created_at),
        "updated_at": iso_utc(t.updated_at),
        "email_id": t.message_id,
        "metadata": t.metadata_,
        "received_at": iso_utc(t.received_at),
        "started_at": iso_utc(t.started_at),
        "resolved_at": iso_utc(t.resolved_at),
        "closed_at": iso_utc(t.closed_at),
        "status_notes": t.status_notes,
        "response_due_at": iso_utc(t.response_due_at),
        "resolution_due_at": iso_utc(t.resolution_due_at),
    }


def run_list(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with app.sessions(eng)() as s:
            rows = repo.list_tickets(s, args.status, _sla.list_filters(args, utc_now()))
            if args.format == "json":
                for t in rows:
                    print(json.dumps(ticket_dict(t), ensure_ascii=False))
                return 0
            for t in rows:
                print(
                    f"{t.ticket_id}  {t.status:<11}  U{t.urgency}  {t.category:<12}  "
                    f"{(t.subcategory or '-'):<16}  {t.assigned_to:<28}  {t.short_description}"
                )
            print(f"{len(rows)} ticket(s)", file=sys.stderr)
    finally:
        eng.dispose()
    return 0


@contextmanager
def _ticket(args: argparse.Namespace) -> Iterator[tuple[Session, TicketRow | None]]:
    """A session and the ticket named on the command line (None, after saying so, if absent)."""
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        with app.sessions(eng)() as s:
            t = repo.find_ticket(s, args.ticket_id.upper())
            if t is None:
                print(f"propdesk: no ticket {args.ticket_id}", file=sys.stderr)
            yield s, t
    finally:
        eng.dispose()


def run_show(args: argparse.Namespace) -> int:
    with _ticket(args) as (s, t):
        if t is None:
            return 1
        out = {
            "ticket": ticket_dict(t),
            "messages": [
                {
                    "id": m.id,
                    "mailbox": m.mailbox,
                    "message_id": m.message_id,
                    "sender": m.sender,
                    "subject": m.subject,
                    "received_at": iso_utc(m.received_at),
                    "outcome": m.outcome,
                    "size": m.size,
                }
                for m in repo.messages_of_ticket(s, t)
            ],
            "events": [
                {"kind": e.kind, "actor": e.actor, "at": iso_utc(e.at), "data": e.data}
                for e in repo.events_of_ticket(s, t)
            ],
            "attachments": [
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "stored": a.stored,
                    "note": a.note,
                }
                for a in repo.attachments_of_ticket(s, t)
            ],
            **_sla.show_dict(args, s.connection(), t.id, utc_now()),
        }
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def run_attachment(args: argparse.Namespace) -> int:
    with _ticket(args) as (s, t):
        if t is None:
            return 1
        infos = [a for a in repo.attachments_of_ticket(s, t) if a.filename == args.name]
        if not infos:
            print(f"propdesk: {t.ticket_id} has no attachment {args.name!r}", file=sys.stderr)
            return 1
        info = infos[0]
        data = repo.attachment_bytes(s, info.sha256) if info.stored else None
    if data is None:
        print(
            f"propdesk: {args.name!r} was not kept ({info.note or 'over the size limit'})",
            file=sys.stderr,
        )
        return 1
    Path(args.output).write_bytes(data)
    print(f"wrote {len(data)} bytes to {args.output}")
    return 0
