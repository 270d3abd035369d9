"""Outages are events (``propdesk.outages``): one warning when one starts, one line a minute
while it lasts, one when it ends, never a traceback per retry; a pool timeout is an outage."""

from __future__ import annotations

import sqlalchemy.exc
from structlog.testing import capture_logs

from propdesk.clock import Clock
from propdesk.daemon.loop import DaemonLoop, PeriodicTask
from propdesk.errors import StoreError
from propdesk.outages import Outages
from propdesk.store.session import is_outage


class _Timer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _events(logs: list[dict[str, object]]) -> list[str]:
    return [str(e["event"]) for e in logs if str(e["event"]).startswith("outage.")]


def test_an_outage_is_three_kinds_of_line_however_often_it_is_retried() -> None:
    timer = _Timer()
    outage = Outages(Clock(monotonic=timer)).database
    with capture_logs() as logs:
        for _ in range(200):  # a retry a second for 200 s
            outage.failed("OperationalError: connection refused")
            timer.now += 1
        outage.recovered()
        outage.recovered()  # already up: nothing more to say
    assert _events(logs) == ["outage.started"] + ["outage.ongoing"] * 3 + ["outage.ended"]
    assert all("exc_info" not in e for e in logs)
    ended = logs[-1]
    assert ended["peer"] == "database" and ended["failures"] == 200
    assert ended["down_seconds"] == 200
    assert not outage.down and outage.failures == 0


def test_a_task_failing_on_the_database_is_an_outage_not_a_traceback_per_run() -> None:
    timer = _Timer()
    state = {"down": True}

    def deliver() -> str:
        if state["down"]:
            raise StoreError("database: connection refused")
        return "sent 0"

    clock = Clock(monotonic=timer)
    loop = DaemonLoop([], poll_seconds=1, tasks=[PeriodicTask("outbox", 1, deliver)], clock=clock)
    with capture_logs() as logs:
        for _ in range(30):
            assert not loop.run_once().ok
            timer.now += 1
        state["down"] = False
        assert loop.run_once().ok
    assert _events(logs) == ["outage.started", "outage.ended"]
    assert not [e for e in logs if e["event"] == "daemon.task_failed"]


def test_other_task_errors_still_log_their_traceback() -> None:
    def boom() -> None:
        raise ValueError("a bug")

    with capture_logs() as logs:
        DaemonLoop([], poll_seconds=1, tasks=[PeriodicTask("broken", 1, boom)]).run_once()
    assert [e.get("exc_info") for e in logs if e["event"] == "daemon.task_failed"] == [True]


def test_a_pool_timeout_is_an_outage() -> None:
    assert is_outage(sqlalchemy.exc.TimeoutError("QueuePool limit of size 1 overflow 1 reached"))
    assert not is_outage(sqlalchemy.exc.DataError("x", {}, Exception("bad value")))
