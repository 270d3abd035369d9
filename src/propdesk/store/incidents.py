"""Incidents repository: find the incident a new ticket joins, link it, form, list, merge, split.

Every function takes the caller's session (the ingest transaction for joins, the CLI's for the
rest) and never commits. Joins for one (building, system) are serialised with a transaction
advisory lock, so two daemons that take two tenants' mails at once cannot open two incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, func, insert, select, update
from sqlalchemy.orm import Session

from propdesk.store.db import Executor
from propdesk.store.locks import xact_lock
from propdesk.store.tables import TicketRow
from propdesk.store.tables_incidents import IncidentRow, IncidentTicketRow
from propdesk.store.tables_outbox import outbox

INCIDENTS: Table = IncidentRow.__table__  # type: ignore[assignment]  # a Table for ORM rows
LINKS: Table = IncidentTicketRow.__table__  # type: ignore[assignment]
TICKETS: Table = TicketRow.__table__  # type: ignore[assignment]
JOINABLE = ("forming", "open")


@dataclass(frozen=True, slots=True)
class Group:
    """A joinable incident as the join decision sees it."""

    pk: int
    status: str
    lead_ticket_pk: int
    units: frozenset[str]
    window_ends_at: datetime


def lock(session: Session, building: str, system: str) -> None:
    xact_lock(session, "incident", f"{building}|{system}")


def joinable(session: Executor, building: str, system: str, received_at: datetime) -> Group | None:
    """The newest forming or open incident of this building and system still in its window."""
    row = session.execute(
        select(INCIDENTS)
        .where(INCIDENTS.c.building == building, INCIDENTS.c.system == system)
        .where(INCIDENTS.c.status.in_(JOINABLE), INCIDENTS.c.window_ends_at >= received_at)
        .order_by(INCIDENTS.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    units = session.execute(
        select(LINKS.c.unit).where(LINKS.c.incident_pk == row.id, LINKS.c.unit.is_not(None))
    ).scalars()
    return Group(
        int(row.id), row.status, int(row.lead_ticket_pk), frozenset(units), row.window_ends_at
    )


def create(
    session: Executor,
    *,
    building: str,
    system: str,
    lead_pk: int,
    received_at: datetime,
    window_ends_at: datetime,
    now: datetime,
) -> int:
    """A new forming incident led by ``lead_pk``."""
    pk = session.execute(
        insert(INCIDENTS)
        .values(
            building=building,
            system=system,
            status="forming",
            lead_ticket_pk=lead_pk,
            first_received_at=received_at,
            last_received_at=received_at,
            window_ends_at=window_ends_at,
            created_at=now,
            updated_at=now,
        )
        .returning(INCIDENTS.c.id)
    ).scalar_one()
    return int(pk)


def link(
    session: Executor,
    *,
    incident_pk: int,
    ticket_pk: int,
    unit: str | None,
    received_at: datetime,
    window_ends_at: datetime | None,
    now: datetime,
) -> None:
    """Link a ticket; a later mail keeps a joinable incident's window open (``window_ends_at``)."""
    session.execute(
        insert(LINKS).values(ticket_pk=ticket_pk, incident_pk=incident_pk, unit=unit, joined_at=now)
    )
    values: dict[str, Any] = {"updated_at": now}
    if window_ends_at is not None:
        values["window_ends_at"] = func.greatest(INCIDENTS.c.window_ends_at, window_ends_at)
        values["last_received_at"] = func.greatest(INCIDENTS.c.last_received_at, received_at)
    session.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_pk).values(**values))


def followers(session: Executor, incident_pk: int) -> list[int]:
    """Ticket pks of an incident other than its lead."""
    lead = select(INCIDENTS.c.lead_ticket_pk).where(INCIDENTS.c.id == incident_pk)
    return [
        int(pk)
        for pk in session.execute(
            select(LINKS.c.ticket_pk).where(
                LINKS.c.incident_pk == incident_pk, LINKS.c.ticket_pk != lead.scalar_subquery()
            )
        ).scalars()
    ]


def form(session: Executor, incident_pk: int, now: datetime, reason: str) -> int:
    """Mark formed; its followers' held staff mail is suppressed and they never escalate on
    their own (the lead's escalation is the incident's). Returns the suppressed mail count."""
    session.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == incident_pk)
        .values(status="open", formed_at=now, updated_at=now)
    )
    pks = followers(session, incident_pk)
    if not pks:
        return 0
    session.execute(update(TICKETS).where(TICKETS.c.id.in_(pks)).values(next_escalation_at=None))
    ids = select(TICKETS.c.ticket_id).where(TICKETS.c.id.in_(pks))
    done = session.execute(
        update(outbox)
        .where(outbox.c.status == "pending", outbox.c.kind == "ticket_assigned")
        .where(outbox.c.ticket_id.in_(ids))
        .values(status="suppressed", last_error=reason[:1000], updated_at=now)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def hold_escalation(session: Executor, ticket_pks: Sequence[int], until: datetime | None) -> None:
    """A follower escalates only after its incident's window, and only if it never formed."""
    session.execute(
        update(TICKETS).where(TICKETS.c.id.in_(ticket_pks)).values(next_escalation_at=until)
    )


def not_held(now: Any) -> Any:
    """SQL: the ticket is not a follower of an incident that is open, or still forming at
    ``now`` (such a follower escalates through its incident's lead, or after the window)."""
    i, link_ = INCIDENTS, LINKS
    held = (
        select(link_.c.ticket_pk)
        .join(i, i.c.id == link_.c.incident_pk)
        .where(link_.c.ticket_pk == TICKETS.c.id, i.c.lead_ticket_pk != TICKETS.c.id)
        .where((i.c.status == "open") | and_(i.c.status == "forming", i.c.window_ends_at > now))
    )
    return ~held.exists()


@dataclass(frozen=True, slots=True)
class Hold:
    """How a follower's own staff mail goes: held until ``until`` (forming) or never (open)."""

    incident_pk: int
    until: datetime | None


def holds(session: Executor, ticket_pks: Sequence[int]) -> dict[int, Hold]:
    """The followers among ``ticket_pks`` and how their staff mail is held (leads are absent)."""
    if not ticket_pks:
        return {}
    rows = session.execute(
        select(LINKS.c.ticket_pk, INCIDENTS.c.id, INCIDENTS.c.status, INCIDENTS.c.window_ends_at)
        .join(INCIDENTS, INCIDENTS.c.id == LINKS.c.incident_pk)
        .where(LINKS.c.ticket_pk.in_(ticket_pks), INCIDENTS.c.lead_ticket_pk != LINKS.c.ticket_pk)
    )
    return {
        int(r.ticket_pk): Hold(int(r.id), r.window_ends_at if r.status == "forming" else None)
        for r in rows
    }


def members(session: Executor, incident_pk: int) -> list[Any]:
    """The incident's ticket rows, lead first, then in the order they arrived."""
    lead = select(INCIDENTS.c.lead_ticket_pk).where(INCIDENTS.c.id == incident_pk)
    return list(
        session.execute(
            select(TICKETS)
            .join(LINKS, LINKS.c.ticket_pk == TICKETS.c.id)
            .where(LINKS.c.incident_pk == incident_pk)
            .order_by((TICKETS.c.id != lead.scalar_subquery()), TICKETS.c.received_at, TICKETS.c.id)
        )
    )


def get(session: Executor, incident_pk: int) -> Any | None:
    return session.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_pk)).first()


def listing(
    session: Executor, *, formed_only: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """Incidents, newest first, with their ticket count (forming ones only when asked)."""
    count = select(func.count()).where(LINKS.c.incident_pk == INCIDENTS.c.id).scalar_subquery()
    stmt = select(INCIDENTS, count.label("tickets")).order_by(INCIDENTS.c.id.desc()).limit(limit)
    if formed_only:
        stmt = stmt.where(INCIDENTS.c.formed_at.is_not(None))
    return [dict(r._mapping) for r in session.execute(stmt)]


def set_status(session: Executor, incident_pk: int, status: str, now: datetime) -> None:
    session.execute(
        update(INCIDENTS).where(INCIDENTS.c.id == incident_pk).values(status=status, updated_at=now)
    )


def move(session: Executor, source_pk: int, target_pk: int, now: datetime) -> int:
    """Merge: every link of ``source_pk`` to ``target_pk``; the source is marked merged."""
    done = session.execute(
        update(LINKS).where(LINKS.c.incident_pk == source_pk).values(incident_pk=target_pk)
    )
    session.execute(
        update(INCIDENTS)
        .where(INCIDENTS.c.id == source_pk)
        .values(status="merged", merged_into=target_pk, updated_at=now)
    )
    set_status(session, target_pk, "open", now)
    return int(getattr(done, "rowcount", 0) or 0)


def unlink(session: Executor, incident_pk: int, ticket_pks: Sequence[int], now: datetime) -> int:
    """Split: the tickets leave the incident and are due for their own escalation now."""
    done = session.execute(
        LINKS.delete().where(LINKS.c.incident_pk == incident_pk, LINKS.c.ticket_pk.in_(ticket_pks))
    )
    session.execute(
        update(TICKETS).where(TICKETS.c.id.in_(ticket_pks)).values(next_escalation_at=now)
    )
    first = (
        select(LINKS.c.ticket_pk)
        .where(LINKS.c.incident_pk == incident_pk)
        .order_by(LINKS.c.joined_at, LINKS.c.ticket_pk)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(  # the lead left: the earliest remaining ticket leads
        update(INCIDENTS)
        .where(INCIDENTS.c.id == incident_pk, INCIDENTS.c.lead_ticket_pk.in_(ticket_pks))
        .values(lead_ticket_pk=first, updated_at=now)
    )
    return int(getattr(done, "rowcount", 0) or 0)
