"""TLS to the IMAP server: STARTTLS verifies the certificate by default (a self-signed one is
refused), and trusting its CA via ``ca_file`` makes the same mailbox work end to end."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from propdesk.config import MailboxConfig
from propdesk.errors import MailboxError
from propdesk.mail.imap import ImapMailbox
from tests.integration.ingest_support import dovecot_with, tenant_mail
from tests.stack import Dovecot


@pytest.fixture(scope="module")
def tls_dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dovecot, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    with dovecot_with(f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n") as server:
        yield server, cert


def test_starttls_verifies_certificate_by_default(tls_dovecot: tuple[Dovecot, Path]) -> None:
    server, cert = tls_dovecot
    user = server.add_user()
    server.append(user, tenant_mail(1))
    cfg: MailboxConfig = server.mailbox_config(user, tls="starttls")
    assert cfg.verify_certificate

    with pytest.raises(MailboxError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        ImapMailbox(cfg, 5, connect_attempts=1).connect()

    trusted = server.mailbox_config(user, tls="starttls", ca_file=cert)
    with ImapMailbox(trusted, 5) as imap:
        imap.select()
        metas = imap.fetch_meta(imap.search_uids())
        assert len(imap.fetch_bodies(metas)) == 1
