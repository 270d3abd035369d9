"""Parse + analyse in worker processes (``propdesk.daemon.analysis``): the same result as in
process, ``timeout`` past an injected small budget, ``poison`` after three worker deaths, and a
stop request that ends the wait. Outcomes only, no elapsed-time asserts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from propdesk.app.pipeline import parser
from propdesk.config import BusinessHoursConfig, Config, IntakeConfig
from propdesk.daemon.analysis import AnalysisPool, AnalysisSetup, worker
from propdesk.errors import AnalysisPoisoned, AnalysisStopped, AnalysisTimeout

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SETUP = AnalysisSetup(IntakeConfig(), BusinessHoursConfig(), None, ("desk@example.com",))
SINK = (
    b"From: Ana <ana@example.com>\r\nTo: desk@example.com\r\nSubject: Sink\r\n"
    b"Message-ID: <s-1@example.com>\r\n\r\nThe kitchen sink is leaking under the cabinet.\r\n"
)
WAIT = 120.0


def _huge() -> bytes:
    """About 12 MB of one-matter text: far more than an injected small budget allows."""
    line = b"It is still leaking water onto the floor and the cabinet under it is soaked.\r\n"
    head = b"From: ana@example.com\r\nSubject: Leak\r\nMessage-ID: <h-1@example.com>\r\n\r\n"
    return head + line * 160_000


@pytest.fixture
def pool() -> Iterator[AnalysisPool]:
    p = AnalysisPool(SETUP, size=1, budget_seconds=WAIT)
    yield p
    p.close()


def test_a_message_is_parsed_and_analysed_in_a_worker(pool: AnalysisPool) -> None:
    prepared = pool.prepare(SINK, NOW, NOW)
    assert prepared.parsed.subject == "Sink"
    assert prepared.analysis is not None
    assert [t.subcategory.value for t in prepared.analysis.tickets if t.subcategory] == ["plumbing"]


def test_not_a_ticket_is_not_analysed(pool: AnalysisPool) -> None:
    own = SINK.replace(b"Ana <ana@example.com>", b"desk@example.com")
    prepared = pool.prepare(own, NOW, NOW)
    assert prepared.parsed.not_ticket is not None and prepared.analysis is None


def test_past_a_small_budget_the_message_times_out_and_the_next_one_goes() -> None:
    pool = AnalysisPool(SETUP, size=1, budget_seconds=0.3)
    try:
        with pytest.raises(AnalysisTimeout) as caught:
            pool.prepare(_huge(), NOW, NOW)
        assert caught.value.reason == "timeout"
        pool.budget_seconds = pool.workers.budget_seconds = WAIT  # the next one has room
        assert pool.prepare(SINK, NOW, NOW).analysis is not None
    finally:
        pool.close()


def test_three_worker_deaths_make_a_message_poison(pool: AnalysisPool) -> None:
    killer_stop = threading.Event()

    def kill_whatever_runs() -> None:  # an OOM killer that always picks the worker
        while not killer_stop.is_set():
            for pid in pool.workers.pids():
                if pool.workers.ready_count():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_whatever_runs, daemon=True)
    killer.start()
    try:
        with pytest.raises(AnalysisPoisoned, match="3 worker deaths") as caught:
            pool.prepare(_huge(), NOW, NOW)
        assert caught.value.reason == "poison"
    finally:
        killer_stop.set()
        killer.join()
    assert pool.prepare(SINK, NOW, NOW).analysis is not None


def test_a_stop_request_ends_the_wait_for_a_long_analysis(pool: AnalysisPool) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with pytest.raises(AnalysisStopped):
        pool.prepare(_huge(), NOW, NOW, stop.is_set)


def test_the_worker_parses_with_the_configured_header_limits() -> None:
    """The pool's parse must store what the in-process parser stores (``[intake]`` limits)."""
    intake = IntakeConfig(max_message_id_chars=100)
    raw = (
        "From: tenant@example.org\nTo: desk@example.com\nSubject: tap\n"
        f"Message-ID: <{'x' * 150}@example.org>\n\nThe tap leaks in unit 4B.\n"
    ).encode()
    run = worker(AnalysisSetup(intake, BusinessHoursConfig(), None, ()))
    now = datetime.now(UTC)
    in_pool = run((raw, now, now)).parsed.message_id
    assert in_pool.startswith("<sha256.")
    assert in_pool == parser(Config(intake=intake))(raw).message_id
