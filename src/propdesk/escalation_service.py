"""The escalation service: the creation hook and the periodic pass over due tickets.

Orchestration only. The policy (which rule is due when, the SLA clocks, the near-breach warning,
when to look again) is the core's ``propdesk.core.escalation.plan``; what the mail says is
``propdesk.core.notifications.plan_escalation``; the statements (locking the due batch, recording
each escalation and breach exactly once, rescheduling) are ``propdesk.store.escalations``. This
module runs them in one transaction per batch and writes an outbox row only for an escalation
whose record went in, so two daemons never mail the same escalation twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core import escalation as policy
from propdesk.core.escalation import SLA_WARNING_RULE
from propdesk.core.models import ensure_utc
from propdesk.core.notifications import plan_escalation
from propdesk.core.rules import Rules
from propdesk.ingest import IngestHook
from propdesk.logging import get_logger
from propdesk.store import escalations as store
from propdesk.store import outbox
from propdesk.store.db import Database, Executor, transaction
from propdesk.store.escalations import DueState

log = get_logger(__name__)


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


class EscalationService:
    """Records escalations and SLA breaches; built by ``propdesk.app`` from the config.

    ``clock`` is injected (tests and ``--now`` move it); ``warn_before`` of zero turns the
    assignee's near-breach warning off.
    """

    name = "escalation"
    description = "escalate tickets whose rules came due; record SLA breaches; warn assignees"

    def __init__(
        self,
        db: Database | None,
        rules: Rules,
        *,
        clock: Clock = SYSTEM_CLOCK,
        message_id_domain: str,
        warn_before: timedelta = timedelta(minutes=30),
        batch_size: int = 500,
        enabled: bool = True,
    ) -> None:
        # ``db`` may be None for the creation hook alone (it writes in ingest's session).
        self._db = db
        self._rules = rules
        self._enabled = enabled
        self._clock = clock
        self._domain = message_id_domain
        self._warn_before = warn_before
        self._batch_size = batch_size

    # -- creation hook ---------------------------------------------------------------------

    def tickets_created(self, session: Executor, ticket_pks: Sequence[int]) -> list[Escalated]:
        """In the creation transaction: apply what is due already, set ``next_escalation_at``.

        Contractor and after-hours-emergency escalations are due the moment the ticket exists,
        so their mail goes out with the acknowledgement instead of a pass interval later.
        """
        if not ticket_pks:
            return []
        now = ensure_utc(self._clock.now(), "now")
        if not self._enabled:
            # Switched off: no mail, but the tickets are due at the first pass once switched on.
            store.due_now(session, ticket_pks, now)
            return []
        report = PassReport(now=now)
        self._process(session, store.created(session, ticket_pks, now), now, report)
        return report.escalated + report.warned

    # -- the periodic pass -------------------------------------------------------------------

    def run_pass(self, now: datetime | None = None) -> PassReport:
        """One pass over every ticket whose next escalation time has come, batch by batch.

        Each batch is its own transaction, so a long pass never holds locks on everything and
        a crash loses at most one batch's work (which the next pass redoes). Batches follow
        each other by keyset: the next starts after the last ticket of the one before.
        """
        now = ensure_utc(now if now is not None else self._clock.now(), "now")
        started = self._clock.monotonic()
        report = PassReport(now=now)
        if not self._enabled:
            return report
        if self._db is None:
            raise RuntimeError("EscalationService built without a database cannot run a pass")
        after: tuple[datetime, int] | None = None
        while True:
            with transaction(self._db) as session:
                batch = store.due(session, now, self._batch_size, after)
                self._process(session, batch, now, report)
            if len(batch) < self._batch_size:
                break
            last = batch[-1]
            assert last.next_escalation_at is not None  # it was due
            after = (last.next_escalation_at, last.pk)
        report.seconds = self._clock.monotonic() - started
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
        self, session: Executor, batch: Sequence[DueState], now: datetime, report: PassReport
    ) -> None:
        """Decide for the locked ``batch``, record what is new, write outbox rows, reschedule:
        planning in one loop over the batch, each kind of write one statement for the batch."""
        if not batch:
            return
        report.examined += len(batch)
        ticket_ids: dict[int, str] = {}
        esc_rows: list[tuple[int, str, str, datetime]] = []  # (ticket_pk, rule, target, due_at)
        breach_rows: list[tuple[int, str, datetime]] = []  # (ticket_pk, kind, deadline)
        next_at: dict[int, datetime | None] = {}
        rules, warn_before, plan = self._rules, self._warn_before, policy.plan
        for state in batch:
            pk = state.pk
            ticket_ids[pk] = state.facts.ticket_id
            verdict = plan(
                state.facts,
                now,
                rules,
                applied=state.applied,
                breached=state.breached,
                warn_before=warn_before,
            )
            for rule, target, due_at in verdict.escalations:
                esc_rows.append((pk, rule, target, due_at))
            for kind, deadline in verdict.breaches:
                breach_rows.append((pk, kind, deadline))
            if verdict.next_at != state.next_escalation_at:
                next_at[pk] = verdict.next_at

        self._record_escalations(session, esc_rows, ticket_ids, now, report)
        for pk, kind, at in store.record_breaches(session, breach_rows, now):
            ticket_id = ticket_ids[pk]
            report.breached.append(Breached(ticket_id, kind, at))
            log.info("escalation.sla_breached", ticket_id=ticket_id, kind=kind)
        store.reschedule(session, next_at)

    def _record_escalations(
        self,
        session: Executor,
        esc_rows: list[tuple[int, str, str, datetime]],
        ticket_ids: Mapping[int, str],
        now: datetime,
        report: PassReport,
    ) -> None:
        """Insert under the unique (ticket, rule); only rows that went in get an outbox row
        (the whole tickets, for the mails, are read for those alone)."""
        inserted = store.record_escalations(session, esc_rows, now)
        if not inserted:
            return
        sla = self._rules.policy.sla
        tickets = store.tickets_by_pk(session, sorted({r.ticket_pk for r in inserted}))
        planned = [
            plan_escalation(
                tickets[r.ticket_pk],
                policy.escalation_mail(r.rule, r.target, r.due_at, self._rules, self._warn_before),
                now,
                sla,
            )
            for r in inserted
        ]
        written = outbox.add(session, planned, now, self._domain)
        for r, w in zip(inserted, written, strict=True):
            ticket_id = ticket_ids[r.ticket_pk]
            done = Escalated(ticket_id, r.rule, r.target, r.due_at, w.id)
            (report.warned if r.rule == SLA_WARNING_RULE else report.escalated).append(done)
            log.info(
                "escalation.recorded",
                ticket_id=ticket_id,
                rule=r.rule,
                target=r.target,
                outbox_id=w.id,
            )
        store.link_outbox(session, {r.id: w.id for r, w in zip(inserted, written, strict=True)})


class EscalationHook(IngestHook):
    """The escalation side of ingest: runs ``tickets_created`` in the creation transaction."""

    def __init__(self, service: EscalationService) -> None:
        self._service = service

    def tickets_created(
        self, session: Any, message: Any, parsed: Any, tickets: Sequence[Any]
    ) -> None:
        self._service.tickets_created(session, [t.id for t in tickets])
