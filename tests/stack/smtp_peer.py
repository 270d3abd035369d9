"""An aiosmtpd SMTP peer that records every message and can be told to misbehave.

Faults are queued per message: answer a 4xx/5xx at MAIL, RCPT or DATA, or drop the connection
without a reply, for the next N messages. The peer can be stopped and started again on the same
port to simulate an outage. With ``spool_dir`` each received message is also written there as
``NNNN.eml`` (the demo uses that).
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from propdesk.config import SecretRef, SmtpConfig

from ._util import free_port

Stage = Literal["mail", "rcpt", "data"]
DROP = "drop"


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: SMTP envelope plus the raw and parsed content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    received_at: float


@dataclass
class _Fault:
    stage: Stage
    reply: str  # an SMTP reply line, or DROP


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    def _fault(self, server: Any, stage: Stage) -> str | None:
        fault = self.peer._take_fault(stage)
        if fault is None:
            return None
        if fault.reply == DROP:
            server.transport.abort()  # no reply at all: the client sees a dead connection
            return "421 4.4.2 connection dropped"
        return fault.reply

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (reply := self._fault(server, "mail")) is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if (reply := self._fault(server, "rcpt")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        with self.peer._lock:
            self.peer.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (reply := self._fault(server, "data")) is not None:
            return reply
        raw = bytes(envelope.original_content or envelope.content)
        self.peer._record(envelope.mail_from, tuple(envelope.rcpt_tos), raw)
        return "250 2.0.0 OK queued"


class _PipeliningHandler(_Handler):
    """Also offers PIPELINING (RFC 2920), as Postfix does: aiosmtpd reads commands from a
    buffered stream, so pipelined commands work; it only does not say so."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


@dataclass
class SmtpPeer:
    """The peer. ``start()``, ``stop()``, ``received``, ``wait_for(n)``, ``fail_next(...)``."""

    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    spool_dir: Path | None = None
    auth: tuple[str, str] | None = None  # (username, password) to require AUTH LOGIN/PLAIN
    received: list[ReceivedMail] = field(default_factory=list)
    quits: int = 0  # clients that said QUIT (a clean shutdown does)
    pipelining: bool = False  # offer PIPELINING in the EHLO answer

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._faults: deque[_Fault] = deque()
        self._controller: Controller | None = None
        self._count = 0

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> SmtpPeer:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
        if self.auth is not None:
            kwargs.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=False
            )
        handler = (_PipeliningHandler if self.pipelining else _Handler)(self)
        controller = Controller(handler, hostname=self.host, port=self.port, **kwargs)
        # After stop() the port can linger briefly; retry instead of failing the outage test.
        deadline = time.monotonic() + 10
        while True:
            try:
                controller.start()
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening (an outage); ``start()`` again reopens the same port."""
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def smtp_config(self, **overrides: Any) -> SmtpConfig:
        """A propdesk SmtpConfig for this peer (plain SMTP on loopback)."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls": "none",
            "from_address": "maintenance@propdesk.test",
            "from_name": "Property Maintenance",
        }
        if self.auth is not None:
            values.update(username=self.auth[0], password=SecretRef(env=self.password_env))
        values.update(overrides)
        return SmtpConfig(**values)

    @property
    def password_env(self) -> str:
        """Where ``smtp_config`` tells propdesk to find the AUTH password (set it yourself)."""
        return f"PROPDESK_TEST_SMTP_PASSWORD_{self.port}"

    # --- faults ---------------------------------------------------------------------------
    def fail_next(
        self, count: int = 1, reply: str = "451 4.3.0 try again later", stage: Stage = "data"
    ) -> None:
        """Answer ``reply`` (e.g. ``"550 5.7.1 rejected"``) at ``stage`` for the next messages."""
        with self._lock:
            self._faults.extend(_Fault(stage, reply) for _ in range(count))

    def drop_next(self, count: int = 1, stage: Stage = "data") -> None:
        """Close the connection without a reply at ``stage`` for the next messages."""
        self.fail_next(count, DROP, stage)

    def reset(self) -> None:
        """Forget recorded messages and pending faults (between tests)."""
        with self._lock:
            self.received.clear()
            self._faults.clear()

    def _take_fault(self, stage: Stage) -> _Fault | None:
        with self._lock:
            if self._faults and self._faults[0].stage == stage:
                return self._faults.popleft()
        return None

    # --- recording ------------------------------------------------------------------------
    def _record(self, mail_from: str, rcpts: tuple[str, ...], raw: bytes) -> None:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = ReceivedMail(mail_from, rcpts, raw, parsed, time.time())
        with self._lock:
            self._count += 1
            if self.spool_dir is not None:
                self.spool_dir.mkdir(parents=True, exist_ok=True)
                (self.spool_dir / f"{self._count:04d}.eml").write_bytes(raw)
            self.received.append(mail)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages arrived; raises TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"SMTP peer got {len(self.received)} of {count} messages")
            return list(self.received)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.auth
        )
        return AuthResult(success=ok)
