"""Test support for the notification tests: a scriptable aiosmtpd peer and a migrated database.

The peer records what really arrived (envelope + parsed message) and can be told to answer 4xx /
5xx, to drop the connection, or be stopped and started again on the same port.
"""

from __future__ import annotations

import email
import socket
import sys
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from propdesk.config import Config, parse_config
from propdesk.store import migrate

# The ticket factory is shared with the unit tests (plain core data).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from notify_factory import NOW, ticket

__all__ = ["NOW", "SmtpPeer", "notify_config", "notify_db", "smtp_peer", "ticket", "wipe"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.peer.lock:
            script = self.peer.script.popleft() if self.peer.script else None
        if script == "drop":
            server.transport.abort()
            return "421 dropped"
        if script is not None:
            return script
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        with self.peer.lock:
            self.peer.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), msg, raw)
            )
            self.peer.arrived.set()
        return "250 OK queued"


class SmtpPeer:
    """An aiosmtpd controller on a fixed loopback port, restartable."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.script: deque[str] = deque()
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def answer(self, *answers: str) -> None:
        """Queue answers for the next DATA commands: '451 ...', '550 ...' or 'drop'."""
        with self.lock:
            self.script.extend(answers)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.script.clear()

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def pg_url(database: str) -> URL:
    return URL.create(
        "postgresql+psycopg", database=database, host="127.0.0.1", port=5432, username="postgres"
    )


@pytest.fixture(scope="module")
def notify_db() -> Iterator[tuple[str, Engine]]:
    """A fresh database migrated to head; dropped afterwards."""
    name = f"propdesk_notify_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: a clear skip, not an error
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not usable: {exc}")
    engine = create_engine(pg_url(name))
    try:
        migrate.upgrade(engine)
        yield name, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wipe(engine: Engine) -> None:
    """Empty every table (between tests sharing a module database)."""
    with engine.begin() as conn:
        names = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        listed = ", ".join(f'"{n}"' for n in names)
        if listed:
            conn.execute(text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))


def notify_config(peer: SmtpPeer, database: str = "propdesk", **notifications: Any) -> Config:
    """A config pointing at the peer (plain SMTP on loopback) and the test database."""
    return parse_config(
        {
            "smtp": {
                "host": "127.0.0.1",
                "port": peer.port,
                "tls": "none",
                "from_address": "maintenance@property.com",
                "message_id_domain": "mail.property.com",
            },
            "database": {"host": "127.0.0.1", "user": "postgres", "name": database},
            "timeouts": {"smtp_seconds": 5},
            "intake": {"own_addresses": ["maintenance@property.com", "tickets@property.com"]},
            "notifications": {"retry_base_seconds": 60, **notifications},
        }
    )
