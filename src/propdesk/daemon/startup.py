"""Start-up that waits for the database instead of exiting (bounded, logged, systemd told).

At boot PostgreSQL may come up after us, or be down for a while. Exiting would burn systemd's
start limit in minutes; waiting here, with backoff and one warning per attempt, rides out an
outage of ``database_wait_seconds``, and ``EXTEND_TIMEOUT_USEC`` keeps ``TimeoutStartSec``
from killing us meanwhile. A configuration error is not waited on: it cannot fix itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.daemon.backoff import backoff_delay
from propdesk.daemon.sdnotify import Notifier
from propdesk.daemon.signals import StopFlag
from propdesk.errors import StoreError
from propdesk.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
#: Extra start-up time asked of systemd beyond the next wait (slack for the attempt itself).
EXTEND_SLACK_SECONDS = 60.0


def wait_for_database(
    build: Callable[[], T],
    *,
    wait_seconds: float,
    stop: StopFlag,
    notifier: Notifier,
    clock: Clock = SYSTEM_CLOCK,
) -> T | None:
    """``build()`` until it stops raising ``StoreError``; None when stopped or out of time
    (the last error is then raised again so the caller can print it)."""
    started = clock.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return build()
        except StoreError as exc:
            waited = clock.monotonic() - started
            delay = round(backoff_delay(attempt, BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS), 1)
            if waited + delay > wait_seconds:
                log.error("startup.database_gave_up", attempts=attempt, waited=round(waited))
                raise
            log.warning(
                "startup.database_waiting",
                error=str(exc),
                attempt=attempt,
                waited_seconds=round(waited),
                retry_in_seconds=delay,
                gives_up_after_seconds=wait_seconds,
            )
            notifier.extend_timeout(
                delay + EXTEND_SLACK_SECONDS,
                f"waiting for the database (attempt {attempt}, {round(waited)}s so far)",
            )
            if stop.wait(delay):
                return None
