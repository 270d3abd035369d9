"""Test support for the notification tests, on top of the shared stack fixtures
(``smtp_peer``, ``clean_db``, ``db_config`` from tests/conftest.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert

from propdesk.clock import Clock as SystemClock
from propdesk.config import Config, DatabaseConfig, parse_config
from propdesk.core.models import Ticket
from propdesk.store.tables import TicketRow
from tests.stack import SmtpPeer
from tests.unit.notify_factory import NOW, ticket

__all__ = ["NOW", "Clock", "insert_ticket", "notify_config", "ticket", "write_config"]


class Clock:
    """A settable clock for the delivery service (tz-aware UTC)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)

    @property
    def clock(self) -> SystemClock:
        """This settable time as the project's ``Clock`` (what the services take)."""
        return SystemClock(now=self)


def notify_config(peer: SmtpPeer, db: DatabaseConfig | None = None, **notifications: Any) -> Config:
    """A config pointing at the peer (plain SMTP on loopback) and the session database."""
    return parse_config(config_data(peer, db, **notifications))


def config_data(
    peer: SmtpPeer, db: DatabaseConfig | None = None, **notifications: Any
) -> dict[str, Any]:
    """The TOML data of ``notify_config``."""
    data: dict[str, Any] = {
        "smtp": {
            "host": peer.host,
            "port": peer.port,
            "tls": "none",
            "from_address": "maintenance@property.com",
            "message_id_domain": "mail.property.com",
        },
        "timeouts": {"smtp_seconds": 5},
        "intake": {"own_addresses": ["maintenance@property.com", "tickets@property.com"]},
        "notifications": {"retry_base_seconds": 60, **notifications},
    }
    if db is not None:
        data["database"] = db.model_dump(mode="json", exclude_none=True)
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(path: Path, peer: SmtpPeer, db: DatabaseConfig, **notifications: Any) -> Path:
    """The same config as a TOML file, for CLI tests."""
    lines: list[str] = []
    for section, values in config_data(peer, db, **notifications).items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def insert_ticket(conn: Connection, t: Ticket) -> None:
    """Store a core ticket as a ``tickets`` row (what ingest does when it creates one)."""
    data = {
        c: getattr(t, c)
        for c in (
            "ticket_id",
            "short_description",
            "description",
            "unit_number",
            "requested_for",
            "assignment_group",
            "assigned_to",
            "property_id",
            "received_at",
            "created_at",
            "updated_at",
            "started_at",
            "resolved_at",
            "closed_at",
            "status_notes",
            "message_id",
        )
    }
    for c in ("category", "subcategory", "request_type", "urgency", "priority", "status"):
        value = getattr(t, c)
        data[c] = None if value is None else value.value
    data["metadata"] = t.metadata.to_dict()
    conn.execute(insert(TicketRow.__table__), [data])
