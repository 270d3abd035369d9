"""``propdesk tickets set-status TKT-… STATUS`` and ``propdesk tickets assign TKT-… ADDRESS``.

These join the ``tickets`` group owned by ``propdesk.cli.tickets`` (listing/showing): this module
registers after it (higher ORDER) and adds its sub-commands to the group's sub-parsers; when the
group does not exist yet it creates it, so either module works alone.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from propdesk import app
from propdesk.core.lifecycle import InvalidTransition
from propdesk.core.models import TicketStatus

ORDER = 95  # after the module that builds the ``tickets`` group

STATUS_NAMES = {s.value.lower().replace(" ", "-"): s for s in TicketStatus}


def _status(value: str) -> TicketStatus:
    key = value.strip().lower().replace(" ", "-").replace("_", "-")
    if key not in STATUS_NAMES:
        choices = ", ".join(s.value for s in TicketStatus)
        raise argparse.ArgumentTypeError(f"unknown status {value!r} (one of: {choices})")
    return STATUS_NAMES[key]


def tickets_actions(sub: Any) -> Any:
    """The ``tickets`` group's sub-parsers, creating the group when nobody has yet."""
    group: argparse.ArgumentParser | None = sub.choices.get("tickets")
    if group is None:
        group = sub.add_parser("tickets", help="look at and work on tickets")
        return group.add_subparsers(dest="tickets_action", metavar="ACTION")
    for action in group._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return group.add_subparsers(dest="tickets_action", metavar="ACTION")


def register(sub: Any) -> None:
    actions = tickets_actions(sub)
    status = actions.add_parser(
        "set-status",
        help="move a ticket to another status (notifies the tenant)",
        description="Statuses: New, In Progress (or in-progress), Pending, Resolved, Closed.",
    )
    status.add_argument("ticket_id", metavar="TKT-XXXXXXXX")
    status.add_argument("status", type=_status, metavar="STATUS")
    status.add_argument("--note", help="a note for the ticket (shown to the tenant)")
    status.add_argument("--by", help="who made the change (default: the login name)")
    status.set_defaults(func=run_set_status)

    assign = actions.add_parser("assign", help="give a ticket to another assignee (notifies them)")
    assign.add_argument("ticket_id", metavar="TKT-XXXXXXXX")
    assign.add_argument("address", metavar="ADDRESS")
    assign.add_argument("--by", help="who made the change (default: the login name)")
    assign.set_defaults(func=run_assign)


def _who(args: argparse.Namespace) -> str:
    return str(args.by) if args.by else f"cli:{getpass.getuser()}"


def run_set_status(args: argparse.Namespace) -> int:
    from propdesk.status_service import TicketNotFound

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        service = app.status_change_service(config, eng, clock=args.clock)
        result = service.set_status(args.ticket_id, args.status, by=_who(args), note=args.note)
    except (InvalidTransition, TicketNotFound) as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return 1
    finally:
        eng.dispose()
    mails = len(result.queued)
    print(
        f"{result.ticket.ticket_id}: {result.previous} -> {result.ticket.status.value}"
        f" ({mails} notification{'s' if mails != 1 else ''} queued)"
    )
    return 0


def run_assign(args: argparse.Namespace) -> int:
    from propdesk.status_service import BadAddress, TicketNotFound

    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        service = app.status_change_service(config, eng, clock=args.clock)
        result = service.assign(args.ticket_id, args.address, by=_who(args))
    except (TicketNotFound, BadAddress) as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return 1
    finally:
        eng.dispose()
    print(f"{result.ticket.ticket_id}: assigned {result.previous} -> {result.ticket.assigned_to}")
    return 0
