"""Bench: one escalation pass over N open tickets (default 100,000), all due, median of 3 runs.

Creates its own database on the local PostgreSQL (127.0.0.1:5432, user postgres, trust), inserts
the tickets in bulk with COPY, and times ``EscalationService.run_pass`` three times (resetting
the escalation state in between). Every ticket is due (``next_escalation_at`` in the past), so
each run examines all N: a mix of urgencies and statuses, some needing a contractor, some
after-hours emergencies, so the pass also writes escalations, outbox rows and SLA breaches.
Last, the steady state: a pass over the same N open tickets with nothing due.

    PYTHONPATH=src python bench/bench_escalation.py [--tickets 100000] [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from propdesk import app
from propdesk.config import Config, DatabaseConfig, EscalationConfig
from propdesk.logging import configure_logging
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SLA = {"1": (30, 240), "2": (120, 1440), "3": (480, 4320)}
COLUMNS = (
    "ticket_id",
    "short_description",
    "description",
    "category",
    "subcategory",
    "request_type",
    "urgency",
    "priority",
    "property_id",
    "unit_number",
    "requested_for",
    "assignment_group",
    "assigned_to",
    "status",
    "received_at",
    "created_at",
    "updated_at",
    "started_at",
    "message_id",
    "metadata",
    "response_due_at",
    "resolution_due_at",
    "next_escalation_at",
)


def _admin(sql_text: sql.Composable) -> None:
    dsn = f"host={HOST} port={PORT} user={USER} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(sql_text)


def create_db(name: str) -> DatabaseConfig:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    cfg = DatabaseConfig(host=HOST, port=PORT, name=name, user=USER, sslmode="disable")
    engine = make_engine(cfg, pooled=False)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    return cfg


def rows(n: int, seed: int = 7) -> list[tuple[object, ...]]:
    rnd = random.Random(seed)
    out: list[tuple[object, ...]] = []
    for i in range(n):
        urgency = rnd.choices("123", weights=(2, 5, 3))[0]
        status = rnd.choices(("New", "In Progress", "Pending"), weights=(6, 3, 1))[0]
        received = NOW - timedelta(minutes=rnd.randint(1, 6 * 60))
        response, resolution = SLA[urgency]
        meta = {
            "email_subject": f"Problem {i}",
            "email_sender": f"tenant{i}@example.com",
            "requires_contractor": rnd.random() < 0.1,
            "after_hours": rnd.random() < 0.3,
            "estimated_cost": "low",
            "building": None,
            "floor": None,
            "section": None,
            "matched_rules": [],
        }
        out.append(
            (
                f"TKT-{i:08X}",
                f"Maintenance request: problem {i}",
                f"The sink in unit {i % 900 + 100}A is leaking.",
                "Maintenance",
                "plumbing",
                "Repair",
                urgency,
                urgency,
                "P100",
                f"Unit {i % 900 + 100}A",
                f"tenant{i}@example.com",
                "Property Maintenance",
                "plumber@property.com",
                status,
                received,
                received,
                received,
                None if status == "New" else received + timedelta(minutes=5),
                f"<m{i}@example.com>",
                json.dumps(meta),
                received + timedelta(minutes=response),
                received + timedelta(minutes=resolution),
                received,  # everything is due: the pass examines all N tickets
            )
        )
    return out


def load(
    cfg: DatabaseConfig, data: list[tuple[object, ...]], columns: tuple[str, ...] = COLUMNS
) -> None:
    """COPY ticket rows (``columns`` in order) into the bench database (bench_report too)."""
    with psycopg.connect(f"host={HOST} port={PORT} user={USER} dbname={cfg.name}") as conn:
        with conn.cursor() as cur:
            stmt = sql.SQL("COPY tickets ({}) FROM STDIN").format(
                sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cur.copy(stmt) as copy:
                for r in data:
                    copy.write_row(r)
        conn.execute("ANALYZE tickets")


def reset(cfg: DatabaseConfig) -> None:
    """Undo a pass: forget escalations, breaches and mail; make every ticket due again."""
    with psycopg.connect(f"host={HOST} port={PORT} user={USER} dbname={cfg.name}") as conn:
        conn.execute("TRUNCATE escalations, sla_breaches, outbox RESTART IDENTITY CASCADE")
        conn.execute("UPDATE tickets SET next_escalation_at = received_at")
    vacuum(cfg)


def idle_passes(config: Config, runs: int) -> list[float]:
    """Seconds of ``runs`` passes that find nothing due."""
    eng = app.engine(config)
    try:
        service = app.escalation_service(config, eng)
        idle = []
        for _ in range(runs):
            started = time.perf_counter()
            report = service.run_pass(NOW)
            idle.append(time.perf_counter() - started)
            assert report.examined == 0
    finally:
        eng.dispose()
    return idle


def vacuum(cfg: DatabaseConfig) -> None:
    with psycopg.connect(
        f"host={HOST} port={PORT} user={USER} dbname={cfg.name}", autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE tickets")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=EscalationConfig().batch_size)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    configure_logging("warning", "console", sys.stderr)

    name = "propdesk_bench_escalation"
    cfg = create_db(name)
    try:
        t0 = time.perf_counter()
        load(cfg, rows(args.tickets))
        print(f"inserted {args.tickets} tickets in {time.perf_counter() - t0:.1f} s (COPY)")
        config = Config(database=cfg, escalation=EscalationConfig(batch_size=args.batch_size))
        times: list[float] = []
        for run in range(args.runs):
            if run:
                reset(cfg)
            eng = app.engine(config)
            try:
                service = app.escalation_service(config, eng)
                started = time.perf_counter()
                report = service.run_pass(NOW)
                elapsed = time.perf_counter() - started
            finally:
                eng.dispose()
            times.append(elapsed)
            print(
                f"run {run + 1}: {elapsed:.2f} s  examined {report.examined}, "
                f"escalated {len(report.escalated)}, warned {len(report.warned)}, "
                f"breached {len(report.breached)} ({report.examined / elapsed:,.0f} tickets/s) "
                f"[load {_load()}]"
            )
        print(
            f"median of {args.runs}: {statistics.median(times):.2f} s for {args.tickets} due "
            f"tickets (batch {args.batch_size}) [load {_load()}]"
        )
        # The steady state: the same open tickets, none due any more. The pass is one index
        # range scan that finds nothing, whatever the number of open tickets: first right
        # after the big pass (its 100,000 old index entries not vacuumed yet), then as
        # autovacuum leaves the table.
        for when in ("right after the pass", "after VACUUM"):
            if when == "after VACUUM":
                vacuum(cfg)
            idle = idle_passes(config, args.runs)
            print(
                f"idle pass (nothing due, {args.tickets} open, {when}): median of {args.runs} "
                f"{statistics.median(idle) * 1000:.1f} ms [load {_load()}]"
            )
    finally:
        if not args.keep:
            _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
