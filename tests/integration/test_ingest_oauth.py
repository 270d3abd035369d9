"""XOAUTH2 against a real Dovecot (oauth2 passdb, token introspection by a local HTTP endpoint):
a token from a secret reference or from a command logs in and mail flows; a bad one is refused."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine

from propdesk import app
from propdesk.config import Config, DatabaseConfig, SecretRef
from propdesk.errors import MailboxError
from propdesk.mail.imap import ImapMailbox
from tests.integration.ingest_support import analyser, dovecot_with, tenant_mail
from tests.stack import Dovecot

GOOD = "good-token-0123"


def _introspection_server() -> tuple[HTTPServer, dict[str, str]]:
    """Answers Dovecot's introspection GET: the user for GOOD, 401 for anything else."""
    users: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            token = self.path.split("token=", 1)[-1].split("&", 1)[0]
            ok = token in users
            body = json.dumps(
                {"username": users[token], "active": "true"} if ok else {"error": "invalid"}
            ).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, users


@pytest.fixture(scope="module")
def oauth_dovecot(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Dovecot, dict[str, str]]]:
    http, users = _introspection_server()
    ext = tmp_path_factory.mktemp("oauth") / "oauth2.conf.ext"
    ext.write_text(
        "introspection_mode = get\n"
        f"introspection_url = http://127.0.0.1:{http.server_address[1]}/introspect?token=\n"
        "username_attribute = username\n"
        "active_attribute = active\nactive_value = true\nforce_introspection = yes\n"
    )
    ext.parent.chmod(0o755)
    ext.chmod(0o644)
    extra = (  # braces doubled: the template goes through str.format
        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = " + str(ext) + "\n}}\n"
    )
    mechanisms = ("auth_mechanisms = plain login", "auth_mechanisms = plain login xoauth2")
    try:
        with dovecot_with(extra, replace=mechanisms) as server:
            yield server, users
    finally:
        http.shutdown()


def test_xoauth2_token_from_secret_and_from_command(
    oauth_dovecot: tuple[Dovecot, dict[str, str]],
    clean_db: Engine,
    db_config: DatabaseConfig,
    tmp_path: Path,
) -> None:
    server, users = oauth_dovecot
    user = server.add_user()
    users[GOOD] = user.name
    server.append(user, tenant_mail(1))
    token_file = tmp_path / "token"
    token_file.write_text(GOOD + "\n")

    by_secret = server.mailbox_config(
        user, auth="xoauth2", password=None, oauth_token=SecretRef(file=token_file)
    )
    config = Config(database=db_config, mailboxes=[by_secret])
    daemon = app.daemon(config, analyse=analyser(config))
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.passes[0].status == "ok", report.passes[0].error
    assert report.passes[0].counts == {"ticketed": 1}

    by_command = server.mailbox_config(
        user,
        auth="xoauth2",
        password=None,
        oauth_token_command=[sys.executable, "-c", f"print({GOOD!r})"],
    )
    with ImapMailbox(by_command, 10) as imap:
        imap.select()

    bad = server.mailbox_config(
        user, auth="xoauth2", password=None, oauth_token_command=["echo", "wrong-token"]
    )
    with pytest.raises(MailboxError, match="refused"):
        ImapMailbox(bad, 10, connect_attempts=1).connect()
