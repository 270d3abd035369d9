"""Metrics count on their own registry and are served over real HTTP."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from propdesk.daemon.metrics import Metrics
from propdesk.errors import ConfigError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_counters_are_per_instance() -> None:
    a, b = Metrics(), Metrics()
    a.messages.labels(mailbox="main", outcome="ticketed").inc(2)
    value = a.registry.get_sample_value(
        "propdesk_messages_total", {"mailbox": "main", "outcome": "ticketed"}
    )
    assert value == 2
    assert (
        b.registry.get_sample_value(
            "propdesk_messages_total", {"mailbox": "main", "outcome": "ticketed"}
        )
        is None
    )


def test_served_over_http() -> None:
    metrics = Metrics()
    metrics.tickets_created.labels(category="Maintenance").inc()
    port = _free_port()
    metrics.serve(f"127.0.0.1:{port}")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'propdesk_tickets_created_total{category="Maintenance"} 1.0' in body


def test_bad_listen_address_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        Metrics().serve("9464")
