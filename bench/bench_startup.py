"""Bench: how long propdesk takes to start, as whole commands (interpreter start included).

Figures, each the median of ``--runs`` (3) fresh subprocesses, with the load average beside:

- ``python -c pass``: the interpreter alone, the floor under every other figure;
- ``propdesk --help``: command discovery only (target < 0.5 s on an idle machine);
- the triage model's load (``rules/triage_model.json.gz``), reported apart: what
  ``default_triage_model()`` takes in a fresh process, its imports excluded;
- ``propdesk run --once`` with nothing to do, on the dev stack (``python -m tests.stack up``:
  Dovecot, an SMTP peer and a fresh database, migrated first), in total and without the
  model's load (target < 0.5 s on an idle machine).

    PYTHONPATH=src python bench/bench_startup.py [--runs 3] [--no-stack]
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}

_MODEL_LOAD = """
import time
from propdesk.core.rules import default_triage_model
started = time.perf_counter()
default_triage_model()
print(time.perf_counter() - started)
"""


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


#: CPU seconds (user + system) of each timed subprocess, in order: what the load does not
#: inflate (on an idle machine the wall time is about this plus the servers' share).
cpu_seconds: list[float] = []


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one fresh subprocess (it must succeed); its CPU goes to ``cpu_seconds``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, cwd=REPO, capture_output=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def median_of(runs: int, measure: object) -> tuple[float, list[float]]:
    assert callable(measure)
    times = [float(measure()) for _ in range(runs)]
    return statistics.median(times), times


def show(label: str, figure: tuple[float, list[float]], target: str = "", cpu: bool = True) -> None:
    median, times = figure
    runs = ", ".join(f"{t:.3f}" for t in times)
    spent = f"; CPU median {statistics.median(cpu_seconds[-len(times) :]):.3f} s" if cpu else ""
    print(f"{label:38s} median {median:.3f} s (runs {runs}){target}{spent}  load {load_average()}")


def model_load() -> float:
    done = subprocess.run(
        [sys.executable, "-c", _MODEL_LOAD], env=ENV, check=True, capture_output=True, text=True
    )
    return float(done.stdout.strip())


def dev_stack(directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``python -m tests.stack up`` in the background; its environment once it is ready."""
    log = (directory / "stack.log").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "-m", "tests.stack", "up", "--dir", str(directory)],
        cwd=REPO,
        env=ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(600):
        if (directory / "ready").exists():
            break
        if stack.poll() is not None:
            raise SystemExit(f"the dev stack failed: {(directory / 'stack.log').read_text()}")
        time.sleep(0.1)
    else:
        raise SystemExit("the dev stack did not come up in 60 s")
    env = dict(ENV)
    for line in (directory / "env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    return stack, env


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-stack", action="store_true", help="skip run --once (no dev stack)")
    args = parser.parse_args()
    py = [sys.executable]
    print(f"load average before: {load_average()}")
    show("python -c pass", median_of(args.runs, lambda: timed([*py, "-c", "pass"], ENV)))
    helped = median_of(args.runs, lambda: timed([*py, "-m", "propdesk", "--help"], ENV))
    show("propdesk --help", helped, " (target < 0.5 s idle)")
    model = median_of(args.runs, model_load)
    show("triage model load (apart)", model, cpu=False)
    if args.no_stack:
        return 0
    with tempfile.TemporaryDirectory(prefix="propdesk-bench-startup-") as tmp:
        stack, env = dev_stack(Path(tmp))
        try:
            subprocess.run([*py, "-m", "propdesk", "migrate"], env=env, check=True, cwd=REPO)
            once = [*py, "-m", "propdesk", "run", "--once"]
            timed(once, env)  # the first pass sets the mailbox's state up; not counted
            total = median_of(args.runs, lambda: timed(once, env))
            show("propdesk run --once (nothing to do)", total)
            without = (total[0] - model[0], [t - model[0] for t in total[1]])
            show("  ... without the model's load", without, " (target < 0.5 s idle)", cpu=False)
        finally:
            stack.send_signal(signal.SIGTERM)
            stack.wait(timeout=60)
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
