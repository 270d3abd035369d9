"""Escalations repository: the tickets a pass looks at, and what it records exactly once.

Why a stored ``tickets.next_escalation_at``: the pass is an indexed range scan
(``next_escalation_at <= :now``), not a scan of every open ticket. ``now`` is always a bound
parameter (never SQL ``now()``) so tests and ``propdesk escalate --now`` can move the clock.

Exactly once, also with several daemons: ``due`` locks its batch ``FOR UPDATE SKIP LOCKED`` (a
second daemon takes other tickets), and every record goes in under a unique constraint with
``ON CONFLICT DO NOTHING``; the caller writes outbox rows only for the rows that went in.
Batches are written with ``unnest()`` of arrays: one statement per batch, whatever its size.

Set-based and narrow, for a pass over 100,000 due tickets: ``due`` walks the due tickets by
keyset (``(next_escalation_at, id)`` after the last batch's last, index of revision
``0009_escalation_keyset``) and loads only the columns planning reads (``EscalationFacts``);
the whole ticket is read (``tickets_by_pk``) only for those an escalation mail is written for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Row,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from propdesk.core.escalation import EscalationFacts, RuleFlags
from propdesk.core.models import OPEN_STATUSES, Ticket, TicketStatus, Urgency
from propdesk.store import incidents
from propdesk.store.db import Executor
from propdesk.store.tables_escalation import EscalationRow, SlaBreachRow
from propdesk.store.tickets import TICKETS, ticket_from_row

ESCALATIONS: Table = EscalationRow.__table__  # type: ignore[assignment]  # a Table for ORM rows
BREACHES: Table = SlaBreachRow.__table__  # type: ignore[assignment]  # a Table for ORM rows


@dataclass(frozen=True, slots=True)
class TicketState:
    """One ticket as a pass sees it: the core ticket and what is already recorded for it."""

    pk: int
    ticket: Ticket
    applied: frozenset[str]  # escalation rules recorded (and the near-breach warning)
    breached: frozenset[str]  # SLA kinds recorded as breached
    next_escalation_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """One escalation row that went in (it was not recorded before)."""

    id: int
    ticket_pk: int
    rule: str
    target: str
    due_at: datetime


def _with_history(stmt: Select[Any]) -> Select[Any]:
    """Add each ticket's applied rules and recorded breach kinds as arrays (never NULL).

    Correlated subqueries on the unique (ticket_pk, rule|kind) indexes: one round trip per batch
    instead of two more queries with a large ``= ANY(:pks)`` (measured: the slowest statement).
    """
    e, b, t = ESCALATIONS, BREACHES, TICKETS
    applied = func.array(select(e.c.rule).where(e.c.ticket_pk == t.c.id).scalar_subquery())
    breached = func.array(select(b.c.kind).where(b.c.ticket_pk == t.c.id).scalar_subquery())
    return stmt.add_columns(applied.label("applied_rules"), breached.label("breached_kinds"))


def _state(row: Row[Any]) -> TicketState:
    return TicketState(
        pk=int(row.id),
        ticket=ticket_from_row(row),
        applied=frozenset(row.applied_rules),
        breached=frozenset(row.breached_kinds),
        next_escalation_at=row.next_escalation_at,
    )


class DueState(NamedTuple):
    """One ticket as the pass plans it: the columns planning reads, and what is recorded."""

    pk: int
    facts: EscalationFacts
    applied: frozenset[str]
    breached: frozenset[str]
    next_escalation_at: datetime | None


def _flag(name: str) -> ColumnElement[bool]:
    # absent or null is false, as TicketMetadata.from_dict reads it
    return func.coalesce(cast(TICKETS.c.metadata[name].astext, Boolean), false())


_FACTS = _with_history(
    select(
        TICKETS.c.id,
        TICKETS.c.ticket_id,
        TICKETS.c.urgency,
        TICKETS.c.status,
        TICKETS.c.received_at,
        TICKETS.c.started_at,
        TICKETS.c.resolved_at,
        TICKETS.c.closed_at,
        TICKETS.c.assigned_to,
        _flag("requires_contractor").label("requires_contractor"),
        _flag("after_hours").label("after_hours"),
        TICKETS.c.next_escalation_at,
    )
)


def _due_state(row: Any) -> DueState:
    pk, ticket_id, urgency, status, received, started, resolved, closed, assignee = row[:9]
    contractor, after_hours, next_at, applied, breached = row[9:]
    facts = EscalationFacts(
        ticket_id,
        Urgency(urgency),
        TicketStatus(status),
        received,
        started,
        resolved,
        closed,
        assignee,
        RuleFlags(contractor, after_hours),
    )
    return DueState(pk, facts, frozenset(applied), frozenset(breached), next_at)


_DUE = (
    _FACTS.where(TICKETS.c.next_escalation_at <= bindparam("now"))
    # Same predicate as the partial index ix_tickets_next_escalation_open, so the planner uses
    # it; it is also the rule that Resolved and Closed tickets never escalate.
    .where(TICKETS.c.status.in_([s.value for s in OPEN_STATUSES]))
    # an incident's followers escalate through its lead (propdesk.store.incidents)
    .where(incidents.not_held(bindparam("now")))
    .order_by(TICKETS.c.next_escalation_at, TICKETS.c.id)
)
_NO_JIT = text("SET LOCAL jit = off")  # this transaction only
_AFTER = tuple_(TICKETS.c.next_escalation_at, TICKETS.c.id) > tuple_(
    bindparam("after_at"), bindparam("after_pk")
)


def due(
    db: Executor, now: datetime, limit: int, after: tuple[datetime, int] | None = None
) -> list[DueState]:
    """Lock up to ``limit`` open tickets whose next escalation time has come, earliest first;
    with ``after`` (the previous batch's last ``(next_escalation_at, pk)``) only those after it,
    so each batch's index scan starts where the last one ended."""
    # The planner's estimate for a large due range passes jit_above_cost: compiling the query
    # took longer than running it (40 ms and more per batch, measured at 100,000 due tickets).
    db.execute(_NO_JIT)
    stmt = _DUE if after is None else _DUE.where(_AFTER)
    stmt = stmt.limit(limit).with_for_update(skip_locked=True, of=TICKETS)
    params: dict[str, Any] = {"now": now}
    if after is not None:
        params.update(after_at=after[0], after_pk=after[1])
    return [_due_state(r) for r in db.execute(stmt, params)]


def created(db: Executor, ticket_pks: Sequence[int], now: datetime | None = None) -> list[DueState]:
    """The tickets just created in this transaction (already locked by it); with ``now``, not
    the followers an incident holds."""
    stmt = _FACTS.where(TICKETS.c.id.in_(ticket_pks))
    if now is not None:
        stmt = stmt.where(incidents.not_held(bindparam("now", now)))
    return [_due_state(r) for r in db.execute(stmt)]


def tickets_by_pk(db: Executor, ticket_pks: Sequence[int]) -> dict[int, Ticket]:
    """The whole tickets (what an escalation mail shows), by pk."""
    if not ticket_pks:
        return {}
    rows = db.execute(select(TICKETS).where(TICKETS.c.id == func.any(_pk_array(ticket_pks))))
    return {int(r.id): ticket_from_row(r) for r in rows}


def _pk_array(pks: Sequence[int]) -> Any:
    return bindparam("pks", list(pks), type_=ARRAY(TICKETS.c.id.type))


def due_now(db: Executor, ticket_pks: Sequence[int], now: datetime) -> None:
    """Escalation switched off: the tickets are due at the first pass once it is switched on."""
    db.execute(update(TICKETS).where(TICKETS.c.id.in_(ticket_pks)).values(next_escalation_at=now))


def _unnest(columns: Mapping[str, tuple[Any, Sequence[Any]]]) -> Any:
    """``unnest(:a::t[], ...) AS v(a, ...)``: one row per position of the arrays; ``columns``
    maps each name to (its column type, its values). Typed arrays, not a multi-row VALUES: one
    cached statement for any batch size. Strings go in as ``text[]``: a ``varchar(n)[]`` cast
    would cut an overlong value silently where the column refuses it."""
    arrays = [
        bindparam(name, list(values), type_=ARRAY(Text() if isinstance(type_, String) else type_))
        for name, (type_, values) in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived()


def _insert_new(
    db: Executor,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    stamp: tuple[str, datetime],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[Row[Any]]:
    """``INSERT .. SELECT FROM unnest(..) ON CONFLICT (conflict) DO NOTHING RETURNING ..``:
    ``columns`` maps each column to its values, ``stamp`` is a column set to one time for all.
    Only the rows that were not recorded before come back."""
    v = _unnest({name: (table.c[name].type, values) for name, values in columns.items()})
    when = bindparam("stamp", stamp[1], type_=table.c[stamp[0]].type)
    stmt = (
        pg_insert(table)
        .from_select([*columns, stamp[0]], select(*(v.c[name] for name in columns), when))
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*(table.c[name] for name in returning))
    )
    return list(db.execute(stmt).all())


def _update_many(db: Executor, table: Table, column: str, values: Mapping[int, Any]) -> None:
    """``UPDATE table SET column = v.value FROM unnest(ids, values) WHERE id = v.id``."""
    v = _unnest(
        {
            "id": (table.c.id.type, list(values)),
            "value": (table.c[column].type, list(values.values())),
        }
    )
    db.execute(update(table).where(table.c.id == v.c.id).values({column: v.c.value}))


def record_escalations(
    db: Executor, rows: Sequence[tuple[int, str, str, datetime]], now: datetime
) -> list[Recorded]:
    """Insert (ticket_pk, rule, target, due_at) under the unique (ticket, rule); the new ones."""
    if not rows:
        return []
    inserted = _insert_new(
        db,
        ESCALATIONS,
        {
            "ticket_pk": [r[0] for r in rows],
            "rule": [r[1] for r in rows],
            "target": [r[2] for r in rows],
            "due_at": [r[3] for r in rows],
        },
        stamp=("escalated_at", now),
        conflict=("ticket_pk", "rule"),
        returning=("id", "ticket_pk", "rule", "target", "due_at"),
    )
    return [Recorded(r.id, r.ticket_pk, r.rule, r.target, r.due_at) for r in inserted]


def link_outbox(db: Executor, outbox_ids: Mapping[int, int]) -> None:
    """Note which outbox row carries each escalation (escalation id -> outbox id)."""
    if outbox_ids:
        _update_many(db, ESCALATIONS, "outbox_id", outbox_ids)


def record_breaches(
    db: Executor, rows: Sequence[tuple[int, str, datetime]], now: datetime
) -> list[tuple[int, str, datetime]]:
    """Insert (ticket_pk, kind, breached_at) under the unique (ticket, kind); the new ones."""
    if not rows:
        return []
    inserted = _insert_new(
        db,
        BREACHES,
        {
            "ticket_pk": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "breached_at": [r[2] for r in rows],
        },
        stamp=("detected_at", now),
        conflict=("ticket_pk", "kind"),
        returning=("ticket_pk", "kind", "breached_at"),
    )
    return [(r.ticket_pk, r.kind, r.breached_at) for r in inserted]


def reschedule(db: Executor, next_at: Mapping[int, datetime | None]) -> None:
    """Store each ticket's new ``next_escalation_at`` (ticket pk -> time, None: never again)."""
    if next_at:
        _update_many(db, TICKETS, "next_escalation_at", next_at)


# -- read side: what `propdesk tickets list/show` shows about escalations and SLA --------------


def sla_filters(
    now: datetime, *, breached: bool = False, due_within: timedelta | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses on ``tickets`` for ``tickets list --breached`` / ``--due-within``.

    ``--breached``: a breach was recorded (by a pass). ``--due-within D``: an open deadline that
    has not passed yet falls in (now, now + D]: the response deadline while New, the resolution
    deadline while New, In Progress or Pending. Deadlines already missed are ``--breached``.
    """
    t, b = TICKETS, BREACHES
    out: list[ColumnElement[bool]] = []
    if breached:
        out.append(exists().where(b.c.ticket_pk == t.c.id))
    if due_within is not None:
        until = now + due_within
        open_ = [s.value for s in OPEN_STATUSES]
        out.append(
            or_(
                and_(
                    t.c.status == TicketStatus.NEW.value,
                    t.c.response_due_at > now,
                    t.c.response_due_at <= until,
                ),
                and_(
                    t.c.status.in_(open_),
                    t.c.resolution_due_at > now,
                    t.c.resolution_due_at <= until,
                ),
            )
        )
    return out


def history(db: Executor, ticket_pk: int) -> tuple[list[dict[str, Any]], TicketState]:
    """A ticket's recorded escalations (rule, target, due_at, escalated_at, outbox_id), oldest
    first, and the ticket with its recorded breach kinds."""
    e = ESCALATIONS
    recorded = [
        dict(r)
        for r in db.execute(
            select(e.c.rule, e.c.target, e.c.due_at, e.c.escalated_at, e.c.outbox_id)
            .where(e.c.ticket_pk == ticket_pk)
            .order_by(e.c.escalated_at, e.c.id)
        ).mappings()
    ]
    row = db.execute(_with_history(select(TICKETS)).where(TICKETS.c.id == ticket_pk)).one()
    return recorded, _state(row)
