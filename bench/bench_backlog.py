"""Bench: a backlog of 10,000 (or 100,000) mails through the daemon, ingest and end to end.

Per run: a fresh Dovecot user and database; the mails (the tenant corpus cycled, each with its
own Message-ID and sender, so no flood limit holds them) are seeded with MULTIAPPEND before any
timing. Then, timed:
- **ingest**: the daemon's mailbox passes (IMAP search/fetch by UID sets, parse + analysis in
  the worker pool, one transaction per batch with the notification and escalation hooks, MOVE
  by UID sets) until the inbox is empty;
- **end to end**: ingest plus the outbox delivery task until every notification is at the
  aiosmtpd peer (its own process).
For each: emails/s and CPU-seconds per 1,000 mails (ours: the daemon process and its analysis
workers; PostgreSQL and Dovecot are not counted), and the peak RSS of the daemon process (reset
before each run) and of its largest worker. The raw smtplib -> aiosmtpd rate is measured in the
same run, as the ceiling for delivery.

``--fixed-analysis`` replaces parse-time analysis by a fixed one-ticket result (in process, no
pool): the I/O path alone. Prints one JSON line with the medians and every run.

    PYTHONPATH=src:. .venv/bin/python bench/bench_backlog.py [--emails 10000] [--runs 3]
        [--fixed-analysis] [--no-e2e]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.bench_notify import PeerProcess, raw_smtplib_rate, sample_notification
from sqlalchemy import func, select
from tests.integration.ingest_support import outcomes
from tests.stack import Dovecot, create_database, drop_database
from tests.stack.postgres import SHARED_HOST, SHARED_PORT

from propdesk import app
from propdesk.config import Config, SmtpConfig
from propdesk.core.build import build_ticket
from propdesk.core.message import InboundMessage
from propdesk.core.models import Category, Subcategory, Urgency
from propdesk.ingest import Analyse, Analysis
from propdesk.logging import configure_logging
from propdesk.store.tables_outbox import outbox

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tenant" / "emails"
_TICKS = os.sysconf("SC_CLK_TCK")


def emails(n: int, run: int) -> Iterator[bytes]:
    """The corpus cycled, lazily (100,000 mails are never all in memory at once)."""
    files = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    if not files:
        sys.exit(f"no corpus at {CORPUS}")
    for i in range(n):
        head, sep, body = files[i % len(files)].partition(b"\n\n")
        keep = [
            ln for ln in head.split(b"\n") if not ln.lower().startswith((b"message-id:", b"from:"))
        ]
        keep.append(f"From: Tenant {i} <tenant{i}@bench.example>".encode())
        keep.append(f"Message-ID: <backlog-{run}-{i}@bench.example>".encode())
        yield b"\n".join(keep) + sep + body


def fixed_analyser(config: Config) -> Analyse:
    """One fixed ticket per mail: what the I/O path costs without the classification."""
    rules, hours = app.rules(config), app.business_hours(config)

    def analyse(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        ticket = build_ticket(
            category=Category.MAINTENANCE,
            subcategory=Subcategory.PLUMBING,
            urgency=Urgency.MEDIUM,
            requires_contractor=False,
            short_description="Leaking tap",
            description="The kitchen tap is leaking.",
            sender=msg.sender.address if msg.sender else "unknown@invalid",
            subject=msg.subject or "",
            message_id=msg.message_id or "",
            received_at=received_at,
            rules=rules,
            hours=hours,
            now=now,
            random_bytes=os.urandom,
        )
        return Analysis((ticket,))

    return analyse


def _cpu_seconds(pid: int | str = "self") -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _peak_rss_mb(pid: int | str = "self") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := current RSS


class Cpu:
    """CPU seconds of this process and the pool's workers since ``start``."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._start = self._now()

    def _now(self) -> float:
        return _cpu_seconds() + sum(_cpu_seconds(p) for p in self._pids)

    def used(self) -> float:
        return self._now() - self._start


def one_run(
    dovecot: Dovecot, peer: PeerProcess | None, n: int, run: int, fixed: bool
) -> dict[str, Any]:
    user = dovecot.add_user()
    seed_start = time.perf_counter()
    dovecot.multiappend(user, emails(n, run))
    seeded = time.perf_counter() - seed_start
    db = create_database(SHARED_HOST, SHARED_PORT)
    try:
        smtp = SmtpConfig(host=peer.host, port=peer.port, tls="none") if peer else SmtpConfig()
        config = Config(database=db, mailboxes=[dovecot.mailbox_config(user)], smtp=smtp)
        daemon = app.daemon(config, analyse=fixed_analyser(config) if fixed else None, idle=False)
        pool = daemon.pool
        if pool is not None:  # the workers are up (rules loaded) before the clock starts
            pool.prepare(
                next(emails(1, -1)), datetime.now().astimezone(), datetime.now().astimezone()
            )
        pids = pool.workers.pids() if pool is not None else []
        _reset_peak_rss()
        try:
            poller = daemon.loop.pollers[0]
            cpu = Cpu(pids)
            started = time.perf_counter()
            while True:
                report = poller.poll()
                assert report.ok, report.error
                if not report.counts:
                    break
            ingest_s = time.perf_counter() - started
            ingest_cpu = cpu.used()
            result: dict[str, Any] = {
                "seed_s": round(seeded, 1),
                "ingest_s": round(ingest_s, 2),
                "ingest_per_s": round(n / ingest_s, 1),
                "ingest_cpu_s_per_1000": round(ingest_cpu * 1000 / n, 2),
            }
            if peer is not None:
                delivery = app.outbox_delivery(config, daemon.engines[0])
                base = peer.count
                while delivery.run_once(limit=100_000).handled:
                    pass
                with daemon.engines[0].connect() as conn:  # capped/suppressed rows never go
                    rows = conn.execute(
                        select(func.count()).select_from(outbox).where(outbox.c.status == "sent")
                    ).scalar_one()
                peer.wait_for(base + rows, timeout=600)
                e2e_s = time.perf_counter() - started
                delivery.close()
                result |= {
                    "notifications": rows,
                    "delivery_per_s": round(rows / (e2e_s - ingest_s), 1),
                    "e2e_s": round(e2e_s, 2),
                    "e2e_per_s": round(n / e2e_s, 1),
                    "e2e_cpu_s_per_1000": round(cpu.used() * 1000 / n, 2),
                }
            result["rss_mb"] = round(_peak_rss_mb(), 1)
            result["worker_rss_mb"] = round(max((_peak_rss_mb(p) for p in pids), default=0), 1)
        finally:
            daemon.close()
        engine = app.engine(config)
        try:
            got = outcomes(engine)
        finally:
            engine.dispose()
        assert sum(got.values()) == n, got
        left = len(dovecot.messages(user, "INBOX"))
        assert left == 0, f"{left} messages left in the inbox"
        result["outcomes"] = got
        return result
    finally:
        drop_database(SHARED_HOST, SHARED_PORT, db.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fixed-analysis", action="store_true", help="the I/O path alone")
    parser.add_argument("--no-e2e", action="store_true", help="ingest only, no delivery")
    args = parser.parse_args()
    configure_logging("warning", "json", stream=sys.stderr)
    logging.disable(logging.WARNING)
    peer = None if args.no_e2e else PeerProcess().start()
    runs: list[dict[str, Any]] = []
    try:
        with Dovecot() as dovecot:
            raw_rate = None
            if peer is not None:
                raw_rate = raw_smtplib_rate(peer, sample_notification(Config()), 2000)
            for run in range(args.runs):
                runs.append(one_run(dovecot, peer, args.emails, run, args.fixed_analysis))
                print(f"run {run + 1}: {json.dumps(runs[-1])}", file=sys.stderr)
    finally:
        if peer is not None:
            peer.stop()
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    medians = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    print(
        json.dumps(
            {
                "emails": args.emails,
                "runs": args.runs,
                "fixed_analysis": args.fixed_analysis,
                "raw_smtplib_per_s": None if raw_rate is None else round(raw_rate, 1),
                "median": medians,
                "load_average": os.getloadavg(),
                "all": runs,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
