"""Parsing speed: messages per second of ``parse_message`` over the tenant corpus.

Usage: PYTHONPATH=src python bench/bench_parse.py [--runs 3] [--repeat 10] [--bare] [DIR]
Prints the median of the runs (each run parses every file ``repeat`` times). ``--bare`` times
mail-parser alone on the same bytes, for comparison (about 3,500/s on the team machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mailparser

from propdesk.mail.parse import parse_message

DEFAULT_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "tenant" / "emails"


def _rate(func: Callable[[bytes], object], blobs: list[bytes], repeat: int) -> tuple[float, float]:
    """(messages per wall-clock second, messages per CPU second of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for raw in blobs:
            func(raw)
    count = len(blobs) * repeat
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def _report(label: str, rates: list[tuple[float, float]]) -> None:
    walls, cpus = [w for w, _ in rates], [c for _, c in rates]
    print(
        f"{label}: {statistics.median(walls):,.0f} messages/s "
        f"(median of {len(rates)} runs: {', '.join(f'{w:,.0f}' for w in walls)}; "
        f"CPU-time rate {statistics.median(cpus):,.0f}/s, steadier on a shared machine)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--bare", action="store_true", help="also time bare mail-parser")
    args = ap.parse_args()
    files = sorted(p for p in args.directory.rglob("*") if p.is_file() and p.suffix == ".eml")
    if not files:
        print(f"no .eml files under {args.directory}", file=sys.stderr)
        return 1
    blobs = [p.read_bytes() for p in files]

    parse_message(blobs[0])  # warm imports and regex caches
    print(f"{len(blobs)} files x {args.repeat} per run")
    _report("parse_message", [_rate(parse_message, blobs, args.repeat) for _ in range(args.runs)])
    if args.bare:
        bare = mailparser.MailParser.from_bytes
        _report("bare mail-parser", [_rate(bare, blobs, args.repeat) for _ in range(args.runs)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
