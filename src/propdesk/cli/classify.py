"""``propdesk classify FILE.eml...``: what tickets would these emails become? No config, no DB.

Uses the same parser (``propdesk.mail.parse``) and the same pipeline
(``propdesk.core.pipeline``) as the ingest daemon, with the package's default rules or
``--rules FILE`` (an ops override, replacing whole tables as in the daemon), and the shipped
triage model (``--rules-only`` leaves it out). Each ticket carries ``triage_confidence`` (0-1),
``needs_review``, ``unsure`` (the decisions triage was unsure of) and ``review_reasons`` (each
with the model's answer and probability: ``urgency=2 p=0.62``). ``--format json``
prints one JSON object per input file, one per line, in input order; a file that cannot be read
gives ``{"file": PATH, "error": ...}`` on its line, the others are still processed, and the exit
code is 1.

The time comes from the ``propdesk.clock.Clock`` handed to ``run`` (the system clock by default;
tests pass a fixed one). It only matters for a file without a Date header: no mail server received
it, so "now" stands in for ``received_at`` and decides ``after_hours``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.doubt import review_reasons
from propdesk.core.hours import BusinessHours
from propdesk.core.location import UNIT_NOT_SPECIFIED
from propdesk.core.models import Ticket
from propdesk.core.pipeline import MessageAnalysis, analyse_message
from propdesk.core.rules import Rules, load_rules
from propdesk.mail.parse import parse_message

ORDER = 50


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "classify",
        help="show the tickets some .eml files would become (no config or database needed)",
    )
    parser.add_argument("files", nargs="+", metavar="FILE.eml", help="raw RFC 5322 messages")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (readable explanation, default) or json (one object per file per line)",
    )
    parser.add_argument(
        "--rules", metavar="FILE", type=Path, help="rules override file (replaces whole tables)"
    )
    parser.add_argument(
        "--rules-only",
        action="store_true",
        help="decide by the rules alone, without the triage model (to compare)",
    )
    parser.set_defaults(func=run)


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """The fields of the classify JSON contract for one ticket."""
    meta = ticket.metadata
    return {
        "category": ticket.category.value,
        "subcategory": None if ticket.subcategory is None else ticket.subcategory.value,
        "urgency": ticket.urgency.value,
        "priority": ticket.priority.value,
        "request_type": ticket.request_type.value,
        "unit_number": ticket.unit_number or UNIT_NOT_SPECIFIED,
        "property_id": ticket.property_id,
        "building": meta.building,
        "floor": meta.floor,
        "requires_contractor": meta.requires_contractor,
        "after_hours": meta.after_hours,
        "estimated_cost": meta.estimated_cost.value,
        "assignment_group": ticket.assignment_group,
        "assigned_to": ticket.assigned_to,
        "short_description": ticket.short_description,
        "matched_rules": list(meta.matched_rules),
        "triage_confidence": meta.triage_confidence,
        "needs_review": meta.needs_review,
        "unsure": list(meta.unsure),
        "review_reasons": list(review_reasons(meta.unsure, meta.matched_rules)),
    }


def analyse_file(path: str, rules: Rules, hours: BusinessHours, now: datetime) -> MessageAnalysis:
    """Parse and analyse one file; OSError propagates (the caller reports it per file)."""
    raw = Path(path).read_bytes()
    msg = parse_message(raw)
    # No mail server received it: the Date header (else now) stands in for received_at.
    received_at = msg.date or now
    return analyse_message(
        msg,
        rules=rules,
        business_hours=hours,
        received_at=received_at,
        now=now,
        new_id=secrets.token_bytes,
    )


def _print_text(path: str, result: MessageAnalysis) -> None:
    print(f"== {path}")
    if result.ignored_reason is not None:
        print(f"   no tickets: {result.ignored_reason}")
    for n, ticket in enumerate(result.tickets, 1):
        t = ticket_json(ticket)
        sub = f" / {t['subcategory']}" if t["subcategory"] else ""
        print(
            f"   ticket {n}: {t['category']}{sub}, urgency {t['urgency']}, "
            f"priority {t['priority']}, {t['request_type']}"
        )
        print(f'     "{t["short_description"]}"')
        print(
            f"     {t['unit_number']}, building {t['building'] or '-'}, "
            f"floor {t['floor'] or '-'}, property {t['property_id']}"
        )
        print(
            f"     -> {t['assignment_group']} <{t['assigned_to']}>, contractor "
            f"{'yes' if t['requires_contractor'] else 'no'}, cost {t['estimated_cost']}, "
            f"after hours {'yes' if t['after_hours'] else 'no'}"
        )
        if t["triage_confidence"] is not None:
            review = (
                f", needs review ({'; '.join(t['review_reasons'])})" if t["needs_review"] else ""
            )
            print(f"     triage confidence {t['triage_confidence']:.2f}{review}")
        for rule in t["matched_rules"]:
            print(f"       · {rule}")


def run(args: argparse.Namespace, clock: Clock = SYSTEM_CLOCK) -> int:
    """The command; ``clock`` gives "now" for files without a Date header (see the module doc)."""
    try:
        return _run(args, clock)
    except BrokenPipeError:  # `propdesk classify ... | head`: the reader went away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace, clock: Clock) -> int:
    rules = load_rules(args.rules, model=not args.rules_only)
    hours = BusinessHours()
    now = clock.now()
    failed = False
    for path in args.files:
        try:
            result = analyse_file(path, rules, hours, now)
        except OSError as exc:
            failed = True
            reason = exc.strerror or str(exc)
            if args.format == "json":
                print(json.dumps({"file": path, "error": reason}), flush=True)
            else:
                print(f"== {path}\n   error: {reason}")
            continue
        if args.format == "json":
            obj = {
                "file": path,
                "tickets": [ticket_json(t) for t in result.tickets],
                "ignored": result.ignored_reason,
            }
            print(json.dumps(obj, ensure_ascii=False))
        else:
            _print_text(path, result)
    return 1 if failed else 0
