"""Wiring for what watches the daemon: health state, its HTTP server, systemd notification and
the IDLE watchers that wake the loop. Built here (the composition root), used by ``run``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from propdesk.app.database import engine as make_engine
from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import Config, MailboxConfig
from propdesk.daemon.health import Health, HealthServer
from propdesk.daemon.idle import IdleWatcher, StateChange
from propdesk.daemon.loop import TurnObserver
from propdesk.daemon.metrics import Metrics
from propdesk.daemon.sdnotify import Notifier
from propdesk.daemon.signals import StopFlag
from propdesk.daemon.supervise import HealthFeed, SystemdFeed
from propdesk.store.ops_stats import OpsSnapshot, snapshot
from propdesk.store.session import ping, sessions

#: The loop turns at least this often even with nothing due (health and the watchdog need it).
MAX_SLEEP_SECONDS = 60.0


@dataclass
class Supervision:
    """Health, its server and systemd, for one ``run``; ``close()`` stops the server."""

    health: Health
    notifier: Notifier
    feed: HealthFeed
    systemd: SystemdFeed
    max_sleep: float
    server: HealthServer | None = None
    _engines: list[Engine] = field(default_factory=list)

    def observers(self) -> list[TurnObserver]:
        return [self.feed, self.systemd]

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for eng in self._engines:
            eng.dispose()


def supervision(
    config: Config,
    metrics: Metrics,
    *,
    serve: bool = True,
    clock: Clock = SYSTEM_CLOCK,
    environ: Mapping[str, str] | None = None,
) -> Supervision:
    """Health state (database checked per /readyz on a connection of its own), the HTTP server
    when ``[metrics] listen`` is set, and the systemd notifier from ``$NOTIFY_SOCKET``."""
    notifier = Notifier(os.environ if environ is None else environ)
    max_sleep = MAX_SLEEP_SECONDS
    if notifier.watchdog_seconds is not None:
        max_sleep = min(max_sleep, notifier.watchdog_seconds / 2)
    checker = make_engine(config, pooled=False)
    health = Health(
        [m.name for m in config.mailboxes],
        poll_seconds=config.intervals.poll_seconds,
        turn_seconds=max_sleep,
        monotonic=clock.monotonic,
        database=lambda: ping(checker),
        stale_intervals=config.metrics.stale_intervals,
    )
    sup = Supervision(
        health, notifier, HealthFeed(health), SystemdFeed(notifier, health, clock), max_sleep
    )
    sup._engines.append(checker)
    read = sessions(checker)

    def database_counts() -> OpsSnapshot:
        with read() as session:
            return snapshot(session, clock.now())

    metrics.watch_database(database_counts)
    if serve and config.metrics.listen:
        sup.server = HealthServer(config.metrics.listen, metrics.registry, health)
    return sup


def idle_watchers(
    config: Config,
    mailboxes: Sequence[MailboxConfig],
    stop: StopFlag,
    state: StateChange | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> list[IdleWatcher]:
    """One watcher per mailbox with ``idle = true``; each wakes the loop through ``stop``."""
    return [
        IdleWatcher(
            mb,
            timeout_seconds=config.timeouts.imap_seconds,
            wake=stop.wake,
            state=state or (lambda _n, _i, _e: None),
            clock=clock,
        )
        for mb in mailboxes
        if mb.idle
    ]
