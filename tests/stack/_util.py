"""Small helpers shared by the stack modules: free ports, waiting for a listener, root checks."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

OWNER_FILE = "owner.pid"  # owner_token() of the process that started an instance, in its root
OWNER_COMMENT = "propdesk-test-owner "  # prefix of a test database's COMMENT: the owner's token


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: start time in clock ticks since boot


def owner_token(pid: int | None = None) -> str:
    """``pid:starttime`` of a process: unlike a bare PID it cannot be reused by another one."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid)}"


def owner_alive(token: str) -> bool:
    """True while the process named by an ``owner_token`` (or a bare PID) still runs."""
    pid_text, _, start = token.strip().partition(":")
    if not pid_text.isdigit():
        return True  # unknown format: not ours to judge, so treat as alive
    pid = int(pid_text)
    if not start:
        return pid_alive(pid)
    return _start_time(pid) == start


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it; a tiny race is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 15.0, what: str = "server") -> None:
    """Poll (every 50 ms, no busy wait) until host:port accepts a connection."""
    deadline = time.monotonic() + timeout
    while not port_open(host, port, timeout=0.5):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not listen on {host}:{port} within {timeout:.0f}s")
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    """True while a process with that PID exists (and is not a zombie we could reap)."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_pid_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait until the process is gone; False if it is still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def is_root() -> bool:
    return os.geteuid() == 0
