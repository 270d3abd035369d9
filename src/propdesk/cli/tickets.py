"""``propdesk tickets list|show|attachment``: read tickets straight from the database.

``show``'s JSON carries ``triage_confidence``, ``needs_review`` and ``review_reasons`` (which
decision triage was unsure of, ``urgency=2 p=0.62``) from the ticket's own columns."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from propdesk import app
from propdesk.cli import _sla
from propdesk.core.models import TicketStatus
from propdesk.store import ticket_views as views

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
    ls.add_argument(
        "--needs-review",
        action="store_true",
        help="only tickets triage was unsure of and nobody has checked yet (`tickets review "
        "TKT-... --ok` clears one); review_reasons says which decision was unsure",
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


def run_list(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        rows = views.list_tickets(
            eng,
            args.status,
            now=args.clock.now(),
            breached=bool(getattr(args, "breached", False)),
            due_within=getattr(args, "due_within", None),
            needs_review=bool(getattr(args, "needs_review", False)),
        )
    finally:
        eng.dispose()
    if args.format == "json":
        for t in rows:
            print(json.dumps(t, ensure_ascii=False))
        return 0
    for t in rows:
        print(
            f"{t['ticket_id']}  {t['status']:<11}  U{t['urgency']}  {t['category']:<12}  "
            f"{(t['subcategory'] or '-'):<16}  {t['assigned_to']:<28}  {t['short_description']}"
        )
        if args.needs_review:
            print(f"    unsure: {'; '.join(t['review_reasons']) or '-'}")
    print(f"{len(rows)} ticket(s)", file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        found = views.detail(eng, args.ticket_id)
        if found is None:
            print(f"propdesk: no ticket {args.ticket_id}", file=sys.stderr)
            return 1
        out = {
            "ticket": found.ticket,
            "messages": found.messages,
            "events": found.events,
            "attachments": found.attachments,
            **_sla.show_dict(app.rules(config), eng, found.pk, args.clock.now()),
        }
    finally:
        eng.dispose()
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def run_attachment(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        info, data = views.attachment(eng, args.ticket_id, args.name)
    except LookupError as exc:
        print(f"propdesk: {exc.args[0]}", file=sys.stderr)
        return 1
    finally:
        eng.dispose()
    if data is None:
        print(
            f"propdesk: {args.name!r} was not kept ({info.note or 'over the size limit'})",
            file=sys.stderr,
        )
        return 1
    Path(args.output).write_bytes(data)
    print(f"wrote {len(data)} bytes to {args.output}")
    return 0
