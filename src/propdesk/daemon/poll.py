"""One pass over one mailbox: lock, read new mail, ingest each message, then move it.

The order is what makes it exactly-once: a batch is fetched (one UID FETCH), written in one
transaction, and only after that commit moved (one UID MOVE per folder) or, without MOVE/UIDPLUS,
counted under the UID high-water mark. A message found in the inbox that
already has a row was committed by a run that died before its move: it is only moved now.

Outages do not block the loop: IMAP gets a few quick retries inside ``connect()``; after that the
mailbox gets a next-attempt time (exponential, capped) that the loop respects while it goes on
with other mailboxes and periodic tasks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import MailboxConfig
from propdesk.daemon.backoff import backoff_delay
from propdesk.daemon.metrics import Metrics
from propdesk.errors import MailboxAuthError, MailboxError, StoreError
from propdesk.ingest import IngestService, Result, failpoint
from propdesk.logging import get_logger
from propdesk.mail.imap import FetchedMessage, ImapMailbox, MessageMeta, batches
from propdesk.outages import Outage, Outages
from propdesk.outages import imap as imap_peer
from propdesk.store import mailbox_state
from propdesk.store.locks import mailbox_lock
from propdesk.store.session import Engine, Sessions, is_outage

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
    tickets: int = 0  # tickets created (committed) in this pass
    backlog: int = 0  # messages seen in the inbox and left unhandled when the pass ended
    latencies: list[float] = field(default_factory=list)  # receipt -> committed, seconds
    auth_refused: bool = False

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
        outages: Outages | None = None,
    ) -> None:
        self.config = config
        self._metrics = metrics
        self._outages = outages if outages is not None else Outages(clock)
        self._waiting_on: Outage | None = None  # the outage this mailbox backs off for
        self._ingest = ingest
        self._sessions = sessions
        self._lock_engine = lock_engine
        self._timeout = timeout_seconds
        self._clock = clock
        self._monotonic = clock.monotonic
        self.failures = 0
        self.next_attempt = 0.0  # monotonic seconds; 0 = now
        self._imap: ImapMailbox | None = None  # kept between passes (see ``_session``)

    @property
    def name(self) -> str:
        return self.config.name

    def use_ingest(self, ingest: IngestService) -> None:
        """From the next message on, ingest with ``ingest`` (rules reloaded on SIGHUP)."""
        self._ingest = ingest

    def due(self) -> bool:
        """Its backoff ran out, or the outage it backed off for ended (someone succeeded)."""
        waiting_on = self._waiting_on
        if waiting_on is not None and not waiting_on.down:
            return True
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
                    # Normal with several daemons on one database: at debug, not a warning.
                    log.debug(
                        "mailbox.locked",
                        mailbox=self.name,
                        detail="another propdesk process holds this mailbox; skipped",
                    )
                    return report
                self._pass(report, should_stop)
            self.failures = 0
            self.next_attempt = 0.0
            self._waiting_on = None
            self._outages.database.recovered()
            self._outages[imap_peer(self.name)].recovered()
        except MailboxError as exc:
            report.auth_refused = isinstance(exc, MailboxAuthError)
            self._back_off(report, str(exc), self._outages[imap_peer(self.name)])
        except StoreError as exc:
            self._back_off(report, str(exc), self._outages.database)
        except Exception as exc:  # e.g. the lock connection itself: keep the loop alive
            error = f"{type(exc).__name__}: {str(exc)[:300].splitlines()[0] if str(exc) else ''}"
            self._back_off(report, error, self._outages.database if is_outage(exc) else None)
        finally:
            report.seconds = round(self._monotonic() - started, 3)
        self._observe(report)
        quiet = report.status in ("ok", "waiting") and not report.counts
        # a failed pass is said by its outage (once, then once a minute), not at every retry
        quiet = quiet or (report.status == "error" and self._waiting_on is not None)
        (log.debug if quiet else log.info)(
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
        m.tickets_created.labels(mailbox=name).inc(report.tickets)
        for seconds in report.latencies:
            m.latency.labels(mailbox=name).observe(seconds)
        if report.auth_refused:
            m.auth_failures.labels(mailbox=name).inc()
        if report.status != "error":
            m.backlog.labels(mailbox=name).set(report.backlog)
        m.poll_seconds.labels(mailbox=name).observe(report.seconds)
        m.mailbox_up.labels(mailbox=name).set(0 if report.status == "error" else 1)
        if report.status != "error":
            m.last_poll.labels(mailbox=name).set(self._clock.now().timestamp())

    def _back_off(self, report: PassReport, error: str, outage: Outage | None) -> None:
        """Wait before the next pass; an outage logs as one event (``propdesk.outages``)."""
        self.failures += 1
        delay = backoff_delay(self.failures, BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS)
        self.next_attempt = self._monotonic() + delay
        self._waiting_on = outage
        report.status = "error"
        report.error = error
        fields: dict[str, Any] = {"mailbox": self.name, "retry_in_seconds": round(delay, 1)}
        if outage is not None:
            outage.failed(error, **fields)
        else:  # not an outage we know: every failure is worth a line
            log.warning("mailbox.unavailable", error=error, failures=self.failures, **fields)

    def _cutoff(self, state_skip_before: datetime | None) -> datetime | None:
        since = self.config.since
        fixed = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        candidates = [c for c in (fixed, state_skip_before) if c is not None]
        return max(candidates) if candidates else None

    def _session(self) -> tuple[ImapMailbox, int]:
        """The kept IMAP session, SELECTed afresh (UIDVALIDITY); a new one when there is none
        or the kept one went stale (the server's autologout, a restart): reconnecting is no
        failure, and the IDLE latency needs no login per pass."""
        cfg = self.config
        if self._imap is not None:
            try:
                return self._imap, self._imap.select()
            except MailboxError:
                self.close()
        imap = ImapMailbox(cfg, self._timeout)
        try:
            imap.connect()
            imap.ensure_folder(cfg.processed_folder)
            imap.ensure_folder(cfg.failed_folder)
            imap.ensure_folder(cfg.held_folder)
            uidvalidity = imap.select()
        except BaseException:
            imap.close()
            raise
        self._imap = imap
        return imap, uidvalidity

    def close(self) -> None:
        """Log out of the kept session (at shutdown, or after a failed pass)."""
        imap, self._imap = self._imap, None
        if imap is not None:
            imap.close()

    def _pass(self, report: PassReport, should_stop: Callable[[], bool]) -> None:
        imap, uidvalidity = self._session()
        done = False
        try:
            self._work(imap, uidvalidity, report, should_stop)
            done = True
        finally:
            if not done:  # whatever failed, the next pass starts from a fresh login
                self.close()

    def _work(
        self,
        imap: ImapMailbox,
        uidvalidity: int,
        report: PassReport,
        should_stop: Callable[[], bool],
    ) -> None:
        cfg = self.config
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
                self._count(report, pending, self._unread(uidvalidity, meta, "quarantined", reason))
            else:
                fresh.append(meta)
        mark = self._flush(imap, pending, metas, uidvalidity, mark)
        for batch in batches(fresh, cfg.batch_count, cfg.batch_bytes):
            if should_stop():
                report.status = "stopped"
                break
            msgs = imap.fetch_bodies(batch)
            if not self._ingest_batch(report, pending, uidvalidity, msgs, should_stop):
                report.status = "stopped"  # the rest of the batch is read again later
            mark = self._flush(imap, pending, metas, uidvalidity, mark)
            if report.status == "stopped":
                break
        report.backlog = len([m for m in metas if m.uid not in pending.handled])

    def _ingest_batch(
        self,
        report: PassReport,
        pending: _Pending,
        uidvalidity: int,
        msgs: Sequence[FetchedMessage],
        should_stop: Callable[[], bool],
    ) -> bool:
        """One fetched batch through ingest (one transaction), counted, each with its
        receipt -> committed latency; False when a stop request ended it early (the messages
        not recorded are read again)."""
        results = self._ingest.process_batch(
            self.name, uidvalidity, msgs, should_stop, max_seconds=self.config.batch_seconds
        )
        now = self._clock.now()
        for msg, result in zip(msgs, results, strict=False):
            self._count(report, pending, result)
            if result.already:
                continue
            if result.outcome == "ticketed":
                report.tickets += len(result.ticket_ids)
            report.latencies.append(max(0.0, (now - msg.received_at).total_seconds()))
        return len(results) == len(msgs) and not should_stop()

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
            if pending.failed or pending.held:
                failpoint("mid_move")
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
