"""What ingest does with a message that cannot be recorded normally: quarantine it alone, or
recognise it as already recorded (a unique-key conflict is "done", never a failure).

Shared by the batched path (``service``) and ``propdesk reprocess`` (``reprocess``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propdesk.core.message import InboundMessage
from propdesk.errors import AnalysisPoisoned, AnalysisTimeout, StoreError
from propdesk.ingest.types import Analysis, Result
from propdesk.logging import get_logger
from propdesk.mail.imap import FetchedMessage, MessageMeta
from propdesk.store import ingest_repo
from propdesk.store import session as store
from propdesk.store.ingest_repo import IMAP_KEY
from propdesk.store.tables import InboundMessageRow

log = get_logger("propdesk.ingest.service")  # one logger name for the ingest events


@dataclass
class Attempt:
    """What a failed attempt got as far as (the quarantine row keeps the parsed headers)."""

    parsed: InboundMessage | None = None
    ahead: tuple[InboundMessage, Analysis | None] | None = None  # from ``prepare``


def error_text(exc: BaseException, limit: int = 2000) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__


def outage(exc: BaseException) -> StoreError:
    return StoreError(f"database: {error_text(exc, 200).splitlines()[0]}")


def new_row(
    mailbox: str, uidvalidity: int, msg: FetchedMessage | MessageMeta, **values: Any
) -> InboundMessageRow:
    return ingest_repo.new_row(
        mailbox, uidvalidity, uid=msg.uid, size=msg.size, received_at=msg.received_at, **values
    )


def log_result(result: Result, **extra: Any) -> None:
    log.info(
        "ingest.message",
        outcome=result.outcome,
        reason=result.reason,
        ticket_ids=list(result.ticket_ids),
        message_pk=result.message_pk,
        **extra,
    )


def already(row: InboundMessageRow) -> Result:
    log.info("ingest.already_recorded", outcome=row.outcome, message_pk=row.id)
    return Result(row.uid, row.outcome, row.reason, already=True, message_pk=row.id)


def already_by_key(sessions: store.Sessions, mailbox: str, uidvalidity: int, uid: int) -> Result:
    with sessions() as s:
        row = ingest_repo.find_message(s, mailbox, uidvalidity, uid)
        if row is None:  # the conflicting writer rolled back after all: read it again later
            raise StoreError(f"mailbox {mailbox} uid {uid}: conflicting writer vanished")
        return already(row)


def quarantine(
    sessions: store.Sessions,
    *,
    mailbox: str,
    uidvalidity: int,
    msg: FetchedMessage,
    sha: str,
    exc: BaseException,
    attempt: Attempt,
    reason: str = "processing_error",
) -> Result:
    """Record ``msg`` ``quarantined`` with the error and its raw bytes, in its own transaction."""
    error = error_text(exc)
    # a timeout or poison is a fact about the message, not a bug: no traceback for it
    trace = None if isinstance(exc, AnalysisTimeout | AnalysisPoisoned) else exc
    log.warning("ingest.quarantine", reason=reason, error=error[:300], exc_info=trace)
    row = new_row(
        mailbox,
        uidvalidity,
        msg,
        sha256=sha,
        outcome="quarantined",
        reason=reason,
        error=error,
        raw=msg.raw,
    )
    if attempt.parsed is not None:
        ingest_repo.describe(row, attempt.parsed)
    try:
        with sessions.begin() as s:
            pk = ingest_repo.add(s, row)
    except Exception as again:
        if store.unique_conflict(again) == IMAP_KEY:
            return already_by_key(sessions, mailbox, uidvalidity, msg.uid)
        raise StoreError(f"cannot quarantine uid {msg.uid}: {error_text(again)}") from again
    result = Result(msg.uid, "quarantined", reason, message_pk=pk)
    log_result(result, error=error[:300])
    return result
