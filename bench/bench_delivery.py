"""Delivery throughput: a backlog of outbox rows drained over SMTP, next to raw smtplib.

Fills the outbox with ``--mails`` notification rows (assignee mails and tenant acknowledgements
of distinct tickets, written as ingest writes them), then times the delivery service draining
it to an aiosmtpd peer in its own process. In the same run, and to the same peer, the raw rate:
plain smtplib sending one pre-composed notification ``--mails`` times on one connection (no
database, no composing). Prints both rates, our share of the raw rate, the median of
``--runs`` runs and the load average (the machine is shared: the ratio is the figure).

``--workers N`` sets ``[notifications] delivery_workers``; ``--pipelining`` makes the peer
offer PIPELINING (aiosmtpd does not by default; real relays such as Postfix do).

    PYTHONPATH=src:. python bench/bench_delivery.py [--mails 3000] [--runs 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench_notify import PeerProcess, raw_smtplib_rate, sample_notification
from sqlalchemy import func, select
from tests.stack import create_database, drop_database, truncate_all
from tests.unit.notify_factory import ticket

from propdesk import app
from propdesk.config import parse_config
from propdesk.core.notifications import Source, plan_created
from propdesk.core.rules import load_rules
from propdesk.logging import configure_logging
from propdesk.store import outbox as repo
from propdesk.store.engine import make_engine
from propdesk.store.tables_outbox import outbox


def fill(eng: Any, mails: int) -> int:
    """Write ``mails`` pending rows (two per ticket: assignee + tenant), due now."""
    sla = load_rules().policy.sla
    now = datetime.now(UTC)
    truncate_all(eng)
    with eng.begin() as conn:
        for n in range(1, mails // 2 + 1):
            t = ticket(n, requested_for=f"tenant{n}@example.com")
            repo.add(conn, plan_created([t], Source(f"<m{n}@example.com>"), sla), now, "bench")
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def drain(config: Any, eng: Any, peer: PeerProcess, rows: int) -> float:
    """Mails per second for one delivery drain of ``rows`` due rows."""
    delivery = app.outbox_delivery(config, eng)
    base = peer.count
    start = time.perf_counter()
    sent = 0
    while True:
        stats = delivery.run_once(limit=1_000_000)
        sent += stats.sent
        if not stats.handled:
            break
    peer.wait_for(base + rows)
    elapsed = time.perf_counter() - start
    delivery.close()
    if sent != rows:
        print(f"  warning: {sent} of {rows} rows sent", file=sys.stderr)
    return sent / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pipelining", action="store_true")
    args = parser.parse_args()

    db = create_database("127.0.0.1", 5432)
    peer = PeerProcess(pipelining=args.pipelining).start()
    try:
        config = parse_config(
            {
                "database": db.model_dump(mode="json", exclude_none=True),
                "smtp": {
                    "host": peer.host,
                    "port": peer.port,
                    "tls": "none",
                    "from_address": "tickets@property.com",
                },
                "logging": {"level": "warning"},
                # (only when asked: the same script then measures a checkout before batches)
                "notifications": {"tenant_cap_per_hour": 100_000}
                | ({"delivery_workers": args.workers} if args.workers > 1 else {}),
            }
        )
        configure_logging("warning", "console")
        eng = make_engine(config.database, pooled=True)
        sample = sample_notification(config)
        raw, ours, ratios = [], [], []
        for run in range(args.runs):
            rows = fill(eng, args.mails)
            raw.append(raw_smtplib_rate(peer, sample, rows))
            ours.append(drain(config, eng, peer, rows))
            ratios.append(ours[-1] / raw[-1])
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"run {run + 1}: raw smtplib {raw[-1]:.0f} msg/s, delivery {ours[-1]:.0f} "
                f"mails/s ({rows} rows), ratio {ratios[-1]:.0%}  [load {load}]"
            )
        eng.dispose()
    finally:
        peer.stop()
        drop_database("127.0.0.1", 5432, db.name)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"median of {args.runs}: raw smtplib {statistics.median(raw):.0f} msg/s, delivery "
        f"{statistics.median(ours):.0f} mails/s, ratio {statistics.median(ratios):.0%} "
        f"(workers {args.workers}, pipelining offered: {args.pipelining}) [load {load}]"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
