"""``propdesk tickets review TKT-… --ok``: staff checked a ticket triage was unsure of.

The ticket leaves ``tickets list --needs-review``; a ``reviewed`` event keeps who, when and the
reasons it had. No mail is sent. To correct a decision first, use ``tickets assign`` or a staff
reply; this only says a person has looked. Joins the ``tickets`` group like ``set-status``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from propdesk import app
from propdesk.cli.ticket_status import _who, tickets_actions
from propdesk.status_service import TicketNotFound

ORDER = 96  # after the module that builds the ``tickets`` group


def register(sub: Any) -> None:
    review = tickets_actions(sub).add_parser(
        "review",
        help="clear the needs-review flag of a ticket triage was unsure of",
        description="See the reasons with `propdesk tickets show TKT-...` (review_reasons).",
    )
    review.add_argument("ticket_id", metavar="TKT-XXXXXXXX")
    review.add_argument(
        "--ok", action="store_true", required=True, help="a person checked its decisions"
    )
    review.add_argument("--note", help="what was checked or corrected (kept on the event)")
    review.add_argument("--by", help="who checked it (default: the login name)")
    review.set_defaults(func=run_review)


def run_review(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    try:
        service = app.status_change_service(config, eng, clock=args.clock)
        reasons = service.mark_reviewed(args.ticket_id, by=_who(args), note=args.note)
    except TicketNotFound as exc:
        print(f"propdesk: {exc}", file=sys.stderr)
        return 1
    finally:
        eng.dispose()
    ticket = args.ticket_id.upper()
    if reasons is None:
        print(f"{ticket}: did not need review (nothing changed)")
    else:
        print(f"{ticket}: reviewed ({'; '.join(reasons) or 'no reasons recorded'})")
    return 0
