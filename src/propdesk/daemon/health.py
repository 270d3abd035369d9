"""Liveness, readiness and metrics on one small loopback HTTP server.

- ``/healthz``: the process is alive *and* its loop turned within ``stale_intervals`` wake-ups.
  A stuck loop answers 503, so a supervisor (or a person with curl) sees what systemd's watchdog
  sees.
- ``/readyz``: the database answers now (a ``SELECT 1`` per request, bounded by the database
  timeout) and every mailbox was polled or is idling within ``stale_intervals`` poll intervals.
  503 with a JSON body naming what is not ready.
- ``/metrics``: prometheus-client's text format from the daemon's own registry.

The state is written by the loop thread (``turned``, ``mailbox_ok``...) and read by the server's
threads; plain attribute writes of floats and strings are atomic enough for that.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from propdesk.clock import Monotonic
from propdesk.errors import ConfigError
from propdesk.logging import get_logger

log = get_logger(__name__)

#: Checks the database now: None when it answers, else a one-line reason (no secrets).
DatabaseCheck = Callable[[], str | None]


@dataclass
class MailboxHealth:
    """What the loop last learnt about one mailbox."""

    last_ok: float | None = None  # monotonic time of the last pass that reached it
    idling: bool = False  # an IDLE watcher holds a live connection right now
    error: str | None = None


@dataclass
class Health:
    """The daemon's liveness and readiness, fed by the loop, read by the HTTP handlers."""

    mailboxes: Sequence[str]
    poll_seconds: float
    turn_seconds: float  # the longest the loop sleeps between turns
    monotonic: Monotonic
    database: DatabaseCheck = lambda: None
    stale_intervals: int = 3
    started: float = field(init=False)
    last_turn: float | None = field(default=None, init=False)
    boxes: dict[str, MailboxHealth] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.started = self.monotonic()
        self.boxes = {name: MailboxHealth() for name in self.mailboxes}

    # -- written by the loop ---------------------------------------------------------------
    def turned(self) -> None:
        self.last_turn = self.monotonic()

    def mailbox_ok(self, name: str) -> None:
        box = self.boxes.setdefault(name, MailboxHealth())
        box.last_ok, box.error = self.monotonic(), None

    def mailbox_down(self, name: str, error: str) -> None:
        self.boxes.setdefault(name, MailboxHealth()).error = error

    def mailbox_idling(self, name: str, idling: bool) -> None:
        box = self.boxes.setdefault(name, MailboxHealth())
        box.idling = idling
        if idling:
            box.last_ok, box.error = self.monotonic(), None

    # -- read by the handlers --------------------------------------------------------------
    def healthz(self) -> tuple[bool, dict[str, Any]]:
        now = self.monotonic()
        since = now - (self.last_turn if self.last_turn is not None else self.started)
        limit = self.stale_intervals * self.turn_seconds
        ok = since <= limit
        return ok, {"ok": ok, "loop_turned_seconds_ago": round(since, 1), "limit": limit}

    def readyz(self) -> tuple[bool, dict[str, Any]]:
        now = self.monotonic()
        problems: list[str] = []
        db_error = self.database()
        if db_error is not None:
            problems.append(f"database: {db_error}")
        limit = self.stale_intervals * self.poll_seconds
        boxes: dict[str, Any] = {}
        for name, box in sorted(self.boxes.items()):
            age = None if box.last_ok is None else round(now - box.last_ok, 1)
            fresh = box.error is None and (box.idling or (age is not None and age <= limit))
            boxes[name] = {"idling": box.idling, "last_ok_seconds_ago": age, "error": box.error}
            if not fresh:
                why = box.error or ("never reached" if age is None else f"last reached {age}s ago")
                problems.append(f"mailbox {name}: {why}")
        ok = not problems
        return ok, {"ok": ok, "problems": problems, "mailboxes": boxes}


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) as (host, port)."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"metrics.listen: expected HOST:PORT (got {listen!r})")
    return host.strip("[]"), int(port)


class HealthServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` in a daemon thread; ``close()`` stops it."""

    def __init__(self, listen: str, registry: CollectorRegistry, health: Health | None) -> None:
        host, port = parse_listen(listen)
        handler = _handler(registry, health)
        family_server = _server_class(host)
        try:
            self._server = family_server((host, port), handler)
        except OSError as exc:
            raise ConfigError(
                f"metrics.listen {listen}: cannot bind: {exc.strerror} (a second daemon on "
                'this host needs a port of its own; listen = "" turns the endpoint off)'
            ) from None
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="propdesk-health", daemon=True
        )
        self._thread.start()
        log.info("health.serving", listen=f"{host}:{self.port}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _server_class(host: str) -> type[ThreadingHTTPServer]:
    if ":" not in host:
        return ThreadingHTTPServer

    class _V6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    return _V6


def _handler(registry: CollectorRegistry, health: Health | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz") and health is not None:
                ok, body = health.healthz() if path == "/healthz" else health.readyz()
                self._send(200 if ok else 503, json.dumps(body).encode(), "application/json")
            else:
                text = b"not found: try /metrics, /healthz or /readyz\n"
                self._send(404, text, "text/plain; charset=utf-8")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes every few seconds are not worth a journal line each."""

    return Handler
