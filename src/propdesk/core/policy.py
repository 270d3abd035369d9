"""The policy half of the rules: typed, validated, immutable tables from ``rules/policy.toml``.

Why a separate parse step: the TOML is ops-editable data, so every value is checked once at
start and turned into enums, timedeltas and read-only mappings. Nothing downstream re-validates
or reaches back into raw dicts. Errors read "<file>: [table] entry: what is wrong".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from propdesk.core.models import (
    Category,
    EstimatedCost,
    Priority,
    RequestType,
    Subcategory,
    TicketStatus,
    Urgency,
)
from propdesk.errors import RulesError

POLICY_TABLES: frozenset[str] = frozenset(
    {
        "request_types",
        "estimated_cost",
        "priority",
        "assignment",
        "specialists",
        "default_assignment",
        "sla",
        "escalation",
        "properties",
    }
)

E = TypeVar("E", bound=StrEnum)

# Deliberately loose (no full RFC 5322): catches typos such as a missing "@" or a space.
_EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who gets a ticket: a group and an assignee address."""

    group: str
    assignee: str


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """Response and resolution targets for one urgency."""

    response: timedelta
    resolution: timedelta


@dataclass(frozen=True, slots=True)
class PriorityOverride:
    """A rule that sets priority differently from urgency; None fields match anything."""

    priority: Priority
    category: Category | None = None
    subcategory: Subcategory | None = None
    urgency: Urgency | None = None


@dataclass(frozen=True, slots=True)
class EscalationRule:
    """One escalation rule: due when every condition that is not None holds."""

    name: str
    description: str
    target: str
    urgency: frozenset[Urgency] | None = None
    status: frozenset[TicketStatus] | None = None
    requires_contractor: bool | None = None
    after_hours: bool | None = None
    after: timedelta = timedelta(0)


@dataclass(frozen=True)
class Policy:
    """Every policy table, validated."""

    request_type_default: RequestType
    request_type_by_category: Mapping[Category, RequestType]
    request_type_by_subcategory: Mapping[Subcategory, RequestType]
    cost_default: EstimatedCost
    cost_contractor: EstimatedCost
    cost_by_subcategory: Mapping[Subcategory, EstimatedCost]
    priority_overrides: tuple[PriorityOverride, ...]
    assignment: Mapping[Category, Assignment]
    specialists: Mapping[Subcategory, str]
    default_assignment: Assignment
    sla: Mapping[Urgency, SlaTarget]
    escalations: tuple[EscalationRule, ...]
    properties: Mapping[str, str]


def _sub(entry: str, key: str) -> str:
    """The dotted name of ``key`` inside ``entry`` (or just ``key`` at the table's top)."""
    return f"{entry}.{key}" if entry else key


class TableCheck:
    """Validation helpers bound to one file and table, so every error reads the same way.

    Public so that ``propdesk.core.vocabulary`` can validate its tables with the same messages:
    ``TableCheck(source_of("urgency"), "urgency").keywords(value, "high")``.
    """

    def __init__(self, source: str, table: str) -> None:
        self.source = source
        self.table = table

    def error(self, entry: str, problem: str) -> RulesError:
        where = f"[{self.table}] {entry}" if entry else f"[{self.table}]"
        return RulesError(f"{self.source}: {where}: {problem}")

    def table_of(self, value: Any, entry: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(entry, f"expected a table, got {value!r}")
        return value

    def keys(
        self, data: Mapping[str, Any], entry: str, allowed: set[str], required: set[str]
    ) -> None:
        for key in data:
            if key not in allowed:
                raise self.error(
                    _sub(entry, key),
                    f"unknown key (known: {', '.join(sorted(allowed))})",
                )
        for key in sorted(required - set(data)):
            raise self.error(_sub(entry, key), "missing (required)")

    def text(self, value: Any, entry: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(entry, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def email(self, value: Any, entry: str) -> str:
        address = self.text(value, entry)
        if not _EMAIL_RE.match(address):
            raise self.error(entry, f"not an e-mail address: {address!r}")
        return address.lower()

    def flag(self, value: Any, entry: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(entry, f"expected true or false, got {value!r}")
        return value

    def minutes(self, value: Any, entry: str) -> timedelta:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(entry, f"expected a whole number of minutes >= 0, got {value!r}")
        return timedelta(minutes=value)

    def member(self, enum: type[E], value: Any, entry: str) -> E:
        """An enum member by value, case-insensitively (ops write "plumbing" or "Plumbing")."""
        if isinstance(value, str):
            for item in enum:
                if item.value.lower() == value.strip().lower():
                    return item
        choices = ", ".join(repr(item.value) for item in enum)
        raise self.error(entry, f"expected one of {choices}, got {value!r}")

    def keyed(
        self, data: Mapping[str, Any], enum: type[E], entry: str, convert: Callable[[Any, str], Any]
    ) -> dict[E, Any]:
        """A table keyed by enum values; two keys naming the same member are a duplicate."""
        out: dict[E, Any] = {}
        for key, value in data.items():
            name = _sub(entry, key)
            member = self.member(enum, key, name)
            if member in out:
                raise self.error(name, f"duplicate entry for {member.value!r}")
            out[member] = convert(value, name)
        return out

    def keywords(self, value: Any, entry: str) -> tuple[str, ...]:
        """A non-empty list of non-empty phrases, lower-cased; a repeated phrase is an error."""
        if not isinstance(value, list) or not value:
            raise self.error(entry, f"expected a non-empty list of strings, got {value!r}")
        seen: dict[str, int] = {}
        for i, item in enumerate(value):
            phrase = " ".join(self.text(item, f"{entry}[{i}]").lower().split())
            if phrase in seen:
                raise self.error(f"{entry}[{i}]", f"duplicate keyword {phrase!r}")
            seen[phrase] = i
        return tuple(seen)

    def unique_across(self, groups: Mapping[str, Iterable[str]]) -> None:
        """No phrase may sit in two groups (it would classify the same text two ways)."""
        owner: dict[str, str] = {}
        for group, phrases in groups.items():
            for phrase in phrases:
                if phrase in owner and owner[phrase] != group:
                    raise self.error(
                        group, f"duplicate keyword {phrase!r} (also in {owner[phrase]})"
                    )
                owner[phrase] = group

    def members(self, enum: type[E], value: Any, entry: str) -> frozenset[E]:
        if not isinstance(value, list) or not value:
            raise self.error(entry, f"expected a non-empty list, got {value!r}")
        seen: list[E] = []
        for i, item in enumerate(value):
            member = self.member(enum, item, f"{entry}[{i}]")
            if member in seen:
                raise self.error(f"{entry}[{i}]", f"duplicate entry {member.value!r}")
            seen.append(member)
        return frozenset(seen)


def _frozen(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(data))


def _assignment(where: TableCheck, value: Any, entry: str) -> Assignment:
    data = where.table_of(value, entry)
    where.keys(data, entry, {"group", "assignee"}, {"group", "assignee"})
    return Assignment(
        group=where.text(data["group"], _sub(entry, "group")),
        assignee=where.email(data["assignee"], _sub(entry, "assignee")),
    )


def _request_types(where: TableCheck, data: dict[str, Any]) -> tuple[Any, ...]:
    where.keys(data, "", {"default", "category", "subcategory"}, {"default"})

    def kind(value: Any, entry: str) -> RequestType:
        return where.member(RequestType, value, entry)

    by_cat = where.table_of(data.get("category", {}), "category")
    by_sub = where.table_of(data.get("subcategory", {}), "subcategory")
    return (
        kind(data["default"], "default"),
        where.keyed(by_cat, Category, "category", kind),
        where.keyed(by_sub, Subcategory, "subcategory", kind),
    )


def _costs(where: TableCheck, data: dict[str, Any]) -> tuple[Any, ...]:
    where.keys(data, "", {"default", "contractor", "subcategory"}, {"default", "contractor"})

    def band(value: Any, entry: str) -> EstimatedCost:
        return where.member(EstimatedCost, value, entry)

    by_sub = where.table_of(data.get("subcategory", {}), "subcategory")
    return (
        band(data["default"], "default"),
        band(data["contractor"], "contractor"),
        where.keyed(by_sub, Subcategory, "subcategory", band),
    )


def _priority(where: TableCheck, data: dict[str, Any]) -> tuple[PriorityOverride, ...]:
    where.keys(data, "", {"overrides"}, set())
    items = data.get("overrides", [])
    if not isinstance(items, list):
        raise where.error("overrides", f"expected a list of tables, got {items!r}")
    out: list[PriorityOverride] = []
    for i, raw in enumerate(items):
        entry = f"overrides[{i}]"
        item = where.table_of(raw, entry)
        where.keys(item, entry, {"category", "subcategory", "urgency", "priority"}, {"priority"})
        cat, sub, urg = item.get("category"), item.get("subcategory"), item.get("urgency")
        override = PriorityOverride(
            priority=where.member(Priority, item["priority"], f"{entry}.priority"),
            category=None if cat is None else where.member(Category, cat, f"{entry}.category"),
            subcategory=None
            if sub is None
            else where.member(Subcategory, sub, f"{entry}.subcategory"),
            urgency=None if urg is None else where.member(Urgency, urg, f"{entry}.urgency"),
        )
        if override in out:
            raise where.error(entry, "duplicate override")
        out.append(override)
    return tuple(out)


def _sla(where: TableCheck, data: dict[str, Any]) -> dict[Urgency, SlaTarget]:
    def target(value: Any, entry: str) -> SlaTarget:
        item = where.table_of(value, entry)
        names = {"response_minutes", "resolution_minutes"}
        where.keys(item, entry, names, names)
        response = where.minutes(item["response_minutes"], f"{entry}.response_minutes")
        resolution = where.minutes(item["resolution_minutes"], f"{entry}.resolution_minutes")
        if resolution < response:
            raise where.error(entry, "resolution_minutes is shorter than response_minutes")
        return SlaTarget(response, resolution)

    out: dict[Urgency, SlaTarget] = where.keyed(data, Urgency, "", target)
    for urgency in Urgency:
        if urgency not in out:
            raise where.error(urgency.value, "missing (every urgency needs SLA targets)")
    return out


_ESCALATION_KEYS = frozenset(
    {
        "description",
        "target",
        "urgency",
        "status",
        "requires_contractor",
        "after_hours",
        "after_minutes",
    }
)


def _escalation(where: TableCheck, name: str, raw: Any) -> EscalationRule:
    if not _NAME_RE.match(name):
        raise where.error(name, "rule names are lower_case_with_underscores")
    item = where.table_of(raw, name)
    where.keys(item, name, set(_ESCALATION_KEYS), {"description", "target"})
    if not set(item) - {"description", "target"}:
        raise where.error(name, "names no condition, so it would escalate every ticket")

    def opt(key: str, convert: Callable[[Any, str], Any]) -> Any:
        return convert(item[key], f"{name}.{key}") if key in item else None

    return EscalationRule(
        name=name,
        description=where.text(item["description"], f"{name}.description"),
        target=where.email(item["target"], f"{name}.target"),
        urgency=opt("urgency", lambda v, e: where.members(Urgency, v, e)),
        status=opt("status", lambda v, e: where.members(TicketStatus, v, e)),
        requires_contractor=opt("requires_contractor", where.flag),
        after_hours=opt("after_hours", where.flag),
        after=opt("after_minutes", where.minutes) or timedelta(0),
    )


def _escalations(where: TableCheck, data: dict[str, Any]) -> tuple[EscalationRule, ...]:
    return tuple(_escalation(where, name, raw) for name, raw in data.items())


def _properties(where: TableCheck, data: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for building, value in data.items():
        key = building.strip().upper()
        if not key:
            raise where.error(repr(building), "empty building name")
        if key in out:
            raise where.error(building, f"duplicate entry for building {key!r}")
        out[key] = where.text(value, building)
    return out


def parse_policy(tables: Mapping[str, Any], source_of: Callable[[str], str]) -> Policy:
    """Validate the policy tables (after the override replaced whole tables) into a ``Policy``.

    Every table in ``POLICY_TABLES`` must be present; ``source_of(table)`` names its file.
    """

    def where(table: str) -> tuple[TableCheck, dict[str, Any]]:
        if table not in tables:
            raise RulesError(f"{source_of(table)}: [{table}]: missing table")
        w = TableCheck(source_of(table), table)
        return w, w.table_of(tables[table], "")

    w, data = where("request_types")
    rt_default, rt_cat, rt_sub = _request_types(w, data)
    w, data = where("estimated_cost")
    cost_default, cost_contractor, cost_sub = _costs(w, data)
    w, data = where("assignment")
    assignment = w.keyed(data, Category, "", lambda v, e: _assignment(w, v, e))
    ws, data = where("specialists")
    specialists = ws.keyed(data, Subcategory, "", ws.email)
    wd, data = where("default_assignment")
    default_assignment = _assignment(wd, data, "")
    return Policy(
        request_type_default=rt_default,
        request_type_by_category=_frozen(rt_cat),
        request_type_by_subcategory=_frozen(rt_sub),
        cost_default=cost_default,
        cost_contractor=cost_contractor,
        cost_by_subcategory=_frozen(cost_sub),
        priority_overrides=_priority(*where("priority")),
        assignment=_frozen(assignment),
        specialists=_frozen(specialists),
        default_assignment=default_assignment,
        sla=_frozen(_sla(*where("sla"))),
        escalations=_escalations(*where("escalation")),
        properties=_frozen(_properties(*where("properties"))),
    )
