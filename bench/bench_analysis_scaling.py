"""Analysis time vs body length: parse + analyse of one email whose body grows from 10 to
10,000 lines, and of one very long single line (about 2 MB, no newline).

usage: PYTHONPATH=src python bench/bench_analysis_scaling.py [--quick]

Why: one slow email must never hold up the mailbox (issue 14). The core has to be linear in the
text; on top of that ``[thresholds] max_analysed_chars`` caps what is analysed at all. Columns:
``capped`` is the default rules (the cap in force, as the daemon runs); ``uncapped`` lifts the cap
(an override with ``max_analysed_chars`` set very high) to show the core itself is linear;
``us/line`` is the uncapped time per line, which stays flat when the growth is linear.
Shapes: ``prose`` (varied tenant sentences, one paragraph, several matters), ``one-matter``
(the same leak described again and again: one item that keeps growing) and ``keywords``
(vocabulary words with no punctuation at all: the most phrases per word, one endless sentence).
Best of 3 runs for the short bodies, one run from 1,000 lines on. A bench, not a test.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

from propdesk.core.hours import BusinessHours
from propdesk.core.pipeline import analyse_message
from propdesk.core.rules import Rules, load_rules
from propdesk.mail.parse import parse_message

PROSE = (
    "The kitchen sink is leaking under the cabinet and the floor is wet.",
    "Also the bathroom light flickers when I turn on the fan",
    "My neighbour upstairs plays loud music until 3am, it is very annoying.",
    "The heat is not working and it's 55 degrees in my apartment!",
    "Could someone please come and look at the dishwasher, it won't drain",
    "the front door lock is sticking and the key does not turn",
    "There is mold on the bathroom ceiling since the leak last week.",
    "When is the next rent payment due? Is there a late fee",
)
ONE_MATTER = "It is still leaking water onto the floor and the cabinet under it is soaked"
KEYWORDS = "water leak sink ceiling mold heat door lock noise music rent fee toilet"
SIZES = (10, 60, 250, 1_000, 10_000)
SINGLE_LINE_BYTES = 2_000_000
# "the same case as in the daemon": one fixed moment, not the wall clock
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def body(shape: str, lines: int) -> str:
    if shape == "prose":
        return "\n".join(PROSE[i % len(PROSE)] for i in range(lines))
    if shape == "one-matter":
        rest = (ONE_MATTER + ("." if i % 2 else ",") for i in range(lines - 1))
        return "\n".join(["The kitchen sink is leaking.", *rest])
    return "\n".join(KEYWORDS for _ in range(lines))


def single_line() -> str:
    words: list[str] = []
    size = 0
    while size < SINGLE_LINE_BYTES:
        sentence = PROSE[len(words) % len(PROSE)]
        words.append(sentence)
        size += len(sentence) + 1
    return " ".join(words)


def as_mail(text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "tenant@example.com"
    msg["To"] = "desk@example.com"
    msg["Subject"] = "Several problems in 4C"
    msg["Message-ID"] = "<bench@example.com>"
    msg.set_content(text)
    return msg.as_bytes()


def uncapped_rules() -> Rules:
    """The default rules with ``max_analysed_chars`` lifted, through an ops override file."""
    text = resources.files("propdesk.rules").joinpath("vocabulary.toml").read_text("utf-8")
    thresholds = dict(tomllib.loads(text)["thresholds"], max_analysed_chars=10**12)
    lines = ["[thresholds]", *(f"{k} = {v!r}" for k, v in thresholds.items())]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "override.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return load_rules(path)


def timed(raw: bytes, rules: Rules, runs: int) -> tuple[float, int]:
    """Best time of ``runs`` parse + analyse runs, and the number of tickets."""
    best, tickets = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        result = analyse_message(
            parse_message(raw),
            rules=rules,
            business_hours=BusinessHours(),
            received_at=NOW,
            now=NOW,
            new_id=secrets.token_bytes,
        )
        best = min(best, time.perf_counter() - start)
        tickets = len(result.tickets)
    return best, tickets


def row(label: str, lines: int, text: str, capped: Rules, uncapped: Rules | None) -> None:
    raw = as_mail(text)
    runs = 3 if lines < 1_000 else 1
    t_cap, n_cap = timed(raw, capped, runs)
    cells = f"{label:11} {lines:>7,} {len(text):>10,} {t_cap:9.3f} {n_cap:>5}"
    if uncapped is not None:
        t_unc, n_unc = timed(raw, uncapped, runs)
        cells += f" {t_unc:9.3f} {n_unc:>5} {t_unc / lines * 1e6:8.0f}"
    print(cells, flush=True)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    capped, uncapped = load_rules(), uncapped_rules()
    limit = capped.vocabulary.decisions.thresholds.max_analysed_chars
    print(f"max_analysed_chars = {limit:,} (capped); times in seconds, parse + analyse")
    print(
        f"{'shape':11} {'lines':>7} {'chars':>10} {'capped':>9} {'tix':>5}"
        f" {'uncapped':>9} {'tix':>5} {'us/line':>8}"
    )
    sizes = SIZES[:-1] if quick else SIZES
    makers: dict[str, Callable[[int], str]] = {
        shape: (lambda n, s=shape: body(s, n)) for shape in ("prose", "one-matter", "keywords")
    }
    for shape, make in makers.items():
        for lines in sizes:
            row(shape, lines, make(lines), capped, uncapped)
    text = single_line()
    # the single line: one "line" of ~2 MB; us/line is meaningless there, so per 1,000 chars
    raw = as_mail(text)
    t_cap, n_cap = timed(raw, capped, 1)
    t_unc, n_unc = timed(raw, uncapped, 1)
    print(
        f"{'single-line':11} {1:>7,} {len(text):>10,} {t_cap:9.3f} {n_cap:>5}"
        f" {t_unc:9.3f} {n_unc:>5} {t_unc / len(text) * 1e9:6.0f}us/kc"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
