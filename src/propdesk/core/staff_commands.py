"""Staff commands by reply: ``Key: value`` lines at the top of a staff member's reply.

    Status: Pending — waiting for part
    Assign: plumber2@property.com
    Note: part ordered, back Thursday
    Urgency: 1
    Reviewed: ok

Only the whitelisted keys (``[staff_commands] keys``) are commands; the command lines are removed
from the comment text. A line that looks like a command with an unknown key, or a value that makes
no sense, is *refused* with a reason (the service replies saying why and what is allowed), and
nothing of that reply changes the ticket. Whether the move is allowed is the lifecycle's call
(``propdesk.core.lifecycle``), checked later on the locked ticket. Pure: text in, commands out.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from propdesk.core.models import TicketStatus, Urgency

#: ``Key: value`` at the start of a line; the key one or two words.
_COMMAND_LINE = re.compile(r"^\s*\*?([A-Za-z][A-Za-z-]{0,19}(?: [A-Za-z]{1,19})?)\*?\s*:\s*(.*)$")
#: ``Pending — waiting for part`` / ``Pending - waiting`` / ``Pending: waiting``.
_STATUS_NOTE = re.compile(r"^(.*?)\s*(?:\s[-\u2013\u2014]+\s|[\u2013\u2014]|:)\s*(.*)$")
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")
_STATUSES = {s.value.lower(): s for s in TicketStatus}
#: A command value is short; longer text is cut (refusals quote values, and reasons are logged).
_VALUE_CHARS = 500
_URGENCIES = {u.value: u for u in Urgency}
_REVIEWED = frozenset({"ok", "yes", "done"})


@dataclass(frozen=True, slots=True)
class Command:
    """One accepted command line: its key and its parsed value (status, address, note, urgency)."""

    key: str
    value: str
    status: TicketStatus | None = None
    note: str | None = None
    urgency: Urgency | None = None


@dataclass(frozen=True, slots=True)
class Commands:
    """A staff reply read: the commands, the refusals (line: why) and the text left over."""

    commands: tuple[Command, ...]
    refused: tuple[str, ...]
    text: str

    @property
    def any(self) -> bool:
        return bool(self.commands or self.refused)


def allowed_help(keys: Collection[str]) -> str:
    """What a refusal reply lists as allowed."""
    statuses = ", ".join(s.value for s in TicketStatus if s is not TicketStatus.NEW)
    lines = {
        "status": f"Status: <{statuses}> [— note]",
        "assign": "Assign: someone@example.com",
        "note": "Note: text",
        "urgency": "Urgency: 1 | 2 | 3",
        "reviewed": "Reviewed: ok",
    }
    return "\n".join(lines[k] for k in lines if k in keys)


def _parse_one(key: str, value: str) -> Command | str:  # noqa: PLR0911 - one answer per key
    """A command, or why the line is refused."""
    if not value:
        return f"{key.title()}: needs a value"
    if key == "status":
        name, note = value, ""
        match = _STATUS_NOTE.match(value)
        if match and match.group(1).lower() in _STATUSES:
            name, note = match.group(1), match.group(2).strip()
        status = _STATUSES.get(name.strip().lower())
        if status is None:
            return f"Status: unknown status {name.strip()!r}"
        return Command(key, value, status=status, note=note or None)
    if key == "assign":
        address = value.strip("<> ").lower()
        if not _ADDRESS.match(address) or ".." in address:
            return f"Assign: not a plain email address: {value!r}"
        return Command(key, address)
    if key == "urgency":
        urgency = _URGENCIES.get(value.strip())
        if urgency is None:
            return f"Urgency: expected 1, 2 or 3, got {value!r}"
        return Command(key, value, urgency=urgency)
    if key == "reviewed":  # triage's doubt checked (propdesk.core.review)
        if value.strip().lower() not in _REVIEWED:
            return f"Reviewed: expected ok, got {value!r}"
        return Command(key, "ok")
    return Command(key, value, note=value)  # note


def parse_commands(new_text: str, keys: Collection[str]) -> Commands:
    """Read the command lines at the top of ``new_text`` (blank lines between them allowed).

    The first line that is not ``Key: value`` ends the block; a greeting before it ("Hi,") is
    not skipped on purpose, so commands must really be on top.
    """
    lines = new_text.splitlines()
    commands: list[Command] = []
    refused: list[str] = []
    end = 0
    for i, line in enumerate(lines):
        if not line.strip():
            end = i + 1
            continue
        match = _COMMAND_LINE.match(line)
        if match is None:
            break
        key = match.group(1).strip().lower()
        value = " ".join(match.group(2).split())[:_VALUE_CHARS]
        end = i + 1
        if key not in keys:
            refused.append(f"{match.group(1).strip()[:20]}: unknown command")
            continue
        parsed = _parse_one(key, value)
        if isinstance(parsed, str):
            refused.append(parsed)
        else:
            commands.append(parsed)
    rest = "\n".join(lines[end:]).strip() if (commands or refused) else new_text.strip()
    return Commands(tuple(commands), tuple(refused), rest)
