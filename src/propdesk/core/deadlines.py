"""Statutory repair deadlines: what a jurisdiction's law gives the landlord, from the written
notice (the mail's receive time), as data in the rules (``[statutory_deadlines]``).

Nothing is in force by default: the shipped rules carry EXAMPLES only (commented out), and
they are not legal advice. A jurisdiction applies to the property ids it lists (``"*"``: all)
and maps situations (level-1 urgency rules, or subcategories) to a span in one of three units:

- ``hours``: elapsed time (24 hours is 24 hours, also across a DST change);
- ``days``: calendar days at the same local wall time in the business-hours zone (10 days
  after 14:00 on the day before DST ends is 14:00 local, 10 days on);
- ``business_days``: as ``days``, skipping Saturdays, Sundays and the configured holidays.

Pure: the zone and the holidays come from ``BusinessHours``; the clock is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from propdesk.core.hours import BusinessHours
from propdesk.core.models import Ticket, ensure_utc
from propdesk.errors import RulesError

TABLE = "statutory_deadlines"
Unit = Literal["hours", "days", "business_days"]
UNITS: tuple[str, ...] = ("hours", "days", "business_days")
#: The escalation rule name of a statutory deadline's breach (recorded once per ticket).
BREACH_RULE = "statutory_deadline"


@dataclass(frozen=True, slots=True)
class StatuteRule:
    """One line of a statute: these situations, this long."""

    name: str
    situations: frozenset[str]
    subcategories: frozenset[str]
    span: int
    unit: Unit


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    key: str
    citation: str
    properties: frozenset[str]
    rules: tuple[StatuteRule, ...]
    otherwise: StatuteRule | None  # for every other repair ticket
    notify: str | None = None  # who hears of a breach (default: the assignee)

    def covers(self, property_id: str) -> bool:
        return "*" in self.properties or property_id in self.properties


@dataclass(frozen=True, slots=True)
class Deadline:
    """A ticket's statutory deadline: which law, which line, when."""

    jurisdiction: str
    citation: str
    rule: str
    due_at: datetime
    notify: str | None = None


def add_span(start: datetime, span: int, unit: Unit, hours: BusinessHours) -> datetime:
    """``start`` plus ``span`` ``unit`` (see the module docstring), in UTC."""
    start = ensure_utc(start, "start")
    if unit == "hours":
        return start + timedelta(hours=span)
    local = start.astimezone(hours.timezone)
    day = local.date()
    left = span
    while left > 0:
        day += timedelta(days=1)
        if unit == "days" or _working(day, hours.holidays):
            left -= 1
    wall = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=hours.timezone)
    return wall.astimezone(start.tzinfo)


def _working(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def deadline_for(
    ticket: Ticket, jurisdictions: Sequence[Jurisdiction], hours: BusinessHours
) -> Deadline | None:
    """The first jurisdiction covering the ticket's property; its first matching line, or its
    ``otherwise`` line for a Maintenance ticket; None when no law applies."""
    fired = {
        r.removeprefix("urgency:").rsplit("=", 1)[0]
        for r in ticket.metadata.matched_rules
        if r.startswith("urgency:")
    }
    sub = ticket.subcategory.value if ticket.subcategory else ""
    for j in jurisdictions:
        if not j.covers(ticket.property_id):
            continue
        line = next((r for r in j.rules if r.situations & fired or sub in r.subcategories), None)
        if line is None and ticket.category.value == "Maintenance":
            line = j.otherwise
        if line is None:
            return None
        due = add_span(ticket.received_at, line.span, line.unit, hours)
        return Deadline(j.key, j.citation, line.name, due, j.notify)
    return None


def parse_jurisdictions(
    table: Any, source_of: Callable[[str], str], situations: frozenset[str]
) -> tuple[Jurisdiction, ...]:
    """Validate ``[statutory_deadlines.<key>]``; ``RulesError`` names file, table and entry."""

    def fail(entry: str, problem: str) -> RulesError:
        return RulesError(f"{source_of(TABLE)}: [{TABLE}] {entry}: {problem}")

    if table is None:
        return ()
    if not isinstance(table, Mapping):
        raise fail("(table)", "must be a table of jurisdictions")
    out: list[Jurisdiction] = []
    for key, spec in table.items():
        entry = str(key)
        if not isinstance(spec, Mapping):
            raise fail(entry, "must be a table (citation, properties, rules, otherwise)")
        citation = spec.get("citation")
        if not isinstance(citation, str) or not citation.strip():
            raise fail(f"{entry}.citation", "must name the law (a non-empty string)")
        props = spec.get("properties", ["*"])
        if not isinstance(props, list) or not all(isinstance(p, str) for p in props):
            raise fail(f"{entry}.properties", 'must be a list of property ids (or "*")')
        lines = spec.get("rules", [])
        if not isinstance(lines, list):
            raise fail(f"{entry}.rules", "must be an array of tables ([[...rules]])")
        rules = tuple(
            _line(f"{entry}.rules[{i}]", r, fail, situations) for i, r in enumerate(lines)
        )
        other = spec.get("otherwise")
        otherwise = None if other is None else _line(f"{entry}.otherwise", other, fail, situations)
        notify = spec.get("notify")
        if notify is not None and (not isinstance(notify, str) or "@" not in notify):
            raise fail(f"{entry}.notify", f"must be an email address, got {notify!r}")
        out.append(
            Jurisdiction(entry, citation.strip(), frozenset(props), rules, otherwise, notify)
        )
    return tuple(out)


def _line(
    entry: str, spec: Any, fail: Callable[[str, str], RulesError], situations: frozenset[str]
) -> StatuteRule:
    if not isinstance(spec, Mapping):
        raise fail(entry, "must be a table (name, situations, subcategories, span, unit)")
    name, span, unit = spec.get("name", entry), spec.get("span"), spec.get("unit")
    if isinstance(span, bool) or not isinstance(span, int) or span <= 0:
        raise fail(f"{entry}.span", f"must be a positive whole number, got {span!r}")
    if unit not in UNITS:
        raise fail(f"{entry}.unit", f"must be one of {', '.join(UNITS)}, got {unit!r}")
    lists: dict[str, frozenset[str]] = {}
    for key in ("situations", "subcategories"):
        value = spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"{entry}.{key}", "must be a list of strings")
        lists[key] = frozenset(value)
    unknown = sorted(lists["situations"] - situations)
    if unknown:
        raise fail(f"{entry}.situations", f"not urgency rules: {unknown}")
    return StatuteRule(str(name), lists["situations"], lists["subcategories"], span, unit)
