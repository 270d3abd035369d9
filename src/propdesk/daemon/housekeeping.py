"""The processed folder does not grow without bound: mail older than a mailbox's
``processed_keep_days`` (by INTERNALDATE, against the injected clock) is expunged or moved to a
dated archive folder (``Archive-2026-12``).

Only a message the database knows as processed goes: its Message-ID (as ingest stores it, read
from the header alone), RFC822.SIZE and INTERNALDATE (which MOVE keeps) match a committed row of
this mailbox whose outcome sends mail to the processed folder; a message without a Message-ID of
its own is matched by the SHA-256 of its bytes (the ingest content key), old mail recorded
without being read (``skipped``) by size and INTERNALDATE. Anything else in the folder (put there
by a person, or whose row never committed) stays.

A pass is bounded (``max_messages_per_pass``) and resumes after the last UID it examined, so old
mail that must stay never starves the rest; it wraps around at the end of the folder. One daemon
at a time works on a mailbox's folder (a transaction-scoped advisory lock).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import MailboxConfig
from propdesk.daemon.metrics import Metrics
from propdesk.logging import get_logger
from propdesk.mail.imap import ImapMailbox, MessageMeta, batches
from propdesk.mail.parse import header_message_id
from propdesk.store import mailbox_state
from propdesk.store.locks import try_xact_lock
from propdesk.store.session import Sessions

log = get_logger(__name__)

#: The coarse IMAP ``SEARCH BEFORE`` day is this far past the cutoff (servers read it in their
#: own zone); INTERNALDATE then decides to the second.
_SEARCH_SLACK = timedelta(days=2)
#: Headers per FETCH command.
_HEADER_BATCH = 200


@dataclass
class KeepReport:
    """One housekeeping pass over one mailbox's processed folder."""

    mailbox: str
    counts: Counter[str] = field(default_factory=Counter)  # expunged | archived | kept_unknown
    skipped: str | None = None  # why nothing was done (locked, unsupported)

    @property
    def idle(self) -> bool:
        return not self.counts

    def summary(self) -> str:
        body = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing old"
        return f"{self.mailbox}: {self.skipped or body}"


class ProcessedFolderKeeper:
    """Housekeeping of one mailbox's processed folder (its own short IMAP session per pass)."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        sessions: Sessions,
        timeout_seconds: float,
        max_per_pass: int,
        message_id_chars: int = 250,
        clock: Clock = SYSTEM_CLOCK,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self._id_chars = message_id_chars  # [intake] max_message_id_chars: ids as stored
        self._sessions = sessions
        self._timeout = timeout_seconds
        self._max = max_per_pass
        self._clock = clock
        self._metrics = metrics
        self._after: tuple[int, int] = (0, 0)  # (UIDVALIDITY, last UID examined)

    @property
    def enabled(self) -> bool:
        return self.config.processed_keep_days > 0

    def run_pass(self) -> KeepReport:
        """One bounded pass; raises ``MailboxError`` / store errors (the loop logs them)."""
        report = KeepReport(self.config.name)
        if not self.enabled:
            return report
        with self._sessions.begin() as lock_session:
            if not try_xact_lock(lock_session, "processed_folder", self.config.name):
                report.skipped = "another propdesk process is at it"
                return report
            with ImapMailbox(self.config, self._timeout) as imap:
                self._work(imap, report)
        self._observe(report)
        if report.counts:
            log.info("housekeeping.pass", mailbox=report.mailbox, **dict(report.counts))
        return report

    def _work(self, imap: ImapMailbox, report: KeepReport) -> None:
        cfg = self.config
        archive = cfg.processed_retention == "archive"
        needs = "MOVE or UIDPLUS" if archive else "UIDPLUS"
        if (archive and imap.removal_mode == "none") or (not archive and not imap.has("UIDPLUS")):
            report.skipped = f"the server lacks {needs}: the processed folder is left alone"
            log.warning("housekeeping.unsupported", mailbox=cfg.name, needs=needs)
            return
        if not imap.folder_exists(cfg.processed_folder):
            return
        uidvalidity = imap.select(cfg.processed_folder)
        cutoff = self._clock.now() - timedelta(days=cfg.processed_keep_days)
        metas = self._candidates(imap, uidvalidity, cutoff)
        known = self._committed(imap, metas)
        if len(metas) > len(known):
            report.counts["kept_unknown"] += len(metas) - len(known)
        if not known:
            return
        if not archive:
            imap.expunge([m.uid for m in known])
            report.counts["expunged"] += len(known)
            return
        by_folder: dict[str, list[int]] = {}
        for meta in known:  # dated by the message's own receipt (UTC), e.g. Archive-2026-12
            folder = meta.received_at.strftime(cfg.processed_archive_folder)
            by_folder.setdefault(folder, []).append(meta.uid)
        for folder, uids in sorted(by_folder.items()):
            imap.ensure_folder(folder)
            imap.remove_to(uids, folder)
            report.counts["archived"] += len(uids)

    def _candidates(
        self, imap: ImapMailbox, uidvalidity: int, cutoff: datetime
    ) -> list[MessageMeta]:
        """Up to ``max_per_pass`` messages received before ``cutoff``, after the last UID the
        previous pass examined (from the start again once the end is reached)."""
        before = (cutoff + _SEARCH_SLACK).date()
        after = self._after[1] if self._after[0] == uidvalidity else 0
        uids = imap.search_uids(after, before=before)
        if not uids and after:
            uids = imap.search_uids(0, before=before)
        uids = uids[: self._max]
        self._after = (uidvalidity, uids[-1] if uids else 0)
        return [m for m in imap.fetch_meta(uids) if m.received_at < cutoff]

    def _committed(self, imap: ImapMailbox, metas: list[MessageMeta]) -> list[MessageMeta]:
        """The messages among ``metas`` whose committed row says they were processed: by
        Message-ID, size and INTERNALDATE (only the header is read), by the bytes' hash when
        the message has no Message-ID of its own, by size and INTERNALDATE for skipped mail."""
        cfg = self.config
        ids: dict[int, str] = {}
        for start in range(0, len(metas), _HEADER_BATCH):
            for head in imap.fetch_bodies(metas[start : start + _HEADER_BATCH], "HEADER"):
                found = header_message_id(head.raw, self._id_chars)
                if found is not None:  # else the stored id came from the whole message's hash
                    ids[head.uid] = found
        nameless = [m for m in metas if m.uid not in ids and m.size <= cfg.max_message_bytes]
        shas: dict[int, str] = {}
        for batch in batches(nameless, cfg.batch_count, cfg.batch_bytes):
            for msg in imap.fetch_bodies(batch):
                shas[msg.uid] = hashlib.sha256(msg.raw).hexdigest()
        keyed = [(ids[m.uid], m.size, m.received_at) for m in metas if m.uid in ids]
        with self._sessions() as s:
            by_header = mailbox_state.committed_headers(s, cfg.name, keyed)
            contents = mailbox_state.committed_contents(s, cfg.name, sorted(set(shas.values())))
            unread = mailbox_state.committed_unread(
                s, cfg.name, [(m.size, m.received_at) for m in metas]
            )
        return [
            m
            for m in metas
            if (ids.get(m.uid), m.size, m.received_at) in by_header
            or shas.get(m.uid) in contents
            or (m.size, m.received_at) in unread
        ]

    def _observe(self, report: KeepReport) -> None:
        if self._metrics is None:
            return
        for action, n in report.counts.items():
            self._metrics.housekeeping.labels(mailbox=report.mailbox, action=action).inc(n)
