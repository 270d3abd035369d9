"""The assembled daemon and its SIGHUP reload: parts of the composition root kept apart so
``propdesk.app`` stays readable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from propdesk.daemon.analysis import AnalysisPool
from propdesk.daemon.loop import DaemonLoop, PeriodicTask
from propdesk.daemon.poll import MailboxPoller
from propdesk.errors import ConfigError, RulesError
from propdesk.ingest import IngestService
from propdesk.logging import get_logger

log = get_logger(__name__)


def close_tasks(tasks: Sequence[PeriodicTask]) -> None:
    for task in tasks:
        if task.close is not None:
            try:
                task.close()
            except Exception:  # shutdown goes on: the engines must still be released
                log.warning("daemon.task_close_failed", task=task.name, exc_info=True)


@dataclass
class Daemon:
    """The assembled daemon; ``close()`` releases the tasks' connections and the engines."""

    loop: DaemonLoop
    engines: tuple[Engine, ...]
    pool: AnalysisPool | None = None  # the analysis workers (None: analysis in-process)

    def warm_up(self) -> None:
        """The analysis workers started and set up now, before the loop (and READY=1)."""
        if self.pool is not None:
            self.pool.warm_up()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()  # first: a stop must not wait for a long analysis
        close_tasks(self.loop.tasks)
        for poller in self.loop.pollers:
            poller.close()
        for eng in self.engines:
            eng.dispose()


def reloader(
    rebuild: Callable[[], tuple[IngestService, list[PeriodicTask]]],
    pollers: Sequence[MailboxPoller],
    loop: DaemonLoop,
    rules_name: str,
) -> Callable[[], None]:
    """SIGHUP's work at the loop's next turn: rules and templates read again and everything
    they feed rebuilt; a file that does not load keeps the ones in use (and says why)."""

    def reload() -> None:
        try:
            service, tasks = rebuild()
        except (RulesError, ConfigError) as exc:
            log.error("daemon.reload_failed", error=str(exc), detail="kept the rules in use")
            return
        for poller in pollers:
            poller.use_ingest(service)
        old, loop.tasks = loop.tasks, tasks
        close_tasks(old)
        log.info("daemon.reloaded", rules=rules_name)

    return reload
