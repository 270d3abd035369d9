"""Test support for the notification tests, on top of the shared stack fixtures
(``smtp_peer``, ``clean_db``, ``db_config`` from tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from propdesk.config import Config, DatabaseConfig, parse_config
from tests.stack import SmtpPeer
from tests.unit.notify_factory import NOW, ticket

__all__ = ["NOW", "Clock", "notify_config", "ticket"]


class Clock:
    """A settable clock for the delivery service (tz-aware UTC)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def notify_config(peer: SmtpPeer, db: DatabaseConfig | None = None, **notifications: Any) -> Config:
    """A config pointing at the peer (plain SMTP on loopback) and the session database."""
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
        data["database"] = db.model_dump()
    return parse_config(data)
