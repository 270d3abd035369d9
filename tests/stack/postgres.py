"""PostgreSQL for tests: the machine's shared server (never stopped) and throwaway clusters.

Each test session gets a fresh, uniquely named database on the shared server, migrated to head
with the package's own Alembic migrations and dropped afterwards. Tests that stop and restart the
server get a throwaway cluster of their own (``initdb`` as the postgres user into a temp dir, own
port and socket dir), so the shared server is never touched.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Engine

from propdesk.config import DatabaseConfig
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine

from ._util import (
    OWNER_COMMENT,
    OWNER_FILE,
    free_port,
    is_root,
    owner_token,
    port_open,
    wait_for_port,
)

SHARED_HOST = "127.0.0.1"
SHARED_PORT = 5432
SUPERUSER = "postgres"


def _conninfo(host: str, port: int, dbname: str = "postgres") -> str:
    return f"host={host} port={port} user={SUPERUSER} dbname={dbname} connect_timeout=5"


def server_answers(host: str = SHARED_HOST, port: int = SHARED_PORT) -> bool:
    """True when a PostgreSQL server accepts a trust login as ``postgres`` there."""
    if not port_open(host, port):
        return False
    try:
        with psycopg.connect(_conninfo(host, port), autocommit=True) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


def start_shared_server() -> bool:
    """Start the machine's installed cluster if it is down (never stops it). True if it answers."""
    if server_answers():
        return True
    versions = (
        sorted(os.listdir("/etc/postgresql"), key=_version_key)
        if Path("/etc/postgresql").is_dir()
        else []
    )
    if not versions or shutil.which("pg_ctlcluster") is None:
        return False
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server_answers():
            return True
        time.sleep(0.2)
    return False


def use_shared_server() -> bool:
    """True when the machine's server is to be used: it answers (started if it was down) and
    ``PROPDESK_TEST_PG=throwaway`` does not ask for a throwaway cluster instead."""
    if os.environ.get("PROPDESK_TEST_PG") == "throwaway":
        return False
    return server_answers() or start_shared_server()


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)) or (0,)


def pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl: the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    for c in reversed(candidates):
        if Path(c, "initdb").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise FileNotFoundError("initdb not found: install PostgreSQL (deploy/dev/setup.sh does)")


def create_database(
    host: str, port: int, name: str | None = None, *, migrate: bool = True
) -> DatabaseConfig:
    """Create a fresh database (unique name unless given) and migrate it to head."""
    name = name or f"propdesk_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(_conninfo(host, port), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Who made it, so reap_stale() can drop it once that process is gone.
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(OWNER_COMMENT + owner_token())
            )
        )
    cfg = DatabaseConfig(host=host, port=port, name=name, user=SUPERUSER, sslmode="disable")
    if migrate:
        engine = make_engine(cfg, pooled=False)
        try:
            migrations.upgrade(engine)
        finally:
            engine.dispose()
    return cfg


def drop_database(host: str, port: int, name: str) -> None:
    """Drop the database even while connections are open (PostgreSQL 13+: WITH (FORCE))."""
    with psycopg.connect(_conninfo(host, port), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_exists(host: str, port: int, name: str) -> bool:
    with psycopg.connect(_conninfo(host, port), autocommit=True) as conn:
        row = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    return row is not None


def truncate_all(engine: Engine) -> None:
    """Empty every table of the public schema except Alembic's, restarting identities."""
    with engine.begin() as conn:
        names = [
            r[0]
            for r in conn.exec_driver_sql(
                "select tablename from pg_tables where schemaname = 'public' "
                "and tablename <> 'alembic_version'"
            )
        ]
        if names:
            quoted = ", ".join(f'"{n}"' for n in names)
            conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


def _as_postgres(args: list[str], log: Path, timeout: float = 120) -> None:
    """Run a PostgreSQL tool as the postgres user (initdb and pg_ctl refuse root)."""
    cmd = ["runuser", "-u", SUPERUSER, "--", *args] if is_root() else args
    with log.open("ab") as out:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=False, timeout=timeout
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{tail}")


@dataclass
class ThrowawayCluster:
    """A private PostgreSQL cluster in a temp dir on its own port; safe to stop and restart.

    fsync is off: it is thrown away, and a clean or immediate stop keeps the OS page cache.
    """

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="propdesk-pg-")))
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    # TCP auth method: "trust", or "scram-sha-256" to test real password logins. The Unix
    # socket (in ``root``) always trusts, for admin work.
    host_auth: str = "trust"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def init(self) -> ThrowawayCluster:
        """initdb (once) as the postgres user; the temp dir is handed to that user."""
        if (self.data / "PG_VERSION").exists():
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / OWNER_FILE).write_text(owner_token() + "\n")  # lets reap_stale() find orphans
        if is_root():
            shutil.chown(self.root, SUPERUSER, SUPERUSER)
        _as_postgres(
            [
                str(pg_bindir() / "initdb"),
                "-D", str(self.data),
                "-U", SUPERUSER,
                "--auth-local=trust",
                f"--auth-host={self.host_auth}",
                "-E", "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            self.root / "initdb.log",
        )  # fmt: skip
        return self

    def _pg_ctl(self, *args: str) -> None:
        _as_postgres(
            [str(pg_bindir() / "pg_ctl"), "-D", str(self.data), *args], self.root / "pg_ctl.log"
        )

    def start(self) -> ThrowawayCluster:
        """Start (initdb first if needed) and wait until it accepts connections."""
        self.init()
        if self.running():
            return self
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses={self.host} "
            "-c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        self._pg_ctl("-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")
        wait_for_port(self.host, self.port, what="throwaway PostgreSQL")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop it (``fast``, ``smart`` or ``immediate``, the last like a crash)."""
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def running(self) -> bool:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return False
        return server_answers(self.host, self.port) or port_open(self.host, self.port)

    def create_database(self, name: str | None = None, *, migrate: bool = True) -> DatabaseConfig:
        """A fresh database (trust clusters); see ``admin_sql`` for password-auth clusters."""
        return create_database(self.host, self.port, name, migrate=migrate)

    def admin_sql(self, statement: str) -> None:
        """Run one statement as postgres over the Unix socket (trusted whatever host_auth is)."""
        with psycopg.connect(_conninfo(str(self.root), self.port), autocommit=True) as conn:
            conn.execute(statement.encode())

    def destroy(self) -> None:
        """Stop (immediately) and remove every file of the cluster."""
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # already gone; nothing left to stop
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayCluster:
        try:
            return self.start()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc: object) -> None:
        self.destroy()
