"""``propdesk reprocess [--message ID]``: run quarantined messages again after a fix."""

from __future__ import annotations

import argparse
from typing import Any

from propdesk import app

ORDER = 40


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "reprocess",
        help="run quarantined messages through ingest again (SLA still from the receive time)",
    )
    parser.add_argument(
        "--message",
        type=int,
        metavar="ID",
        help="only this inbound message id (see `propdesk tickets` / the logs)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    pool = app.analysis_pool(config)  # a message that timed out gets the same budget again
    try:
        service = app.ingest_service(config, eng, prepare=app.prepare_in(pool))
        results = service.reprocess(args.message)
    finally:
        pool.close()
        eng.dispose()
    if not results:
        print(
            "nothing quarantined"
            if args.message is None
            else f"message {args.message}: not quarantined"
        )
        return 0 if args.message is None else 1
    still = 0
    for r in results:
        tickets = f" {' '.join(r.ticket_ids)}" if r.ticket_ids else ""
        print(
            f"message {r.message_pk}: {r.outcome}{tickets}" + (f" ({r.reason})" if r.reason else "")
        )
        still += r.outcome == "quarantined"
    return 1 if still else 0
