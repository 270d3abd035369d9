"""The per-message ingest pipeline and its exactly-once rules.

One IMAP message gets exactly one ``inbound_messages`` row and one outcome:

    ticketed | comment | ignored | quarantined | skipped | duplicate

in ONE transaction together with everything it causes (tickets, links, events, attachments and
whatever the in-transaction hooks write, e.g. outbox rows). Only after that commit may the caller
move the message out of the inbox, so a crash at any point leaves either nothing (the message is
read again) or a committed row (the message is recognised and only moved).

How a message is recognised as already done:
- its (mailbox, UIDVALIDITY, UID) row exists, or a unique-key conflict says so (never quarantine);
- the same bytes (SHA-256) were first seen in this mailbox (UIDVALIDITY reset, restore) ->
  ``duplicate`` of that row;
- the same Message-ID from the same sender was already recorded in any mailbox -> ``duplicate``.
  (Deviation: the issue asks this across mailboxes; we also apply it within one mailbox, where a
  second copy with the same Message-ID and sender is the same delivery too.)

A message whose processing raises is rolled back alone and recorded ``quarantined`` with the error
and its raw bytes (for ``propdesk reprocess``). Database outages are not the message's fault: they
abort the pass (``StoreError``) and the message is simply read again later.

Failpoints (test-only): ``PROPDESK_FAILPOINT=before_commit|after_commit[:N]`` makes the process
``os._exit(137)`` at that point of the N-th message (default the first), like a SIGKILL.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session, sessionmaker

from propdesk.core.message import InboundMessage
from propdesk.core.models import Ticket
from propdesk.errors import StoreError
from propdesk.logging import bind_message_context, get_logger
from propdesk.mail.imap import FetchedMessage, MessageMeta
from propdesk.store import repository as repo
from propdesk.store.tables import (
    EVENT_COMMENT,
    EVENT_CREATED,
    InboundMessageRow,
    MessageTicketRow,
    TicketEventRow,
    TicketRow,
)
from propdesk.store.tickets import ticket_values  # the row mapping is the store's

log = get_logger(__name__)

FAILPOINT_ENV = "PROPDESK_FAILPOINT"
_failpoint_hits: Counter[str] = Counter()

IMAP_KEY = "uq_inbound_messages_imap_key"
CONTENT_KEY = "uq_inbound_messages_content"
TICKET_ID_KEY = "uq_tickets_ticket_id"

#: ``[TKT-1A2B3C4D]`` in a subject.
SUBJECT_REF = re.compile(r"\[(TKT-[0-9A-F]{8})\]", re.IGNORECASE)
#: Our own Message-IDs: ``<propdesk.TKT-XXXXXXXX.<anything>@<domain>>`` (notifications make them).
OUR_MESSAGE_ID = re.compile(r"<propdesk\.(TKT-[0-9A-F]{8})\.[^<>@\s]*@[^<>\s]+>", re.IGNORECASE)

#: Longest comment text kept in an event (the raw message is not kept for comments).
_COMMENT_CHARS = 20_000
_TICKET_ID_ATTEMPTS = 8


def failpoint(name: str) -> None:
    """Die like SIGKILL at ``name`` when ``$PROPDESK_FAILPOINT`` asks for it (tests only)."""
    spec = os.environ.get(FAILPOINT_ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _failpoint_hits[name] += 1
    if _failpoint_hits[name] >= int(nth or "1"):
        os._exit(137)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the core pipeline decided: tickets to create, or why none."""

    tickets: Sequence[Ticket] = ()
    ignored_reason: str | None = None


#: raw bytes -> parsed message (``propdesk.mail.parse.parse_message`` with the intake config).
Parse = Callable[[bytes], InboundMessage]
#: (message, received_at, now) -> analysis (the core pipeline, wired in ``propdesk.app``).
Analyse = Callable[[InboundMessage, datetime, datetime], Analysis]
#: ticket -> (response_due_at, resolution_due_at), from the core's SLA module.
DueDates = Callable[[Ticket], tuple[datetime | None, datetime | None]]


class IngestHook:
    """In-transaction hook: override the methods you need (the defaults do nothing).

    Each runs inside the message's transaction with the message row already flushed (it has an
    ``id``). Write rows with ``session``; never commit. Raising rolls the whole message back and
    quarantines it, so a hook cannot half-apply.
    """

    def tickets_created(
        self,
        session: Session,
        message: InboundMessageRow,
        parsed: InboundMessage,
        tickets: Sequence[TicketRow],
    ) -> None:
        """New tickets (one per action item) were created from ``message``."""

    def comment_added(
        self,
        session: Session,
        message: InboundMessageRow,
        parsed: InboundMessage,
        ticket: TicketRow,
        event: TicketEventRow,
    ) -> None:
        """``message`` was a reply and became a comment event on ``ticket``."""

    def message_recorded(
        self, session: Session, message: InboundMessageRow, parsed: InboundMessage
    ) -> None:
        """``message`` was recorded as ``ignored`` (auto-reply, bounce, staff, no action items).

        For a bounce, ``message.bounced_message_id`` names the Message-ID it reports on.
        """


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one message, for the poller (where to move it) and the logs."""

    uid: int
    outcome: str
    reason: str | None = None
    ticket_ids: tuple[str, ...] = ()
    already: bool = False  # recorded by an earlier run: only the move is left to do
    message_pk: int | None = None

    @property
    def destination(self) -> str:
        """``failed`` for quarantined messages, ``processed`` for every other outcome."""
        return "failed" if self.outcome == "quarantined" else "processed"


@dataclass
class _Attempt:
    parsed: InboundMessage | None = None
    tickets: list[str] = field(default_factory=list)


def _error_text(exc: BaseException, limit: int = 2000) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__


def _is_outage(exc: BaseException) -> bool:
    """A lost or refused database connection, or a schema that does not match the code (a missing
    table or column: a deployment problem): not the message's fault, so the pass stops instead
    of quarantining every message. Content-driven errors (``DataError``) still quarantine."""
    if isinstance(exc, OperationalError | InterfaceError | ProgrammingError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _new_row(
    mailbox: str, uidvalidity: int, msg: FetchedMessage, sha: str, **values: Any
) -> InboundMessageRow:
    return InboundMessageRow(
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=msg.uid,
        sha256=sha,
        size=msg.size,
        received_at=msg.received_at,
        **values,
    )


def ticket_refs(parsed: InboundMessage) -> list[str]:
    """Ticket ids this message refers to: our Message-IDs in In-Reply-To/References first (they
    are exact), then ``[TKT-…]`` in the subject."""
    refs: list[str] = []
    for header in (parsed.in_reply_to or "", *parsed.references):
        refs += [m.upper() for m in OUR_MESSAGE_ID.findall(header)]
    refs += [m.upper() for m in SUBJECT_REF.findall(parsed.subject or "")]
    return list(dict.fromkeys(refs))


class IngestService:
    """Runs one message at a time through parse -> decide -> store, exactly once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        parse: Parse,
        analyse: Analyse,
        new_ticket_id: Callable[[], str],
        staff_addresses: frozenset[str] = frozenset(),
        hooks: Sequence[IngestHook] = (),
        due_dates: DueDates | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sessions = sessions
        self._parse = parse
        self._analyse = analyse
        self._new_ticket_id = new_ticket_id
        self._staff = frozenset(a.lower() for a in staff_addresses)
        self._hooks = tuple(hooks)
        self._due_dates = due_dates
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- entry points -------------------------------------------------------------------------

    def process(self, mailbox: str, uidvalidity: int, msg: FetchedMessage) -> Result:
        """Record one fetched message and everything it causes, in one transaction."""
        sha = hashlib.sha256(msg.raw).hexdigest()
        with bind_message_context(mailbox=mailbox, uid=msg.uid):
            for _ in range(2):  # a content-key race is retried once; it then finds the owner
                attempt = _Attempt()
                try:
                    # No look-up first: the poller just saw this UID unrecorded, and the
                    # unique key turns any race into "already done" below.
                    with self._sessions.begin() as s:
                        row = _new_row(mailbox, uidvalidity, msg, sha, outcome="ignored")
                        result = self._run(s, row, msg.raw, attempt)
                        failpoint("before_commit")
                    failpoint("after_commit")
                    self._log(result)
                    return result
                except Exception as exc:  # one bad message must never stop the others
                    if isinstance(exc, IntegrityError):
                        which = repo.constraint_of(exc)
                        if which == IMAP_KEY:  # recorded meanwhile: already done, never quarantine
                            return self._already_by_key(mailbox, uidvalidity, msg.uid)
                        if which == CONTENT_KEY:
                            continue
                    elif _is_outage(exc):
                        raise StoreError(
                            f"database: {_error_text(exc, 200).splitlines()[0]}"
                        ) from exc
                    return self._quarantine(
                        mailbox=mailbox,
                        uidvalidity=uidvalidity,
                        msg=msg,
                        sha=sha,
                        exc=exc,
                        attempt=attempt,
                    )
            raise StoreError(f"mailbox {mailbox} uid {msg.uid}: content key conflict persists")

    def record_unread(
        self, mailbox: str, uidvalidity: int, meta: MessageMeta, outcome: str, reason: str
    ) -> Result:
        """Record a message we decided not to read (``skipped`` old mail, oversized mail)."""
        with bind_message_context(mailbox=mailbox, uid=meta.uid):
            try:
                with self._sessions.begin() as s:
                    existing = repo.find_message(s, mailbox, uidvalidity, meta.uid)
                    if existing is not None:
                        return self._already(existing)
                    row = InboundMessageRow(
                        mailbox=mailbox,
                        uidvalidity=uidvalidity,
                        uid=meta.uid,
                        size=meta.size,
                        received_at=meta.received_at,
                        outcome=outcome,
                        reason=reason,
                    )
                    s.add(row)
                    s.flush()
                    result = Result(meta.uid, outcome, reason, message_pk=row.id)
            except IntegrityError as exc:
                if repo.constraint_of(exc) == IMAP_KEY:
                    return self._already_by_key(mailbox, uidvalidity, meta.uid)
                raise StoreError(f"cannot record uid {meta.uid}: {_error_text(exc, 200)}") from exc
            self._log(result)
            return result

    def reprocess(self, message_pk: int | None = None) -> list[Result]:
        """Run quarantined messages again from their kept bytes (all, or one by id).

        SLA clocks still start at the original receive time (``received_at`` is INTERNALDATE).
        The IMAP copy stays in the failed folder; the database is the record.
        """
        with self._sessions() as s:
            ids = [r.id for r in repo.quarantined(s, message_pk)]
        return [self._reprocess_one(pk) for pk in ids]

    # -- the decision ---------------------------------------------------------------------------

    def _run(self, s: Session, row: InboundMessageRow, raw: bytes, attempt: _Attempt) -> Result:
        """Decide the outcome of ``row`` (new or quarantined) and write what it causes."""
        assert row.sha256 is not None
        parsed = self._parse(raw)
        attempt.parsed = parsed
        self._describe(row, parsed)
        if row.message_id and row.sender:
            # Serialise deliveries of one Message-ID across mailboxes (their daemons differ).
            repo.xact_lock(s, "message-id", row.message_id)
        earlier = repo.find_earlier(
            s,
            mailbox=row.mailbox,
            sha256=row.sha256,
            message_id=row.message_id,
            sender=row.sender,
            exclude_id=row.id,
        )
        if earlier is not None:
            if earlier.mailbox == row.mailbox and earlier.sha256 == row.sha256:
                why = "same bytes (UIDVALIDITY change or re-delivery)"
            else:
                why = f"same Message-ID and sender, mailbox {earlier.mailbox}"
            reason = f"{why} as message #{earlier.id}"
            return self._finish(s, row, "duplicate", reason, duplicate_of=earlier.id)

        if parsed.not_ticket is not None:
            detail = f": {parsed.not_ticket_detail}" if parsed.not_ticket_detail else ""
            return self._ignored(s, row, parsed, f"{parsed.not_ticket.value}{detail}")

        target = repo.first_existing_ticket(s, ticket_refs(parsed))
        if target is not None:
            return self._comment(s, row, parsed, target)

        if row.sender and row.sender.lower() in self._staff:
            return self._ignored(s, row, parsed, "staff_address: sender is a rule address")

        now = self._clock()
        analysis = self._analyse(parsed, row.received_at, now)
        if analysis.ignored_reason is not None or not analysis.tickets:
            return self._ignored(s, row, parsed, analysis.ignored_reason or "no_action_items")
        return self._tickets(s, row, parsed, analysis.tickets, attempt)

    def _describe(self, row: InboundMessageRow, parsed: InboundMessage) -> None:
        row.message_id = repo.clean_opt(parsed.message_id or None)
        row.sender = None if parsed.sender is None else repo.clean_text(parsed.sender.address)
        row.subject = repo.clean_text(parsed.subject or "")[:2000]
        row.in_reply_to = repo.clean_opt(parsed.in_reply_to)
        row.bounced_message_id = repo.clean_opt(parsed.bounced_message_id)

    def _finish(
        self,
        s: Session,
        row: InboundMessageRow,
        outcome: str,
        reason: str | None,
        *,
        duplicate_of: int | None = None,
        ticket_ids: tuple[str, ...] = (),
    ) -> Result:
        row.outcome = outcome
        row.reason = reason
        row.error = None
        row.duplicate_of = duplicate_of
        s.add(row)
        s.flush()
        return Result(row.uid, outcome, reason, ticket_ids, message_pk=row.id)

    def _ignored(
        self, s: Session, row: InboundMessageRow, parsed: InboundMessage, reason: str
    ) -> Result:
        result = self._finish(s, row, "ignored", reason)
        for hook in self._hooks:
            hook.message_recorded(s, row, parsed)
        return result

    def _comment(
        self, s: Session, row: InboundMessageRow, parsed: InboundMessage, ticket: TicketRow
    ) -> Result:
        now = self._clock()
        result = self._finish(s, row, "comment", f"reply to {ticket.ticket_id}")
        repo.store_attachments(s, row, parsed.attachments)
        event = repo.add_event(
            s,
            ticket,
            kind=EVENT_COMMENT,
            actor=row.sender or "unknown",
            at=now,  # when it joined the ticket; INTERNALDATE (1 s resolution) is in data
            data={
                "received_at": row.received_at.isoformat(),
                "subject": row.subject,
                "text": parsed.new_text[:_COMMENT_CHARS],
                "message_id": row.message_id,
                "attachments": [a.filename for a in parsed.attachments],
            },
            message=row,
        )
        ticket.updated_at = now
        s.flush()
        for hook in self._hooks:
            hook.comment_added(s, row, parsed, ticket, event)
        return replace(result, ticket_ids=(ticket.ticket_id,))

    def _tickets(
        self,
        s: Session,
        row: InboundMessageRow,
        parsed: InboundMessage,
        tickets: Sequence[Ticket],
        attempt: _Attempt,
    ) -> Result:
        self._finish(s, row, "ticketed", None)
        repo.store_attachments(s, row, parsed.attachments)
        rows: list[TicketRow] = []
        for index, ticket in enumerate(tickets):
            trow = self._insert_ticket(s, ticket)
            rows.append(trow)
            attempt.tickets.append(trow.ticket_id)
            s.add(MessageTicketRow(inbound_message_id=row.id, item_index=index, ticket_pk=trow.id))
            repo.add_event(
                s,
                trow,
                kind=EVENT_CREATED,
                actor="propdesk",
                at=trow.created_at,
                data={"source": "email", "item_index": index, "sender": row.sender},
                message=row,
            )
        s.flush()
        for hook in self._hooks:
            hook.tickets_created(s, row, parsed, rows)
        ids = tuple(r.ticket_id for r in rows)
        return Result(row.uid, "ticketed", None, ids, message_pk=row.id)

    def _insert_ticket(self, s: Session, ticket: Ticket) -> TicketRow:
        """INSERT .. ON CONFLICT (ticket_id) DO NOTHING RETURNING: a clash of the random id
        returns nothing and we retry with a fresh id (one round trip, no savepoint)."""
        due = self._due_dates(ticket) if self._due_dates is not None else (None, None)
        for _ in range(_TICKET_ID_ATTEMPTS):
            stmt = (
                pg_insert(TicketRow)
                .values(**ticket_values(ticket, due))
                .on_conflict_do_nothing(index_elements=["ticket_id"])
                .returning(TicketRow)
            )
            trow = s.scalars(stmt).one_or_none()
            if trow is not None:
                return trow
            log.warning("ingest.ticket_id_clash", ticket_id=ticket.ticket_id)
            ticket = replace(ticket, ticket_id=self._new_ticket_id())
        raise StoreError(f"no free ticket id after {_TICKET_ID_ATTEMPTS} attempts")

    # -- already done / quarantine / reprocess -------------------------------------------------

    def _already(self, row: InboundMessageRow) -> Result:
        log.info("ingest.already_recorded", outcome=row.outcome, message_pk=row.id)
        return Result(row.uid, row.outcome, row.reason, already=True, message_pk=row.id)

    def _already_by_key(self, mailbox: str, uidvalidity: int, uid: int) -> Result:
        with self._sessions() as s:
            row = repo.find_message(s, mailbox, uidvalidity, uid)
            if row is None:  # the conflicting writer rolled back after all: read it again later
                raise StoreError(f"mailbox {mailbox} uid {uid}: conflicting writer vanished")
            return self._already(row)

    def _quarantine(
        self,
        *,
        mailbox: str,
        uidvalidity: int,
        msg: FetchedMessage,
        sha: str,
        exc: BaseException,
        attempt: _Attempt,
    ) -> Result:
        error = _error_text(exc)
        log.warning("ingest.quarantine", error=error[:300], exc_info=exc)
        row = _new_row(
            mailbox,
            uidvalidity,
            msg,
            sha,
            outcome="quarantined",
            reason="processing_error",
            error=repo.clean_text(error),
            raw=msg.raw,
        )
        if attempt.parsed is not None:
            self._describe(row, attempt.parsed)
        try:
            with self._sessions.begin() as s:
                s.add(row)
                s.flush()
                pk = row.id
        except IntegrityError as again:
            if repo.constraint_of(again) == IMAP_KEY:
                return self._already_by_key(mailbox, uidvalidity, msg.uid)
            raise StoreError(f"cannot quarantine uid {msg.uid}: {_error_text(again)}") from again
        except Exception as again:
            raise StoreError(f"cannot quarantine uid {msg.uid}: {_error_text(again)}") from again
        result = Result(msg.uid, "quarantined", "processing_error", message_pk=pk)
        self._log(result, error=error[:300])
        return result

    def _reprocess_one(self, pk: int) -> Result:
        attempt = _Attempt()
        with bind_message_context(message_pk=pk):
            try:
                with self._sessions.begin() as s:
                    row = s.get(InboundMessageRow, pk, with_for_update=True)
                    if row is None or row.outcome != "quarantined":
                        return Result(0, "gone", "no longer quarantined", message_pk=pk)
                    if row.raw is None:
                        reason = (
                            f"{row.reason}: raw bytes were never read; move the message from "
                            "the failed folder back to the inbox (after raising the limit)"
                        )
                        return Result(row.uid, "quarantined", reason, message_pk=pk)
                    row.attempts += 1
                    raw = row.raw
                    row.sha256 = hashlib.sha256(raw).hexdigest()
                    result = self._run(s, row, raw, attempt)
                    row.raw = None  # no longer needed once it has a final outcome
                self._log(result, reprocessed=True)
                return result
            except Exception as exc:
                if _is_outage(exc):
                    raise StoreError(f"database: {_error_text(exc, 200).splitlines()[0]}") from exc
                error = _error_text(exc)
                with self._sessions.begin() as s:
                    row = s.get(InboundMessageRow, pk)
                    if row is not None:
                        row.attempts += 1
                        row.error = repo.clean_text(error)
                log.warning("ingest.reprocess_failed", error=error[:300])
                return Result(0, "quarantined", error, message_pk=pk)

    def _log(self, result: Result, **extra: Any) -> None:
        log.info(
            "ingest.message",
            outcome=result.outcome,
            reason=result.reason,
            ticket_ids=list(result.ticket_ids),
            message_pk=result.message_pk,
            **extra,
        )
