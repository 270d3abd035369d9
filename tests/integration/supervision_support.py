"""A real ``$NOTIFY_SOCKET`` (an abstract Unix datagram socket) that records what arrives, and
``propdesk run`` as a process of the test with a full config file."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from propdesk.config import Config
from tests.stack.configfile import write_config


@dataclass
class NotifySocket:
    """Binds ``@propdesk-test-…`` and keeps every datagram with its arrival time."""

    name: str = field(default_factory=lambda: f"propdesk-test-{secrets.token_hex(6)}")
    received: list[tuple[float, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(b"\0" + self.name.encode())
        self._sock.settimeout(0.2)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return "@" + self.name

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.received.append((time.monotonic(), fields))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._sock.close()

    def times(self, key: str) -> list[float]:
        return [t for t, f in list(self.received) if key in f]

    def statuses(self) -> list[str]:
        return [f["STATUS"] for _t, f in list(self.received) if "STATUS" in f]


def env_for(base: dict[str, str], notify: NotifySocket, watchdog_seconds: float) -> dict[str, str]:
    env = dict(base)
    env["NOTIFY_SOCKET"] = notify.address
    env["WATCHDOG_USEC"] = str(int(watchdog_seconds * 1_000_000))
    env.pop("WATCHDOG_PID", None)
    env.pop("PROPDESK_FAILPOINT", None)
    return env


def config_file(config: Config, path: Path) -> Path:
    return write_config(path, config)


def get(port: int, path: str) -> tuple[int, dict[str, object]]:
    """(status, JSON body) of a health endpoint; (0, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}
