"""The daemon loop: poll every mailbox at its interval and run periodic tasks when due.

One thread, no schedulers: each turn does what is due (mailbox passes, then tasks such as outbox
delivery and the escalation pass, which ``propdesk.app`` plugs in) and then waits on the stop
flag's event until the next thing is due, so a stop request wakes it at once (Mailman's
``_do_periodic``, rq's maintenance check). A task that raises is logged and tried again at its
next interval; it never stops the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.daemon.metrics import Metrics
from propdesk.daemon.poll import MailboxPoller, PassReport
from propdesk.daemon.signals import StopFlag
from propdesk.errors import StoreError
from propdesk.logging import get_logger
from propdesk.outages import Outages
from propdesk.store.session import is_outage

log = get_logger(__name__)

#: A woken mailbox that another daemon held is tried again this soon (it may have died).
LOCKED_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class PeriodicTask:
    """A named job run every ``interval`` seconds; ``run`` may return a count to log."""

    name: str
    interval: float
    run: Callable[[], object]
    close: Callable[[], None] | None = None  # released at shutdown (e.g. QUIT on SMTP)
    uses_database: bool = True  # a run that returns means the database answered


@dataclass(frozen=True)
class Shared:
    """What the loop's parts share at run time: the stop request and the peers' outages
    (periodic tasks get it from their factory: the outbox stops between mails on it)."""

    stop: StopFlag
    outages: Outages
    metrics: Metrics | None = None  # the process's counters (None: not counted, e.g. --once)


@dataclass(frozen=True)
class Again:
    """A task result meaning "more is due already": run it again on the next turn, after the
    mailboxes woken meanwhile. Lets a long backlog (the outbox) go in slices, so new mail is
    never stuck behind it."""

    result: object


class Listener(Protocol):
    """Something that runs beside the loop while it runs (an IDLE watcher): started, stopped."""

    def start(self) -> None: ...
    def stop(self, join_seconds: float = ...) -> None: ...


@dataclass
class TurnReport:
    """One turn of the loop: every mailbox pass and task result."""

    passes: list[PassReport] = field(default_factory=list)
    task_errors: list[str] = field(default_factory=list)
    tasks_active: int = 0  # tasks whose result was not ``idle``: something happened

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.passes) and not self.task_errors

    @property
    def eventful(self) -> bool:
        """Mail handled, an error, or a task that did something: worth an info line."""
        handled = any(sum(p.counts.values()) for p in self.passes)
        return handled or not self.ok or self.tasks_active > 0


#: Called after every turn (the watchdog, health, systemd STATUS=): small, must not raise.
TurnObserver = Callable[[TurnReport], None]


class DaemonLoop:
    """Runs mailbox pollers and periodic tasks until stopped."""

    def __init__(
        self,
        pollers: Sequence[MailboxPoller],
        *,
        poll_seconds: float,
        tasks: Sequence[PeriodicTask] = (),
        stop: StopFlag | None = None,
        clock: Clock = SYSTEM_CLOCK,
        listeners: Sequence[Listener] = (),
        observers: Sequence[TurnObserver] = (),
        max_sleep: float = 60.0,
        heartbeat_seconds: float = 900.0,
        reload: Callable[[], None] | None = None,
        outages: Outages | None = None,
    ) -> None:
        self.pollers = list(pollers)
        self.poll_seconds = poll_seconds
        self.tasks = list(tasks)
        self.stop = stop or StopFlag()
        self.listeners = list(listeners)
        self.observers = list(observers)
        self.max_sleep = max_sleep  # the watchdog needs a turn at least this often
        self.heartbeat_seconds = heartbeat_seconds
        self.reload = reload  # SIGHUP: rebuild what the rules and templates feed
        self._monotonic = clock.monotonic
        self._last_info = self._monotonic()
        self.outages = outages if outages is not None else Outages(clock)

    def _poll_all(self, report: TurnReport, only: Collection[str] | None = None) -> None:
        for poller in self.pollers:
            if self.stop.requested:
                return
            if only is None or poller.name in only:
                report.passes.append(poller.poll(lambda: self.stop.requested))

    def _run_task(self, task: PeriodicTask, report: TurnReport) -> bool:
        """Run one task; True when it asked to run again at once (``Again``)."""
        started = self._monotonic()
        try:
            result = task.run()
        except Exception as exc:  # a failing task must not stop ticket intake
            first = str(exc).splitlines()[0][:300] if str(exc) else ""
            report.task_errors.append(f"{task.name}: {type(exc).__name__}: {first}")
            if isinstance(exc, StoreError) or is_outage(exc):
                # the database is down: one event for the outage, not a traceback per retry
                self.outages.database.failed(f"{type(exc).__name__}: {first}", task=task.name)
            else:
                log.exception("daemon.task_failed", task=task.name)
            return False
        if task.uses_database:
            self.outages.database.recovered()
        again = isinstance(result, Again)
        if isinstance(result, Again):
            result = result.result
        # A task result may say it did nothing (``idle``) and describe itself (``summary()``):
        # idle passes log at debug, so a quiet daemon does not fill the journal every few seconds.
        summary = getattr(result, "summary", None)
        text = summary() if callable(summary) else result
        idle = bool(getattr(result, "idle", False))
        report.tasks_active += 0 if idle else 1
        emit = log.debug if idle else log.info
        emit(
            "daemon.task",
            task=task.name,
            result=text if isinstance(text, int | str | None) else str(text),
            seconds=round(self._monotonic() - started, 3),
        )
        return again

    def run_once(self) -> TurnReport:
        """Every mailbox once, then every task once (``propdesk run --once``)."""
        report = TurnReport()
        self._poll_all(report)
        for task in self.tasks:
            for _slice in range(10_000):  # a task in slices runs until it has nothing due
                if self.stop.requested or not self._run_task(task, report):
                    break
        self._log_turn(report, force=True)
        return report

    def run_forever(self) -> None:
        """Until a stop is requested: poll when due or woken, run tasks when due, sleep between.

        Listeners (IDLE watchers) run beside it and wake it through the stop flag's event.
        """
        now = self._monotonic()
        next_poll = now
        next_task = {task.name: now for task in self.tasks}
        log.info(
            "daemon.started",
            mailboxes=[p.name for p in self.pollers],
            poll_seconds=self.poll_seconds,
            tasks=[t.name for t in self.tasks],
            idle=[getattr(w, "name", "?") for w in self.listeners],
        )
        for listener in self.listeners:
            listener.start()
        try:
            # Woken mailboxes whose pass could not run, failed or found the mailbox locked by
            # another daemon (which may die before it sees the new mail): retry time for each.
            owed: dict[str, float] = {}
            while not self.stop.requested:
                if self.stop.take_reload() and self.reload is not None:
                    self.reload()
                report = TurnReport()
                now = self._monotonic()
                woken = {n for n, at in owed.items() if at <= now} | self.stop.take_woken()
                if self._monotonic() >= next_poll:
                    self._poll_all(report)
                    next_poll = self._monotonic() + self.poll_seconds
                elif woken:
                    self._poll_all(report, only=woken)
                self._owe(owed, woken, report)
                for task in self.tasks:
                    if self.stop.requested:
                        break
                    if self._monotonic() >= next_task.setdefault(task.name, 0.0):
                        again = self._run_task(task, report)
                        next_task[task.name] = self._monotonic() + (0 if again else task.interval)
                if report.passes:
                    self._log_turn(report)
                self._observe(report)
                due = min([next_poll, *owed.values(), *next_task.values()]) - self._monotonic()
                self.stop.wait(min(due, self.max_sleep))
        finally:
            for listener in self.listeners:
                listener.stop()
        log.info("daemon.stopping", reason="stop requested")

    def _owe(self, owed: dict[str, float], woken: set[str], report: TurnReport) -> None:
        """Keep woken mailboxes owed until a pass over them really ran."""
        attempts = {p.name: p.next_attempt for p in self.pollers}
        for p in report.passes:
            if p.mailbox not in woken and p.mailbox not in owed:
                continue
            if p.status in ("waiting", "error"):
                owed[p.mailbox] = attempts.get(p.mailbox, 0.0)
            elif p.status == "locked":
                owed[p.mailbox] = self._monotonic() + LOCKED_RETRY_SECONDS
            else:
                owed.pop(p.mailbox, None)

    def _observe(self, report: TurnReport) -> None:
        for observer in self.observers:
            try:
                observer(report)
            except Exception:  # an observer (health, systemd) must never stop intake
                log.warning("daemon.observer_failed", exc_info=True)

    def _log_turn(self, report: TurnReport, *, force: bool = False) -> None:
        """At info when something happened (or as a heartbeat every few minutes), else debug:
        an idle daemon does not fill the journal."""
        totals: dict[str, int] = {}
        for p in report.passes:
            for key, value in p.counts.items():
                totals[key] = totals.get(key, 0) + value
        now = self._monotonic()
        heartbeat = now - self._last_info >= self.heartbeat_seconds
        loud = force or report.eventful or heartbeat
        if loud:
            self._last_info = now
        (log.info if loud else log.debug)(
            "daemon.heartbeat" if heartbeat and not report.eventful else "daemon.turn",
            mailboxes={p.mailbox: p.status for p in report.passes},
            task_errors=len(report.task_errors),
            **dict(sorted(totals.items())),
        )
