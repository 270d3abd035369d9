"""The demo's stack entry (`python -m tests.stack`, run by deploy/dev/demo.sh) starts, serves
and tears down everything it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from propdesk.config import load_config
from tests.stack import Dovecot, ImapUser, database_exists, server_answers
from tests.stack._util import pid_alive, port_open

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "deploy" / "dev" / "samples").glob("*.eml"))


def test_samples_are_shipped() -> None:
    assert len(SAMPLES) >= 6
    for path in SAMPLES:
        head = path.read_bytes().split(b"\n\n", 1)[0]
        assert b"Message-ID:" in head and b"From:" in head, path.name


def test_stack_up_append_and_teardown(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}")
    log = (tmp_path / "stack.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.stack", "up", "--dir", str(tmp_path / "demo")],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    state = tmp_path / "demo"
    try:
        deadline = time.monotonic() + 60
        while not (state / "ready").exists():
            assert proc.poll() is None, (tmp_path / "stack.log").read_text()
            assert time.monotonic() < deadline, "stack did not come up"
            time.sleep(0.1)
        info = json.loads((state / "stack.json").read_text())
        config = load_config(state / "config.toml")
        assert config.mailboxes[0].port == info["imap_port"]
        assert config.smtp.port == info["smtp_port"]
        password = (state / "env").read_text().split("'")[1]
        assert password not in (state / "config.toml").read_text()

        run_env = dict(env, **{info["imap_password_env"]: password})
        files = [str(p) for p in SAMPLES]
        appended = subprocess.run(
            [sys.executable, "-m", "tests.stack", "append", "--dir", str(state), *files],
            cwd=REPO,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert appended.returncode == 0, appended.stderr
        inbox = Dovecot(port=info["imap_port"]).messages(
            ImapUser(info["imap_user"], password, info["imap_password_env"])
        )
        assert len(inbox) == len(SAMPLES)
        db = config.database
        assert database_exists(db.host, db.port, db.name)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        log.close()
    assert not port_open("127.0.0.1", info["imap_port"])
    assert not port_open("127.0.0.1", info["smtp_port"])
    if server_answers(db.host, db.port):
        assert not database_exists(db.host, db.port, db.name)
    dovecot_pid = int(
        next(line for line in (tmp_path / "stack.log").read_text().splitlines() if "pid " in line)
        .rsplit("pid ", 1)[1]
        .rstrip(")")
    )
    assert not pid_alive(dovecot_pid)
