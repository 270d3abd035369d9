"""Shared fixtures: the real stack (PostgreSQL, Dovecot, aiosmtpd), no mocks.

Session-scoped servers, function-scoped views for isolation:

- ``pg_server`` (host, port) -> ``db_config`` (a fresh migrated database for the session)
  -> ``db_engine`` (pooled Engine) -> ``clean_db`` (truncates every table, returns the engine).
- ``pg_cluster``: a throwaway cluster of the test's own, free to stop and restart.
- ``dovecot`` (the server) -> ``imap_user`` (a fresh empty mailbox per test)
  -> ``mailbox_config`` (a ``MailboxConfig`` for it).
- ``smtp_peer`` (recording peer, reset per test) -> ``smtp_config``.
- ``stack_config``: a whole ``Config`` wired to all three.

Integration tests live in tests/integration/ and are marked ``integration`` automatically.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine

from propdesk.config import Config, DatabaseConfig, MailboxConfig, SmtpConfig
from propdesk.store.engine import make_engine
from tests.shared import require_shared
from tests.stack import (
    Dovecot,
    ImapUser,
    SmtpPeer,
    ThrowawayCluster,
    create_database,
    drop_database,
    truncate_all,
    use_shared_server,
)
from tests.stack.postgres import SHARED_HOST, SHARED_PORT
from tests.stack.reap import reap_stale

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
DATA_DIR = Path(__file__).resolve().parent / "data"


def pytest_configure(config: pytest.Config) -> None:
    # The SMTP peer's AUTH-without-TLS is deliberate: a loopback test peer.
    config.addinivalue_line(
        "filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning"
    )


@pytest.fixture(scope="session", autouse=True)
def _reap_stale_stack() -> None:
    """Remove what killed sessions left behind (only instances whose owner process is gone)."""
    reap_stale()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration/ talks to a real server: mark it so."""
    integration_dir = Path(__file__).resolve().parent / "integration"
    for item in items:
        if integration_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _structlog_reset() -> Iterator[None]:
    """Tests that run the CLI in-process configure logging onto pytest's capture stream, which
    is closed after the test: reset structlog so later tests never write to a closed file."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared``; tests that need it skip when it is absent, and fail in CI."""
    return require_shared(SHARED_DIR)


# --- PostgreSQL -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server() -> Iterator[tuple[str, int]]:
    """(host, port) of a server: the shared one (started if down), else a throwaway cluster.

    ``PROPDESK_TEST_PG=throwaway`` forces the throwaway cluster (to test that path, or on a
    machine whose PostgreSQL must not be touched).
    """
    if use_shared_server():
        yield SHARED_HOST, SHARED_PORT
        return
    with ThrowawayCluster() as cluster:
        yield cluster.host, cluster.port


@pytest.fixture(scope="session")
def db_config(pg_server: tuple[str, int]) -> Iterator[DatabaseConfig]:
    """A fresh uniquely named database for this session, migrated to head; dropped after."""
    host, port = pg_server
    cfg = create_database(host, port)
    try:
        yield cfg
    finally:
        drop_database(host, port, cfg.name)


@pytest.fixture(scope="session")
def db_engine(db_config: DatabaseConfig) -> Iterator[Engine]:
    engine = make_engine(db_config, pooled=True)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def clean_db(db_engine: Engine) -> Engine:
    """The session database with every table emptied before the test."""
    truncate_all(db_engine)
    return db_engine


@pytest.fixture
def pg_cluster() -> Iterator[ThrowawayCluster]:
    """A started throwaway cluster for this test only: stop/restart it freely."""
    with ThrowawayCluster() as cluster:
        yield cluster


# --- Dovecot --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the session; users ``ticketbot`` and ``other`` exist from the start."""
    server = Dovecot()
    server.add_user("ticketbot")
    server.add_user("other")
    with server:
        yield server


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test's own, free to stop, restart or freeze."""
    server = Dovecot(spare_users=2)
    with server:
        yield server


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    """A fresh user (empty INBOX, Processed, Failed) for this test alone."""
    return dovecot.add_user()


@pytest.fixture
def mailbox_config(dovecot: Dovecot, imap_user: ImapUser) -> MailboxConfig:
    return dovecot.mailbox_config(imap_user)


# --- SMTP -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _smtp_peer_server() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def smtp_peer(_smtp_peer_server: SmtpPeer) -> Iterator[SmtpPeer]:
    """The session's peer, running, with no recorded mail and no pending faults."""
    peer = _smtp_peer_server
    peer.reset()
    peer.start()
    yield peer
    peer.reset()
    peer.start()  # a test that stopped it (outage) leaves it running for the next


@pytest.fixture
def smtp_config(smtp_peer: SmtpPeer) -> SmtpConfig:
    return smtp_peer.smtp_config()


# --- everything -----------------------------------------------------------------------------
@pytest.fixture
def stack_config(
    db_config: DatabaseConfig, mailbox_config: MailboxConfig, smtp_config: SmtpConfig
) -> Config:
    """A whole Config wired to the session database, a fresh mailbox and the SMTP peer."""
    return Config(database=db_config, mailboxes=[mailbox_config], smtp=smtp_config)


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment (a copy), for subprocess tests that run the CLI."""
    env = dict(os.environ)
    src = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = (
        src + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else src
    )
    return env
