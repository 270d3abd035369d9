"""IMAP adapter: the only module that imports imapclient.

What it guarantees the ingest service:
- TLS (``ssl``/``starttls``) verifies certificates unless the config says otherwise; every socket
  has a timeout, so a dead server cannot hang the loop.
- New mail is found by UID (never by \\Seen, which people's mail clients change) and read with
  ``BODY.PEEK[]`` so reading marks nothing. INTERNALDATE (when our server received it) comes with
  each message; it is the only clock SLA and after-hours use.
- Bodies are fetched in batches bounded by count *and* total RFC822.SIZE, so one poll never holds
  more than ``batch_bytes`` of mail in memory; an oversized message is never fetched at all.
- A message leaves the inbox only after the caller committed it: MOVE where the server has it,
  else COPY + \\Deleted + UID EXPUNGE of exactly those UIDs (UIDPLUS), else nothing (the caller
  then tracks a UID high-water mark). A plain EXPUNGE is never sent: it would remove other
  clients' \\Deleted mail.
- Every library or socket failure surfaces as ``MailboxError`` with the mailbox name.
"""

from __future__ import annotations

import imaplib
import ssl
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import tenacity
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout

from propdesk.config import MailboxConfig
from propdesk.errors import ConfigError, MailboxAuthError, MailboxError
from propdesk.logging import get_logger

log = get_logger(__name__)

#: How a processed message leaves the inbox on this server.
RemovalMode = Literal["move", "copy_expunge", "none"]

#: A refused login is not retried: the same credentials will be refused again.
_LOGIN_ERRORS: tuple[type[BaseException], ...] = (LoginError,)

#: Errors that mean "the connection or server failed" (not a bug in our code).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    IMAPClientError,
    imaplib.IMAP4.error,
    OSError,  # socket.timeout, ConnectionError, ssl.SSLError are all OSErrors
    EOFError,
)

_FETCH_META = [b"RFC822.SIZE", b"INTERNALDATE"]
#: UIDs per metadata FETCH command (keeps command lines short).
_META_CHUNK = 500
#: Seconds a token command may run.
_TOKEN_COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """What the server says about a message before we read it."""

    uid: int
    size: int
    received_at: datetime  # INTERNALDATE, tz-aware UTC


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message read with BODY.PEEK[]."""

    uid: int
    size: int
    received_at: datetime
    raw: bytes


def _utc(value: Any) -> datetime:
    """INTERNALDATE as tz-aware UTC (imapclient gives an aware datetime with normalise off)."""
    if not isinstance(value, datetime):
        raise MailboxError(f"server sent INTERNALDATE {value!r}, not a date")
    if value.tzinfo is None:  # should not happen with normalise_times = False
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """A client TLS context; verification on unless the config turns it off on purpose."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def run_token_command(command: Sequence[str], timeout: float = _TOKEN_COMMAND_TIMEOUT) -> str:
    """Run an OAuth token helper (e.g. ``oauth2l fetch ...``); its stdout is the access token."""
    try:
        done = subprocess.run(  # noqa: S603 - the command comes from the operator's config
            list(command), capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MailboxError(f"oauth_token_command {command[0]!r} failed: {exc}") from None
    if done.returncode != 0:
        raise MailboxError(
            f"oauth_token_command {command[0]!r} exited with {done.returncode} "
            "(its output is not shown: it may contain secrets)"
        )
    token = done.stdout.decode("utf-8", "replace").strip()
    if not token:
        raise MailboxError(f"oauth_token_command {command[0]!r} printed no token")
    return token


def batches(
    metas: Iterable[MessageMeta], max_count: int, max_bytes: int
) -> Iterator[list[MessageMeta]]:
    """Group messages so that each batch has at most ``max_count`` messages and at most
    ``max_bytes`` in total (a single message bigger than ``max_bytes`` goes alone)."""
    batch: list[MessageMeta] = []
    total = 0
    for meta in metas:
        if batch and (len(batch) >= max_count or total + meta.size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(meta)
        total += meta.size
    if batch:
        yield batch


class ImapMailbox:
    """One logged-in IMAP session on one configured mailbox.

    ``connect()`` retries briefly (a few seconds at most) and then raises ``MailboxError``; the
    daemon loop turns longer outages into a next-attempt time so other work goes on.
    """

    def __init__(
        self,
        config: MailboxConfig,
        timeout_seconds: float,
        *,
        connect_attempts: int = 3,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.timeout_seconds = timeout_seconds
        self._connect_attempts = connect_attempts
        self._sleep = sleep
        self._client: IMAPClient | None = None
        self._capabilities: frozenset[str] = frozenset()
        self.selected: str | None = None

    # -- connection -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    def _error(self, action: str, exc: BaseException) -> MailboxError:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return MailboxError(f"mailbox {self.name}: {action} failed: {type(exc).__name__}: {detail}")

    def _open(self) -> IMAPClient:
        cfg = self.config
        ctx = None
        if cfg.tls != "none":
            ctx = ssl_context(cfg.verify_certificate, str(cfg.ca_file) if cfg.ca_file else None)
        timeout = SocketTimeout(connect=self.timeout_seconds, read=self.timeout_seconds)
        client = IMAPClient(
            cfg.host, port=cfg.port, ssl=cfg.tls == "ssl", ssl_context=ctx, timeout=timeout
        )
        try:
            client.normalise_times = False  # keep INTERNALDATE's offset; we convert to UTC
            if cfg.tls == "starttls":
                client.starttls(ctx)
            if cfg.auth == "xoauth2":
                client.oauth2_login(cfg.username, self._oauth_token())
            else:
                assert cfg.password is not None  # the config validator guarantees it
                client.login(cfg.username, cfg.password.resolve().reveal())
            caps = client.capabilities()
        except BaseException:
            _quietly_close(client)
            raise
        self._capabilities = frozenset(
            c.decode("ascii", "replace").upper() if isinstance(c, bytes) else str(c).upper()
            for c in caps
        )
        return client

    def _oauth_token(self) -> str:
        cfg = self.config
        if cfg.oauth_token is not None:
            return cfg.oauth_token.resolve().reveal()
        assert cfg.oauth_token_command  # the config validator guarantees one of the two
        return run_token_command(cfg.oauth_token_command)

    def connect(self) -> None:
        """Log in, retrying network errors a few times with a short exponential backoff."""
        if self._client is not None:
            return
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._connect_attempts),
            wait=tenacity.wait_exponential(multiplier=0.5, max=4),
            retry=tenacity.retry_if_exception_type(NETWORK_ERRORS)
            & tenacity.retry_if_not_exception_type(_LOGIN_ERRORS),
            sleep=self._sleep or tenacity.nap.sleep,
            reraise=True,
        )
        try:
            self._client = retrying(self._open)
        except ConfigError:
            raise
        except _LOGIN_ERRORS as exc:
            raise MailboxAuthError(
                f"mailbox {self.name}: login as {self.config.username} refused "
                f"({type(exc).__name__}); check the credentials"
            ) from None
        except NETWORK_ERRORS as exc:
            raise self._error(f"connect to {self.config.host}:{self.config.port}", exc) from None
        log.debug(
            "imap.connected",
            mailbox=self.name,
            host=self.config.host,
            tls=self.config.tls,
            capabilities=sorted(self._capabilities & {"MOVE", "UIDPLUS", "IDLE", "CONDSTORE"}),
        )

    def close(self) -> None:
        """Log out (best effort); safe to call twice."""
        client, self._client = self._client, None
        self.selected = None
        if client is not None:
            _quietly_close(client)

    def __enter__(self) -> ImapMailbox:
        self.connect()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxError(f"mailbox {self.name}: not connected")
        return self._client

    # -- capabilities -----------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    def has(self, capability: str) -> bool:
        return capability.upper() in self._capabilities

    @property
    def removal_mode(self) -> RemovalMode:
        """How processed mail leaves the inbox here (see the module docstring)."""
        if self.has("MOVE"):
            return "move"
        if self.has("UIDPLUS"):
            return "copy_expunge"
        return "none"

    # -- folders ----------------------------------------------------------------------------

    def folder_exists(self, folder: str) -> bool:
        try:
            return bool(self.client.folder_exists(folder))
        except NETWORK_ERRORS as exc:
            raise self._error(f"LIST {folder}", exc) from None

    def ensure_folder(self, folder: str) -> None:
        """Create a target folder if it is missing (idempotent)."""
        if self.folder_exists(folder):
            return
        try:
            self.client.create_folder(folder)
        except NETWORK_ERRORS as exc:
            if not self.folder_exists(folder):  # lost a race with another client: fine
                raise self._error(f"CREATE {folder}", exc) from None
        log.info("imap.folder_created", mailbox=self.name, folder=folder)

    def select(self, folder: str | None = None, *, readonly: bool = False) -> int:
        """Select the inbox folder (read-write, or EXAMINE to only watch) and return its
        UIDVALIDITY."""
        folder = folder or self.config.folder
        try:
            info = self.client.select_folder(folder, readonly=readonly)
        except NETWORK_ERRORS as exc:
            raise self._error(f"SELECT {folder}", exc) from None
        self.selected = folder
        raw = info.get(b"UIDVALIDITY")
        if raw is None:
            raise MailboxError(f"mailbox {self.name}: SELECT {folder} gave no UIDVALIDITY")
        return int(raw)

    # -- reading ----------------------------------------------------------------------------

    def search_uids(self, above_uid: int = 0, *, before: date | None = None) -> list[int]:
        """UIDs in the selected folder greater than ``above_uid`` (and received before the day
        ``before``, which servers read in their own time zone: a coarse filter), ascending.

        ``UID n:*`` always matches the highest UID even when it is below n, hence the filter.
        """
        criteria: list[Any] = ["ALL"] if above_uid <= 0 else ["UID", f"{above_uid + 1}:*"]
        criteria += [] if before is None else ["BEFORE", before]
        try:
            found = self.client.search(criteria)
        except NETWORK_ERRORS as exc:
            raise self._error("UID SEARCH", exc) from None
        return sorted(int(u) for u in found if int(u) > above_uid)

    def fetch_meta(self, uids: Sequence[int]) -> list[MessageMeta]:
        """Size and INTERNALDATE of each UID (UIDs that vanished meanwhile are left out)."""
        out: list[MessageMeta] = []
        for start in range(0, len(uids), _META_CHUNK):
            chunk = list(uids[start : start + _META_CHUNK])
            try:
                resp = self.client.fetch(chunk, _FETCH_META)
            except NETWORK_ERRORS as exc:
                raise self._error("FETCH metadata", exc) from None
            for uid in chunk:
                data = resp.get(uid)
                if data is None:
                    continue
                out.append(MessageMeta(uid, int(data[b"RFC822.SIZE"]), _utc(data[b"INTERNALDATE"])))
        return out

    def fetch_bodies(self, metas: Sequence[MessageMeta], part: str = "") -> list[FetchedMessage]:
        """Read one batch with BODY.PEEK[] (never sets \\Seen); ``part="HEADER"``: the header."""
        if not metas:
            return []
        items = [f"BODY.PEEK[{part}]".encode(), b"RFC822.SIZE", b"INTERNALDATE"]
        try:
            resp = self.client.fetch([m.uid for m in metas], items)
        except NETWORK_ERRORS as exc:
            raise self._error(f"FETCH BODY.PEEK[{part}]", exc) from None
        out: list[FetchedMessage] = []
        for meta in metas:
            data = resp.get(meta.uid)
            if data is None or f"BODY[{part}]".encode() not in data:
                continue  # expunged by someone else between SEARCH and FETCH
            raw = data[f"BODY[{part}]".encode()]
            out.append(
                FetchedMessage(
                    uid=meta.uid,
                    size=int(data.get(b"RFC822.SIZE", meta.size)),
                    received_at=_utc(data.get(b"INTERNALDATE", meta.received_at)),
                    raw=bytes(raw),
                )
            )
        return out

    # -- leaving the inbox ------------------------------------------------------------------

    def remove_to(self, uids: Sequence[int], folder: str) -> RemovalMode:
        """Take committed messages out of the inbox into ``folder``; returns how.

        With ``none`` nothing happens here: the caller keeps a UID high-water mark instead.
        """
        if not uids:
            return self.removal_mode
        mode = self.removal_mode
        ids = list(uids)
        try:
            if mode == "move":
                self.client.move(ids, folder)
            elif mode == "copy_expunge":
                self.client.copy(ids, folder)
                self._expunge(ids)
        except NETWORK_ERRORS as exc:
            raise self._error(f"{mode} to {folder}", exc) from None
        return mode

    def expunge(self, uids: Sequence[int]) -> None:
        """Delete exactly these UIDs of the selected folder (needs UIDPLUS)."""
        try:
            self._expunge(list(uids))
        except NETWORK_ERRORS as exc:
            raise self._error("UID EXPUNGE", exc) from None

    def _expunge(self, ids: list[int]) -> None:
        self.client.add_flags(ids, [b"\\Deleted"], silent=True)
        self.client.uid_expunge(ids)  # exactly these UIDs, never a plain EXPUNGE


def _quietly_close(client: IMAPClient) -> None:
    try:
        client.logout()
    except NETWORK_ERRORS:
        try:
            client.shutdown()
        except NETWORK_ERRORS:
            log.debug("imap.close_failed")
