"""A private Dovecot IMAP server for tests and the demo, plus helpers to fill and read folders.

Started from a generated self-contained config in a temp dir (nothing from /etc/dovecot), on a
free loopback port, plaintext LOGIN, Maildir owned by uid 65534 (nobody) which Dovecot switches to.
Stopped by its master PID. Users live in a passwd-file. A fresh user (= an empty mailbox) per test
comes from a pool written before the start; past the pool, new users are appended to the file,
which Dovecot re-reads at most once a second, so ``add_user`` then waits until the login works.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from propdesk.config import MailboxConfig, SecretRef

from ._util import (
    OWNER_FILE,
    free_port,
    is_root,
    owner_token,
    pid_alive,
    wait_for_port,
    wait_pid_gone,
)

MAIL_UID = 65534  # nobody/nogroup, as in the verified recipe
HOST = "127.0.0.1"
MULTIAPPEND_BATCH = 200

_CONFIG = """\
# Generated for propdesk tests: self-contained, loopback only, plaintext auth. TEST ONLY.
base_dir = {root}/run
state_dir = {root}/state
instance_name = propdesk-test-{port}
log_path = {root}/log/dovecot.log
info_log_path = {root}/log/dovecot.log
debug_log_path = {root}/log/dovecot.log

protocols = imap
listen = {host}
ssl = no
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
auth_failure_delay = 0  # tests wait for logins; no brute-force delay needed here

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
first_valid_uid = 1000
first_valid_gid = 1000

mail_location = maildir:{root}/mail/%u/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Processed {{
    auto = create
  }}
  mailbox Failed {{
    auto = create
  }}
}}
mail_max_userip_connections = 50
imap_idle_notify_interval = 2 mins
{import_environment}"""

#: Dovecot clears its children's environment; Dovecot's defaults plus, when the tests run under
#: ``faketime``, libfaketime's variables, so the server's clock (INTERNALDATE, the receive time
#: propdesk's SLA clocks start from) is the tests' clock too.
_DOVECOT_ENV = ("TZ", "CORE_OUTOFMEM", "CORE_ERROR", "LISTEN_PID", "LISTEN_FDS")
_FAKETIME_ENV = ("LD_PRELOAD", "FAKETIME", "FAKETIME_SHARED", "FAKETIME_DONT_RESET")


def _faked() -> bool:
    return "FAKETIME" in os.environ


def _now() -> datetime | None:
    """Under faketime, the tests' (faked) now as the INTERNALDATE of appended mail: a file the
    server creates gets the kernel's real time, which would disagree with every other clock."""
    return datetime.now(UTC) if _faked() else None


def _import_environment() -> str:
    if "FAKETIME" not in os.environ:
        return ""
    names = [*_DOVECOT_ENV, *(n for n in _FAKETIME_ENV if n in os.environ)]
    # Maildir keeps INTERNALDATE as the file's mtime: set with utime (real), read with stat,
    # which libfaketime would shift by its offset. Only "now" is faked, not stored dates.
    return "import_environment = " + " ".join([*names, "NO_FAKE_STAT=1"]) + "\n"


@dataclass(frozen=True)
class ImapUser:
    """A test mailbox login; the password also sits in ``os.environ[password_env]``."""

    name: str
    password: str
    password_env: str


@dataclass(frozen=True)
class StoredMessage:
    """A message as read back from a folder (BODY.PEEK, so reading sets no flag)."""

    uid: int
    flags: tuple[str, ...]
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)


@dataclass
class Dovecot:
    """One Dovecot instance. ``start()``/``stop()``; helpers talk IMAP like any client would."""

    # Created by start(), so an instance used only as an IMAP client leaves no directory behind.
    root: Path = field(
        default_factory=lambda: (
            Path(tempfile.gettempdir()) / f"propdesk-dovecot-{secrets.token_hex(6)}"
        )
    )
    port: int = field(default_factory=free_port)
    host: str = HOST
    users: dict[str, ImapUser] = field(default_factory=dict)
    pid: int | None = None
    spare_users: int = 100  # pre-created so that a fresh user per test costs nothing

    def __post_init__(self) -> None:
        self._spares: list[ImapUser] = []

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "dovecot.log"

    def start(self) -> Dovecot:
        """Write the config, start the master (it daemonizes) and wait for the IMAP port."""
        binary = shutil.which("dovecot") or (
            "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("dovecot is not installed: run deploy/dev/setup.sh")
        if not is_root():
            raise PermissionError("Dovecot must be started as root (it drops to uid 65534)")
        # uid 65534 must traverse the root to reach its Maildir.
        self.root.mkdir(mode=0o700, exist_ok=True)
        self.root.chmod(0o755)
        (self.root / OWNER_FILE).write_text(owner_token() + "\n")  # lets reap_stale() find orphans
        for sub in ("run", "state", "log", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        os.chown(self.root / "mail", MAIL_UID, MAIL_UID)
        self._spares = [self._new_user(f"spare{i:03d}", None) for i in range(self.spare_users)]
        self.config_file.write_text(
            _CONFIG.format(
                root=self.root,
                port=self.port,
                host=self.host,
                import_environment=_import_environment(),
            )
        )
        self._write_users()
        self._launch(binary)
        return self

    def _launch(self, binary: str) -> None:
        # The master keeps its inherited stderr open: a file, never a pipe (a reader would hang).
        with (self.root / "log" / "startup.err").open("ab") as err:
            subprocess.run(
                [binary, "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                check=True,
                timeout=30,
            )
        try:
            self._await_started()
        except BaseException:
            self._stop_by_config()  # never leave a half-started master behind
            raise

    def restart(self) -> None:
        """Stop the master and every session process (so every connection drops, as with
        ``shutdown_clients = yes``), then start it again on the same port."""
        tree = self.processes()
        self.stop()
        for pid in tree:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                wait_pid_gone(pid, timeout=5)
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        self._launch(shutil.which("dovecot") or "/usr/sbin/dovecot")

    def kick(self, user: ImapUser | str) -> None:
        """``doveadm kick``: the server disconnects every session of ``user`` (with a BYE)."""
        name = user if isinstance(user, str) else user.name
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(self.config_file), "kick", name],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=30,
        )

    def processes(self) -> list[int]:
        """The master and every process below it (imap, imap-login, auth...), master first."""
        if self.pid is None:
            return []
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop(0)
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def freeze(self) -> None:
        """SIGSTOP the whole server: connections stay open, nothing answers (a hung peer)."""
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self.processes()):
            os.kill(pid, signal.SIGCONT)

    def _await_started(self) -> None:
        wait_for_port(self.host, self.port, what="dovecot")
        # The listeners are bound before the master daemonizes; the PID file comes after.
        pidfile = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while not (pidfile.exists() and pidfile.read_text().strip()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"dovecot wrote no {pidfile}; see {self.log_file}")
            time.sleep(0.02)
        self.pid = int(pidfile.read_text().split()[0])

    def _stop_by_config(self) -> None:
        """Stop via doveadm (it reads the PID from this instance's base_dir)."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(self.config_file), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=30,
        )

    def stop(self) -> None:
        """Stop the master by its PID (never by name) and wait until it is gone."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        if not pid_alive(pid):
            return
        os.kill(pid, signal.SIGTERM)
        if not wait_pid_gone(pid, timeout=15):
            os.kill(pid, signal.SIGKILL)
            wait_pid_gone(pid, timeout=5)

    def destroy(self) -> None:
        """Stop and delete every file, and forget the users' password variables."""
        self.stop()
        for user in self.users.values():
            os.environ.pop(user.password_env, None)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        try:
            return self.start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # --- users ----------------------------------------------------------------------------
    def _write_users(self) -> None:
        lines = [
            f"{u.name}:{{PLAIN}}{u.password}:{MAIL_UID}:{MAIL_UID}::{self.root}/mail/{u.name}::\n"
            for u in self.users.values()
        ]
        tmp = self.root / "users.tmp"
        tmp.write_text("".join(lines))
        tmp.chmod(0o644)
        tmp.replace(self.root / "users")  # atomic: Dovecot re-reads the file when it changes

    def add_user(self, name: str | None = None, password: str | None = None) -> ImapUser:
        """Add a login (a fresh, empty mailbox); its password is also put in the environment."""
        if name is None and password is None:
            if not self._spares and self.pid is not None:
                # Refill in bulk: one passwd-file reload (at most a second) per batch.
                self._spares = [
                    self._new_user(f"user{secrets.token_hex(4)}", None) for _ in range(50)
                ]
                self._write_users()
                self._wait_login(self._spares[0])
            if self._spares:
                return self._spares.pop(0)
        user = self._new_user(name or f"user{secrets.token_hex(4)}", password)
        if self.pid is not None:
            self._write_users()
            self._wait_login(user)
        return user

    def _new_user(self, name: str, password: str | None) -> ImapUser:
        if not re.fullmatch(r"[a-z0-9_.-]+", name):
            raise ValueError(f"unsupported test user name {name!r}")
        password = password or f"pw-{secrets.token_urlsafe(12)}"
        env = "PROPDESK_TEST_IMAP_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
        user = ImapUser(name, password, env)
        os.environ[env] = password
        self.users[name] = user
        return user

    def _wait_login(self, user: ImapUser, timeout: float = 5.0) -> None:
        """Wait until Dovecot has re-read the users file and accepts ``user``.

        Dovecot checks the file at most once a second, and a lookup that fails meanwhile makes
        the next ones seconds slower, so wait out that second first, then ask the auth process
        (``doveadm auth test``; a failed IMAP LOGIN would also earn this IP a login penalty).
        """
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        deadline = time.monotonic() + timeout
        time.sleep(1.1)
        while True:
            proc = subprocess.run(
                [doveadm, "-c", str(self.config_file), "auth", "test", user.name, user.password],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                timeout=30,
            )
            if proc.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"dovecot does not accept the new user {user.name}")
            time.sleep(0.2)

    def mailbox_config(
        self, user: ImapUser | str, name: str = "main", **overrides: Any
    ) -> MailboxConfig:
        """A propdesk MailboxConfig for this server and user (no TLS, password from env)."""
        u = self.users[user] if isinstance(user, str) else user
        values: dict[str, Any] = {
            "name": name,
            "host": self.host,
            "port": self.port,
            "tls": "none",
            "username": u.name,
            "password": SecretRef(env=u.password_env),
        }
        values.update(overrides)
        return MailboxConfig(**values)

    # --- IMAP helpers -----------------------------------------------------------------------
    @contextmanager
    def client(self, user: ImapUser | str, timeout: float = 15.0) -> Iterator[IMAPClient]:
        """A logged-in imapclient connection; logged out when the block ends."""
        u = self.users[user] if isinstance(user, str) else user
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            client.login(u.name, u.password)
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def append(
        self,
        user: ImapUser | str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Sequence[str] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND one message; returns its UID (from UIDPLUS' APPENDUID)."""
        with self.client(user) as c:
            response = c.append(folder, raw, flags=tuple(flags), msg_time=msg_time or _now())
        uids = _appenduids(response)
        return uids[0]

    def multiappend(
        self, user: ImapUser | str, messages: Iterable[bytes], folder: str = "INBOX"
    ) -> list[int]:
        """MULTIAPPEND in batches of 200 (seeds big mailboxes fast); returns the new UIDs."""
        uids: list[int] = []
        with self.client(user, timeout=120) as c:
            batch: list[bytes | dict[str, object]] = []
            for raw in messages:
                batch.append(raw if not _faked() else {"msg": raw, "date": _now()})
                if len(batch) == MULTIAPPEND_BATCH:
                    uids += _appenduids(c.multiappend(folder, batch))
                    batch = []
            if batch:
                uids += _appenduids(c.multiappend(folder, batch))
        return uids

    def messages(self, user: ImapUser | str, folder: str = "INBOX") -> list[StoredMessage]:
        """Every message of a folder with UID, flags and raw bytes, read without setting \\Seen."""
        out: list[StoredMessage] = []
        with self.client(user, timeout=120) as c:
            c.select_folder(folder, readonly=True)
            uids = sorted(c.search("ALL"))
            for i in range(0, len(uids), 200):
                fetched = c.fetch(uids[i : i + 200], ["FLAGS", "BODY.PEEK[]"])
                for uid in sorted(fetched):
                    data = fetched[uid]
                    flags = tuple(
                        f.decode() if isinstance(f, bytes) else str(f) for f in data[b"FLAGS"]
                    )
                    out.append(StoredMessage(uid, flags, bytes(data[b"BODY[]"])))
        return out

    def folders(self, user: ImapUser | str) -> list[str]:
        with self.client(user) as c:
            return sorted(name for _flags, _delim, name in c.list_folders())

    def create_folder(self, user: ImapUser | str, folder: str) -> None:
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)

    def delete_folder(self, user: ImapUser | str, folder: str) -> None:
        with self.client(user) as c:
            if c.folder_exists(folder):
                c.delete_folder(folder)

    def uidvalidity(self, user: ImapUser | str, folder: str = "INBOX") -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def folder_dir(self, user: ImapUser | str, folder: str = "INBOX") -> Path:
        """The Maildir directory of a folder (Maildir++ layout: ``.A.B`` for ``A/B``)."""
        u = self.users[user] if isinstance(user, str) else user
        base = self.root / "mail" / u.name / "Maildir"
        if folder.upper() == "INBOX":
            return base
        return base / ("." + folder.replace("/", "."))

    def reset_uidvalidity(self, user: ImapUser | str, folder: str = "INBOX") -> None:
        """Lose the folder's uidlist and indexes while keeping its messages (as after a restore).

        Dovecot then renumbers the messages from UID 1 under a new UIDVALIDITY. No client of this
        user should be logged in while it happens.
        """
        d = self.folder_dir(user, folder)
        victims = [d / "dovecot-uidlist", *d.glob("dovecot.index*")]
        # The mailbox-list index at the Maildir root caches each folder's UIDVALIDITY too.
        victims += list(self.folder_dir(user, "INBOX").glob("dovecot.list.index*"))
        for p in victims:
            p.unlink(missing_ok=True)


_APPENDUID = re.compile(rb"APPENDUID \d+ ([\d:,]+)")


def _appenduids(response: Any) -> list[int]:
    """UIDs from an APPEND response's ``[APPENDUID validity set]``."""
    text = b" ".join(_flatten(response))
    match = _APPENDUID.search(text)
    if not match:
        raise RuntimeError(f"no APPENDUID in APPEND response: {text[:200]!r}")
    uids: list[int] = []
    for part in match.group(1).decode().split(","):
        lo, _, hi = part.partition(":")
        uids.extend(range(int(lo), int(hi or lo) + 1))
    return uids


def _flatten(value: Any) -> Iterator[bytes]:
    if isinstance(value, bytes | bytearray):
        yield bytes(value)
    elif isinstance(value, str):
        yield value.encode()
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _flatten(v)
