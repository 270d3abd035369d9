"""Prometheus metrics for ops: what the daemon did, and what the database holds.

Two kinds, both honest by construction:

- **Process counters and gauges** (``Metrics``), incremented where the event happens: messages
  by outcome and tickets created (in the mailbox pass, after the commit), receive -> committed
  latency, pass duration, IMAP backlog, login refusals, last successful pass per mailbox.
- **Database gauges** (``DatabaseCollector``), read at scrape time from the database itself:
  messages by outcome, tickets by category/urgency and status, notifications by status,
  escalations, SLA breaches, outbox pending/dead and the oldest pending age. They equal the
  database's counts by definition, survive restarts and agree between several daemons.

One ``Metrics`` per process, on its own registry (tests build a fresh one and read values back).
Served by ``propdesk.daemon.health.HealthServer`` with /healthz and /readyz.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from propdesk.logging import get_logger
from propdesk.store.ops_stats import OpsSnapshot

log = get_logger(__name__)

#: Receive (INTERNALDATE, whole seconds) -> committed, in seconds.
LATENCY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class Metrics:
    """The daemon's counters and gauges; label values are small closed sets (never addresses)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "propdesk_messages_total",
            "Inbound messages by final outcome, counted by this process as they commit",
            ["mailbox", "outcome"],
            registry=r,
        )
        self.tickets_created = Counter(
            "propdesk_tickets_created_total",
            "Tickets created by this process",
            ["mailbox"],
            registry=r,
        )
        self.latency = Histogram(
            "propdesk_pipeline_latency_seconds",
            "From the server's receipt of a message (INTERNALDATE) to its row committed",
            ["mailbox"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.poll_seconds = Histogram(
            "propdesk_poll_duration_seconds",
            "Time to poll one mailbox and process what it held",
            ["mailbox"],
            registry=r,
        )
        self.backlog = Gauge(
            "propdesk_imap_backlog",
            "Messages left in the inbox unhandled when the last pass ended",
            ["mailbox"],
            registry=r,
        )
        self.auth_failures = Counter(
            "propdesk_imap_auth_failures_total", "Refused IMAP logins", ["mailbox"], registry=r
        )
        self.last_poll = Gauge(
            "propdesk_last_successful_poll_timestamp_seconds",
            "Unix time of the last poll that reached the mailbox (alert when it stops moving)",
            ["mailbox"],
            registry=r,
        )
        self.housekeeping = Counter(
            "propdesk_processed_housekeeping_total",
            "Processed-folder mail past processed_keep_days: expunged, archived, or kept_unknown "
            "(no committed row says it was processed; counted at each pass that sees it)",
            ["mailbox", "action"],
            registry=r,
        )
        self.mailbox_up = Gauge(
            "propdesk_mailbox_up", "1 if the last poll reached the mailbox", ["mailbox"], registry=r
        )

    def watch_database(self, read: Callable[[], OpsSnapshot]) -> None:
        """Add the database gauges, read by ``read()`` at each scrape."""
        self.registry.register(DatabaseCollector(read))


class DatabaseCollector(Collector):
    """Gauges from one ``OpsSnapshot`` per scrape; ``propdesk_database_up`` 0 when it fails."""

    def __init__(self, read: Callable[[], OpsSnapshot]) -> None:
        self._read = read

    def describe(self) -> list[Metric]:
        return []  # names are not checked at registration: collect() asks the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("propdesk_database_up", "1 if the scrape could read the database")
        try:
            snap = self._read()
        except Exception as exc:  # a scrape must answer even with the database down
            log.debug("metrics.database_unreadable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _family(
            "propdesk_db_messages",
            "Inbound message rows by mailbox and outcome",
            ["mailbox", "outcome"],
            snap.messages,
        )
        yield _family(
            "propdesk_db_tickets", "Tickets by category and urgency", ["category", "urgency"],
            snap.tickets,
        )  # fmt: skip
        yield _family(
            "propdesk_db_tickets_by_status", "Tickets by status", ["status"],
            {(k,): v for k, v in snap.ticket_status.items()},
        )  # fmt: skip
        yield _family(
            "propdesk_db_notifications", "Outbox rows by status", ["status"],
            {(k,): v for k, v in snap.notifications.items()},
        )  # fmt: skip
        yield _family(
            "propdesk_db_escalations", "Escalations recorded, by rule", ["rule"],
            {(k,): v for k, v in snap.escalations.items()},
        )  # fmt: skip
        yield _family(
            "propdesk_db_sla_breaches", "SLA breaches recorded, by kind", ["kind"],
            {(k,): v for k, v in snap.breaches.items()},
        )  # fmt: skip
        yield _single("propdesk_quarantined", "Messages in quarantine", snap.quarantined)
        pending = snap.notifications.get("pending", 0)
        yield _single("propdesk_outbox_pending", "Notifications waiting to be sent", pending)
        dead = snap.notifications.get("dead", 0)
        yield _single("propdesk_outbox_dead", "Notifications given up on", dead)
        yield _single(
            "propdesk_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending notification (0 when none)",
            snap.oldest_pending_seconds,
        )


def _family(name: str, doc: str, labels: list[str], values: Mapping[Any, int]) -> GaugeMetricFamily:
    """``values`` is keyed by label-value tuples."""
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _single(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
