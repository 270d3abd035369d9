"""The tenant directory as plain data: a record, the CSV import's validation, and the fill rule.

Why pure: the import's promise ("errors per line with the line number, nothing half-imported")
is decided here on the whole file before the store writes anything, and the fill rule ("a known
sender's unit fills a ticket whose text names none; the text wins when it names another unit,
and the ticket says so") is a function of a ticket and a record, tested without a database.
"""

from __future__ import annotations

import builtins
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from propdesk.core.derive import property_id_for, unit_id, unit_number
from propdesk.core.models import Ticket
from propdesk.core.policy import Policy

#: The CSV header, in this order (``propdesk tenants import``).
CSV_COLUMNS: tuple[str, ...] = ("unit", "building", "property", "name", "email", "phone")
_ADDRESS_RE = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*\.)+[A-Za-z0-9-]+$")
_LIMITS = {"unit": 32, "building": 64, "property": 64, "name": 200, "email": 320, "phone": 40}


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """One tenant of the directory; ``email`` is lower-cased, unknown fields are ``""``."""

    email: str
    name: str
    unit: str
    building: str = ""
    property: str = ""
    phone: str = ""

    @builtins.property  # the field ``property`` shadows the builtin inside the class body
    def unit_number(self) -> str | None:
        """The display form tickets use ("Unit 4C")."""
        return unit_number(self.unit)

    def to_dict(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in CSV_COLUMNS}


@dataclass(frozen=True, slots=True)
class LineError:
    """One refused line of an import: its 1-based line number in the file and why."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass(frozen=True, slots=True)
class DirectoryFile:
    """A whole CSV file checked: the records, or every line's error (then nothing is imported)."""

    records: tuple[TenantRecord, ...]
    errors: tuple[LineError, ...]


def normalise_email(value: str) -> str:
    return value.strip().lower()


def parse_directory_csv(text: str) -> DirectoryFile:
    """Check every line of ``text`` (header ``unit,building,property,name,email,phone``).

    Line numbers are the file's (the header is line 1). A repeated address within the file is an
    error on its second line: which of the two is right is the operator's call, not ours.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    wanted = ",".join(CSV_COLUMNS)
    if header is None or [h.strip().lower() for h in header] != list(CSV_COLUMNS):
        got = "nothing" if header is None else ",".join(header)
        return DirectoryFile((), (LineError(1, f"header must be {wanted}, got {got}"),))
    records: list[TenantRecord] = []
    errors: list[LineError] = []
    first_line: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # a blank line
        record, problem = _record(cells)
        if problem is None and record is not None and record.email in first_line:
            problem = f"{record.email} already on line {first_line[record.email]}"
        if problem is not None or record is None:
            errors.append(LineError(line, problem or "unreadable"))
            continue
        first_line[record.email] = line
        records.append(record)
    return DirectoryFile(tuple(records), tuple(errors))


def _record(cells: Sequence[str]) -> tuple[TenantRecord | None, str | None]:
    if len(cells) != len(CSV_COLUMNS):
        return None, f"expected {len(CSV_COLUMNS)} fields, got {len(cells)}"
    values = {c: " ".join(v.split()) for c, v in zip(CSV_COLUMNS, cells, strict=True)}
    values["email"] = normalise_email(values["email"])
    for column, limit in _LIMITS.items():
        if len(values[column]) > limit:
            return None, f"{column} longer than {limit} characters"
    if not values["email"]:
        return None, "email is empty"
    if not _ADDRESS_RE.match(values["email"]):
        return None, f"email {values['email']!r} is not an address"
    if unit_id(values["unit"]) is None:
        return None, "unit is empty"
    values["unit"] = unit_id(values["unit"]) or ""
    return TenantRecord(**values), None


def fill_from_directory(ticket: Ticket, tenant: TenantRecord | None, policy: Policy) -> Ticket:
    """A ticket whose text names no unit gets the directory's unit, building and property; one
    whose text names another unit keeps it and records that the directory said otherwise."""
    if tenant is None or tenant.unit_number is None:
        return ticket
    meta = ticket.metadata
    if ticket.unit_number is None:
        building = meta.building or (tenant.building.upper() or None)
        note = f"directory:unit {tenant.unit_number} from the tenant directory ({tenant.email})"
        return replace(
            ticket,
            unit_number=tenant.unit_number,
            property_id=tenant.property or property_id_for(tenant.unit, building, policy),
            metadata=replace(meta, building=building, matched_rules=(*meta.matched_rules, note)),
        )
    if unit_id(ticket.unit_number) != unit_id(tenant.unit):
        note = (
            f"directory:the text names {ticket.unit_number}, the tenant directory says "
            f"{tenant.unit_number} for {tenant.email}; the text wins"
        )
        return replace(ticket, metadata=replace(meta, matched_rules=(*meta.matched_rules, note)))
    # the same unit: what the text left out (building, property) comes from the directory
    building = meta.building or (tenant.building.upper() or None)
    prop = tenant.property or property_id_for(tenant.unit, building, policy)
    if building == meta.building and prop == ticket.property_id:
        return ticket
    note = f"directory:building {building or '-'}, property {prop} from the tenant directory"
    return replace(
        ticket,
        property_id=prop,
        metadata=replace(meta, building=building, matched_rules=(*meta.matched_rules, note)),
    )


def greeting_name(tenant: TenantRecord | None, display_name: str) -> str:
    """Whom a tenant mail greets: the directory's name, else the From display name."""
    if tenant is not None and tenant.name:
        return tenant.name
    name = " ".join(display_name.split())
    return "" if "@" in name else name
