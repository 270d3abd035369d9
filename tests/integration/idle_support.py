"""Run the daemon in-process on a thread of the test, and wait for outcomes in the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from propdesk import app
from propdesk.app.supervision import Supervision
from propdesk.config import Config
from propdesk.daemon.metrics import Metrics
from propdesk.daemon.signals import StopFlag
from tests.integration.ingest_support import analyser


@dataclass
class Running:
    daemon: app.Daemon
    supervised: Supervision
    metrics: Metrics
    thread: threading.Thread

    def idling(self, mailbox: str = "main") -> bool:
        return self.supervised.health.boxes[mailbox].idling


@contextmanager
def running_daemon(config: Config, *, serve: bool = False) -> Iterator[Running]:
    """``run_forever`` on a thread (no signal handlers: those belong to the main thread)."""
    metrics = Metrics()
    supervised = app.supervision(config, metrics, serve=serve, environ={})
    stop = StopFlag()
    daemon = app.daemon(
        config, stop=stop, analyse=analyser(config), metrics=metrics, supervised=supervised
    )
    thread = threading.Thread(target=daemon.loop.run_forever, name="test-daemon", daemon=True)
    thread.start()
    try:
        yield Running(daemon, supervised, metrics, thread)
    finally:
        stop.request()
        thread.join(60)
        daemon.close()
        supervised.close()
    assert not thread.is_alive(), "the loop did not stop within 60 s"


def eventually(check: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> float:
    """Wait (generously: the machine is loaded) until ``check()``; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started
