"""What the loop tells its supervisors after every turn: health state and systemd.

Both are ``TurnObserver``s (``propdesk.daemon.loop``), so the loop knows neither: the composition
root plugs them in. WATCHDOG=1 is sent from here, so it stops exactly when the loop stops
turning (a hung socket, a deadlock): systemd then restarts the process.
"""

from __future__ import annotations

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.daemon.health import Health
from propdesk.daemon.loop import TurnReport
from propdesk.daemon.sdnotify import Notifier


class HealthFeed:
    """Records each turn and each mailbox pass in ``Health`` (for /healthz and /readyz)."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def __call__(self, report: TurnReport) -> None:
        self.health.turned()
        for p in report.passes:
            if p.status == "error":
                self.health.mailbox_down(p.mailbox, p.error or "error")
            elif p.status in ("ok", "locked", "stopped"):
                self.health.mailbox_ok(p.mailbox)

    def idle_state(self, mailbox: str, idling: bool, error: str | None) -> None:
        """An IDLE watcher's ``state`` callback."""
        self.health.mailbox_idling(mailbox, idling)
        if error is not None:
            self.health.mailbox_down(mailbox, error)


class SystemdFeed:
    """READY=1 after the first turn (the schema was checked before the loop was built, and the
    first turn tried every mailbox's login); then WATCHDOG=1 every turn and STATUS= when the
    summary line changes."""

    def __init__(self, notifier: Notifier, health: Health, clock: Clock = SYSTEM_CLOCK) -> None:
        self.notifier = notifier
        self.health = health
        self._clock = clock
        self._status: str | None = None
        self.handled = 0
        self.last_pass: str | None = None

    def status_line(self) -> str:
        states = []
        for name, box in sorted(self.health.boxes.items()):
            state = "idle" if box.idling else ("down" if box.error else "polled")
            states.append(f"{name} {state}")
        last = f"; last pass {self.last_pass}" if self.last_pass else ""
        return f"{', '.join(states) or 'no mailboxes'}; {self.handled} message(s) handled{last}"

    def __call__(self, report: TurnReport) -> None:
        self.notifier.watchdog()
        if report.passes:
            self.handled += sum(sum(p.counts.values()) for p in report.passes)
            ok = all(p.ok for p in report.passes)
            self.last_pass = f"{self._clock.now():%H:%M:%S} {'ok' if ok else 'with errors'}"
        line = self.status_line()
        if self._status is None:
            self.notifier.ready(line)
        elif line != self._status:
            self.notifier.status(line)
        self._status = line
