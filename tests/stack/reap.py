"""Clean up after test sessions that were killed before their teardown ran.

Only instances whose owner process (``owner.pid`` in their temp dir) is gone are touched, each
stopped by its own PID file, and databases named ``propdesk_test_<pid>_...`` whose pid is gone.
A live owner, another developer's run included, is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from ._util import OWNER_FILE, pid_alive, wait_pid_gone
from .postgres import SHARED_HOST, SHARED_PORT, ThrowawayCluster, _conninfo


def _owner_gone(root: Path) -> bool:
    try:
        owner = int((root / OWNER_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False  # not ours to judge (too young, or not made by these classes)
    return not pid_alive(owner)


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
        if _owner_gone(Path(d)):
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
        names = [r[0] for r in conn.execute("select datname from pg_database")]
        for name in names:
            m = re.fullmatch(r"propdesk_(?:test|demo)_(\d+)(?:_[0-9a-f]+)?", name)
            if m and not pid_alive(int(m.group(1))):
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(statement.format(sql.Identifier(name)))
                done.append(name)
    return done
