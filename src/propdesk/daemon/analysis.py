"""Parse + analyse of one message in a worker process, within a time budget.

Why: the CPU half of ingest must never hold up the mailbox. A message whose parse or analysis
runs past ``[intake] analysis_budget_seconds`` has its worker killed (``AnalysisTimeout`` ->
quarantined ``timeout``); one whose worker dies under it three times is ``AnalysisPoisoned``
(quarantined ``poison``); the mailbox goes on with the next message either way. While it waits,
the caller's stop flag is looked at, so SIGTERM during a long analysis ends the wait at once.

``AnalysisPool.submit(raw, received_at, now) -> Future[Prepared]`` is the building block (the
batched ingest overlaps it with database and IMAP waits); ``prepare`` is the blocking call for
one message (reprocess): submit, wait (stop-aware), retry after a worker death, map the pool's
errors; ``prepare_all`` submits a whole batch at once and yields the results in order.
"""

from __future__ import annotations

import concurrent.futures
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import BusinessHoursConfig, IntakeConfig
from propdesk.core.hours import BusinessHours
from propdesk.core.message import InboundMessage
from propdesk.core.pipeline import MessageAnalysis, analyse_items
from propdesk.core.rules import load_rules
from propdesk.daemon.pool import BudgetExceeded, TaskFailed, WorkerDied, WorkerPool
from propdesk.errors import AnalysisError, AnalysisPoisoned, AnalysisStopped, AnalysisTimeout
from propdesk.logging import get_logger
from propdesk.mail.header_limits import limits_of
from propdesk.mail.parse import parse_message

log = get_logger(__name__)

DEATHS_MAX = 3  # worker deaths one message may cause before it is poison
_WAIT_STEP_SECONDS = 0.2  # how often a waiting caller looks at its stop flag

Task = tuple[bytes, datetime, datetime]  # raw bytes, received_at, now


@dataclass(frozen=True)
class AnalysisSetup:
    """What a worker needs to parse and analyse exactly as the daemon would (plain data)."""

    intake: IntakeConfig
    business_hours: BusinessHoursConfig
    rules_file: Path | None
    own_addresses: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """A parsed message and, unless the filters say it is no ticket, its analysis."""

    parsed: InboundMessage
    analysis: MessageAnalysis | None


def worker(setup: AnalysisSetup) -> Callable[[Task], Prepared]:
    """Runs in each worker once: load the rules, then parse + analyse every task."""
    rules = load_rules(setup.rules_file)
    bh = setup.business_hours
    hours = BusinessHours.from_values(bh.timezone, bh.parsed_hours(), bh.holidays)
    intake = setup.intake
    limits = limits_of(intake)

    def run(task: Task) -> Prepared:
        raw, received_at, now = task
        parsed = parse_message(
            raw,
            max_attachment_bytes=intake.max_attachment_bytes,
            own_addresses=setup.own_addresses,
            blocked_senders=intake.blocked_senders,
            loop_header=intake.loop_header,
            limits=limits,  # as the in-process parser: the [intake] header limits
            max_forward_depth=intake.max_forward_depth,
        )
        if parsed.not_ticket is not None:
            return Prepared(parsed, None)
        analysis = analyse_items(
            parsed,
            rules=rules,
            business_hours=hours,
            received_at=received_at,
            now=now,
            new_id=secrets.token_bytes,
        )
        return Prepared(parsed, analysis)

    return run


class AnalysisPool:
    """Worker processes that parse and analyse messages, each within ``budget_seconds``."""

    def __init__(
        self,
        setup: AnalysisSetup,
        *,
        size: int,
        budget_seconds: float,
        clock: Clock = SYSTEM_CLOCK,
        deaths_max: int = DEATHS_MAX,
    ) -> None:
        self._pool: WorkerPool[AnalysisSetup, Task, Prepared] = WorkerPool(
            worker,
            setup,
            size=size,
            budget_seconds=budget_seconds,
            monotonic=clock.monotonic,
            name="analysis",
        )
        self.budget_seconds = budget_seconds
        self.deaths_max = deaths_max
        self._monotonic = clock.monotonic

    @property
    def workers(self) -> WorkerPool[AnalysisSetup, Task, Prepared]:
        return self._pool

    def submit(self, raw: bytes, received_at: datetime, now: datetime) -> Future[Prepared]:
        """Queue one message; the future holds ``Prepared`` or a ``PoolError``."""
        return self._pool.submit((raw, received_at, now))

    def prepare(
        self,
        raw: bytes,
        received_at: datetime,
        now: datetime,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Prepared:
        """Parse + analyse ``raw`` in a worker; raises an ``AnalysisError`` naming the reason
        to quarantine it, ``AnalysisStopped`` on a stop request, or ``PoolBroken``."""
        return self._settle(self.submit(raw, received_at, now), raw, received_at, now, should_stop)

    def prepare_all(
        self,
        tasks: Sequence[tuple[bytes, datetime]],
        now: datetime,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[Prepared | AnalysisError]:
        """Every (raw, received_at) submitted at once (the workers run while the caller waits
        on the database and IMAP), the results yielded in order: ``Prepared``, or the
        ``AnalysisError`` to quarantine that message with. A stop request raises
        ``AnalysisStopped`` at the next wait; tasks not yet taken are cancelled."""
        futures = [self.submit(raw, received_at, now) for raw, received_at in tasks]
        try:
            for (raw, received_at), future in zip(tasks, futures, strict=True):
                try:
                    yield self._settle(future, raw, received_at, now, should_stop)
                except AnalysisStopped:
                    raise
                except AnalysisError as exc:
                    yield exc
        finally:
            for future in futures:
                future.cancel()

    def _settle(
        self,
        future: Future[Prepared],
        raw: bytes,
        received_at: datetime,
        now: datetime,
        should_stop: Callable[[], bool],
    ) -> Prepared:
        """Wait for ``future``; after a worker death submit the task again (up to poison)."""
        deaths = 0
        while True:
            try:
                return self._wait(future, should_stop)
            except BudgetExceeded as exc:
                raise AnalysisTimeout(
                    f"parse + analysis over the {self.budget_seconds:g} s budget ({exc})"
                ) from exc
            except WorkerDied as exc:
                if should_stop():
                    raise AnalysisStopped("stopped while the message was analysed") from exc
                deaths += 1
                log.warning("analysis.worker_died", deaths=deaths, error=str(exc))
                if deaths >= self.deaths_max:
                    raise AnalysisPoisoned(
                        f"in flight through {deaths} worker deaths (last: {exc})"
                    ) from exc
                future = self.submit(raw, received_at, now)

    @staticmethod
    def _wait(future: Future[Prepared], should_stop: Callable[[], bool]) -> Prepared:
        while True:
            try:
                return future.result(timeout=_WAIT_STEP_SECONDS)
            except concurrent.futures.TimeoutError:
                if should_stop():
                    future.cancel()
                    raise AnalysisStopped("stopped while the message was analysed") from None
            except TaskFailed as exc:  # a bug met in parse or analysis: this message's fault
                raise AnalysisError(str(exc)) from exc

    def warm_up(self, wait_seconds: float = 60.0) -> bool:
        """Start the workers and wait (bounded) until they have loaded the rules."""
        started = self._monotonic()
        ready = self._pool.start(wait_seconds)
        seconds = round(self._monotonic() - started, 2)
        (log.info if ready else log.warning)("analysis.warm", ready=ready, seconds=seconds)
        return ready

    def close(self) -> None:
        """Kill the workers now (a stop must not wait for a long analysis)."""
        self._pool.close()
