"""Classification bench: dev-set scores (full, tuning part, held-out part) and emails/second.

usage: PYTHONPATH=src python bench/bench_classify.py [CORPUS_DIR]
CORPUS_DIR defaults to <repo>/../shared/corpus/tenant; scores come from the shared scorer
(../shared/tools/score_classifier.py) run on `propdesk classify --format json`. The held-out part
is every 4th email (sorted by name), kept out of tuning to watch for over-fitting.
Speed: parse + analyse of every email in-process, median of 3 runs.
"""

from __future__ import annotations

import json
import os
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
from propdesk.core.rules import load_rules
from propdesk.mail.parse import parse_message

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def score(labels: dict[str, object], emails: Path) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(labels, fh)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [
        sys.executable,
        str(SHARED / "tools" / "score_classifier.py"),
        fh.name,
        str(emails),
        "--",
        sys.executable,
        "-m",
        "propdesk",
        "classify",
        "--format",
        "json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    os.unlink(fh.name)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def speed(emails: list[Path]) -> float:
    rules = load_rules()
    hours = BusinessHours()
    raws = [p.read_bytes() for p in emails]
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for raw in raws:
            now = datetime.now(UTC)
            analyse_message(
                parse_message(raw),
                rules=rules,
                business_hours=hours,
                received_at=now,
                now=now,
                new_id=secrets.token_bytes,
            )
        rates.append(len(raws) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> int:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "corpus" / "tenant"
    labels_path, emails = corpus / "labels.json", corpus / "emails"
    if not labels_path.exists():
        print(f"no corpus at {corpus}")
        return 2
    labels = json.loads(labels_path.read_text())
    names = sorted(labels)
    held = {n for i, n in enumerate(names) if i % 4 == 3}
    keys = (
        "ticket_count_exact",
        "category_recall",
        "subcategory_recall",
        "urgency_recall",
        "contractor_recall",
        "spurious_ticket_rate",
        "unit_exact",
        "building_exact",
        "floor_exact",
    )
    print(f"{'metric':24} {'full':>6} {'tune':>6} {'held':>6}")
    parts = [
        score(labels, emails),
        score({n: labels[n] for n in names if n not in held}, emails),
        score({n: labels[n] for n in names if n in held}, emails),
    ]
    for key in keys:
        print(f"{key:24} " + " ".join(f"{p[key]:6.3f}" for p in parts))
    rate = speed([emails / n for n in names])
    print(f"{'emails/second':24} {rate:6.0f}  (parse + classify, median of 3, {len(names)} emails)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
