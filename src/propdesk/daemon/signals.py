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
    """A stop request shared by the loop, the pollers and the signal handlers.

    Its event is also the loop's one wake-up: an IDLE watcher's ``wake(mailbox)`` sets it too,
    so the loop sleeps on one thing and wakes for a stop or for new mail alike.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._requested = False
        self._lock = threading.Lock()
        self._woken: set[str] = set()
        self.signals_seen = 0
        self.first_signal: int | None = None
        self.reload_requested = False

    @property
    def requested(self) -> bool:
        return self._requested

    def request(self) -> None:
        self._requested = True
        self._event.set()

    def wake(self, mailbox: str) -> None:
        """New mail may be in ``mailbox`` (from a watcher thread): wake the loop for it."""
        with self._lock:
            self._woken.add(mailbox)
            self._event.set()

    @property
    def woken(self) -> bool:
        """A watcher announced new mail the loop has not taken yet (long tasks yield to it)."""
        return bool(self._woken)

    def request_reload(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        """SIGHUP's handler: reload rules and templates at the loop's next turn."""
        self.reload_requested = True
        self._event.set()

    def take_reload(self) -> bool:
        wanted, self.reload_requested = self.reload_requested, False
        return wanted

    def take_woken(self) -> set[str]:
        """The mailboxes woken since the last call; re-arms the wake-up."""
        with self._lock:
            woken, self._woken = self._woken, set()
            if not self._requested:
                self._event.clear()
        return woken

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, less when woken; returns True when a stop is requested."""
        self._event.wait(max(0.0, seconds))
        return self._requested

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        """The signal handler: warm stop first, cold stop on the second signal."""
        self.signals_seen += 1
        if self.signals_seen == 1:
            self.first_signal = signum
            self.request()
            return
        raise SystemExit(128 + signum)

    def exit_code(self) -> int:
        """0 after SIGTERM (systemd's ordinary stop), 128+n after another signal (SIGINT 130)."""
        if self.first_signal is None or self.first_signal == signal.SIGTERM:
            return 0
        return 128 + self.first_signal


def install(stop: StopFlag) -> Callable[[], None]:
    """Route SIGTERM and SIGINT to ``stop`` and SIGHUP to a reload request; returns a
    function restoring the old handlers."""
    previous: dict[signal.Signals, Any] = {}
    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, stop.handle)
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, stop.request_reload)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
