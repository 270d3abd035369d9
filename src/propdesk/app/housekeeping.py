"""The composition root's housekeeping part: the processed-folder pass of every mailbox with
``processed_keep_days`` set, as one periodic task of the loop."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from propdesk.clock import Clock
from propdesk.config import Config
from propdesk.core.rules import Rules
from propdesk.daemon.housekeeping import KeepReport, ProcessedFolderKeeper
from propdesk.daemon.loop import PeriodicTask, Shared
from propdesk.errors import MailboxError
from propdesk.logging import get_logger

log = get_logger(__name__)


@dataclass
class KeepTurn:
    """Every mailbox's pass of one run (``idle`` when nothing old went: a debug line)."""

    reports: list[KeepReport]
    errors: list[str]

    @property
    def idle(self) -> bool:
        return not self.errors and all(r.idle for r in self.reports)

    def summary(self) -> str:
        return "; ".join([*(r.summary() for r in self.reports), *self.errors]) or "off"


def keepers(
    config: Config, made: sessionmaker[Session], clock: Clock, shared: Shared | None = None
) -> list[ProcessedFolderKeeper]:
    """One keeper per mailbox whose processed folder has a retention (``processed_keep_days``)."""
    return [
        ProcessedFolderKeeper(
            mb,
            sessions=made,
            timeout_seconds=config.timeouts.imap_seconds,
            max_per_pass=config.housekeeping.max_messages_per_pass,
            message_id_chars=config.intake.max_message_id_chars,
            clock=clock,
            metrics=shared.metrics if shared is not None else None,
        )
        for mb in config.mailboxes
        if mb.processed_keep_days > 0
    ]


def housekeeping_task(
    config: Config, _rules: Rules, made: sessionmaker[Session], clock: Clock, shared: Shared
) -> PeriodicTask:
    """The loop's processed-folder task: a mailbox that cannot be reached waits for the next
    run (its poller reports the outage); the others go on."""
    kept = keepers(config, made, clock, shared)

    def run() -> KeepTurn:
        turn = KeepTurn([], [])
        for keeper in kept:
            if shared.stop.requested:
                break
            try:
                turn.reports.append(keeper.run_pass())
            except MailboxError as exc:
                turn.errors.append(str(exc))
                log.warning("housekeeping.failed", mailbox=keeper.config.name, error=str(exc))
        return turn

    return PeriodicTask("housekeeping", config.housekeeping.interval_seconds, run)
