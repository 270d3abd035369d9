"""The worker pool (``propdesk.daemon.pool``): real worker processes, real kills.

Budgets are small and injected; nothing asserts on how long something took, only on outcomes
(which error, which worker answered, that the pool goes on).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from propdesk.daemon.pool import (
    BudgetExceeded,
    PoolBroken,
    TaskFailed,
    WorkerDied,
    WorkerPool,
)
from tests.unit import pool_tasks

Pool = WorkerPool[str, tuple[str, float], str]
WAIT = 120  # seconds a test waits for a result at most (a loaded machine starts workers slowly)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the pool did not get there"
        time.sleep(0.05)


@pytest.fixture
def pool() -> Iterator[Pool]:
    with WorkerPool(pool_tasks.setup, "p", size=2, budget_seconds=2.0, name="test") as p:
        yield p


def test_tasks_run_in_the_workers(pool: Pool) -> None:
    futures = [pool.submit((f"w{i}", 0.0)) for i in range(6)]
    answers = [f.result(timeout=WAIT) for f in futures]
    assert [a.split(":")[1] for a in answers] == [f"w{i}" for i in range(6)]
    assert {int(a.split(":")[2]) for a in answers} <= set(pool.pids())
    assert os.getpid() not in {int(a.split(":")[2]) for a in answers}


def test_an_overrunning_task_is_killed_and_the_others_go_on(pool: Pool) -> None:
    slow = pool.submit(("slow", 600.0))
    quick = [pool.submit((f"q{i}", 0.0)) for i in range(3)]
    with pytest.raises(BudgetExceeded, match="budget"):
        slow.result(timeout=WAIT)
    assert [f.result(timeout=WAIT).split(":")[1] for f in quick] == ["q0", "q1", "q2"]
    assert pool.replaced == 1
    after = pool.submit(("after", 0.0)).result(timeout=WAIT)
    assert after.startswith("p:after:")


def test_a_dying_worker_fails_its_task_only(pool: Pool) -> None:
    with pytest.raises(WorkerDied, match="exit code 3"):
        pool.submit(("die", 0.0)).result(timeout=WAIT)
    assert pool.submit(("next", 0.0)).result(timeout=WAIT).startswith("p:next:")
    assert pool.replaced == 1


def test_a_worker_killed_from_outside_is_replaced(pool: Pool) -> None:
    pool.submit(("warm", 0.0)).result(timeout=WAIT)
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    _until(lambda: victim not in pool.pids() and pool.ready_count() == 2)
    answers = [pool.submit((f"a{i}", 0.0)).result(timeout=WAIT) for i in range(4)]
    assert victim not in {int(a.split(":")[2]) for a in answers}


def test_a_raising_task_gives_its_traceback(pool: Pool) -> None:
    with pytest.raises(TaskFailed, match="ValueError: asked to fail"):
        pool.submit(("raise", 0.0)).result(timeout=WAIT)
    assert pool.replaced == 0  # the worker survives its task's exception


def test_close_fails_what_is_in_flight_and_refuses_more() -> None:
    pool: Pool = WorkerPool(pool_tasks.setup, "p", size=1, budget_seconds=600.0)
    running = pool.submit(("long", 600.0))
    waiting = pool.submit(("queued", 0.0))
    pool.close()
    for future in (running, waiting):
        with pytest.raises(PoolBroken):
            future.result(timeout=WAIT)
    with pytest.raises(PoolBroken, match="closed"):
        pool.submit(("late", 0.0))


def test_a_set_up_that_always_fails_breaks_the_pool_not_the_task() -> None:
    pool: Pool = WorkerPool(pool_tasks.broken_setup, "x", size=1, budget_seconds=5.0)
    with pool, pytest.raises(PoolBroken, match="died on start"):
        pool.submit(("any", 0.0)).result(timeout=WAIT)


def test_start_sets_the_workers_up_before_any_task(pool: Pool) -> None:
    assert pool.ready_count() == 0  # lazy until asked
    assert pool.start(WAIT)
    assert pool.ready_count() == 2 and len(pool.pids()) == 2
    assert pool.submit(("first", 0.0)).result(timeout=WAIT).startswith("p:first:")


def test_start_gives_up_after_its_wait_when_set_up_fails() -> None:
    with WorkerPool(pool_tasks.broken_setup, "p", size=1, budget_seconds=2.0) as broken:
        assert broken.start(0.5) is False  # bounded: the daemon goes on, the pool keeps trying
