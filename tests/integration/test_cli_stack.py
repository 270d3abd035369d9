"""The CLI against the real stack: `propdesk migrate`, `check-config --connect`, failed logins."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from propdesk import app
from propdesk.config import Config, DatabaseConfig, SecretRef
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine
from tests.stack import Dovecot, ThrowawayCluster, create_database, drop_database, free_port
from tests.stack.configfile import write_config

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run(
        [sys.executable, "-m", "propdesk", "--config", str(config), "--log-format", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def empty_db(pg_server: tuple[str, int]) -> Iterator[DatabaseConfig]:
    """A fresh database that was never migrated."""
    cfg = create_database(*pg_server, migrate=False)
    try:
        yield cfg
    finally:
        drop_database(*pg_server, cfg.name)


def test_migrate_upgrades_an_empty_database_to_head(
    tmp_path: Path, stack_config: Config, empty_db: DatabaseConfig
) -> None:
    config = write_config(
        tmp_path / "c.toml", stack_config.model_copy(update={"database": empty_db})
    )
    proc = _cli(config, "migrate")
    assert proc.returncode == 0, proc.stderr
    assert "migrate.done" in proc.stderr
    engine = make_engine(empty_db, pooled=False)
    try:
        assert migrations.current_revision(engine) == migrations.head_revision(engine)
    finally:
        engine.dispose()
    assert _cli(config, "migrate").returncode == 0  # idempotent


def test_check_config_connect_reports_database_line(tmp_path: Path, stack_config: Config) -> None:
    config = write_config(tmp_path / "c.toml", stack_config)
    proc = _cli(config, "check-config", "--connect")
    db = stack_config.database
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ok: ") and "is valid" in lines[0]
    db_line = next(line for line in lines if " database " in line)
    assert db_line.startswith("ok ")
    assert f"{db.user}@{db.host}:{db.port}/{db.name}" in db_line
    assert "PostgreSQL" in db_line and "schema up to date" in db_line
    # Probes other branches add (IMAP, SMTP) run against the real stack too and must pass.
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_config_connect_flags_unmigrated_database(
    tmp_path: Path, stack_config: Config, empty_db: DatabaseConfig
) -> None:
    engine = make_engine(empty_db, pooled=False)
    head = migrations.head_revision(engine)
    engine.dispose()
    if head is None:
        pytest.skip("the package ships no migration yet")
    config = write_config(
        tmp_path / "c.toml", stack_config.model_copy(update={"database": empty_db})
    )
    proc = _cli(config, "check-config", "--connect")
    assert proc.returncode == 1
    db_line = next(line for line in proc.stdout.splitlines() if " database " in line)
    assert db_line.startswith("FAIL") and "propdesk migrate" in db_line


def test_database_down_is_one_line_exit_1(tmp_path: Path, stack_config: Config) -> None:
    down = stack_config.database.model_copy(update={"port": free_port()})
    config = write_config(tmp_path / "c.toml", stack_config.model_copy(update={"database": down}))
    proc = _cli(config, "check-config", "--connect")
    assert proc.returncode == 1
    assert any(line.startswith("FAIL database") for line in proc.stdout.splitlines())
    assert "Traceback" not in proc.stderr
    proc = _cli(config, "migrate")
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("propdesk: database ")


@pytest.fixture(scope="module")
def scram_cluster() -> Iterator[ThrowawayCluster]:
    """A cluster that really checks passwords on TCP (the shared server trusts everyone)."""
    with ThrowawayCluster(host_auth="scram-sha-256") as cluster:
        cluster.admin_sql("CREATE ROLE desk LOGIN PASSWORD 'right-password'")
        cluster.admin_sql("CREATE DATABASE desk OWNER desk")
        yield cluster


def test_failed_logins_never_show_the_password(
    tmp_path: Path,
    stack_config: Config,
    scram_cluster: ThrowawayCluster,
    dovecot: Dovecot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wrong DB and IMAP passwords: the failures are reported, the passwords never appear.

    Every probe in app.PROBES runs, so IMAP and SMTP probes added later are covered too.
    """
    wrong = "Wr0ng-Pa55word-7f3a"
    monkeypatch.setenv("PD_TEST_WRONG_PASSWORD", wrong)
    ref = SecretRef(env="PD_TEST_WRONG_PASSWORD")
    user = dovecot.add_user()
    config = stack_config.model_copy(
        update={
            "database": DatabaseConfig(
                host=scram_cluster.host, port=scram_cluster.port, name="desk", user="desk",
                password=ref, sslmode="disable",
            ),
            "mailboxes": [dovecot.mailbox_config(user, password=ref)],
        }
    )  # fmt: skip
    out = Path(tmp_path / "out.log")
    with capture_logs() as events, out.open("w") as stream:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream))
        lines = [r.line() for r in app.probe(config)]
        with pytest.raises(Exception) as info:
            app.migrate(config)
    structlog.reset_defaults()
    db_line = next(line for line in lines if " database " in line)
    assert db_line.startswith("FAIL") and "password authentication failed" in db_line
    assert wrong not in "\n".join(lines)
    assert wrong not in repr(events) and wrong not in out.read_text()
    assert wrong not in str(info.value) and wrong not in repr(info.value)

    path = write_config(tmp_path / "c.toml", config)
    proc = _cli(path, "check-config", "--connect")
    assert proc.returncode == 1
    assert wrong not in proc.stdout and wrong not in proc.stderr
    proc = _cli(path, "migrate")
    assert proc.returncode != 0
    assert wrong not in proc.stdout and wrong not in proc.stderr
