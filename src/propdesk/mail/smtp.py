"""SMTP adapter (the only importer of smtplib): one reused connection, outcomes classified.

Where the server offers PIPELINING (RFC 2920; Postfix and most relays do), MAIL, RCPT and DATA
go out in one write and their three answers are read together: two round trips per message
instead of smtplib's four. Without it (aiosmtpd, for one) ``send_message`` does it step by step.

Every send ends as one of three outcomes, because that is all the outbox needs to decide:
``SENT`` (2xx), ``RETRY`` (4xx, a dropped or refused connection, a timeout: try again later) and
``DEAD`` (5xx: the server's answer is final, kept with the row). Nothing here sleeps or retries on
its own: the outbox stores the next attempt time, so the daemon loop never waits on SMTP.
"""

from __future__ import annotations

import io
import re
import smtplib
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from enum import StrEnum

from propdesk.config import Secret, SmtpConfig
from propdesk.logging import get_logger

log = get_logger(__name__)

# After this long without use, check the kept connection with NOOP before sending on it, so a
# connection the server closed while idle is replaced instead of failing a message.
IDLE_CHECK_SECONDS = 20.0


class Outcome(StrEnum):
    """What became of one message."""

    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class SendResult:
    """The outcome plus the server's answer (or the local error) as one line."""

    outcome: Outcome
    answer: str
    code: int | None = None
    connection_failed: bool = False  # nothing could reach the server: stop this pass


def classify_code(code: int) -> Outcome:
    """2xx sent, 4xx retry later, 5xx dead; anything else is treated as temporary."""
    if 200 <= code < 300:
        return Outcome.SENT
    if 500 <= code < 600:
        return Outcome.DEAD
    return Outcome.RETRY


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"[:1000]


TokenSource = Callable[[], Secret]


def token_from_command(argv: list[str], timeout: float) -> TokenSource:
    """An OAuth2 access token printed by a helper command (refreshed per connection)."""

    def fetch() -> Secret:
        done = subprocess.run(  # noqa: S603 - argv comes from the operator's config file
            argv, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise smtplib.SMTPAuthenticationError(
                535, f"oauth_token_command exited {done.returncode} without a token".encode()
            )
        return Secret(done.stdout.strip())

    return fetch


class SmtpSender:
    """Sends messages over one kept SMTP connection, reconnecting when it is lost."""

    def __init__(
        self,
        cfg: SmtpConfig,
        *,
        timeout: float,
        password: Secret | None = None,
        token: TokenSource | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = cfg
        self._timeout = timeout
        self._password = password
        self._token = token
        self._clock = clock
        self._conn: smtplib.SMTP | None = None
        self._last_used = 0.0

    # -- connection -----------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(
            cafile=str(self._cfg.ca_file) if self._cfg.ca_file else None
        )
        if not self._cfg.verify_certificate:
            # Operator's explicit choice (e.g. a test relay with a self-signed certificate).
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> smtplib.SMTP:
        cfg = self._cfg
        conn: smtplib.SMTP
        if cfg.tls == "ssl":
            conn = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=self._timeout, context=self._tls_context()
            )
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=self._timeout)
        try:
            conn.ehlo()
            if cfg.tls == "starttls":
                conn.starttls(context=self._tls_context())
                conn.ehlo()
            self._authenticate(conn)
        except BaseException:
            _close_quietly(conn)
            raise
        log.info("smtp.connected", host=cfg.host, port=cfg.port, tls=cfg.tls)
        return conn

    def _authenticate(self, conn: smtplib.SMTP) -> None:
        cfg = self._cfg
        if cfg.username is None:
            return
        if cfg.auth == "xoauth2":
            if self._token is None:
                raise smtplib.SMTPAuthenticationError(535, b"xoauth2 configured without a token")
            bearer = self._token().reveal()
            user = cfg.username

            def xoauth2(challenge: bytes | None = None) -> str:
                # On failure the server sends a JSON challenge; the client answers empty.
                if challenge is not None:
                    return ""
                return f"user={user}\x01auth=Bearer {bearer}\x01\x01"

            conn.auth("XOAUTH2", xoauth2, initial_response_ok=True)
            return
        if self._password is None:
            raise smtplib.SMTPAuthenticationError(535, b"auth = 'login' needs a password")
        conn.login(cfg.username, self._password.reveal())

    def _connection(self) -> smtplib.SMTP:
        conn = self._conn
        if conn is not None and self._clock() - self._last_used > IDLE_CHECK_SECONDS:
            try:
                code, _ = conn.noop()
            except (smtplib.SMTPException, OSError):
                code = 0
            if code != 250:
                self.close()
                conn = None
        if conn is None:
            conn = self._conn = self._connect()
        return conn

    def close(self) -> None:
        """QUIT and drop the kept connection (safe to call when there is none)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(conn)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _close_quietly(conn)

    # -- sending --------------------------------------------------------------------------

    # One return per SMTP outcome class reads better than a result variable threaded through.
    def send(  # noqa: PLR0911
        self, msg: EmailMessage, envelope_from: str, recipient: str
    ) -> SendResult:
        """Send one message to one recipient and classify what happened."""
        try:
            conn = self._connection()
        except smtplib.SMTPResponseException as exc:
            self._drop()
            # A refusal while connecting or logging in is about us, not this message: retry.
            return SendResult(
                Outcome.RETRY, _answer(exc.smtp_code, exc.smtp_error), exc.smtp_code, True
            )
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return SendResult(Outcome.RETRY, _describe(exc), None, True)
        try:
            if "pipelining" in conn.esmtp_features and (envelope_from + recipient).isascii():
                refused = _send_pipelined(conn, msg, envelope_from, recipient)
            else:
                refused = conn.send_message(msg, from_addr=envelope_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, (550, b"recipient refused"))
            return SendResult(classify_code(code), _answer(code, text), code)
        except smtplib.SMTPNotSupportedError as exc:
            return SendResult(Outcome.DEAD, f"not supported by the server: {exc}")
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            return SendResult(Outcome.RETRY, _describe(exc), None)
        except smtplib.SMTPResponseException as exc:  # sender refused, data error, others
            self._last_used = self._clock()
            if exc.smtp_code in (421, -1):
                self._drop()
            return SendResult(
                classify_code(exc.smtp_code), _answer(exc.smtp_code, exc.smtp_error), exc.smtp_code
            )
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return SendResult(Outcome.RETRY, _describe(exc), None)
        self._last_used = self._clock()
        if refused:  # only possible with several recipients; kept for completeness
            code, text = next(iter(refused.values()))
            return SendResult(classify_code(code), _answer(code, text), code)
        return SendResult(Outcome.SENT, "250 accepted", 250)

    def probe(self) -> str:
        """Connect, greet, authenticate and NOOP; the server's banner line for check-config."""
        conn = self._connect()
        try:
            code, _ = conn.noop()
            features = sorted(conn.esmtp_features)
        finally:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(conn)
        auth = f", authenticated as {self._cfg.username}" if self._cfg.username else ""
        return f"NOOP {code}, tls={self._cfg.tls}{auth}, extensions: {', '.join(features)}"


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _send_pipelined(
    conn: smtplib.SMTP, msg: EmailMessage, envelope_from: str, recipient: str
) -> dict[str, tuple[int, bytes]]:
    """One message in two round trips: MAIL, RCPT and DATA in one write, then the content.

    Raises the exceptions ``send_message`` raises for the same answers (and resets the
    transaction after a refusal, as it does), so the caller classifies both paths alike.
    """
    buf = io.BytesIO()
    BytesGenerator(buf).flatten(msg, linesep="\r\n")  # what send_message sends, byte for byte
    data = buf.getvalue()
    size = f" SIZE={len(data)}" if conn.has_extn("size") else ""
    conn.send(
        f"MAIL FROM:{smtplib.quoteaddr(envelope_from)}{size}\r\n"
        f"RCPT TO:{smtplib.quoteaddr(recipient)}\r\nDATA\r\n"
    )
    mail, rcpt, go = conn.getreply(), conn.getreply(), conn.getreply()
    if go[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
        conn.send(".\r\n")  # a server that said 354 anyway gets an empty message, then RSET
        conn.getreply()
    error: smtplib.SMTPException | None = None
    if mail[0] != 250:
        error = smtplib.SMTPSenderRefused(mail[0], mail[1], envelope_from)
    elif rcpt[0] not in (250, 251):
        error = smtplib.SMTPRecipientsRefused({recipient: rcpt})
    elif go[0] != 354:
        error = smtplib.SMTPDataError(go[0], go[1])
    if error is None:
        body = _LEADING_DOT.sub(b"..", data)
        conn.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        code, answer = conn.getreply()
        if code == 250:
            return {}
        error = smtplib.SMTPDataError(code, answer)
    _rset_quietly(conn)
    raise error


def _rset_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.rset()
    except (smtplib.SMTPException, OSError):
        log.debug("smtp.rset_failed")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:1000] if text else type(exc).__name__


def _close_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        log.debug("smtp.close_failed")
