"""Incident decisions, pure: which building and system a ticket reports, and its role."""

from __future__ import annotations

from dataclasses import replace

import pytest

from propdesk.core.incidents import Joinable, building_of, role, system_of, unit_key
from propdesk.core.rules import rules_from_text
from tests.unit.test_safety import tickets_for

RULES = rules_from_text()


@pytest.mark.parametrize(
    ("body", "system"),
    [
        ("There is no heat in my apartment since this morning. Building A, unit 101.", "heat"),
        ("No hot water since last night, bldg A apt 12", "hot_water"),
        ("There is no power in my apartment, the power is out. Unit 3B", "power"),
        ("There is a leak under the kitchen sink in unit 3B, building A", None),
    ],
)
def test_system_of(body: str, system: str | None) -> None:
    (ticket,) = tickets_for(body)
    found = system_of(ticket, RULES.building_systems)
    assert (found.key if found else None) == system


def test_no_building_no_key() -> None:
    (ticket,) = tickets_for("No heat in unit 2B, radiators are cold.")
    assert building_of(ticket) is None
    named = replace(ticket, metadata=replace(ticket.metadata, building=" maple  court "))
    assert building_of(named) == "MAPLE COURT" and unit_key(named) == "UNIT 2B"


def test_roles() -> None:
    assert role(None, "1", 3) == "lead"
    assert role(Joinable("forming", frozenset({"1"})), "2", 3) == "held"
    assert role(Joinable("forming", frozenset({"1", "2"})), "2", 3) == "held"  # same unit again
    assert role(Joinable("forming", frozenset({"1", "2"})), None, 3) == "held"
    assert role(Joinable("forming", frozenset({"1", "2"})), "3", 3) == "forms"
    assert role(Joinable("open", frozenset({"1", "2", "3"})), "4", 3) == "joins"
