"""Classification bench: parse + classify emails/s in one process, with the triage model loaded
and with the rules alone (median of 3 runs each), the model's load time, and peak RSS.

usage: PYTHONPATH=src python bench/bench_classify.py [EMAIL_DIR] [--score LABELS.json]
EMAIL_DIR defaults to the corpus (``corpus/train``, built into a temporary folder: typical tenant
mail). Each mode runs in a child process of its own, so its peak RSS is its own (the daemon's
process does the same work: load rules and model once, then parse + analyse each message).
``--score`` also runs the shared scorer (../shared/tools/score_classifier.py) on the folder.
Figures of record for the model's quality come from ``bench/train.py --cv`` (cross-validation).
Wall-clock rates depend on the machine's load (printed with each line); the per-CPU-second
rate (``time.process_time``) is the steadier figure on a shared machine.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from propdesk.core.hours import BusinessHours
from propdesk.core.pipeline import analyse_message
from propdesk.core.rules import default_triage_model, load_rules
from propdesk.mail.parse import parse_message

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" if (ROOT.parent / "shared").is_dir() else Path("/work/shared")


def child(mode: str, folder: Path) -> None:
    """Load, then time parse + analyse of every email (3 runs); print one JSON line."""
    rss_before_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rules = load_rules(model=mode == "model")
    if mode == "model":
        default_triage_model()
    load_s = time.perf_counter() - start
    hours = BusinessHours()
    raws = [p.read_bytes() for p in sorted(folder.glob("*.eml"))]
    now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    rates, cpu_rates = [], []
    tickets = 0
    for _ in range(3):
        start, cpu_start = time.perf_counter(), time.process_time()
        tickets = 0
        for raw in raws:
            result = analyse_message(
                parse_message(raw),
                rules=rules,
                business_hours=hours,
                received_at=now,
                now=now,
                new_id=secrets.token_bytes,
            )
            tickets += len(result.tickets)
        rates.append(len(raws) / (time.perf_counter() - start))
        cpu_rates.append(len(raws) / (time.process_time() - cpu_start))
    print(
        json.dumps(
            {
                "mode": mode,
                "emails": len(raws),
                "tickets": tickets,
                "emails_per_s": round(statistics.median(rates), 1),
                "cpu_emails_per_s": round(statistics.median(cpu_rates), 1),
                "load_s": round(load_s, 3),
                "rss_before_load_mb": round(rss_before_model / 1024, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def _corpus(tmp: Path) -> Path:
    files = sorted(str(p) for p in (ROOT / "corpus" / "train").glob("*.jsonl"))
    subprocess.run(
        [sys.executable, str(ROOT / "corpus" / "build.py"), str(tmp), *files], check=True
    )
    return tmp / "emails"


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        child(args[1], Path(args[2]))
        return 0
    labels = None
    if "--score" in args:
        i = args.index("--score")
        labels = Path(args[i + 1])
        del args[i : i + 2]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args[0]) if args else _corpus(Path(tmp))
        for mode in ("model", "rules"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{mode:6} {r['emails_per_s']:7.0f} emails/s (parse + classify, median of 3, "
                f"{r['emails']} emails, {r['tickets']} tickets; {r['cpu_emails_per_s']:.0f} per "
                f"CPU-second)  load {r['load_s']:.2f} s  peak RSS {r['peak_rss_mb']:.0f} MB  "
                f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
            )
        if labels is not None:
            cmd = [sys.executable, str(SHARED / "tools" / "score_classifier.py"), str(labels)]
            cmd += [str(folder), "--", sys.executable, "-m", "propdesk", "classify"]
            cmd += ["--format", "json"]
            print(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
