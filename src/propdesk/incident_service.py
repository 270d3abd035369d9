"""Incidents: the ingest hook that links tickets as they are created, and the staff actions
(list, show, merge, split, a status change for every linked ticket).

Orchestration only: the decisions are ``propdesk.core.incidents``, the SQL ``propdesk.store``.
The hook runs FIRST of the ingest hooks (``app.INGEST_HOOKS``), so the notification hook sees
which tickets are followers (``store.incidents.holds``) and the escalation hook skips them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core import incidents as core
from propdesk.core.models import Ticket, TicketStatus, Urgency
from propdesk.core.notifications import ticket_context
from propdesk.core.policy import SlaTarget
from propdesk.core.safety import SafetyList
from propdesk.errors import PropdeskError
from propdesk.ingest import IngestHook
from propdesk.logging import get_logger
from propdesk.status_service import StatusChangeService
from propdesk.store import incidents as store
from propdesk.store import outbox
from propdesk.store.db import Database, reading, transaction
from propdesk.store.tickets import ticket_from_row

log = get_logger(__name__)


class IncidentNotFound(PropdeskError):
    """No incident with that reference."""


def parse_ref(ref: str) -> int:
    """``INC-12`` or ``12`` -> 12."""
    text = ref.strip().upper().removeprefix("INC-")
    if not text.isdigit():
        raise IncidentNotFound(f"not an incident reference: {ref!r} (INC-<number>)")
    return int(text)


class IncidentHook(IngestHook):
    """Links each new ticket with a known building and system to its incident."""

    def __init__(
        self,
        systems: SafetyList,
        sla: Mapping[Urgency, SlaTarget],
        message_id_domain: str,
        *,
        window: timedelta,
        min_units: int,
        enabled: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._systems = systems
        self._sla = sla
        self._domain = message_id_domain
        self._window = window
        self._min_units = min_units
        self._enabled = enabled
        self._clock = clock

    def tickets_created(
        self, session: Any, message: Any, parsed: Any, tickets: Sequence[Any]
    ) -> None:
        if not self._enabled:
            return
        for row in tickets:
            self._one(session, row.id, ticket_from_row(row))

    def _one(self, session: Any, pk: int, ticket: Ticket) -> None:
        building, system = core.building_of(ticket), core.system_of(ticket, self._systems)
        if building is None or system is None:
            return
        now = self._clock.now()
        store.lock(session, building, system.key)
        group = store.joinable(session, building, system.key, ticket.received_at)
        joinable = None if group is None else core.Joinable(group.status, group.units)
        role = core.role(joinable, core.unit_key(ticket), self._min_units)
        ends = ticket.received_at + self._window
        unit = core.unit_key(ticket)
        at = ticket.received_at
        if group is None:
            incident = store.create(
                session,
                building=building,
                system=system.key,
                lead_pk=pk,
                received_at=at,
                window_ends_at=ends,
                now=now,
            )
        else:
            incident = group.pk
        store.link(
            session,
            incident_pk=incident,
            ticket_pk=pk,
            unit=unit,
            received_at=at,
            window_ends_at=None if group is None else ends,
            now=now,
        )
        if group is not None:
            held_until = max(group.window_ends_at, ends) if role == "held" else None
            store.hold_escalation(session, [pk], held_until)
        log.info(
            "incident.linked",
            incident=core.incident_ref(incident),
            ticket_id=ticket.ticket_id,
            role=role,
            building=building,
            system=system.key,
        )
        if role == "forms":
            self._form(session, incident, building, system.name)

    def _form(self, session: Any, incident: int, building: str, system: str) -> None:
        now = self._clock.now()
        ref = core.incident_ref(incident)
        dropped = store.form(session, incident, now, f"part of incident {ref}: announced once")
        rows = store.members(session, incident)
        tickets = [ticket_from_row(r) for r in rows]
        members = [ticket_context(t, self._sla) for t in tickets]
        planned = core.plan_formed(incident, building, system, tickets[0], members)
        outbox.add(session, [planned], now, self._domain)
        log.info("incident.formed", incident=ref, tickets=len(tickets), held_mail_dropped=dropped)


@dataclass(frozen=True)
class IncidentService:
    """The staff side: list, show, merge, split and a status change for every linked ticket."""

    db: Database
    status: StatusChangeService
    clock: Clock = field(default=SYSTEM_CLOCK)

    def listing(self, *, include_forming: bool = False) -> list[dict[str, Any]]:
        with reading(self.db) as s:
            return store.listing(s, formed_only=not include_forming)

    def show(self, ref: str) -> dict[str, Any]:
        pk = parse_ref(ref)
        with reading(self.db) as s:
            row = store.get(s, pk)
            if row is None:
                raise IncidentNotFound(f"no incident {core.incident_ref(pk)}")
            tickets = [ticket_from_row(r) for r in store.members(s, pk)]
        out = dict(row._mapping)
        out["ref"] = core.incident_ref(pk)
        out["tickets"] = [
            {
                "ticket_id": t.ticket_id,
                "unit_number": t.unit_number,
                "requested_for": t.requested_for,
                "status": t.status.value,
            }
            for t in tickets
        ]
        return out

    def set_status(
        self, ref: str, status: TicketStatus, *, by: str, note: str | None = None
    ) -> list[str]:
        """Every linked ticket moves (each tenant gets its ticket's mail); returns the ids."""
        shown = self.show(ref)
        moved: list[str] = []
        for t in shown["tickets"]:
            if t["status"] == status.value:
                continue
            self.status.set_status(t["ticket_id"], status, by=by, note=note)
            moved.append(t["ticket_id"])
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            with transaction(self.db) as s:
                store.set_status(s, parse_ref(ref), status.value.lower(), self.clock.now())
        log.info("incident.status", incident=shown["ref"], status=status.value, tickets=moved)
        return moved

    def merge(self, target: str, source: str) -> int:
        t, src = parse_ref(target), parse_ref(source)
        self.show(target), self.show(source)
        with transaction(self.db) as s:
            return store.move(s, src, t, self.clock.now())

    def split(self, ref: str, ticket_ids: Sequence[str]) -> int:
        """The tickets leave the incident and are handled on their own again."""
        shown = self.show(ref)
        known = {t["ticket_id"] for t in shown["tickets"]}
        unknown = sorted(set(ticket_ids) - known)
        if unknown:
            raise IncidentNotFound(f"{shown['ref']} has no ticket {', '.join(unknown)}")
        with transaction(self.db) as s:
            pks = [int(r.id) for r in store.members(s, parse_ref(ref)) if r.ticket_id in ticket_ids]
            return store.unlink(s, parse_ref(ref), pks, self.clock.now())
