"""A kick or a restart that lands while the FETCH of a large batch is in flight, on an idling
daemon: the pass fails, the mailbox reconnects with backoff, and every mail becomes
exactly one ticket (committed ones are only moved, the rest read again).

"In flight" is made certain, not hoped for: a watcher thread sees the daemon's loop thread in
``fetch_bodies``, stops the user's imap session processes (SIGSTOP) so the FETCH stays
unanswered, checks the thread is still blocked reading its response, runs ``doveadm kick``
(master and anvil still answer; the sessions' SIGTERM is delivered on SIGCONT) or restarts the
server, and resumes them. Where the error then surfaces is Dovecot's choice for a kick (it may
finish writing the response before its BYE); a restart's SIGKILL leaves the FETCH unfinished.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs

from propdesk.config import Config, DatabaseConfig, IntervalsConfig, TimeoutsConfig
from tests.integration.idle_support import eventually, running_daemon
from tests.integration.ingest_support import (
    rows_per_message_id,
    tenant_mail,
    ticket_count,
    tickets_per_message_id,
)
from tests.stack import Dovecot

MAILS = 120
#: ~400 KB per mail once base64'd: a batch is ~20 MB (batch_bytes), more than the loopback
#: socket buffers hold, so a stopped server leaves its FETCH response unfinished.
PHOTO = os.urandom(300_000)


def _stack(thread: threading.Thread) -> list[str]:
    """Function names of ``thread``'s Python stack, innermost first."""
    frame = sys._current_frames().get(thread.ident or -1)
    names: list[str] = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def _waiting_in_fetch(thread: threading.Thread) -> bool:
    names = _stack(thread)
    return "fetch_bodies" in names and names[:1] == ["readinto"]


def _imap_sessions(server: Dovecot) -> list[int]:
    pids = []
    for pid in server.processes():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "imap":
            pids.append(pid)
    return pids


class FetchKicker:
    """Kicks (or restarts) the server once while the loop thread waits on a FETCH response."""

    def __init__(self, server: Dovecot, user: str, loop: threading.Thread, action: str) -> None:
        self.server, self.user, self.loop, self.action = server, user, loop, action
        self.done_in_fetch = 0
        self.misses = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(30)

    def _watch(self) -> None:
        while not self._done.is_set() and not self.done_in_fetch:
            if "fetch_bodies" not in _stack(self.loop):
                time.sleep(0.001)
                continue
            sessions = _imap_sessions(self.server)
            _signal(sessions, signal.SIGSTOP)  # only the sessions: master and anvil still answer
            try:
                time.sleep(1.0)  # the buffered part is read by now; the rest cannot come
                if _waiting_in_fetch(self.loop) and _waiting_in_fetch(self.loop):
                    if self.action == "kick":
                        self.server.kick(self.user)  # its SIGTERM is delivered on SIGCONT
                    else:
                        self.server.restart()  # every session process goes, the master too
                    self.done_in_fetch += 1
                else:
                    self.misses += 1  # the response was complete already: try the next batch
            finally:
                _signal(sessions, signal.SIGCONT)


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # gone with the restart
            os.kill(pid, sig)


@pytest.mark.parametrize("action", ["kick", "restart"])
def test_kick_or_restart_during_the_fetch_of_a_large_batch_loses_nothing(
    action: str, clean_db: Engine, db_config: DatabaseConfig, private_dovecot: Dovecot
) -> None:
    user = private_dovecot.add_user()
    config = Config(
        database=db_config,
        mailboxes=[private_dovecot.mailbox_config(user)],  # batches of 50, 20 MB at most
        intervals=IntervalsConfig(poll_seconds=3600, outbox_seconds=3600, escalation_seconds=3600),
        timeouts=TimeoutsConfig(imap_seconds=20),
    )
    mails = [tenant_mail(n, attachment=("tap.jpg", PHOTO)) for n in range(MAILS)]
    with capture_logs() as events, running_daemon(config) as run:
        eventually(run.idling, what="the watcher idles")
        kicker = FetchKicker(private_dovecot, user.name, run.thread, action)
        kicker.start()
        try:
            private_dovecot.multiappend(user, mails)  # IDLE wakes the loop: one long pass
            eventually(lambda: kicker.done_in_fetch > 0, timeout=120, what=f"{action} mid-FETCH")
            eventually(
                lambda: ticket_count(clean_db) == MAILS, timeout=240, what="every mail ticketed"
            )
            eventually(
                lambda: not private_dovecot.messages(user, "INBOX"), timeout=120, what="inbox empty"
            )
        finally:
            kicker.stop()
    assert kicker.done_in_fetch == 1
    failures = [str(e.get("error", "")) for e in events if "error" in e]
    if action == "restart":  # SIGKILLed sessions: that FETCH can only fail
        assert any("FETCH BODY.PEEK[] failed" in f for f in failures), failures
    else:  # a kicked session may flush the FETCH before its BYE: then the next command fails
        assert any(f.startswith("mailbox main:") for f in failures), failures
    assert sorted(tickets_per_message_id(clean_db).values()) == [1] * MAILS  # no duplicates
    assert all(outcomes == ["ticketed"] for outcomes in rows_per_message_id(clean_db).values())
    assert len(rows_per_message_id(clean_db)) == MAILS
    assert len(private_dovecot.messages(user, "Processed")) == MAILS
