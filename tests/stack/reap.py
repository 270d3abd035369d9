"""Clean up after test sessions that were killed before their teardown ran.

Only instances whose owner process is gone are touched: ``owner.pid`` in their temp dir, or the
comment on a ``propdesk_test_*`` database, names it as ``pid:starttime`` (PIDs are reused fast on
a busy machine; the start time tells a new process from the owner). Each instance is stopped by
its own PID file. A live owner, another developer's run included, is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from ._util import OWNER_COMMENT, OWNER_FILE, owner_alive, pid_alive, wait_pid_gone
from .postgres import SHARED_HOST, SHARED_PORT, ThrowawayCluster, _conninfo


def _owner_gone(root: Path) -> bool:
    try:
        token = (root / OWNER_FILE).read_text()
    except OSError:
        return False  # not ours to judge (too young, or not made by these classes)
    return bool(token.strip()) and not owner_alive(token)


def _empty_and_old(root: Path, age: float = 3600) -> bool:
    try:
        return not any(root.iterdir()) and time.time() - root.stat().st_mtime > age
    except OSError:
        return False


def _reap_dovecot(root: Path) -> None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((root / "run" / "master.pid").read_text().split()[0])
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            wait_pid_gone(pid, timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def reap_stale(tmp: str | None = None) -> list[str]:
    """Stop and remove orphaned Dovecots, clusters and test databases; returns what it did."""
    base = tmp or tempfile.gettempdir()
    done: list[str] = []
    for d in glob.glob(os.path.join(base, "propdesk-dovecot-*")):
        if _empty_and_old(Path(d)):  # made by older versions for client-only instances
            with contextlib.suppress(OSError):
                os.rmdir(d)
                done.append(d)
        elif _owner_gone(Path(d)):
            _reap_dovecot(Path(d))
            done.append(d)
    for d in glob.glob(os.path.join(base, "propdesk-pg-*")):
        if _owner_gone(Path(d)):
            with contextlib.suppress(Exception):
                ThrowawayCluster(root=Path(d)).destroy()
            shutil.rmtree(d, ignore_errors=True)
            done.append(d)
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(_conninfo(SHARED_HOST, SHARED_PORT), autocommit=True) as conn,
    ):
        rows = conn.execute(
            "select datname, shobj_description(oid, 'pg_database') from pg_database"
        ).fetchall()
        for name, comment in rows:
            if not re.fullmatch(r"propdesk_(?:test|demo)_\d+(?:_[0-9a-f]+)?", name):
                continue
            if comment and comment.startswith(OWNER_COMMENT):
                token = comment.removeprefix(OWNER_COMMENT)
            else:
                token = name.split("_")[2]  # older databases: the PID in the name
            if not owner_alive(token):
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                try:
                    conn.execute(statement.format(sql.Identifier(name)))
                except psycopg.Error:
                    continue  # e.g. another session's reaper got there first; try the rest
                done.append(name)
    return done
