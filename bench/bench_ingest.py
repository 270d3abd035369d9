"""Bench: 1,000 tenant emails from the inbox to tickets and the processed folder, median of 3.

Each run gets a fresh Dovecot user and a fresh database. The emails (the tenant corpus from
``../shared/corpus/tenant`` cycled, each with a unique Message-ID; generated text if the corpus
is absent) are seeded with MULTIAPPEND, then one mailbox pass of the daemon is timed in-process
from login to the last MOVE (search, fetch, parse, classify, store with the notification and
escalation hooks, move; outbox delivery is a separate periodic task and is not timed).
Peak RSS is the process's maximum resident set size after all runs.

    PYTHONPATH=src:. python bench/bench_ingest.py [--emails 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import sys
import time
from pathlib import Path

from tests.integration.ingest_support import analyser, outcomes, tenant_mail
from tests.stack import Dovecot, create_database, drop_database
from tests.stack.postgres import SHARED_HOST, SHARED_PORT

from propdesk import app
from propdesk.config import Config
from propdesk.logging import configure_logging

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tenant" / "emails"


def emails(n: int, run: int) -> list[bytes]:
    files = sorted(CORPUS.glob("*.eml")) if CORPUS.is_dir() else []
    out: list[bytes] = []
    for i in range(n):
        if files:
            raw = files[i % len(files)].read_bytes()
            head, sep, body = raw.partition(b"\n\n")
            lines = [ln for ln in head.split(b"\n") if not ln.lower().startswith(b"message-id:")]
            lines.append(f"Message-ID: <bench-{run}-{i}@bench.example>".encode())
            out.append(b"\n".join(lines) + sep + body)
        else:
            out.append(tenant_mail(i))
    return out


def one_run(dovecot: Dovecot, n: int, run: int) -> tuple[float, dict[str, int]]:
    user = dovecot.add_user()
    dovecot.multiappend(user, emails(n, run))
    db = create_database(SHARED_HOST, SHARED_PORT)
    try:
        config = Config(database=db, mailboxes=[dovecot.mailbox_config(user)])
        daemon = app.daemon(config, analyse=analyser(config))
        try:
            poller = daemon.loop.pollers[0]
            started = time.perf_counter()
            report = poller.poll()  # the mailbox pass only: periodic tasks are not timed
            seconds = time.perf_counter() - started
        finally:
            daemon.close()
        assert report.ok, report.error
        engine = app.engine(config)
        try:
            got = outcomes(engine)
        finally:
            engine.dispose()
        left = len(dovecot.messages(user, "INBOX"))
        assert left == 0, f"{left} messages left in the inbox"
        assert sum(got.values()) == n, got
        return seconds, got
    finally:
        drop_database(SHARED_HOST, SHARED_PORT, db.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging("warning", "json", stream=sys.stderr)
    logging.disable(logging.WARNING)
    rates: list[float] = []
    with Dovecot() as dovecot:
        for run in range(args.runs):
            seconds, got = one_run(dovecot, args.emails, run)
            rates.append(args.emails / seconds)
            print(
                f"run {run + 1}: {args.emails} emails in {seconds:.2f} s = "
                f"{args.emails / seconds:.0f} emails/s  {got}",
                file=sys.stderr,
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "emails": args.emails,
        "runs": args.runs,
        "emails_per_second_median": round(statistics.median(rates), 1),
        "emails_per_second_runs": [round(r, 1) for r in rates],
        "peak_rss_mb": round(peak_mb, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
