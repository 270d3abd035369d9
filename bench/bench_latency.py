"""Bench: append -> ticket committed latency with IMAP IDLE, the default config.

A ``propdesk run`` process (the default config: poll every 30 s, IDLE on, /metrics served)
watches a fresh Dovecot user and a fresh database. 200 tenant emails are APPENDed one every
100 ms over one IMAP connection; each append's wall time is kept by Message-ID. Latency is the
ticket row's ``created_at`` (the daemon's clock, taken in the transaction just before COMMIT)
minus the append's start. Prints p50, p90, p99 and max with the load average before and after.

    PYTHONPATH=src:. python bench/bench_latency.py [--emails 200] [--every 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.integration.ingest_support import tenant_mail
from tests.stack import Dovecot, SmtpPeer, create_database, drop_database, free_port
from tests.stack.configfile import write_config
from tests.stack.postgres import SHARED_HOST, SHARED_PORT

from propdesk.config import Config, MetricsConfig
from propdesk.store.engine import make_engine
from propdesk.store.tables import InboundMessageRow, MessageTicketRow, TicketRow

REPO = Path(__file__).resolve().parents[1]


def committed(config: Config) -> dict[str, datetime]:
    """Message-ID -> its ticket's created_at."""
    engine = make_engine(config.database, pooled=False)
    try:
        with Session(engine) as s:
            rows = s.execute(
                select(InboundMessageRow.message_id, TicketRow.created_at)
                .join(MessageTicketRow, MessageTicketRow.inbound_message_id == InboundMessageRow.id)
                .join(TicketRow, TicketRow.id == MessageTicketRow.ticket_pk)
            )
            return {str(mid): at for mid, at in rows}
    finally:
        engine.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--every", type=float, default=0.1, help="seconds between appends")
    parser.add_argument(
        "--mailboxes", type=int, default=1, help="mailboxes watched by the one daemon (round robin)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    with Dovecot() as dovecot, SmtpPeer() as smtp:
        users = [dovecot.add_user() for _ in range(args.mailboxes)]
        db = create_database(SHARED_HOST, SHARED_PORT)
        workdir = Path(tempfile.mkdtemp(prefix="propdesk-bench-"))
        boxes = [dovecot.mailbox_config(u, name=f"mb{i}") for i, u in enumerate(users)]
        # The defaults, with /metrics served as by default on loopback, on a port of its own
        # (another bench or daemon of this machine may hold 9464).
        metrics = MetricsConfig(listen=f"127.0.0.1:{free_port()}")
        config = Config(database=db, mailboxes=boxes, smtp=smtp.smtp_config(), metrics=metrics)
        path = write_config(workdir / "propdesk.toml", config)
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        with (workdir / "daemon.log").open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "propdesk", "--config", str(path), "run"],
                env=env, stdout=log, stderr=log, cwd=REPO,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while '"daemon.started"' not in (workdir / "daemon.log").read_text():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the daemon did not start; see " + str(workdir / "daemon.log"))
                time.sleep(0.1)
            time.sleep(2 + 0.1 * args.mailboxes)  # the watchers log in and idle
            appended: dict[str, datetime] = {}
            with ExitStack() as stack:
                clients = [stack.enter_context(dovecot.client(u)) for u in users]
                next_at = time.monotonic()
                for n in range(args.emails):
                    raw = tenant_mail(n)
                    mid = str(message_from_bytes(raw)["Message-ID"])
                    time.sleep(max(0.0, next_at - time.monotonic()))
                    appended[mid] = datetime.now(UTC)
                    clients[n % len(clients)].append("INBOX", raw)
                    next_at += args.every
            deadline = time.monotonic() + 120
            while len(done := committed(config)) < args.emails:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {len(done)} of {args.emails} ticketed in 120 s")
                time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(60)
            drop_database(SHARED_HOST, SHARED_PORT, db.name)
    lat = [(done[mid] - at).total_seconds() for mid, at in appended.items()]
    result = {
        "emails": args.emails,
        "every_seconds": args.every,
        "mailboxes": args.mailboxes,
        "p50_seconds": round(statistics.median(lat), 3),
        "p90_seconds": round(percentile(lat, 90), 3),
        "p99_seconds": round(percentile(lat, 99), 3),
        "max_seconds": round(max(lat), 3),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
