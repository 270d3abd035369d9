"""One pass over one mailbox: lock, read new mail, ingest each message, then move it.

The order is what makes it exactly-once: a message is moved (or, without MOVE/UIDPLUS, counted
under the UID high-water mark) only after its row committed. A message found in the inbox that
already has a row was committed by a run that died before its move: it is only moved now.

Outages do not block the loop: IMAP gets a few quick retries inside ``connect()``; after that the
mailbox gets a next-attempt time (exponential, capped) that the loop respects while it goes on
with other mailboxes and periodic tasks.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import MailboxConfig
from propdesk.daemon.metrics import Metrics
from propdesk.errors import MailboxError, StoreError
from propdesk.ingest import IngestService, Result
from propdesk.logging import get_logger
from propdesk.mail.imap import ImapMailbox, MessageMeta, batches
from propdesk.store import mailbox_state
from propdesk.store.locks import mailbox_lock
from propdesk.store.session import Engine, Sessions

log = get_logger(__name__)

#: Backoff after a failed pass: first wait, cap.
BACKOFF_FIRST_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 300.0


@dataclass
class PassReport:
    """What one pass over one mailbox did."""

    mailbox: str
    status: str = "ok"  # ok | locked | waiting | error | stopped
    counts: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "locked", "waiting", "stopped")


@dataclass
class _Pending:
    """Committed UIDs waiting to leave the inbox, and all UIDs handled (for the mark)."""

    processed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    handled: set[int] = field(default_factory=set)

    def add(self, result: Result) -> None:
        where = {"failed": self.failed, "held": self.held}.get(result.destination, self.processed)
        where.append(result.uid)
        self.handled.add(result.uid)


class MailboxPoller:
    """Polls one configured mailbox; keeps its own backoff state between passes."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        ingest: IngestService,
        sessions: Sessions,
        lock_engine: Engine,
        timeout_seconds: float,
        clock: Clock = SYSTEM_CLOCK,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self._metrics = metrics
        self._ingest = ingest
        self._sessions = sessions
        self._lock_engine = lock_engine
        self._timeout = timeout_seconds
        self._clock = clock
        self._monotonic = clock.monotonic
        self.failures = 0
        self.next_attempt = 0.0  # monotonic seconds; 0 = now

    @property
    def name(self) -> str:
        return self.config.name

    def due(self) -> bool:
        return self._monotonic() >= self.next_attempt

    def poll(self, should_stop: Callable[[], bool] = lambda: False) -> PassReport:
        """One pass. Never raises for IMAP or database trouble: the report says what happened."""
        report = PassReport(self.name)
        started = self._monotonic()
        if not self.due():
            report.status = "waiting"
            return report
        try:
            with mailbox_lock(self._lock_engine, self.name) as held:
                if not held:
                    report.status = "locked"
                    log.warning(
                        "mailbox.locked",
                        mailbox=self.name,
                        detail="another propdesk process holds this mailbox; skipped",
                    )
                    return report
                self._pass(report, should_stop)
            self.failures = 0
            self.next_attempt = 0.0
        except (MailboxError, StoreError) as exc:
            self._back_off(report, str(exc))
        except Exception as exc:  # e.g. the lock connection itself: keep the loop alive
            self._back_off(report, f"{type(exc).__name__}: {str(exc)[:300]}")
        finally:
            report.seconds = round(self._monotonic() - started, 3)
        self._observe(report)
        log.info(
            "mailbox.pass",
            mailbox=self.name,
            status=report.status,
            seconds=report.seconds,
            **dict(sorted(report.counts.items())),
        )
        return report

    def _observe(self, report: PassReport) -> None:
        m = self._metrics
        if m is None or report.status in ("waiting", "locked"):
            return
        name = self.name
        for outcome, n in report.counts.items():
            m.messages.labels(mailbox=name, outcome=outcome).inc(n)
        m.poll_seconds.labels(mailbox=name).observe(report.seconds)
        m.mailbox_up.labels(mailbox=name).set(0 if report.status == "error" else 1)
        if report.status != "error":
            m.last_poll.labels(mailbox=name).set(self._clock.now().timestamp())

    def _back_off(self, report: PassReport, error: str) -> None:
        self.failures += 1
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (self.failures - 1))
        delay *= 0.8 + 0.4 * random.random()  # noqa: S311 - jitter, not cryptography
        self.next_attempt = self._monotonic() + delay
        report.status = "error"
        report.error = error
        log.warning(
            "mailbox.unavailable",
            mailbox=self.name,
            error=error,
            failures=self.failures,
            retry_in_seconds=round(delay, 1),
        )

    def _cutoff(self, state_skip_before: datetime | None) -> datetime | None:
        since = self.config.since
        fixed = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        candidates = [c for c in (fixed, state_skip_before) if c is not None]
        return max(candidates) if candidates else None

    def _pass(self, report: PassReport, should_stop: Callable[[], bool]) -> None:
        cfg = self.config
        imap = ImapMailbox(cfg, self._timeout)
        try:
            imap.connect()
            imap.ensure_folder(cfg.processed_folder)
            imap.ensure_folder(cfg.failed_folder)
            imap.ensure_folder(cfg.held_folder)
            uidvalidity = imap.select()
            mode = imap.removal_mode
            mark, cutoff = self._load_state(uidvalidity)
            uids = imap.search_uids(mark if mode == "none" else 0)
            metas = imap.fetch_meta(uids)
            with self._sessions() as s:
                uids_seen = [m.uid for m in metas]
                known = mailbox_state.known_outcomes(s, cfg.name, uidvalidity, uids_seen)
            pending = _Pending()
            fresh: list[MessageMeta] = []
            for meta in metas:
                if should_stop():
                    report.status = "stopped"
                    break
                if meta.uid in known:
                    # Committed by a run that died before its move: only the move is left.
                    self._count(report, pending, Result(meta.uid, known[meta.uid], already=True))
                elif cutoff is not None and meta.received_at < cutoff:
                    reason = f"received {meta.received_at.isoformat()} before {cutoff.isoformat()}"
                    self._count(report, pending, self._unread(uidvalidity, meta, "skipped", reason))
                elif meta.size > cfg.max_message_bytes:
                    reason = f"oversized: {meta.size} bytes > limit {cfg.max_message_bytes}"
                    self._count(
                        report, pending, self._unread(uidvalidity, meta, "quarantined", reason)
                    )
                else:
                    fresh.append(meta)
            mark = self._flush(imap, pending, metas, uidvalidity, mark)
            for batch in batches(fresh, cfg.batch_count, cfg.batch_bytes):
                if should_stop():
                    report.status = "stopped"
                    break
                for msg in imap.fetch_bodies(batch):
                    self._count(report, pending, self._ingest.process(cfg.name, uidvalidity, msg))
                    if should_stop():  # finish the current message, then stop
                        report.status = "stopped"
                        break
                mark = self._flush(imap, pending, metas, uidvalidity, mark)
                if report.status == "stopped":
                    break
        finally:
            imap.close()

    def _unread(self, uidvalidity: int, meta: MessageMeta, outcome: str, reason: str) -> Result:
        return self._ingest.record_unread(self.name, uidvalidity, meta, outcome, reason)

    @staticmethod
    def _count(report: PassReport, pending: _Pending, result: Result) -> None:
        report.counts["already_recorded" if result.already else result.outcome] += 1
        pending.add(result)

    def _load_state(self, uidvalidity: int) -> tuple[int, datetime | None]:
        """(high-water mark under this UIDVALIDITY, skip-before cutoff); saves UIDVALIDITY."""
        with self._sessions.begin() as s:
            state = mailbox_state.read_state(s, self.name)
            if state is None:
                skip_before = None
                if self.config.max_age_days:
                    skip_before = self._clock.now() - timedelta(days=self.config.max_age_days)
                mark = 0
                log.info("mailbox.first_start", mailbox=self.name, skip_before=skip_before)
            else:
                skip_before = state.skip_before
                mark = state.high_water_uid if state.uidvalidity == uidvalidity else 0
                if state.uidvalidity != uidvalidity:
                    log.warning(
                        "mailbox.uidvalidity_changed",
                        mailbox=self.name,
                        old=state.uidvalidity,
                        new=uidvalidity,
                        detail="messages are recognised by content; none is ticketed twice",
                    )
            mailbox_state.save_state(
                s, self.name, uidvalidity=uidvalidity, high_water_uid=mark, skip_before=skip_before
            )
        return mark, self._cutoff(skip_before)

    def _flush(
        self,
        imap: ImapMailbox,
        pending: _Pending,
        metas: Sequence[MessageMeta],
        uidvalidity: int,
        mark: int,
    ) -> int:
        """Move committed messages out; without MOVE/UIDPLUS advance the high-water mark."""
        cfg = self.config
        if pending.processed:
            imap.remove_to(pending.processed, cfg.processed_folder)
        if pending.failed:
            imap.remove_to(pending.failed, cfg.failed_folder)
        if pending.held:
            imap.remove_to(pending.held, cfg.held_folder)
        pending.processed, pending.failed, pending.held = [], [], []
        if imap.removal_mode != "none":
            return mark
        new_mark = mark
        for meta in metas:  # ascending UIDs: the mark only passes fully handled ones
            if meta.uid <= new_mark:
                continue
            if meta.uid not in pending.handled:
                break
            new_mark = meta.uid
        if new_mark != mark:
            with self._sessions.begin() as s:
                mailbox_state.advance_mark(s, self.name, uidvalidity, new_mark)
        return new_mark
