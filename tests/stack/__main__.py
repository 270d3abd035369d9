"""The local stack for ``deploy/dev/demo.sh``, started by the same classes the fixtures use.

    python -m tests.stack up --dir DIR       start Dovecot, an SMTP peer and a database, write
                                             DIR/config.toml, DIR/env and DIR/ready; run until
                                             SIGTERM/SIGINT, then tear everything down
    python -m tests.stack append --dir DIR FILE...   APPEND .eml files to the demo mailbox

Everything is fresh on each ``up``: a new Maildir, a new database (on the local PostgreSQL if it
answers, else on a throwaway cluster), new ports. Received notifications land in DIR/sent/.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

from propdesk.config import (
    Config,
    IntakeConfig,
    IntervalsConfig,
    LoggingConfig,
    SecretRef,
)

from .configfile import write_config
from .dovecot import Dovecot, ImapUser
from .postgres import (
    ThrowawayCluster,
    create_database,
    drop_database,
    use_shared_server,
)
from .smtp_peer import SmtpPeer

IMAP_PASSWORD_ENV = "PROPDESK_IMAP_PASSWORD"
DEMO_USER = "ticketbot"


def _say(message: str) -> None:
    print(f"stack: {message}", file=sys.stderr, flush=True)


def up(state: Path) -> int:
    """Start the stack, write the config, wait for a signal, tear down (in reverse order)."""
    state.mkdir(parents=True, exist_ok=True)
    (state / "ready").unlink(missing_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with ExitStack() as teardown:
        dovecot = Dovecot(spare_users=0)
        user = dovecot.add_user(DEMO_USER, f"demo-{secrets.token_urlsafe(9)}")
        teardown.callback(dovecot.destroy)
        dovecot.start()
        _say(f"dovecot imap://127.0.0.1:{dovecot.port} user {DEMO_USER} (pid {dovecot.pid})")

        peer = SmtpPeer(spool_dir=state / "sent").start()
        teardown.callback(peer.stop)
        _say(f"smtp peer smtp://127.0.0.1:{peer.port}, received mail -> {state / 'sent'}")

        name = f"propdesk_demo_{os.getpid()}"
        if use_shared_server():
            db = create_database("127.0.0.1", 5432, name, migrate=False)
            teardown.callback(drop_database, db.host, db.port, db.name)
            _say(f"database {db.name} on the local PostgreSQL 127.0.0.1:5432")
        else:
            cluster = ThrowawayCluster()
            teardown.callback(cluster.destroy)
            cluster.start()
            db = cluster.create_database(name, migrate=False)
            _say(f"database {db.name} on a throwaway cluster 127.0.0.1:{cluster.port}")

        config = Config(
            mailboxes=[
                dovecot.mailbox_config(user, name="demo", password=SecretRef(env=IMAP_PASSWORD_ENV))
            ],
            database=db,
            smtp=peer.smtp_config(),
            intervals=IntervalsConfig(poll_seconds=5, escalation_seconds=30, outbox_seconds=2),
            logging=LoggingConfig(level="info", format="auto"),
            intake=IntakeConfig(own_addresses=[peer.smtp_config().from_address]),
        )
        write_config(state / "config.toml", config)
        env = state / "env"
        env.write_text(
            f"export {IMAP_PASSWORD_ENV}='{user.password}'\n"
            f"export PROPDESK_CONFIG='{state / 'config.toml'}'\n"
        )
        env.chmod(0o600)
        (state / "stack.json").write_text(
            json.dumps(
                {
                    "imap_port": dovecot.port,
                    "imap_user": user.name,
                    "imap_password_env": IMAP_PASSWORD_ENV,
                    "smtp_port": peer.port,
                    "database": db.name,
                }
            )
        )
        (state / "ready").write_text("ok\n")
        _say(f"ready: config {state / 'config.toml'}")
        stop.wait()
        _say("stopping")
    _say("stopped")
    return 0


def append(state: Path, files: list[Path]) -> int:
    """APPEND each file to the demo INBOX (password from the environment, as propdesk reads it)."""
    info = json.loads((state / "stack.json").read_text())
    password = os.environ.get(info["imap_password_env"])
    if not password:
        _say(f"set {info['imap_password_env']} (source {state / 'env'})")
        return 2
    user = ImapUser(info["imap_user"], password, info["imap_password_env"])
    server = Dovecot(root=state, port=int(info["imap_port"]))
    for f in files:
        uid = server.append(user, f.read_bytes())
        _say(f"appended {f.name} as uid {uid}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the stack and run until SIGTERM/SIGINT")
    p_up.add_argument("--dir", type=Path, required=True)
    p_append = sub.add_parser("append", help="APPEND .eml files to the demo mailbox")
    p_append.add_argument("--dir", type=Path, required=True)
    p_append.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.dir.resolve())
    return append(args.dir.resolve(), args.files)


if __name__ == "__main__":
    raise SystemExit(main())
