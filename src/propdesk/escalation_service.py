"""Escalation and SLA tracking against PostgreSQL: the creation hook and the periodic pass.

The policy (which rule is due when) is the core's (``propdesk.core.escalation``); this module
only finds the tickets to look at, locks them, records what the policy decided exactly once and
writes the outbox rows that carry the mail.

Why a stored ``tickets.next_escalation_at``: the pass is an indexed range scan
(``next_escalation_at <= :now``), not a scan of every open ticket. It holds the earliest moment
anything can next happen to the ticket: an escalation rule becoming due, an SLA deadline passing,
or the near-breach warning. ``now`` is always a bound parameter (never SQL ``now()``) so tests and
``propdesk escalate --now`` can move the clock.

Exactly once, also with several daemons: the pass locks its batch ``FOR UPDATE SKIP LOCKED`` (a
second daemon takes other tickets), and every record goes in under a unique constraint with
``ON CONFLICT DO NOTHING``; only the transaction whose row went in writes the outbox row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from propdesk.core import escalation as policy
from propdesk.core.models import OPEN_STATUSES, Ticket, TicketStatus, ensure_utc
from propdesk.core.rules import Rules
from propdesk.core.sla import SlaState, sla_status
from propdesk.ingest import IngestHook
from propdesk.logging import get_logger
from propdesk.notify.events import STAFF, Planned, ticket_context
from propdesk.notify.status import ticket_from_row
from propdesk.store import outbox
from propdesk.store.tables import TicketRow
from propdesk.store.tables_escalation import (
    SLA_RESOLUTION,
    SLA_RESPONSE,
    EscalationRow,
    SlaBreachRow,
)

log = get_logger(__name__)

TICKETS: Table = TicketRow.__table__  # type: ignore[assignment]  # always a Table for ORM rows

#: Outbox kinds (templates ``mail/templates/<kind>.txt|.html``).
ESCALATION_KIND = "escalation"
WARNING_KIND = "sla_warning"

#: Rule name under which the near-breach warning to the assignee is recorded (once per ticket).
SLA_WARNING_RULE = "sla_warning"

# The SLA targets say "within N minutes" (the spec's check_sla_compliance: ``minutes <= target``),
# so a deadline is breached strictly after it; the first breached instant is one tick later.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Escalated:
    """One escalation (or warning) recorded by this process, with its outbox row."""

    ticket_id: str
    rule: str
    target: str
    due_at: datetime
    outbox_id: int | None


@dataclass(frozen=True, slots=True)
class Breached:
    """One SLA breach recorded by this process."""

    ticket_id: str
    kind: str
    breached_at: datetime


@dataclass
class PassReport:
    """What one pass did; the CLI prints it, the loop logs it."""

    now: datetime
    examined: int = 0
    escalated: list[Escalated] = field(default_factory=list)
    warned: list[Escalated] = field(default_factory=list)
    breached: list[Breached] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the daemon's task log (the lists can be long)."""
        return (
            f"examined {self.examined}, escalated {len(self.escalated)}, "
            f"warned {len(self.warned)}, breached {len(self.breached)}"
        )


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the policy decided for one ticket at ``now`` (before the database said yes)."""

    escalations: tuple[tuple[str, str, datetime], ...]  # (rule, target, due_at)
    breaches: tuple[tuple[str, datetime], ...]  # (kind, deadline)
    next_at: datetime | None


class EscalationService:
    """Records escalations and SLA breaches; built by ``propdesk.app`` from the config.

    ``clock`` is injected (tests and ``--now`` move it); ``warn_before`` of zero turns the
    assignee's near-breach warning off.
    """

    name = "escalation"
    description = "escalate tickets whose rules came due; record SLA breaches; warn assignees"

    def __init__(
        self,
        db: Engine | sessionmaker[Session] | None,
        rules: Rules,
        *,
        clock: Callable[[], datetime],
        message_id_domain: str,
        warn_before: timedelta = timedelta(minutes=30),
        batch_size: int = 500,
        enabled: bool = True,
    ) -> None:
        # ``db`` may be None for the creation hook alone (it writes in ingest's session).
        self._sessions = sessionmaker(db) if isinstance(db, Engine) else db
        self._rules = rules
        self._enabled = enabled
        self._clock = clock
        self._domain = message_id_domain
        self._warn_before = warn_before
        self._batch_size = batch_size
        self._tickets = TICKETS

    # -- creation hook ---------------------------------------------------------------------

    def tickets_created(self, session: Session, ticket_pks: Sequence[int]) -> list[Escalated]:
        """In the creation transaction: apply what is due already, set ``next_escalation_at``.

        Contractor and after-hours-emergency escalations are due the moment the ticket exists,
        so their mail goes out with the acknowledgement instead of a pass interval later.
        """
        if not ticket_pks:
            return []
        now = ensure_utc(self._clock(), "now")
        t = self._tickets
        if not self._enabled:
            # Switched off: no mail, but the tickets are due at the first pass once switched on.
            session.execute(update(t).where(t.c.id.in_(ticket_pks)).values(next_escalation_at=now))
            return []
        rows = session.execute(_with_history(select(t)).where(t.c.id.in_(ticket_pks))).all()
        report = PassReport(now=now)
        self._process(session, rows, now, report)
        return report.escalated + report.warned

    # -- the periodic pass -------------------------------------------------------------------

    def run_pass(self, now: datetime | None = None) -> PassReport:
        """One pass over every ticket whose next escalation time has come, batch by batch.

        Each batch is its own transaction, so a long pass never holds locks on everything and
        a crash loses at most one batch's work (which the next pass redoes).
        """
        now = ensure_utc(now if now is not None else self._clock(), "now")
        started = time.perf_counter()
        report = PassReport(now=now)
        if not self._enabled:
            return report
        if self._sessions is None:
            raise RuntimeError("EscalationService built without a database cannot run a pass")
        t = self._tickets
        due = (
            _with_history(select(t))
            .where(t.c.next_escalation_at <= bindparam("now"))
            # Same predicate as the partial index ix_tickets_next_escalation_open, so the planner
            # uses it; it is also the rule that Resolved and Closed tickets never escalate.
            .where(t.c.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(t.c.next_escalation_at)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True, of=t)
        )
        while True:
            with self._sessions.begin() as session:
                rows = session.execute(due, {"now": now}).all()
                self._process(session, rows, now, report)
            if len(rows) < self._batch_size:
                break
        report.seconds = time.perf_counter() - started
        log.info(
            "escalation.pass",
            now=now.isoformat(),
            examined=report.examined,
            escalated=len(report.escalated),
            warned=len(report.warned),
            breached=len(report.breached),
            duration_ms=round(report.seconds * 1000, 1),
        )
        return report

    # -- shared by both ----------------------------------------------------------------------

    def _process(
        self,
        session: Session,
        rows: Sequence[Row[Any]],
        now: datetime,
        report: PassReport,
    ) -> None:
        """Decide for locked ``rows``, record what is new, write outbox rows, reschedule."""
        if not rows:
            return
        report.examined += len(rows)
        tickets: dict[int, Ticket] = {}

        esc_rows: list[tuple[int, str, str, datetime]] = []  # (ticket_pk, rule, target, due_at)
        breach_rows: list[tuple[int, str, datetime]] = []  # (ticket_pk, kind, deadline)
        next_at: dict[int, datetime | None] = {}
        for row in rows:
            pk = row.id
            ticket = tickets[pk] = ticket_from_row(row)
            plan = self._plan(ticket, now, set(row.applied_rules), set(row.breached_kinds))
            esc_rows.extend((pk, rule, target, due_at) for rule, target, due_at in plan.escalations)
            breach_rows.extend((pk, kind, deadline) for kind, deadline in plan.breaches)
            if plan.next_at != row.next_escalation_at:
                next_at[pk] = plan.next_at

        if esc_rows:
            self._record_escalations(session, esc_rows, tickets, now, report)
        if breach_rows:
            inserted = session.execute(
                text(
                    "INSERT INTO sla_breaches (ticket_pk, kind, breached_at, detected_at)"
                    " SELECT v.pk, v.kind, v.at, :now FROM unnest(CAST(:pks AS bigint[]),"
                    " CAST(:kinds AS text[]), CAST(:ats AS timestamptz[])) AS v(pk, kind, at)"
                    " ON CONFLICT (ticket_pk, kind) DO NOTHING"
                    " RETURNING ticket_pk, kind, breached_at"
                ),
                {
                    "pks": [b[0] for b in breach_rows],
                    "kinds": [b[1] for b in breach_rows],
                    "ats": [b[2] for b in breach_rows],
                    "now": now,
                },
            ).all()
            for pk, kind, at in inserted:
                ticket_id = tickets[pk].ticket_id
                report.breached.append(Breached(ticket_id, kind, at))
                log.info("escalation.sla_breached", ticket_id=ticket_id, kind=kind)
        if next_at:
            session.execute(
                text(
                    "UPDATE tickets SET next_escalation_at = v.next_at"
                    " FROM unnest(CAST(:pks AS bigint[]), CAST(:nexts AS timestamptz[]))"
                    " AS v(pk, next_at) WHERE tickets.id = v.pk"
                ),
                {"pks": list(next_at), "nexts": list(next_at.values())},
            )

    def _record_escalations(
        self,
        session: Session,
        esc_rows: list[tuple[int, str, str, datetime]],
        tickets: Mapping[int, Ticket],
        now: datetime,
        report: PassReport,
    ) -> None:
        """Insert under the unique (ticket, rule); only rows that went in get an outbox row."""
        # unnest() arrays rather than a multi-row VALUES: one cached statement for any batch.
        inserted = session.execute(
            text(
                "INSERT INTO escalations (ticket_pk, rule, target, due_at, escalated_at)"
                " SELECT v.pk, v.rule, v.target, v.due_at, :now FROM unnest("
                "CAST(:pks AS bigint[]), CAST(:rules AS text[]), CAST(:targets AS text[]),"
                " CAST(:dues AS timestamptz[])) AS v(pk, rule, target, due_at)"
                " ON CONFLICT (ticket_pk, rule) DO NOTHING"
                " RETURNING id, ticket_pk, rule, target, due_at"
            ),
            {
                "pks": [r[0] for r in esc_rows],
                "rules": [r[1] for r in esc_rows],
                "targets": [r[2] for r in esc_rows],
                "dues": [r[3] for r in esc_rows],
                "now": now,
            },
        ).all()
        if not inserted:
            return
        planned = [
            self._mail(tickets[pk], rule, target, due_at, now)
            for _, pk, rule, target, due_at in inserted
        ]
        written = outbox.add(session, planned, now, self._domain)
        for (_, pk, rule, target, due_at), w in zip(inserted, written, strict=True):
            ticket_id = tickets[pk].ticket_id
            done = Escalated(ticket_id, rule, target, due_at, w.id)
            (report.warned if rule == SLA_WARNING_RULE else report.escalated).append(done)
            log.info(
                "escalation.recorded", ticket_id=ticket_id, rule=rule, target=target, outbox_id=w.id
            )
        session.execute(
            text(
                "UPDATE escalations SET outbox_id = v.outbox_id"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:outbox AS bigint[]))"
                " AS v(id, outbox_id) WHERE escalations.id = v.id"
            ),
            {"ids": [r[0] for r in inserted], "outbox": [w.id for w in written]},
        )

    def _mail(
        self, ticket: Ticket, rule: str, target: str, due_at: datetime, now: datetime
    ) -> Planned:
        """The outbox row for one escalation: what the templates ``escalation`` and
        ``sla_warning`` show (which rule, the ticket's age and urgency, text and unit)."""
        context: dict[str, Any] = {
            "tickets": [ticket_context(ticket, self._rules.policy.sla)],
            "escalation": {
                "rule": rule,
                "description": self._describe(rule),
                "age": _span(ticket.age(now)),
                "received_at": ticket.received_at.strftime("%Y-%m-%d %H:%M UTC"),
                "status": ticket.status.value,
                "due_at": due_at.strftime("%Y-%m-%d %H:%M UTC"),
                "deadline": "",
                "remaining": "",
            },
        }
        if rule == SLA_WARNING_RULE:
            deadline = due_at + self._warn_before
            context["escalation"]["deadline"] = deadline.strftime("%Y-%m-%d %H:%M UTC")
            context["escalation"]["remaining"] = _span(deadline - now)
        kind = WARNING_KIND if rule == SLA_WARNING_RULE else ESCALATION_KIND
        return Planned(
            kind=kind,
            audience=STAFF,
            recipient=target,
            ticket_ids=(ticket.ticket_id,),
            context=context,
        )

    def _describe(self, rule: str) -> str:
        if rule == SLA_WARNING_RULE:
            return "Resolution deadline is near"
        for r in self._rules.policy.escalations:
            if r.name == rule:
                return r.description
        return rule

    def _plan(
        self,
        ticket: Ticket,
        now: datetime,
        applied: set[str],
        breached: set[str],
    ) -> _Plan:
        """The policy's verdict for one ticket plus the SLA clock, and when to look again."""
        already = frozenset(applied)
        due = [
            (d.rule, d.target, d.due_at)
            for d in policy.due_escalations(ticket, now, self._rules, already)
        ]
        candidates: list[datetime] = []
        after = policy.next_escalation_time(ticket, self._rules, already | {d[0] for d in due})
        if after is not None:
            candidates.append(after)

        # The SLA clocks are the core's (propdesk.core.sla): a clock that stopped late (work
        # started after the response deadline) counts as breached too, not only "still New".
        breaches: list[tuple[str, datetime]] = []
        clocks = sla_status(ticket, self._rules.policy, now)
        response_due = clocks.deadlines.response_due
        resolution_due = clocks.deadlines.resolution_due
        if SLA_RESPONSE not in breached:
            if clocks.response is SlaState.BREACHED:
                breaches.append((SLA_RESPONSE, response_due))
            elif clocks.response is not SlaState.MET:
                candidates.append(response_due + _TICK)
        if SLA_RESOLUTION not in breached:
            if clocks.resolution is SlaState.BREACHED:
                breaches.append((SLA_RESOLUTION, resolution_due))
            elif clocks.resolution is not SlaState.MET:
                candidates.append(resolution_due + _TICK)
                if self._warn_before and SLA_WARNING_RULE not in applied:
                    warn_at = resolution_due - self._warn_before
                    if now >= warn_at:
                        due.append((SLA_WARNING_RULE, ticket.assigned_to, warn_at))
                    else:
                        candidates.append(warn_at)
        next_at = min(candidates, default=None)
        if next_at is not None and next_at <= now:
            # Defensive: a time already past would make this pass pick the ticket again.
            next_at = now + _TICK
        return _Plan(tuple(due), tuple(breaches), next_at)


def _with_history(stmt: Select[Any]) -> Select[Any]:
    """Add each ticket's applied rules and recorded breach kinds as arrays (never NULL).

    Correlated subqueries on the unique (ticket_pk, rule|kind) indexes: one round trip per batch
    instead of two more queries with a large ``= ANY(:pks)`` (measured: the slowest statement).
    """
    e = EscalationRow.__table__
    b = SlaBreachRow.__table__
    t = TICKETS
    applied = func.array(select(e.c.rule).where(e.c.ticket_pk == t.c.id).scalar_subquery())
    breached = func.array(select(b.c.kind).where(b.c.ticket_pk == t.c.id).scalar_subquery())
    return stmt.add_columns(applied.label("applied_rules"), breached.label("breached_kinds"))


def _span(delta: timedelta) -> str:
    """``2 h 05 min`` / ``31 min`` / ``3 d 4 h``: an age or time left, for people."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


class EscalationHook(IngestHook):
    """The escalation side of ingest: runs ``tickets_created`` in the creation transaction."""

    def __init__(self, service: EscalationService) -> None:
        self._service = service

    def tickets_created(
        self, session: Any, message: Any, parsed: Any, tickets: Sequence[Any]
    ) -> None:
        self._service.tickets_created(session, [t.id for t in tickets])


# -- read side: what `propdesk tickets list/show` shows about escalations and SLA --------------


def sla_filters(
    now: datetime, *, breached: bool = False, due_within: timedelta | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses on ``tickets`` for ``tickets list --breached`` / ``--due-within``.

    ``--breached``: a breach was recorded (by a pass). ``--due-within D``: an open deadline that
    has not passed yet falls in (now, now + D]: the response deadline while New, the resolution
    deadline while New, In Progress or Pending. Deadlines already missed are ``--breached``.
    """
    t = TICKETS
    b = SlaBreachRow.__table__
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


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One SLA clock of one ticket, for ``tickets show``."""

    kind: str  # response | resolution
    due_at: datetime
    state: str  # the core's SlaState: met | ok | near_breach | breached


def escalation_state(
    conn: Connection, ticket_pk: int, now: datetime, rules: Rules
) -> tuple[list[dict[str, Any]], list[SlaClock]]:
    """A ticket's recorded escalations (rule, target, due_at, escalated_at, outbox_id) and its
    two SLA clocks at ``now`` as the core sees them (a recorded breach stays breached)."""
    e = EscalationRow.__table__
    t = TICKETS
    esc = [
        dict(r)
        for r in conn.execute(
            select(e.c.rule, e.c.target, e.c.due_at, e.c.escalated_at, e.c.outbox_id)
            .where(e.c.ticket_pk == ticket_pk)
            .order_by(e.c.escalated_at, e.c.id)
        ).mappings()
    ]
    row = conn.execute(_with_history(select(t)).where(t.c.id == ticket_pk)).one()
    clocks = sla_status(ticket_from_row(row), rules.policy, now)
    recorded = set(row.breached_kinds)

    def clock(kind: str, due: datetime, state: SlaState) -> SlaClock:
        shown = SlaState.BREACHED if kind in recorded else state
        return SlaClock(kind, due, shown.value)

    return esc, [
        clock(SLA_RESPONSE, clocks.deadlines.response_due, clocks.response),
        clock(SLA_RESOLUTION, clocks.deadlines.resolution_due, clocks.resolution),
    ]
