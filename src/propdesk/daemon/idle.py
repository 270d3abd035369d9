"""One IDLE watcher per mailbox: a thread that only waits for news and wakes the loop.

Why a thread: waiting in IDLE is a blocking read on a socket, one per mailbox, and the loop must
go on with due work (outbox, escalation) meanwhile. The watcher does nothing else: no ticket is
made here. On new mail (EXISTS) it calls ``wake(name)`` and the loop runs that mailbox's pass
on its own connection, with the same exactly-once path as a poll. So IDLE only changes *when* a
pass runs, never *what* it does, and a lost IDLE connection loses nothing: the watcher wakes the
loop again after each reconnect, and the loop still polls every ``poll_seconds`` as a safety net.

Timers (RFC 2177): IDLE is re-issued every ``idle_renew_seconds`` (at most 29 minutes) and after
``idle_liveness_seconds`` of silence from the server; DONE must then be answered within the
socket timeout, else the connection is dead and is re-made with backoff (exponential, capped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.config import MailboxConfig
from propdesk.daemon.backoff import backoff_delay
from propdesk.errors import ConfigError, MailboxError
from propdesk.logging import get_logger
from propdesk.mail.idle import IdleSession
from propdesk.mail.imap import ImapMailbox

log = get_logger(__name__)

#: Reconnect backoff: first wait and cap, seconds.
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 120.0
#: The longest one wait in IDLE lasts, so a stop request is seen within it.
STOP_CHECK_SECONDS = 1.0

#: ``wake(mailbox)``: new mail may be there, run a pass now.
Wake = Callable[[str], None]
#: ``state(mailbox, idling, error)``: for health and status.
StateChange = Callable[[str, bool, str | None], None]


class IdleWatcher:
    """Holds one mailbox in IDLE on a thread of its own; ``start()``/``stop()``."""

    def __init__(
        self,
        config: MailboxConfig,
        *,
        timeout_seconds: float,
        wake: Wake,
        state: StateChange = lambda _name, _idling, _error: None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self._timeout = timeout_seconds
        self._wake = wake
        self._state = state
        self._monotonic = clock.monotonic
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.supported: bool | None = None  # None until the first login says

    @property
    def name(self) -> str:
        return self.config.name

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"propdesk-idle-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, join_seconds: float = 5.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(join_seconds)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._session()
            except (MailboxError, ConfigError) as exc:
                self._lost(str(exc))
            except Exception as exc:  # a watcher must never die silently: back off and retry
                self._lost(f"{type(exc).__name__}: {str(exc)[:300]}")
            if self.supported is False:
                return  # the loop polls this mailbox; nothing to watch

    def _lost(self, error: str) -> None:
        self.failures += 1
        self._state(self.name, False, error)
        delay = backoff_delay(self.failures, BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS)
        log.warning(
            "imap.idle_lost",
            mailbox=self.name,
            error=error,
            failures=self.failures,
            retry_in_seconds=round(delay, 1),
        )
        self._stopped.wait(delay)

    def _session(self) -> None:
        """One connection: log in, EXAMINE, then IDLE until stopped or the connection fails."""
        with ImapMailbox(self.config, self._timeout, connect_attempts=1) as imap:
            idle = IdleSession(imap)
            self.supported = idle.supported
            if not idle.supported:
                log.info("imap.idle_unsupported", mailbox=self.name, detail="polling instead")
                return
            imap.select(readonly=True)
            if self.failures:
                log.info("imap.idle_back", mailbox=self.name, after_failures=self.failures)
            self.failures = 0
            self._state(self.name, True, None)
            try:
                first = True
                while not self._stopped.is_set():
                    self._one_idle(idle, catch_up=first)
                    first = False
            finally:
                self._state(self.name, False, None)
                _leave_quietly(idle)

    def _one_idle(self, idle: IdleSession, *, catch_up: bool) -> None:
        """IDLE until renewal is due or the server has been silent too long, then DONE.

        ``catch_up`` (the first IDLE of a connection) wakes the loop once IDLE is on: mail that
        came while we were away, or before IDLE began (its EXISTS went to the IDLE command's
        own responses), is found by that pass; anything later arrives as EXISTS in IDLE.
        """
        cfg = self.config
        idle.start()
        if catch_up:
            self._wake(self.name)
        started = heard = self._monotonic()
        while not self._stopped.is_set():
            now = self._monotonic()
            renew_in = started + cfg.idle_renew_seconds - now
            silent_for = now - heard
            if renew_in <= 0 or silent_for >= cfg.idle_liveness_seconds:
                break
            limit = min(STOP_CHECK_SECONDS, renew_in, cfg.idle_liveness_seconds - silent_for)
            news = idle.wait(limit)
            if news.closed:
                raise MailboxError(f"mailbox {self.name}: the server closed the IDLE connection")
            if news.heard:
                heard = self._monotonic()
            elif self._monotonic() - now < limit / 2:
                break  # back early with nothing: EOF, most likely; DONE will tell
            if news.new_mail:
                log.debug("imap.idle_new_mail", mailbox=self.name)
                self._wake(self.name)
        if self._stopped.is_set():
            return
        idle.done()
        log.debug(
            "imap.idle_renewed", mailbox=self.name, seconds=round(self._monotonic() - started, 1)
        )


def _leave_quietly(idle: IdleSession) -> None:
    """DONE before LOGOUT where the connection still works (a stop, or on the way out)."""
    try:
        idle.done()
    except MailboxError:
        log.debug("imap.idle_done_failed")
