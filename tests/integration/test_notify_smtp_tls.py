"""TLS modes (implicit SSL, STARTTLS) with certificate verification, AUTH LOGIN and XOAUTH2,
against aiosmtpd peers of this module's own (the shared peer speaks plain SMTP only)."""

from __future__ import annotations

import base64
import email
import email.policy
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from propdesk.config import SecretRef, SmtpConfig
from propdesk.mail.smtp import Outcome, SmtpSender
from tests.stack._util import free_port

TOKEN = "ya29.test-token"


@dataclass
class Recorder:
    received: list[EmailMessage] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        return "250 OK"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        decoded = base64.b64decode(args[1]).decode()
        ok = decoded == f"user=bot@property.com\x01auth=Bearer {TOKEN}\x01\x01"
        self.mechanisms.append("XOAUTH2")
        return AuthResult(success=ok, handled=False)


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (needed to make a test certificate)")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return d / "cert.pem", d / "key.pem"


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


@pytest.fixture
def peer(
    request: pytest.FixtureRequest, cert: tuple[Path, Path]
) -> Iterator[tuple[Recorder, int, str]]:
    mode = request.param
    handler = Recorder()
    port = free_port()
    kwargs: dict[str, Any] = {
        "authenticator": authenticator,
        "auth_required": True,
        "auth_require_tls": True,
    }
    if mode == "ssl":
        # aiosmtpd does not count implicit TLS as TLS for AUTH; the transport is TLS anyway.
        kwargs.update(ssl_context=server_context(cert), auth_require_tls=False)
    else:
        kwargs.update(tls_context=server_context(cert), require_starttls=True)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield handler, port, mode
    finally:
        controller.stop()


def msg() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "bot@property.com"
    m["To"] = "t@example.com"
    m["Subject"] = "tls"
    m.set_content("hello")
    return m


def send(cfg: SmtpConfig, **kw: Any) -> Outcome:
    s = SmtpSender(cfg, timeout=5, **kw)
    try:
        result = s.send(msg(), "bot@property.com", "t@example.com")
    finally:
        s.close()
    return result.outcome


@pytest.mark.parametrize("peer", ["ssl", "starttls"], indirect=True)
def test_tls_verifies_the_certificate_and_logs_in(
    peer: tuple[Recorder, int, str], cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port, tls = peer
    monkeypatch.setenv("PD_SMTP_PW", "s3cret")
    base = {"host": "127.0.0.1", "port": port, "tls": tls, "username": "bot@property.com"}
    secret = SecretRef(env="PD_SMTP_PW")
    trusted = SmtpConfig(**base, password=secret, ca_file=cert[0])
    assert send(trusted, password=secret.resolve()) is Outcome.SENT
    # Not trusted: the self-signed certificate is refused, nothing is sent.
    untrusted = SmtpConfig(**base, password=secret)
    assert send(untrusted, password=secret.resolve()) is Outcome.RETRY
    # Verification off (an explicit operator choice) connects anyway.
    lax = SmtpConfig(**base, password=secret, verify_certificate=False)
    assert send(lax, password=secret.resolve()) is Outcome.SENT
    if tls == "starttls":  # (the peer answers a bad login only at the socket timeout: once)
        # A wrong password is a retry (our configuration problem), never a dead letter.
        wrong = SecretRef(env="NOPE").resolve({"NOPE": "x"})
        assert send(trusted, password=wrong) is Outcome.RETRY
    assert len(handler.received) == 2


@pytest.mark.parametrize("peer", ["starttls"], indirect=True)
def test_xoauth2(peer: tuple[Recorder, int, str], cert: tuple[Path, Path]) -> None:
    handler, port, _ = peer
    cfg = SmtpConfig(
        host="127.0.0.1",
        port=port,
        tls="starttls",
        ca_file=cert[0],
        username="bot@property.com",
        auth="xoauth2",
        oauth_token=SecretRef(env="PD_TOKEN"),
    )
    good = SecretRef(env="PD_TOKEN").resolve({"PD_TOKEN": TOKEN})
    assert send(cfg, token=lambda: good) is Outcome.SENT
    bad = SecretRef(env="PD_TOKEN").resolve({"PD_TOKEN": "expired"})
    assert send(cfg, token=lambda: bad) is Outcome.RETRY
    assert handler.mechanisms == ["XOAUTH2", "XOAUTH2"]
    assert len(handler.received) == 1
