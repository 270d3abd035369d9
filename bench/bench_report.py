"""Bench: ``propdesk report`` over N tickets (default 100,000) in a 30-day window, median of 3.

Creates its own database on the local PostgreSQL (127.0.0.1:5432, user postgres, trust; see
bench_escalation.py), COPYs N tickets received over the 30 days before a fixed moment (every
status, urgency, category, five buildings, 2,000 units; a seeded random, so the same tickets
each time), plus reopen and rating events and escalations, and times each format twice:
in-process (query + layout + rendering) and as the whole command (``python -m propdesk report``
in a fresh subprocess, interpreter start and imports included; the clock is injected with
``--now`` and the window pinned with ``--since/--until``). Targets: text and JSON < 1 s, HTML
< 2 s (whole command, idle machine). Prints each median with the load average at that moment,
the database's CPU for one report (its backend's utime + stime) and the figures.

``--keep`` leaves the database; ``--reuse`` takes a kept one as it is (no new seeding), so the
timings can be repeated when the machine is quiet.

    PYTHONPATH=src python bench/bench_report.py [--tickets 100000] [--runs 3] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from bench_escalation import HOST, PORT, USER, _admin, create_db
from bench_escalation import load as copy_tickets
from psycopg import sql

from propdesk import app
from propdesk.config import Config, DatabaseConfig
from propdesk.core.report_model import report_window
from propdesk.logging import configure_logging
from propdesk.reports.html import render_html
from propdesk.reports.text import render_text

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
SLA = {"1": (30, 240), "2": (120, 1440), "3": (480, 4320)}
CATEGORIES = (
    ("Maintenance", "plumbing", "plumber@property.com"),
    ("Maintenance", "electrical", "electrician@property.com"),
    ("Maintenance", "hvac", "hvac@property.com"),
    ("Maintenance", "appliance", "appliance@property.com"),
    ("Maintenance", "general_repair", "maintenance@property.com"),
    ("Complaint", "noise_complaint", "manager@property.com"),
    ("Payment", None, "accounting@property.com"),
    ("Lease", None, "leasing@property.com"),
)
COLUMNS = (
    "ticket_id", "short_description", "description", "category", "subcategory",
    "request_type", "urgency", "priority", "property_id", "unit_number", "requested_for",
    "assignment_group", "assigned_to", "status", "received_at", "created_at", "updated_at",
    "started_at", "resolved_at", "closed_at", "message_id", "metadata", "response_due_at",
    "resolution_due_at",
)  # fmt: skip


def rows(n: int, seed: int = 17) -> list[tuple[object, ...]]:
    rnd = random.Random(seed)
    out: list[tuple[object, ...]] = []
    for i in range(n):
        urgency = rnd.choices("123", weights=(2, 5, 3))[0]
        category, sub, assignee = rnd.choice(CATEGORIES)
        received = NOW - timedelta(seconds=rnd.randint(60, 30 * 86400 - 60))
        status = rnd.choices(
            ("New", "In Progress", "Pending", "Resolved", "Closed"), weights=(1, 1, 1, 5, 2)
        )[0]
        started = resolved = closed = None
        if status != "New":
            started = received + timedelta(minutes=rnd.randint(5, 600))
        if status in ("Resolved", "Closed"):
            resolved = started + timedelta(minutes=rnd.randint(10, 4000))  # type: ignore[operator]
            resolved = min(resolved, NOW)
        if status == "Closed":
            closed = min(NOW, resolved + timedelta(hours=rnd.randint(1, 48)))  # type: ignore[operator]
        building = "ABCDE"[i % 5]
        unit = f"Unit {rnd.randint(1, 400)}{building}"
        meta = {
            "email_subject": f"Problem {i}",
            "email_sender": f"tenant{i}@example.com",
            "requires_contractor": False,
            "after_hours": False,
            "estimated_cost": "low",
            "building": building,
            "floor": None,
            "section": None,
            "matched_rules": [],
        }
        response, resolution = SLA[urgency]
        out.append(
            (
                f"TKT-{i:08X}", f"Request {i}", f"Text of request {i}.", category, sub, "Repair",
                urgency, urgency, f"P{building}01", unit, f"tenant{i}@example.com",
                "Property Maintenance", assignee, status, received, received, received, started,
                resolved, closed, f"<m{i}@example.com>", json.dumps(meta),
                received + timedelta(minutes=response), received + timedelta(minutes=resolution),
            )
        )  # fmt: skip
    return out


def load(db: DatabaseConfig, data: list[tuple[object, ...]]) -> None:
    copy_tickets(db, data, COLUMNS)
    dbname = db.name
    with psycopg.connect(f"host={HOST} port={PORT} user={USER} dbname={dbname}") as conn:
        # About 3 % reopened, 20 % rated, 10 % escalated.
        conn.execute(
            "INSERT INTO ticket_events (ticket_pk, kind, actor, at, data) "
            "SELECT id, 'reopened', 'bench', received_at, '{}' FROM tickets WHERE id % 33 = 0"
        )
        conn.execute(
            "INSERT INTO ticket_events (ticket_pk, kind, actor, at, data) "
            "SELECT id, 'rating', 'bench', received_at, "
            "jsonb_build_object('rating', (1 + (id / 5) % 5)::text) FROM tickets WHERE id % 5 = 0"
        )
        conn.execute(
            "INSERT INTO escalations (ticket_pk, rule, due_at, escalated_at, target) "
            "SELECT id, 'supervisor', received_at, received_at, 'supervisor@property.com' "
            "FROM tickets WHERE id % 10 = 0"
        )
    with psycopg.connect(
        f"host={HOST} port={PORT} user={USER} dbname={dbname}", autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")


def config_file(cfg: Config, directory: Path) -> Path:
    db = cfg.database
    path = directory / "bench.toml"
    path.write_text(
        f'[database]\nhost = "{db.host}"\nport = {db.port}\nname = "{db.name}"\n'
        f'user = "{db.user}"\nsslmode = "disable"\n[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return path


def in_process(config: Config, fmt: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    eng = app.engine(config)
    try:
        window = report_window(NOW, config.business_hours.timezone)
        report = app.report(config, eng, window)
    finally:
        eng.dispose()
    if fmt == "json":
        json.dumps(report)
    elif fmt == "text":
        render_text(report)
    else:
        render_html(report)
    return time.perf_counter() - started, report


def db_cpu_seconds(config: Config) -> float:
    """CPU seconds the database spends on one report's queries (its backend, from /proc)."""
    eng = app.engine(config)
    try:
        with eng.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        window = report_window(NOW, config.business_hours.timezone)

        def used() -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        app.report(config, eng, window)  # warm the pooled connection's caches
        before = used()
        for _ in range(5):
            app.report(config, eng, window)
        return (used() - before) / 5
    finally:
        eng.dispose()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


#: CPU seconds (user + system) of the last whole command: the command's own cost, which the
#: load average does not inflate as it does the wall time (idle wall ~ this + the DB's CPU).
last_cpu = [0.0]


def whole_command(path: Path, fmt: str, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    argv = [sys.executable, "-m", "propdesk", "--config", str(path), "report"]
    argv += ["--now", NOW.isoformat(), "--format", fmt, "--output", str(out)]
    # --now evaluates at the bench's moment; the window still ends today, so pin it too.
    argv += ["--since", (NOW - timedelta(days=29)).date().isoformat()]
    argv += ["--until", (NOW + timedelta(days=1)).date().isoformat()]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last_cpu[0] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use a kept database as it is")
    args = parser.parse_args()
    configure_logging("warning", "console", sys.stderr)
    name = "propdesk_bench_report"
    if args.reuse:
        db = DatabaseConfig(host=HOST, port=PORT, name=name, user=USER, sslmode="disable")
    else:
        db = create_db(name)
    config = Config(database=db)
    try:
        if not args.reuse:
            t0 = time.perf_counter()
            load(db, rows(args.tickets))
            print(f"inserted {args.tickets} tickets + events in {time.perf_counter() - t0:.1f} s")
        print(f"load average before: {load_average()}")
        print(f"database CPU per report: {db_cpu_seconds(config) * 1000:.0f} ms")
        report: dict[str, object] = {}
        with tempfile.TemporaryDirectory() as tmp:
            path = config_file(config, Path(tmp))
            for fmt, target in (("text", 1.0), ("json", 1.0), ("html", 2.0)):
                inside, whole, cpu = [], [], []
                for _ in range(args.runs):
                    elapsed, report = in_process(config, fmt)
                    inside.append(elapsed)
                    whole.append(whole_command(path, fmt, Path(tmp) / f"out.{fmt}"))
                    cpu.append(last_cpu[0])
                size = (Path(tmp) / f"out.{fmt}").stat().st_size
                print(
                    f"{fmt:5s} in-process median {statistics.median(inside):.3f} s, "
                    f"whole command median {statistics.median(whole):.3f} s "
                    f"(target < {target:.0f} s; runs {', '.join(f'{t:.2f}' for t in whole)}; "
                    f"{size:,} bytes) load {load_average()}; "
                    f"the command's CPU median {statistics.median(cpu):.3f} s"
                )
            csv_times = [
                whole_command(path, "csv", Path(tmp) / "out.csv") for _ in range(args.runs)
            ]
            print(f"csv   whole command median {statistics.median(csv_times):.3f} s (export)")
        print(f"load average after: {load_average()}")
        summary = report["summary"]
        print("figures:", json.dumps(summary))
        print("performance:", json.dumps(report["performance"]))
        print("backlog:", json.dumps(report["backlog"]))
    finally:
        if not (args.keep or args.reuse):
            _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
