"""Stop requests: signal handlers only set a flag (first signal) or exit (second).

The loop checks the flag between messages and waits on its ``threading.Event``, so the first
SIGTERM/SIGINT wakes a sleeping loop at once and lets a running message finish (warm stop). A
second signal raises ``SystemExit`` (cold stop): the current transaction rolls back, which the
exactly-once design makes harmless, and ``finally`` blocks still tear down. Same shape as rq's
``request_stop``/``request_force_stop``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


class StopFlag:
    """A stop request shared by the loop, the pollers and the signal handlers."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals_seen = 0

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; returns True at once when a stop is requested."""
        return self._event.wait(max(0.0, seconds))

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        """The signal handler: warm stop first, cold stop on the second signal."""
        self.signals_seen += 1
        if self.signals_seen == 1:
            self._event.set()
            return
        raise SystemExit(128 + signum)


def install(stop: StopFlag) -> Callable[[], None]:
    """Route SIGTERM and SIGINT to ``stop``; returns a function restoring the old handlers."""
    previous: dict[signal.Signals, Any] = {}
    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, stop.handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
