"""Metrics count on their own registry and are served over real HTTP."""

from __future__ import annotations

from propdesk.daemon.metrics import Metrics


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
