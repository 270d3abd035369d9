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


def _rate(func: Callable[[bytes], object], blobs: list[bytes], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for raw in blobs:
            func(raw)
    return len(blobs) * repeat / (time.perf_counter() - start)


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
    rates = [_rate(parse_message, blobs, args.repeat) for _ in range(args.runs)]
    print(
        f"parse_message: {statistics.median(rates):,.0f} messages/s "
        f"(median of {args.runs} runs; {len(blobs)} files x {args.repeat}; "
        f"runs: {', '.join(f'{r:,.0f}' for r in rates)})"
    )
    if args.bare:
        bare = [
            _rate(mailparser.MailParser.from_bytes, blobs, args.repeat) for _ in range(args.runs)
        ]
        print(
            f"bare mail-parser: {statistics.median(bare):,.0f} messages/s (median of {args.runs})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
