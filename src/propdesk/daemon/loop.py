"""The daemon loop: poll every mailbox at its interval and run periodic tasks when due.

One thread, no schedulers: each turn does what is due (mailbox passes, then tasks such as outbox
delivery and the escalation pass, which ``propdesk.app`` plugs in) and then waits on the stop
flag's event until the next thing is due, so a stop request wakes it at once (Mailman's
``_do_periodic``, rq's maintenance check). A task that raises is logged and tried again at its
next interval; it never stops the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.daemon.poll import MailboxPoller, PassReport
from propdesk.daemon.signals import StopFlag
from propdesk.errors import StoreError
from propdesk.logging import get_logger
from propdesk.outages import Outages
from propdesk.store.session import is_outage

log = get_logger(__name__)


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


@dataclass
class TurnReport:
    """One turn of the loop: every mailbox pass and task result."""

    passes: list[PassReport] = field(default_factory=list)
    task_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.passes) and not self.task_errors


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
        outages: Outages | None = None,
    ) -> None:
        self.pollers = list(pollers)
        self.poll_seconds = poll_seconds
        self.tasks = list(tasks)
        self.stop = stop or StopFlag()
        self._monotonic = clock.monotonic
        self.outages = outages if outages is not None else Outages(clock)

    def _poll_all(self, report: TurnReport) -> None:
        for poller in self.pollers:
            if self.stop.requested:
                return
            report.passes.append(poller.poll(lambda: self.stop.requested))

    def _run_task(self, task: PeriodicTask, report: TurnReport) -> None:
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
            return
        if task.uses_database:
            self.outages.database.recovered()
        # A task result may say it did nothing (``idle``) and describe itself (``summary()``):
        # idle passes log at debug, so a quiet daemon does not fill the journal every few seconds.
        summary = getattr(result, "summary", None)
        text = summary() if callable(summary) else result
        emit = log.debug if getattr(result, "idle", False) else log.info
        emit(
            "daemon.task",
            task=task.name,
            result=text if isinstance(text, int | str | None) else str(text),
            seconds=round(self._monotonic() - started, 3),
        )

    def run_once(self) -> TurnReport:
        """Every mailbox once, then every task once (``propdesk run --once``)."""
        report = TurnReport()
        self._poll_all(report)
        for task in self.tasks:
            if self.stop.requested:
                break
            self._run_task(task, report)
        self._log_turn(report)
        return report

    def run_forever(self) -> None:
        """Until a stop is requested: poll when due, run tasks when due, sleep in between."""
        now = self._monotonic()
        next_poll = now
        next_task = {task.name: now for task in self.tasks}
        log.info(
            "daemon.started",
            mailboxes=[p.name for p in self.pollers],
            poll_seconds=self.poll_seconds,
            tasks=[t.name for t in self.tasks],
        )
        while not self.stop.requested:
            report = TurnReport()
            if self._monotonic() >= next_poll:
                self._poll_all(report)
                next_poll = self._monotonic() + self.poll_seconds
            for task in self.tasks:
                if self.stop.requested:
                    break
                if self._monotonic() >= next_task[task.name]:
                    self._run_task(task, report)
                    next_task[task.name] = self._monotonic() + task.interval
            if report.passes:
                self._log_turn(report)
            due = min([next_poll, *next_task.values()])
            self.stop.wait(due - self._monotonic())
        log.info("daemon.stopping", reason="stop requested")

    @staticmethod
    def _log_turn(report: TurnReport) -> None:
        totals: dict[str, int] = {}
        for p in report.passes:
            for key, value in p.counts.items():
                totals[key] = totals.get(key, 0) + value
        log.info(
            "daemon.turn",
            mailboxes={p.mailbox: p.status for p in report.passes},
            task_errors=len(report.task_errors),
            **dict(sorted(totals.items())),
        )
