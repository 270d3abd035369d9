"""What the mailbox poller keeps between passes: recorded UIDs and each mailbox's state row.

Every function takes the caller's ``Session`` and never commits; callers hold the mailbox lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from propdesk.store.repository import clean_opt
from propdesk.store.tables import InboundMessageRow, MailboxStateRow

_CHUNK = 5000

#: Outcomes whose message was moved to the processed folder (quarantined: failed, flood: held).
PROCESSED_OUTCOMES = ("ticketed", "comment", "ignored", "skipped", "duplicate")


@dataclass(frozen=True, slots=True)
class MailboxState:
    """One mailbox's saved state: its UIDVALIDITY, the high-water mark, the first-start cutoff."""

    uidvalidity: int
    high_water_uid: int
    skip_before: datetime | None


def known_outcomes(
    session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int]
) -> dict[int, str]:
    """Outcome of each UID already recorded under this UIDVALIDITY."""
    out: dict[int, str] = {}
    for start in range(0, len(uids), _CHUNK):
        chunk = list(uids[start : start + _CHUNK])
        rows = session.execute(
            select(InboundMessageRow.uid, InboundMessageRow.outcome).where(
                InboundMessageRow.mailbox == mailbox,
                InboundMessageRow.uidvalidity == uidvalidity,
                InboundMessageRow.uid.in_(chunk),
            )
        )
        out.update({int(uid): str(outcome) for uid, outcome in rows})
    return out


def read_state(session: Session, mailbox: str) -> MailboxState | None:
    """The saved state of ``mailbox``, or None before its first pass."""
    row = session.get(MailboxStateRow, mailbox)
    if row is None:
        return None
    return MailboxState(row.uidvalidity, row.high_water_uid, row.skip_before)


def save_state(
    session: Session,
    mailbox: str,
    *,
    uidvalidity: int,
    high_water_uid: int,
    skip_before: datetime | None,
) -> None:
    """Create or update the mailbox's state row."""
    row = session.get(MailboxStateRow, mailbox)
    if row is None:
        row = MailboxStateRow(mailbox=mailbox)
        session.add(row)
    row.uidvalidity = uidvalidity
    row.high_water_uid = high_water_uid
    row.skip_before = skip_before
    row.updated_at = func.now()


def advance_mark(session: Session, mailbox: str, uidvalidity: int, mark: int) -> None:
    """Move the high-water mark, unless the state belongs to another UIDVALIDITY meanwhile."""
    row = session.get(MailboxStateRow, mailbox)
    if row is not None and row.uidvalidity == uidvalidity:
        row.high_water_uid = mark


def committed_headers(
    session: Session, mailbox: str, keys: Sequence[tuple[str, int, datetime]]
) -> set[tuple[str | None, int, datetime]]:
    """The (Message-ID, size, INTERNALDATE) keys among ``keys`` with a committed row of
    ``mailbox`` whose message belongs in the processed folder."""
    wanted = {(clean_opt(mid), size, at): (mid, size, at) for mid, size, at in keys}
    found: set[tuple[str | None, int, datetime]] = set()
    ids = sorted({str(k[0]) for k in wanted})
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                InboundMessageRow.message_id, InboundMessageRow.size, InboundMessageRow.received_at
            ).where(
                InboundMessageRow.mailbox == mailbox,
                InboundMessageRow.message_id.in_(ids[start : start + _CHUNK]),
                InboundMessageRow.outcome.in_(PROCESSED_OUTCOMES),
            )
        )
        for mid, size, at in rows:
            key = wanted.get((mid, int(size), at))
            if key is not None:
                found.add(key)
    return found


def committed_contents(session: Session, mailbox: str, shas: Sequence[str]) -> set[str]:
    """The content hashes among ``shas`` with a committed row of ``mailbox`` whose message
    belongs in the processed folder (what housekeeping may remove from there)."""
    found: set[str] = set()
    for start in range(0, len(shas), _CHUNK):
        rows = session.execute(
            select(InboundMessageRow.sha256).where(
                InboundMessageRow.mailbox == mailbox,
                InboundMessageRow.sha256.in_(list(shas[start : start + _CHUNK])),
                InboundMessageRow.outcome.in_(PROCESSED_OUTCOMES),
            )
        )
        found.update(str(sha) for (sha,) in rows)
    return found


def committed_unread(
    session: Session, mailbox: str, keys: Sequence[tuple[int, datetime]]
) -> set[tuple[int, datetime]]:
    """The (size, INTERNALDATE) keys among ``keys`` of rows recorded without being read
    (``skipped`` old mail has no content hash: size and receipt time are what it kept)."""
    if not keys:
        return set()
    rows = session.execute(
        select(InboundMessageRow.size, InboundMessageRow.received_at).where(
            InboundMessageRow.mailbox == mailbox,
            InboundMessageRow.sha256.is_(None),
            InboundMessageRow.outcome == "skipped",
            InboundMessageRow.received_at.in_(sorted({at for _size, at in keys})),
        )
    )
    recorded = {(int(size), at) for size, at in rows}
    return {key for key in keys if key in recorded}
