"""Prometheus metrics for ops: what the daemon did, and whether it is still doing it.

One ``Metrics`` object per process, on its own registry so tests can build a fresh one and read
values back. The HTTP endpoint is optional (``[metrics] listen``) and binds where ops say, usually
loopback behind the node exporter or a scraper on the host.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The daemon's counters and gauges; label values are small closed sets (never addresses)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "propdesk_messages_total",
            "Inbound messages by final outcome",
            ["mailbox", "outcome"],
            registry=r,
        )
        self.tickets_created = Counter(
            "propdesk_tickets_created_total", "Tickets created", ["category"], registry=r
        )
        self.notifications = Counter(
            "propdesk_notifications_total",
            "Outbox rows by delivery result",
            ["result"],
            registry=r,
        )
        self.escalations = Counter(
            "propdesk_escalations_total", "Escalations recorded", ["rule"], registry=r
        )
        self.sla_breaches = Counter(
            "propdesk_sla_breaches_total", "SLA breaches recorded", ["kind"], registry=r
        )
        self.poll_seconds = Histogram(
            "propdesk_poll_duration_seconds",
            "Time to poll one mailbox and process what it held",
            ["mailbox"],
            registry=r,
        )
        self.last_poll = Gauge(
            "propdesk_last_successful_poll_timestamp_seconds",
            "Unix time of the last poll that reached the mailbox (alert when it stops moving)",
            ["mailbox"],
            registry=r,
        )
        self.mailbox_up = Gauge(
            "propdesk_mailbox_up", "1 if the last poll reached the mailbox", ["mailbox"], registry=r
        )
        self.outbox_pending = Gauge(
            "propdesk_outbox_pending", "Notifications waiting to be sent", registry=r
        )
