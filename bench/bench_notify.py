"""Notification throughput: 1,000 tenant emails -> tickets -> notification mails at the SMTP peer.

End to end = real parser, the ingest service (one transaction per message, with the notification
hook writing outbox rows), and the outbox delivery task over one reused SMTP connection to a real
aiosmtpd peer, interleaved as the daemon loop does (a batch of messages, then a delivery pass).
Printed next to the peer's raw smtplib rate (1,000 copies of one composed notification on one
connection, the peer in its own process) measured in the same run, so the overhead of our side
is visible. Median of 3 runs each.

Tickets come from the real classification pipeline, so an email may give zero, one or several
tickets (and so several assignee mails but one acknowledgement).

    PYTHONPATH=src:. /work/main/.venv/bin/python bench/bench_notify.py [--emails 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import multiprocessing
import secrets
import smtplib
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from tests.stack import SmtpPeer, create_database, drop_database, truncate_all
from tests.stack._util import free_port

from propdesk import app
from propdesk.config import parse_config
from propdesk.logging import configure_logging
from propdesk.mail.compose import Composer, Outgoing, sample_context
from propdesk.mail.imap import FetchedMessage
from propdesk.store.engine import make_engine
from propdesk.store.tables_outbox import outbox

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "tenant" / "emails"
BATCH = 50


def tenant_emails(count: int) -> list[bytes]:
    """``count`` distinct tenant emails: the corpus cycled, each with its own sender and id."""
    sources = sorted(CORPUS.glob("*.eml"))
    if not sources:
        sys.exit(f"no corpus at {CORPUS}")
    out: list[bytes] = []
    for n in range(count):
        msg = email.message_from_bytes(
            sources[n % len(sources)].read_bytes(), policy=email.policy.default
        )
        for name in ("From", "Message-ID", "Sender", "Reply-To"):
            del msg[name]
        msg["From"] = f"Tenant {n} <tenant{n}@example.com>"
        msg["Message-ID"] = f"<bench-{n}-{secrets.token_hex(4)}@example.com>"
        out.append(msg.as_bytes())
    return out


class PeerProcess:
    """The aiosmtpd peer in a child process, so its parsing does not share our GIL."""

    def __init__(self, *, pipelining: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.host = "127.0.0.1"
        self._count = ctx.Value("l", 0)
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._proc = ctx.Process(
            target=_peer_main,
            args=(self.port, self._count, self._ready, self._stop, pipelining),
            daemon=True,
        )

    def start(self) -> PeerProcess:
        self._proc.start()
        if not self._ready.wait(30):
            sys.exit("the SMTP peer did not start")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._proc.join(10)

    @property
    def count(self) -> int:
        return int(self._count.value)

    def wait_for(self, total: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count < total:
            if time.monotonic() > deadline:
                sys.exit(f"the peer got {self.count} of {total} messages")
            time.sleep(0.005)


def _peer_main(port: int, count: Any, ready: Any, stop: Any, pipelining: bool = False) -> None:
    peer = SmtpPeer(port=port, pipelining=pipelining)
    record = peer._record

    def counting(*args: Any) -> None:
        record(*args)
        peer.received.clear()  # keep memory flat; only the count matters here
        with count.get_lock():
            count.value += 1

    peer._record = counting  # type: ignore[method-assign]
    peer.start()
    ready.set()
    stop.wait()
    peer.stop()


def raw_smtplib_rate(peer: PeerProcess, sample: EmailMessage, count: int) -> float:
    """Messages per second with plain smtplib on one connection, sending a real notification
    (the same multipart size our delivery sends): the peer's ceiling for this traffic."""
    base = peer.count
    start = time.perf_counter()
    with smtplib.SMTP(peer.host, peer.port, timeout=30) as conn:
        for _ in range(count):
            conn.send_message(sample, "maintenance@property.com", ["raw@example.com"])
    peer.wait_for(base + count)
    return count / (time.perf_counter() - start)


def sample_notification(config: Any) -> EmailMessage:
    """One composed acknowledgement, as delivery would send it."""
    composer = Composer(config, app.templates(config))
    ctx = sample_context()
    item = Outgoing(
        kind="ticket_created_tenant",
        recipient="raw@example.com",
        ticket_ids=("TKT-00000000",),
        message_id="<propdesk.TKT-00000000.1@property.com>",
        context={**ctx, "tickets": ctx["tickets"][:1]},
    )
    return composer.compose(item, datetime.now(UTC))


def end_to_end(config: Any, eng: Any, peer: PeerProcess, emails: list[bytes]) -> tuple[float, int]:
    """(emails per second, notification mails delivered) for one run."""
    service = app.ingest_service(config, eng)
    delivery = app.outbox_delivery(config, eng)
    truncate_all(eng)
    base = peer.count
    received_at = datetime.now(UTC) - timedelta(minutes=1)
    start = time.perf_counter()
    in_ingest = in_delivery = 0.0
    for first in range(0, len(emails), BATCH):
        t0 = time.perf_counter()
        for uid, raw in enumerate(emails[first : first + BATCH], start=first + 1):
            service.process("bench", 1, FetchedMessage(uid, len(raw), received_at, raw))
        t1 = time.perf_counter()
        delivery.run_once(limit=100_000)
        in_ingest += t1 - t0
        in_delivery += time.perf_counter() - t1
    t1 = time.perf_counter()
    while delivery.run_once(limit=100_000).handled:
        pass
    in_delivery += time.perf_counter() - t1
    with eng.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
        sent = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.status == "sent")
        ).scalar_one()
    peer.wait_for(base + sent)
    elapsed = time.perf_counter() - start
    delivery.close()
    print(
        f"  ingest {in_ingest:.1f} s ({len(emails) / in_ingest:.0f} emails/s), "
        f"delivery {in_delivery:.1f} s ({sent / in_delivery:.0f} mails/s)"
    )
    if sent != rows:
        print(f"  warning: {rows - sent} of {rows} outbox rows not sent", file=sys.stderr)
    return len(emails) / elapsed, int(sent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    db = create_database("127.0.0.1", 5432)
    peer = PeerProcess().start()
    try:
        config = parse_config(
            {
                "database": db.model_dump(mode="json", exclude_none=True),
                # Not the rules' default assignee (maintenance@property.com): mail to our own
                # address is suppressed as a loop, which would hide those notifications.
                "smtp": {
                    "host": peer.host,
                    "port": peer.port,
                    "tls": "none",
                    "from_address": "tickets@property.com",
                },
                "logging": {"level": "warning"},
                "notifications": {"tenant_cap_per_hour": 100_000},
            }
        )
        configure_logging("warning", "console")
        eng = make_engine(config.database, pooled=True)
        emails = tenant_emails(args.emails)
        raw_rates, e2e_rates, mails = [], [], []
        sample = sample_notification(config)
        for run in range(args.runs):
            raw_rates.append(raw_smtplib_rate(peer, sample, args.emails))
            rate, sent = end_to_end(config, eng, peer, emails)
            e2e_rates.append(rate)
            mails.append(sent)
            print(
                f"run {run + 1}: raw smtplib {raw_rates[-1]:.0f} msg/s; end to end "
                f"{rate:.1f} emails/s ({sent} notification mails, {rate * sent / len(emails):.1f}"
                " mails/s)"
            )
        eng.dispose()
    finally:
        peer.stop()
        drop_database("127.0.0.1", 5432, db.name)
    med = statistics.median(e2e_rates)
    print(
        f"median of {args.runs}: end to end {med:.1f} tenant emails/s "
        f"({statistics.median(mails)} notification mails per run, "
        f"{med * statistics.median(mails) / args.emails:.1f} mails/s); "
        f"raw smtplib to the same peer {statistics.median(raw_rates):.0f} msg/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
