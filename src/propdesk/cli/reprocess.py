"""``propdesk reprocess [--message ID] [--held]``: run quarantined messages again after a fix,
or release mail the flood limits held (it is then ticketed normally)."""

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
    parser.add_argument(
        "--held",
        action="store_true",
        help="release mail held by the flood limits (outcome held_flood) instead",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = app.load(args.config, log_format=args.log_format)
    eng = app.engine(config)
    pool = app.analysis_pool(config)  # a message that timed out gets the same budget again
    try:
        service = app.ingest_service(config, eng, prepare=app.prepare_in(pool))
        results = service.reprocess(args.message, held=args.held)
    finally:
        pool.close()
        eng.dispose()
    what = "held" if args.held else "quarantined"
    if not results:
        print(f"nothing {what}" if args.message is None else f"message {args.message}: not {what}")
        return 0 if args.message is None else 1
    still = 0
    for r in results:
        tickets = f" {' '.join(r.ticket_ids)}" if r.ticket_ids else ""
        print(
            f"message {r.message_pk}: {r.outcome}{tickets}" + (f" ({r.reason})" if r.reason else "")
        )
        still += r.outcome in ("quarantined", "held_flood")
    return 1 if still else 0
