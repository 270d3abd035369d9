"""``propdesk reprocess``: run quarantined (or flood-held) messages again from their kept bytes.

Each message gets its own transaction (the row is locked ``FOR UPDATE``, so two reprocess runs
cannot both record it); the chain and ``Persist`` are the service's, handed in as ``run``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from propdesk.core.message import InboundMessage
from propdesk.ingest.quarantine import Attempt, error_text, log, log_result, outage
from propdesk.ingest.types import Analysis, Result
from propdesk.logging import bind_message_context
from propdesk.store import ingest_repo
from propdesk.store import session as store
from propdesk.store.tables import InboundMessageRow

#: raw, received_at -> (parsed, analysis) made within the budget (None: in the transaction)
Ahead = Callable[[bytes, datetime], tuple[InboundMessage, Analysis | None] | None]


class Run(Protocol):
    """The service's chain + persist for one row inside the caller's transaction."""

    def __call__(
        self,
        s: store.Session,
        row: InboundMessageRow,
        raw: bytes,
        attempt: Attempt,
        *,
        release: bool = False,
    ) -> Result: ...


def reprocess(
    sessions: store.Sessions,
    run: Run,
    ahead: Ahead,
    message_pk: int | None = None,
    *,
    held: bool = False,
) -> list[Result]:
    """Quarantined messages again (all, or one by id); with ``held``, the flood-held ones are
    released instead (the flood limits let them through).

    SLA clocks still start at the original receive time (``received_at`` is INTERNALDATE).
    The IMAP copy stays in the failed (or held) folder; the database is the record.
    """
    outcome = "held_flood" if held else "quarantined"
    with sessions() as s:
        ids = ingest_repo.quarantined_ids(s, message_pk, outcome=outcome)
    return [_reprocess_one(sessions, run, ahead, pk, outcome) for pk in ids]


def _reprocess_one(
    sessions: store.Sessions, run: Run, ahead: Ahead, pk: int, outcome: str
) -> Result:
    attempt = Attempt()
    with bind_message_context(message_pk=pk):
        try:
            with sessions.begin() as s:
                row = ingest_repo.get_message(s, pk, for_update=True)
                if row is None or row.outcome != outcome:
                    return Result(0, "gone", f"no longer {outcome}", message_pk=pk)
                raw = ingest_repo.start_retry(row)
                if raw is None:
                    reason = (
                        f"{row.reason}: raw bytes were never read; move the message from "
                        "the failed folder back to the inbox (after raising the limit)"
                    )
                    return Result(row.uid, "quarantined", reason, message_pk=pk)
                release = outcome == "held_flood"
                # within the budget again (over it: still quarantined, the error noted)
                attempt.ahead = ahead(raw, row.received_at)
                result = run(s, row, raw, attempt, release=release)
            log_result(result, reprocessed=True, released=release)
            return result
        except Exception as exc:
            if store.is_outage(exc):
                raise outage(exc) from exc
            error = error_text(exc)
            with sessions.begin() as s:
                ingest_repo.note_failed_retry(s, pk, error)
            log.warning("ingest.reprocess_failed", error=error[:300])
            return Result(0, outcome, error, message_pk=pk)
