"""IMAP IDLE (RFC 2177) on one ``ImapMailbox``: start, wait for news, done.

Only what the daemon's watcher needs, in the core's words: a wait returns ``IdleNews`` (new mail
arrived, the server spoke at all, the server said BYE or the connection closed). Every library
or socket failure becomes ``MailboxError``, as in ``propdesk.mail.imap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propdesk.errors import MailboxError
from propdesk.mail.imap import NETWORK_ERRORS, ImapMailbox


@dataclass(frozen=True, slots=True)
class IdleNews:
    """What one wait in IDLE brought."""

    heard: bool = False  # the server sent anything (it is alive)
    new_mail: bool = False  # EXISTS or RECENT: something arrived in the folder
    closed: bool = False  # BYE, or the connection reached EOF


def _news(responses: list[Any]) -> IdleNews:
    new_mail = closed = False
    for resp in responses:
        kinds = (
            {p.upper() for p in resp if isinstance(p, bytes)} if isinstance(resp, tuple) else set()
        )
        new_mail = new_mail or bool(kinds & {b"EXISTS", b"RECENT"})
        closed = closed or b"BYE" in kinds
    return IdleNews(heard=bool(responses), new_mail=new_mail, closed=closed)


class IdleSession:
    """IDLE on the folder ``imap`` has selected (the caller connects, selects and closes)."""

    def __init__(self, imap: ImapMailbox) -> None:
        self._imap = imap
        self.idling = False

    @property
    def supported(self) -> bool:
        return self._imap.has("IDLE")

    def _fail(self, action: str, exc: BaseException) -> MailboxError:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return MailboxError(
            f"mailbox {self._imap.name}: {action} failed: {type(exc).__name__}: {detail}"
        )

    def start(self) -> None:
        try:
            self._imap.client.idle()
        except NETWORK_ERRORS as exc:
            raise self._fail("IDLE", exc) from None
        self.idling = True

    def wait(self, seconds: float) -> IdleNews:
        """Up to ``seconds`` for the server to say something; an empty ``IdleNews`` on silence.

        imapclient returns early with nothing when the socket reached EOF: that counts as
        ``closed`` only when the caller's DONE then fails, so ``wait`` leaves it to ``done``.
        """
        try:
            responses = self._imap.client.idle_check(timeout=max(0.0, seconds))
        except NETWORK_ERRORS as exc:
            raise self._fail("IDLE wait", exc) from None
        return _news(list(responses))

    def done(self) -> None:
        """Leave IDLE; the server must answer within the socket timeout (a liveness proof)."""
        if not self.idling:
            return
        self.idling = False
        try:
            self._imap.client.idle_done()
        except NETWORK_ERRORS as exc:
            raise self._fail("IDLE DONE", exc) from None
