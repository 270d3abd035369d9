"""Statutory deadlines: set on each new ticket (an ingest hook) and watched like an SLA (a
periodic pass that escalates a breach once). Orchestration only: the law as data and the
arithmetic are ``propdesk.core.deadlines``; the SQL is ``propdesk.store``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.deadlines import BREACH_RULE, Jurisdiction, deadline_for
from propdesk.core.hours import BusinessHours
from propdesk.core.models import Urgency, iso_utc, parse_iso_utc
from propdesk.core.notifications import EscalationMail, plan_escalation
from propdesk.core.policy import SlaTarget
from propdesk.ingest import IngestHook
from propdesk.logging import get_logger
from propdesk.store import deadlines as store
from propdesk.store import escalations, outbox
from propdesk.store.db import Database, transaction
from propdesk.store.tickets import ticket_from_row

log = get_logger(__name__)


class DeadlineHook(IngestHook):
    """Writes the law's deadline into each new ticket's metadata (before the notification hook,
    so the assignee's mail shows it)."""

    def __init__(self, jurisdictions: Sequence[Jurisdiction], hours: BusinessHours) -> None:
        self._jurisdictions = tuple(jurisdictions)
        self._hours = hours

    def tickets_created(
        self, session: Any, message: Any, parsed: Any, tickets: Sequence[Any]
    ) -> None:
        if not self._jurisdictions:
            return
        for row in tickets:
            found = deadline_for(ticket_from_row(row), self._jurisdictions, self._hours)
            if found is None:
                continue
            row.metadata_ = {
                **row.metadata_,
                "statutory": {
                    "jurisdiction": found.jurisdiction,
                    "citation": found.citation,
                    "rule": found.rule,
                    "due_at": iso_utc(found.due_at),
                    "notify": found.notify,
                },
            }


class DeadlinePass:
    """The periodic task: each open ticket past its legal deadline is escalated once."""

    name = "statutory"
    description = "escalate tickets past the repair deadline a law sets, once each"

    def __init__(
        self,
        db: Database,
        sla: Mapping[Urgency, SlaTarget],
        message_id_domain: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        batch_size: int = 500,
    ) -> None:
        self._db = db
        self._sla = sla
        self._domain = message_id_domain
        self._clock = clock
        self._batch = batch_size

    def run_once(self, now: datetime | None = None) -> str:
        at = now if now is not None else self._clock.now()
        count = 0
        with transaction(self._db) as s:
            rows = store.breached(s, at, self._batch)
            for row in rows:
                ticket = ticket_from_row(row)
                law = ticket.metadata.statutory or {}
                due = parse_iso_utc(str(law["due_at"]))
                assert due is not None
                target = str(law.get("notify") or ticket.assigned_to)
                if not escalations.record_escalations(s, [(row.id, BREACH_RULE, target, due)], at):
                    continue
                mail = EscalationMail(
                    BREACH_RULE,
                    f"Statutory repair deadline passed: {law['citation']}: {law['rule']}",
                    target,
                    due,
                )
                outbox.add(s, [plan_escalation(ticket, mail, at, self._sla)], at, self._domain)
                count += 1
                log.info("statutory.breached", ticket_id=ticket.ticket_id, target=target)
        return f"escalated {count}"
