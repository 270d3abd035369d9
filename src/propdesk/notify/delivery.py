"""Outbox delivery: a periodic task of the daemon loop that sends due rows over SMTP.

Rows go in batches (``[notifications] delivery_batch``, default 100): one transaction claims a
batch ``FOR UPDATE SKIP LOCKED`` (several daemons, and several workers of one daemon, each skip
the rows another holds), holds the row locks while the batch is sent over the worker's kept SMTP
connection, writes each outcome as the server answers and commits once at the end. Why batches:
a commit per mail was most of a mail's cost. The price, and the documented bound: if the process
dies between a server's ``250`` and its batch's commit, the whole batch goes back to pending and
is sent again, so **at most one batch per worker is re-sent after a crash**, every copy with the
same Message-ID (receivers and our own reply matching recognise it). ``delivery_batch = 1`` gives
the old one-re-send bound at the old speed.

``delivery_workers`` (default 1) runs that many passes side by side, each with its own database
connection and its own kept SMTP connection; the pass's row and time budgets are shared.
Where the server offers PIPELINING the SMTP adapter sends each envelope in one round trip.

Failures never make the loop wait: 4xx or a lost connection stores ``next_attempt_at`` with
exponential backoff and ends the pass if the server could not be reached at all; 5xx marks the row
dead with the server's answer. Loop and flood safety (robots, our own addresses, the per-tenant
hourly cap) are decided here, right before sending, and recorded as ``suppressed``.

The tenant cap is one rule (``propdesk.core.notifications.capped``): it counts and limits
acknowledgements of new mail only. Safety advice, status, completion and reopen mails are never
suppressed by it and never count towards it: a tenant who wrote five times in an hour still learns
that the work is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import NotificationsConfig
from propdesk.core.notifications import ACKNOWLEDGEMENT_KIND, PAGE_KIND, TENANT, capped
from propdesk.ingest.failpoints import failpoint
from propdesk.logging import get_logger
from propdesk.mail.compose import Composer, Outgoing, OutgoingFile
from propdesk.mail.smtp import Outcome, SendResult
from propdesk.notify.pager import Pager
from propdesk.notify.safety import RecipientPolicy
from propdesk.outages import SMTP, Outages
from propdesk.store import outbox as repo
from propdesk.store.db import Database
from propdesk.store.outbox import DeliveryPass, OutboxItem

log = get_logger(__name__)


class Sender(Protocol):
    """What delivery needs from the SMTP adapter."""

    def send(self, msg: EmailMessage, envelope_from: str, recipient: str) -> SendResult: ...

    def close(self) -> None: ...


@dataclass
class PassStats:
    """What one delivery pass did."""

    sent: int = 0
    retry: int = 0
    dead: int = 0
    suppressed: int = 0
    stopped_early: bool = False
    stop_requested: bool = False  # the daemon is stopping: the rest waits for the next run
    budget_spent: bool = False  # the row or time budget ended the pass: more may be due now
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retry + self.dead + self.suppressed

    def add(self, other: PassStats) -> None:
        """Fold one worker's figures into the pass's."""
        self.sent += other.sent
        self.retry += other.retry
        self.dead += other.dead
        self.suppressed += other.suppressed
        self.stopped_early |= other.stopped_early
        self.stop_requested |= other.stop_requested
        self.budget_spent |= other.budget_spent
        self.errors.extend(other.errors)

    @property
    def idle(self) -> bool:
        """Nothing was due: the loop logs such a pass at debug level."""
        return self.handled == 0 and not self.errors

    def summary(self) -> str:
        """One line for the daemon's task log."""
        line = (
            f"sent {self.sent}, retry {self.retry}, dead {self.dead}, suppressed {self.suppressed}"
        )
        if self.stopped_early:
            line += ", stopped early (time budget)"
        if self.stop_requested:
            line += ", stopped (stop requested)"
        if self.errors:
            line += f", {len(self.errors)} error(s)"
        return line


class OutboxDelivery:
    """Sends due outbox rows; ``run_once`` is the periodic task body."""

    name = "outbox"
    description = "send due notification emails from the outbox over SMTP"

    def __init__(
        self,
        db: Database,
        sender: Sender,
        composer: Composer,
        settings: NotificationsConfig,
        own_addresses: Iterable[str],
        *,
        clock: Clock = SYSTEM_CLOCK,
        pager: Pager | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        outages: Outages | None = None,
        sender_factory: Callable[[], Sender] | None = None,
    ) -> None:
        self._should_stop = should_stop  # looked at between mails: SIGTERM ends the pass
        self._outages = outages if outages is not None else Outages(clock)
        self._db = db
        # one kept SMTP connection per worker; the extra workers' senders come from the factory
        self._senders = [sender]
        self._sender_factory = sender_factory
        self._composer = composer
        self._settings = settings
        self._policy = RecipientPolicy(own_addresses)
        self._clock = clock
        self._pager = pager

    def __call__(self) -> PassStats:
        return self.run_once()

    def run_once(self, limit: int | None = None) -> PassStats:
        """Deliver due rows until none is left, ``limit`` (default: batch_size) were handled or
        ``max_pass_seconds`` passed, so a backlog drains fast without starving ingestion; stop
        early if SMTP is down."""
        budget = _Budget(limit if limit is not None else self._settings.batch_size)
        deadline = self._clock.monotonic() + self._settings.max_pass_seconds
        senders = self._workers()
        if len(senders) == 1:
            stats = self._work(senders[0], budget, deadline)
        else:
            stats = self._in_parallel(senders, budget, deadline)
        if stats.handled:
            log.info(
                "outbox.pass",
                sent=stats.sent,
                retry=stats.retry,
                dead=stats.dead,
                suppressed=stats.suppressed,
                stopped_early=stats.stopped_early,
                workers=len(senders),
            )
        return stats

    def close(self) -> None:
        """Close the kept SMTP connections (at shutdown)."""
        for sender in self._senders:
            sender.close()

    def _workers(self) -> list[Sender]:
        wanted = self._settings.delivery_workers if self._sender_factory is not None else 1
        while len(self._senders) < wanted:
            assert self._sender_factory is not None
            self._senders.append(self._sender_factory())
        return self._senders[:wanted]

    def _in_parallel(self, senders: list[Sender], budget: _Budget, deadline: float) -> PassStats:
        """One pass per worker thread (SMTP and database waits overlap); figures merged."""
        results: list[PassStats] = []
        failures: list[BaseException] = []

        def work(sender: Sender) -> None:
            try:
                results.append(self._work(sender, budget, deadline))
            except BaseException as exc:  # re-raised in the caller's thread below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(s,), name="outbox") for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
        stats = PassStats()
        for r in results:
            stats.add(r)
        return stats

    def _work(self, sender: Sender, budget: _Budget, deadline: float) -> PassStats:
        """One worker's share of a pass: batch after batch until nothing is due or a budget,
        a stop request or an unreachable server ends it."""
        stats = PassStats()
        monotonic = self._clock.monotonic
        with repo.delivery_pass(self._db) as rows:
            while budget.left() > 0:
                size = min(self._settings.delivery_batch, budget.left())
                with rows.claim_batch(self._clock.now(), size) as batch:
                    for row in batch:
                        if monotonic() >= deadline or not budget.take():
                            stats.budget_spent = True
                            return stats
                        if self._should_stop():
                            stats.stop_requested = True
                            return stats
                        if self._one(rows, sender, row, stats) is _STOP:
                            stats.stopped_early = True
                            return stats
                if len(batch) < size:
                    return stats
        stats.budget_spent = True
        return stats

    def _one(self, rows: DeliveryPass, sender: Sender, row: OutboxItem, stats: PassStats) -> object:
        now = self._clock.now()
        if row.kind == PAGE_KIND:
            return self._page(rows, row, now, stats)
        reason = self._refusal(rows, row, now)
        if reason is not None:
            rows.finish(row.id, now, status="suppressed", error=reason, attempted=False)
            stats.suppressed += 1
            log.warning("outbox.suppressed", outbox_id=row.id, kind=row.kind, reason=reason)
            return _DONE
        try:
            msg = self._composer.compose(self._with_files(rows, row), now)
        except Exception as exc:  # a row that cannot be rendered must not block the rest
            error = f"cannot compose: {type(exc).__name__}: {exc}"[:1000]
            rows.finish(row.id, now, status="dead", error=error)
            stats.dead += 1
            log.error("outbox.compose_failed", outbox_id=row.id, error=error)
            return _DONE
        result = sender.send(msg, self._composer.envelope_from, row.recipient)
        if result.outcome is Outcome.SENT:
            failpoint("delivery_sent")  # kill tests: dies after a 250, before the batch commits
        return self._record(rows, row, result, self._clock.now(), stats)

    def _page(self, rows: DeliveryPass, row: OutboxItem, now: datetime, stats: PassStats) -> object:
        """A page goes to the paging hook, with the same retry and dead-row handling as mail."""
        if self._pager is None:
            rows.finish(row.id, now, status="suppressed", error="no paging hook configured")
            stats.suppressed += 1
            return _DONE
        result = self._pager.page(dict(row.outgoing.context.get("ticket") or {}))
        return self._record(rows, row, result, self._clock.now(), stats)

    def _refusal(self, rows: DeliveryPass, row: OutboxItem, now: datetime) -> str | None:
        reason = self._policy.refusal(row.recipient)
        if reason is not None:
            return reason
        cap = self._settings.tenant_cap_per_hour
        if row.audience == TENANT and capped(row.kind):
            recent = rows.sent_since(row.recipient, now - timedelta(hours=1), ACKNOWLEDGEMENT_KIND)
            if recent >= cap:
                return (
                    f"flood cap: {recent} acknowledgements to this tenant in the last hour "
                    f"(cap {cap})"
                )
        return None

    def _with_files(self, rows: DeliveryPass, row: OutboxItem) -> Outgoing:
        """The row's outgoing mail with the photos its context names, read from the store."""
        photos = row.outgoing.context.get("photos") or []
        if not photos:
            return row.outgoing
        blobs = rows.blobs([str(p["sha256"]) for p in photos])
        files = [
            OutgoingFile(str(p["filename"]), str(p["content_type"]), blobs[str(p["sha256"])])
            for p in photos
            if str(p["sha256"]) in blobs
        ]
        if len(files) < len(photos):
            log.warning("outbox.photo_missing", outbox_id=row.id, missing=len(photos) - len(files))
        return replace(row.outgoing, files=tuple(files))

    def _record(
        self,
        rows: DeliveryPass,
        row: OutboxItem,
        result: SendResult,
        now: datetime,
        stats: PassStats,
    ) -> object:
        fields = {"outbox_id": row.id, "kind": row.kind, "ticket_id": row.ticket_id}
        if not result.connection_failed:
            self._outages[SMTP].recovered()  # the server answered, whatever it said
        if result.outcome is Outcome.SENT:
            rows.finish(row.id, now, status="sent")
            stats.sent += 1
            log.info("outbox.sent", message_id=row.message_id, **fields)
            return _DONE
        if result.outcome is Outcome.DEAD:
            rows.finish(row.id, now, status="dead", error=result.answer)
            stats.dead += 1
            log.error("outbox.dead", answer=result.answer, **fields)
            return _DONE
        attempts = row.attempts + 1
        if attempts >= self._settings.max_attempts:
            error = f"gave up after {attempts} attempts; last answer: {result.answer}"
            rows.finish(row.id, now, status="dead", error=error[:1000])
            stats.dead += 1
            log.error("outbox.dead", answer=error, **fields)
            return _DONE
        delay = repo.backoff(
            attempts, self._settings.retry_base_seconds, self._settings.retry_max_seconds
        )
        rows.finish(row.id, now, status="pending", error=result.answer, next_attempt_at=now + delay)
        stats.retry += 1
        # the server unreachable is an outage of SMTP (one event, see ``propdesk.outages``);
        # a 4xx answer is about this mail and worth its own line
        (log.debug if result.connection_failed else log.warning)(
            "outbox.retry_later",
            answer=result.answer,
            attempts=attempts,
            retry_in_seconds=delay.total_seconds(),
            **fields,
        )
        if result.connection_failed:
            self._outages[SMTP].failed(result.answer)
            return _STOP
        return _DONE


class _Budget:
    """The pass's row budget, shared by its workers (taken one row at a time)."""

    def __init__(self, rows: int) -> None:
        self._left = rows
        self._lock = threading.Lock()

    def left(self) -> int:
        return self._left

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


_DONE = object()
_STOP = object()
