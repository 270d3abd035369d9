"""systemd's notify protocol (``sd_notify(3)``) in a few lines of socket code, no dependency.

``Type=notify`` units get ``$NOTIFY_SOCKET``: a Unix datagram socket, a path or (``@`` first) an
abstract-namespace name. We send ``READY=1`` once the daemon can work, ``STATUS=`` lines for
``systemctl status``, ``WATCHDOG=1`` while the loop makes progress and ``EXTEND_TIMEOUT_USEC=``
while start-up waits for the database. Without the variable (a shell, the tests' in-process
runs) every call is a no-op, and a send that fails is logged, never raised: notification must
not be what stops the daemon.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from propdesk.logging import get_logger

log = get_logger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"


def _address(value: str) -> str | bytes:
    """``@name`` is the abstract namespace (a leading NUL byte); anything else is a path."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class Notifier:
    """Sends state lines to systemd; ``enabled`` is False when no manager listens."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._target = env.get(NOTIFY_SOCKET_ENV) or None
        self.watchdog_seconds = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self._target is not None

    def send(self, **fields: object) -> bool:
        """One datagram of ``KEY=value`` lines (``ready=1`` becomes ``READY=1``)."""
        if self._target is None:
            return False
        payload = "\n".join(f"{k.upper()}={v}" for k, v in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(_address(self._target))
                s.sendall(payload)
        except OSError as exc:
            log.warning("sdnotify.failed", error=f"{type(exc).__name__}: {exc}")
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(ready=1, status=status)

    def status(self, text: str) -> bool:
        return self.send(status=text)

    def watchdog(self) -> bool:
        return self.send(watchdog=1)

    def extend_timeout(self, seconds: float, status: str) -> bool:
        """Ask systemd for ``seconds`` more of start-up (or stop) time than it already gave."""
        return self.send(extend_timeout_usec=int(seconds * 1_000_000), status=status)

    def stopping(self, status: str) -> bool:
        return self.send(stopping=1, status=status)


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """``WatchdogSec=`` as systemd passes it; None when off or meant for another process."""
    usec = env.get(WATCHDOG_USEC_ENV, "")
    pid = env.get(WATCHDOG_PID_ENV, "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 1_000_000
