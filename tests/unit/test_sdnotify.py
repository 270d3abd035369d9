"""The notify protocol against a real Unix datagram socket, path and abstract namespace."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from propdesk.daemon.sdnotify import Notifier


def _receive(sock: socket.socket) -> dict[str, str]:
    sock.settimeout(5)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines())


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    where = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(where)
        yield where, s


def test_ready_and_status_reach_a_path_socket(path_socket: tuple[str, socket.socket]) -> None:
    where, sock = path_socket
    notifier = Notifier({"NOTIFY_SOCKET": where})
    assert notifier.enabled
    assert notifier.ready("1 mailbox, backlog 0")
    assert _receive(sock) == {"READY": "1", "STATUS": "1 mailbox, backlog 0"}
    assert notifier.watchdog()
    assert _receive(sock) == {"WATCHDOG": "1"}
    assert notifier.extend_timeout(30, "waiting for the database")
    assert _receive(sock) == {
        "EXTEND_TIMEOUT_USEC": "30000000",
        "STATUS": "waiting for the database",
    }


def test_abstract_namespace_socket() -> None:
    name = f"propdesk-test-{secrets.token_hex(6)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(b"\0" + name.encode())
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("idle")
        assert _receive(s) == {"STATUS": "idle"}


def test_without_a_manager_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert notifier.watchdog_seconds is None


def test_a_gone_socket_is_logged_not_raised(tmp_path: Path) -> None:
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")}).watchdog()


def test_watchdog_interval_only_for_this_process() -> None:
    mine = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_seconds == 4.0
    assert Notifier({"WATCHDOG_USEC": "4000000"}).watchdog_seconds == 4.0
    other = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(other).watchdog_seconds is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_seconds is None
