"""``propdesk incidents list|show|merge|split|set-status``: several units' tickets about one
building system, linked (``propdesk.incident_service``)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from propdesk import app
from propdesk.cli.ticket_status import _status
from propdesk.core.lifecycle import InvalidTransition

ORDER = 96


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "incidents", help="tickets of several units about one building system, linked"
    )
    actions = parser.add_subparsers(dest="incidents_action", metavar="ACTION")
    listing = actions.add_parser("list", help="formed incidents, newest first")
    listing.add_argument("--all", action="store_true", help="forming ones (one unit so far) too")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one incident and its tickets (JSON)")
    show.add_argument("ref", metavar="INC-N")
    show.set_defaults(func=run_show)
    merge = actions.add_parser("merge", help="move every ticket of SOURCE into TARGET")
    merge.add_argument("target", metavar="TARGET")
    merge.add_argument("source", metavar="SOURCE")
    merge.set_defaults(func=run_merge)
    split = actions.add_parser("split", help="take tickets out of an incident (own handling again)")
    split.add_argument("ref", metavar="INC-N")
    split.add_argument("ticket_ids", nargs="+", metavar="TKT-XXXXXXXX")
    split.set_defaults(func=run_split)
    status = actions.add_parser(
        "set-status", help="move every linked ticket (each tenant gets its ticket's mail)"
    )
    status.add_argument("ref", metavar="INC-N")
    status.add_argument("status", type=_status, metavar="STATUS")
    status.add_argument("--note", help="a note for the tickets (shown to the tenants)")
    status.add_argument("--by", help="who made the change (default: the login name)")
    status.set_defaults(func=run_set_status)
    parser.set_defaults(func=run_list, all=False, format="table")


def _iso(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else value


def _run(args: argparse.Namespace, action: Any) -> int:
    from propdesk.incident_service import IncidentNotFound

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        return int(action(app.incident_service(config, eng, clock=args.clock)))
    except (IncidentNotFound, InvalidTransition) as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return 1
    finally:
        eng.dispose()


def run_list(args: argparse.Namespace) -> int:
    def action(service: Any) -> int:
        rows = service.listing(include_forming=args.all)
        if args.format == "json":
            json.dump([{k: _iso(v) for k, v in r.items()} for r in rows], sys.stdout, indent=2)
            print()
            return 0
        print(f"{'INCIDENT':10}  {'STATUS':8}  {'BUILDING':10}  {'SYSTEM':12}  TICKETS  SINCE")
        for r in rows:
            print(
                f"{'INC-' + str(r['id']):10}  {r['status']:8}  {r['building'][:10]:10}  "
                f"{r['system']:12}  {r['tickets']:>7}  {r['first_received_at']:%Y-%m-%d %H:%M}Z"
            )
        return 0

    return _run(args, action)


def run_show(args: argparse.Namespace) -> int:
    def action(service: Any) -> int:
        shown = service.show(args.ref)
        json.dump({k: _iso(v) for k, v in shown.items()}, sys.stdout, indent=2)
        print()
        return 0

    return _run(args, action)


def run_merge(args: argparse.Namespace) -> int:
    def action(service: Any) -> int:
        moved = service.merge(args.target, args.source)
        print(f"{args.source} -> {args.target}: {moved} ticket(s) moved")
        return 0

    return _run(args, action)


def run_split(args: argparse.Namespace) -> int:
    def action(service: Any) -> int:
        out = service.split(args.ref, [t.upper() for t in args.ticket_ids])
        print(f"{args.ref}: {out} ticket(s) taken out")
        return 0

    return _run(args, action)


def run_set_status(args: argparse.Namespace) -> int:
    who = str(args.by) if args.by else f"cli:{getpass.getuser()}"

    def action(service: Any) -> int:
        moved = service.set_status(args.ref, args.status, by=who, note=args.note)
        print(f"{args.ref}: {len(moved)} ticket(s) -> {args.status.value}")
        return 0

    return _run(args, action)
