"""Incidents: one building system down for several units is one piece of work, not N.

Pure decisions: which building and system a ticket reports, and what its arrival does to the
incident it may join. The first ticket of a (building, system) leads a *forming* incident and
mails staff as any ticket does; later ones are its followers: their own staff mail is held for
the window, and when the ``min_units``-th different unit reports, the incident *forms*: it is
announced once, the held mail is dropped, and only the lead escalates (the incident's escalation).
Two units alone form nothing: after the window the follower's mail and escalation go out as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from propdesk.core.models import Ticket
from propdesk.core.notifications import STAFF, Planned
from propdesk.core.safety import Hazard, SafetyList, hazards_of

#: The outbox kind of the announcement (template ``incident_formed.txt|.html``).
FORMED_KIND = "incident_formed"

#: lead: opens a forming incident; held: joins one still forming; forms: its unit completes
#: one; joins: joins one already open.
Role = Literal["lead", "held", "forms", "joins"]


def building_of(ticket: Ticket) -> str | None:
    """The building as one key (upper case, single spaces), or None when none is known."""
    building = ticket.metadata.building
    if not building or not building.strip():
        return None
    return " ".join(building.upper().split())


def unit_key(ticket: Ticket) -> str | None:
    unit = ticket.unit_number
    return " ".join(unit.upper().split()) if unit and unit.strip() else None


def system_of(ticket: Ticket, systems: SafetyList) -> Hazard | None:
    """The first building system of the rules' list this ticket reports, or None."""
    found = hazards_of(ticket, systems)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Joinable:
    """What the store knows of the incident a ticket may join."""

    status: str  # forming | open
    units: frozenset[str]


def role(group: Joinable | None, unit: str | None, min_units: int) -> Role:
    """What this ticket's arrival means (see the module docstring)."""
    if group is None:
        return "lead"
    if group.status == "open":
        return "joins"
    units = group.units | ({unit} if unit else set())
    return "forms" if len(units) >= min_units else "held"


def incident_ref(pk: int) -> str:
    return f"INC-{pk}"


def plan_formed(
    incident_pk: int,
    building: str,
    system: str,
    lead: Ticket,
    members: Sequence[Mapping[str, Any]],
) -> Planned:
    """The announcement: to the lead ticket's assignee, every member ticket listed."""
    return Planned(
        kind=FORMED_KIND,
        audience=STAFF,
        recipient=lead.assigned_to,
        ticket_ids=(
            lead.ticket_id,
            *(m["ticket_id"] for m in members if m["ticket_id"] != lead.ticket_id),
        ),
        context={
            "incident": {
                "ref": incident_ref(incident_pk),
                "building": building,
                "system": system,
                "units": sorted({str(m["unit_number"]) for m in members}),
                "count": len(members),
            },
            "tickets": list(members),
        },
    )
