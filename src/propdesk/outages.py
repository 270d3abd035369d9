"""Outages of the peers the daemon depends on: the database, each IMAP mailbox, the SMTP server.

Why one tracker per peer: an outage is one event, not one error per retry. It logs one warning
when it starts (``outage.started``), at most one line a minute while it lasts
(``outage.ongoing``) and one when it ends (``outage.ended``), with no traceback, however often
the loop retries. Whoever first succeeds with the peer ends it, and whoever was backing off
because of it may try again at once (``Outage.down`` turns False): mail resumes when the
database is back, not when a backoff timer runs out.
"""

from __future__ import annotations

from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.logging import get_logger

log = get_logger(__name__)

REMIND_SECONDS = 60.0  # one "still down" line this often while an outage lasts
DATABASE = "database"
SMTP = "smtp"


def imap(mailbox: str) -> str:
    """The peer name of one mailbox's IMAP server."""
    return f"imap:{mailbox}"


class Outage:
    """One peer's outage state, and the three log lines it is allowed."""

    def __init__(
        self, name: str, clock: Clock = SYSTEM_CLOCK, remind_seconds: float = REMIND_SECONDS
    ) -> None:
        self.name = name
        self._monotonic = clock.monotonic
        self._remind = remind_seconds
        self.down = False
        self.since = 0.0
        self.failures = 0  # failed attempts in the current outage
        self._last_line = 0.0

    def failed(self, error: str, **fields: Any) -> None:
        """An attempt failed because the peer is unreachable (not because of the data)."""
        now = self._monotonic()
        self.failures += 1
        if not self.down:
            self.down, self.since, self._last_line = True, now, now
            log.warning("outage.started", peer=self.name, error=error, **fields)
        elif now - self._last_line >= self._remind:
            self._last_line = now
            log.warning(
                "outage.ongoing",
                peer=self.name,
                error=error,
                down_seconds=round(now - self.since),
                failures=self.failures,
                **fields,
            )

    def recovered(self) -> None:
        """An attempt succeeded: the outage, if any, is over."""
        if not self.down:
            return
        log.warning(
            "outage.ended",
            peer=self.name,
            down_seconds=round(self._monotonic() - self.since),
            failures=self.failures,
        )
        self.down, self.failures = False, 0


class Outages:
    """One ``Outage`` per peer, shared by the loop, the pollers and the outbox delivery."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, remind_seconds: float = REMIND_SECONDS) -> None:
        self._clock = clock
        self._remind = remind_seconds
        self._by_peer: dict[str, Outage] = {}

    def __getitem__(self, peer: str) -> Outage:
        found = self._by_peer.get(peer)
        if found is None:
            found = self._by_peer[peer] = Outage(peer, self._clock, self._remind)
        return found

    @property
    def database(self) -> Outage:
        return self[DATABASE]
